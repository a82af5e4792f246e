//! [`Edit`]: the one way a member changes settings, checked against the policy first.

use std::fmt;

use super::effective::EffectiveSettings;
use super::error::{PolicyError, PolicyErrorReason};
use super::field::Field;
use super::headers::{mask_header_value, Headers};
use super::json;
use super::provider_id::ProviderId;
use crate::error::{Error, Result};
use crate::model::ModelInfo;
use crate::request::ReasoningEffort;

/// One change a member asks for. `None` clears the member's value (back to the default).
///
/// `Debug` masks what may be a credential: the value of a credential-like header
/// ([`is_credential_header`](crate::http::is_credential_header)) and a password or key in a
/// base URL.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum Edit {
    /// Choose a provider.
    Provider(Option<ProviderId>),
    /// Set the base URL (checked: absolute http(s) URL, no credentials in it).
    BaseUrl(Option<String>),
    /// Replace all custom headers.
    Headers(Headers),
    /// Add or replace one custom header (checked: no spaces in the name, no CR/LF in the value).
    SetHeader {
        /// The header name.
        name: String,
        /// The header value.
        value: String,
    },
    /// Remove one custom header.
    RemoveHeader(String),
    /// Set the Azure API version (an empty string clears it).
    AzureApiVersion(Option<String>),
    /// Turn Azure Identity on or off.
    AzureIdentity(Option<bool>),
    /// Choose a model.
    Model(Option<String>),
    /// Describe the model (context window, prices, …). Its `id` is ignored: the info belongs
    /// to whatever model is chosen.
    ModelInfo(Option<ModelInfo>),
    /// Set the reasoning effort.
    ReasoningEffort(Option<ReasoningEffort>),
}

impl fmt::Debug for Edit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Edit::Provider(p) => f.debug_tuple("Provider").field(p).finish(),
            Edit::BaseUrl(url) => {
                let shown = url.as_deref().map(|u| match url::Url::parse(u) {
                    Ok(parsed) => crate::http::redact_url(&parsed),
                    // Not a URL: it cannot be used, and may be anything; say only its size.
                    Err(_) => format!("<{} characters, not a URL>", u.chars().count()),
                });
                f.debug_tuple("BaseUrl").field(&shown).finish()
            }
            Edit::Headers(h) => f.debug_tuple("Headers").field(h).finish(),
            Edit::SetHeader { name, value } => f
                .debug_struct("SetHeader")
                .field("name", name)
                .field("value", &mask_header_value(name, value))
                .finish(),
            Edit::RemoveHeader(name) => f.debug_tuple("RemoveHeader").field(name).finish(),
            Edit::AzureApiVersion(v) => f.debug_tuple("AzureApiVersion").field(v).finish(),
            Edit::AzureIdentity(v) => f.debug_tuple("AzureIdentity").field(v).finish(),
            Edit::Model(v) => f.debug_tuple("Model").field(v).finish(),
            Edit::ModelInfo(v) => f.debug_tuple("ModelInfo").field(v).finish(),
            Edit::ReasoningEffort(v) => f.debug_tuple("ReasoningEffort").field(v).finish(),
        }
    }
}

impl Edit {
    /// The field this edit changes.
    pub fn field(&self) -> Field {
        match self {
            Edit::Provider(_) => Field::Provider,
            Edit::BaseUrl(_) => Field::BaseUrl,
            Edit::Headers(_) | Edit::SetHeader { .. } | Edit::RemoveHeader(_) => Field::Headers,
            Edit::AzureApiVersion(_) => Field::AzureApiVersion,
            Edit::AzureIdentity(_) => Field::AzureIdentity,
            Edit::Model(_) => Field::Model,
            Edit::ModelInfo(_) => Field::ModelInfo,
            Edit::ReasoningEffort(_) => Field::ReasoningEffort,
        }
    }
}

impl EffectiveSettings {
    /// Applies a member's change, or refuses it without changing anything.
    ///
    /// Refusals:
    /// - the field is locked by the organization → [`ErrorKind::LockedByOrganization`](crate::ErrorKind::LockedByOrganization)
    ///   with [`field`](Error::field) and [`organization`](Error::organization) set (and a
    ///   [`PolicyError`] as its source);
    /// - a provider the organization does not allow, or a model it does not offer → the
    ///   same kind, the error listing the allowed choices;
    /// - a provider this SDK does not implement → [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig)
    ///   (also a [`PolicyError`] source);
    /// - an invalid value (bad URL, a header name with spaces, a value with CR/LF, …) →
    ///   [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) naming the field.
    ///
    /// ```
    /// use cline_provider_core::policy::{resolve, Edit, MemberSettings, Organization, Policy};
    /// use cline_provider_core::ErrorKind;
    /// let policy = Policy::from_json(
    ///     r#"{"version": "1", "providerSettings": {"OpenAiCompatible": {"azureIdentity": true}}}"#,
    ///     Organization::new("org-1").with_name("Acme"),
    /// )?;
    /// let mut eff = resolve(Some(&policy), &MemberSettings::default());
    /// let err = eff.edit(Edit::AzureIdentity(Some(false))).unwrap_err();
    /// assert_eq!(err.kind(), &ErrorKind::LockedByOrganization);
    /// assert_eq!(err.field(), Some("azureIdentity"));
    /// assert_eq!(err.organization(), Some("Acme"));
    /// assert!(eff.azure_identity().value);
    ///
    /// eff.edit(Edit::Model(Some("gpt-4o".into())))?;
    /// assert_eq!(eff.model_id().value.as_deref(), Some("gpt-4o"));
    /// # Ok::<(), cline_provider_core::Error>(())
    /// ```
    pub fn edit(&mut self, edit: Edit) -> Result<()> {
        self.check_policy(&edit)?;
        let mut member = self.member.clone();
        apply(&mut member, edit)?;
        let policy = self.policy.clone();
        *self = EffectiveSettings::new(policy, member);
        Ok(())
    }

    fn refuse(&self, field: Field, reason: PolicyErrorReason, allowed: Vec<String>) -> Error {
        PolicyError::new(field, self.organization(), reason, allowed).into()
    }

    fn check_policy(&self, edit: &Edit) -> Result<()> {
        let field = edit.field();
        match edit {
            Edit::Provider(Some(p)) => {
                if self.providers_restricted() && !self.allowed_providers().contains(p) {
                    let allowed = self
                        .allowed_providers()
                        .iter()
                        .map(|p| p.label().to_owned())
                        .collect();
                    return Err(self.refuse(
                        field,
                        PolicyErrorReason::ProviderNotAllowed { requested: *p },
                        allowed,
                    ));
                }
                if self.is_locked(field) {
                    return Err(self.refuse(field, PolicyErrorReason::Locked, Vec::new()));
                }
                if !p.is_supported() {
                    let allowed = self
                        .allowed_providers()
                        .iter()
                        .filter(|p| p.is_supported())
                        .map(|p| p.label().to_owned())
                        .collect();
                    return Err(self.refuse(
                        field,
                        PolicyErrorReason::UnsupportedProvider { provider: *p },
                        allowed,
                    ));
                }
                Ok(())
            }
            Edit::Model(Some(id)) => {
                let id = json::model_id(id, field.key())?;
                if let Some(models) = self.offered_models() {
                    if !models.iter().any(|m| m.id == id) {
                        let allowed = models.iter().map(|m| m.id.clone()).collect();
                        return Err(self.refuse(
                            field,
                            PolicyErrorReason::ModelNotAllowed { requested: id },
                            allowed,
                        ));
                    }
                }
                if self.is_locked(field) {
                    return Err(self.refuse(field, PolicyErrorReason::Locked, Vec::new()));
                }
                Ok(())
            }
            _ if self.is_locked(field) => {
                Err(self.refuse(field, PolicyErrorReason::Locked, Vec::new()))
            }
            _ => Ok(()),
        }
    }
}

fn apply(m: &mut super::MemberSettings, edit: Edit) -> Result<()> {
    let key = edit.field().key();
    match edit {
        Edit::Provider(p) => m.provider = p,
        Edit::BaseUrl(url) => {
            m.base_url = match url {
                Some(u) => Some(json::base_url(&u, key)?),
                None => None,
            }
        }
        Edit::Headers(h) => {
            h.validate_at(key)?;
            m.headers = h;
        }
        Edit::SetHeader { name, value } => {
            json::header(&name, &value, &json::join(key, &name))?;
            m.headers.insert(name, value)?;
        }
        Edit::RemoveHeader(name) => {
            m.headers.remove(&name);
        }
        Edit::AzureApiVersion(v) => {
            m.azure_api_version = match v {
                Some(v) if !v.trim().is_empty() => Some(json::api_version(&v, key)?),
                _ => None,
            }
        }
        Edit::AzureIdentity(b) => m.azure_identity = b,
        Edit::Model(id) => {
            m.model_id = match id {
                Some(id) => Some(json::model_id(&id, key)?),
                None => None,
            }
        }
        Edit::ModelInfo(info) => {
            if let Some(info) = &info {
                check_model_info(info, key)?;
            }
            m.model_info = info;
        }
        Edit::ReasoningEffort(r) => m.reasoning_effort = r,
    }
    // The member's model info describes whichever model is chosen.
    if let Some(info) = &mut m.model_info {
        info.id = m.model_id.clone().unwrap_or_default();
    }
    Ok(())
}

fn check_model_info(info: &ModelInfo, key: &str) -> Result<()> {
    let numbers = [
        ("inputPrice", info.input_price),
        ("outputPrice", info.output_price),
        ("temperature", info.temperature.map(f64::from)),
    ];
    for (name, value) in numbers {
        if let Some(v) = value {
            if !v.is_finite() || v < 0.0 {
                return Err(Error::invalid_config(
                    json::join(key, name),
                    "must be a finite number, not negative",
                ));
            }
        }
    }
    for (name, value) in [
        ("contextWindow", info.context_window),
        ("maxTokens", info.max_output_tokens),
    ] {
        if value == Some(0) {
            return Err(Error::invalid_config(
                json::join(key, name),
                "must be a positive number of tokens (leave it unset for the default)",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_credential_headers_and_url_secrets() {
        let shown = format!(
            "{:?} {:?} {:?} {:?}",
            Edit::SetHeader {
                name: "Authorization".into(),
                value: "Bearer sk-secret-1234".into()
            },
            Edit::BaseUrl(Some("https://user:pw-secret@llm.example/v1".into())),
            Edit::BaseUrl(Some(
                "https://apim.example/openai?subscription-key=key-secret".into()
            )),
            Edit::BaseUrl(Some("not a url sk-secret-5678".into())),
        );
        for secret in [
            "sk-secret-1234",
            "pw-secret",
            "key-secret",
            "sk-secret-5678",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let plain = format!(
            "{:?}",
            Edit::SetHeader {
                name: "X-Team".into(),
                value: "search".into()
            }
        );
        assert!(plain.contains("search"), "{plain}");
    }
}
