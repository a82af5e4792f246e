//! [`resolve`]: the organization's policy over the member's settings, field by field, giving
//! [`EffectiveSettings`] whose every field is an [`Effective`] value with its origin and lock.

use std::fmt;
use std::sync::Arc;

use url::Url;

use super::azure_rule::AZURE_DEFAULT_API_VERSION;
use super::error::{PolicyError, PolicyErrorReason};
use super::field::{Effective, Field, Origin};
use super::headers::Headers;
use super::member::MemberSettings;
use super::provider_id::ProviderId;
use super::remote::{Organization, Policy};
use crate::error::Result;
use crate::model::ModelInfo;
use crate::provider::ProviderKind;
use crate::request::ReasoningEffort;

/// The settings in effect: the organization's policy applied over the member's settings.
///
/// Build it with [`resolve`] (or [`EffectiveSettings::new`]), change it only through
/// [`edit`](EffectiveSettings::edit), swap the policy with
/// [`set_policy`](EffectiveSettings::set_policy), and show it with
/// [`report`](EffectiveSettings::report).
///
/// ```
/// use cline_provider_core::policy::{resolve, MemberSettings, Organization, Origin, Policy};
/// let policy = Policy::from_json(
///     r#"{"version": "1", "providerSettings": {"OpenAiCompatible": {"openAiBaseUrl": "https://llm.acme.example/v1"}}}"#,
///     Organization::new("org-1").with_name("Acme"),
/// )?;
/// let member = MemberSettings::from_json(r#"{"openAiBaseUrl": "https://mine.example/v1"}"#)?;
/// let eff = resolve(Some(&policy), &member);
/// assert_eq!(eff.base_url().value.as_ref().map(|u| u.as_str()), Some("https://llm.acme.example/v1"));
/// assert_eq!(eff.base_url().origin, Origin::Organization);
/// assert!(eff.base_url().locked);
/// // The member's own value is kept underneath and comes back without the policy.
/// assert_eq!(resolve(None, eff.member()).base_url().value.as_ref().map(|u| u.as_str()), Some("https://mine.example/v1"));
/// # Ok::<(), cline_provider_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveSettings {
    pub(crate) policy: Option<Arc<Policy>>,
    pub(crate) member: MemberSettings,
    provider: Effective<ProviderId>,
    base_url: Effective<Option<Url>>,
    headers: Effective<Headers>,
    azure_api_version: Effective<Option<String>>,
    azure_identity: Effective<bool>,
    model_id: Effective<Option<String>>,
    model_info: Effective<ModelInfo>,
    reasoning_effort: Effective<ReasoningEffort>,
    allowed_providers: Vec<ProviderId>,
    providers_restricted: bool,
    offered_models: Option<Vec<ModelInfo>>,
}

/// Applies the organization's `policy` (if any) over the `member`'s settings.
///
/// - A field the organization sets is locked and takes the organization's value; the
///   member's value is kept underneath ([`Effective::overridden`]).
/// - When the organization configures providers, only those are allowed. With one, it is
///   locked; with several, the member's choice stands if it is among them, otherwise OpenAI
///   Compatible when configured, else the first configured.
/// - When the organization lists models, only those may be chosen (the member's choice if
///   listed, else the first listed; locked when only one is listed), and the organization's
///   model info is used. An empty list offers no model.
/// - Everything else is the member's, or the default.
pub fn resolve(policy: Option<&Policy>, member: &MemberSettings) -> EffectiveSettings {
    EffectiveSettings::new(policy.map(|p| Arc::new(p.clone())), member.clone())
}

fn managed<T: Clone + PartialEq>(org: Option<T>, member: Option<T>, default: T) -> Effective<T> {
    match (org, member) {
        (Some(value), member) => Effective {
            overridden: member.filter(|m| *m != value),
            value,
            origin: Origin::Organization,
            locked: true,
        },
        (None, Some(m)) => Effective::member(m),
        (None, None) => Effective::default(default),
    }
}

/// Picks from a non-empty allow-list: locked with one entry, the member's choice if allowed,
/// else `fallback`.
fn restricted<T: Clone + PartialEq>(allowed: &[T], member: Option<T>, fallback: T) -> Effective<T> {
    if let [only] = allowed {
        return Effective {
            overridden: member.filter(|m| m != only),
            value: only.clone(),
            origin: Origin::Organization,
            locked: true,
        };
    }
    match member {
        Some(m) if allowed.contains(&m) => Effective::member(m),
        member => Effective {
            overridden: member,
            value: fallback,
            origin: Origin::Organization,
            locked: false,
        },
    }
}

impl EffectiveSettings {
    /// Like [`resolve`], taking ownership (a policy from
    /// [`RemoteConfigClient::current`](super::RemoteConfigClient::current) is already an `Arc`).
    pub fn new(policy: Option<Arc<Policy>>, member: MemberSettings) -> Self {
        let config = policy.as_deref().map(|p| &p.config);
        let openai = config.and_then(|c| c.openai_compatible.as_ref());

        let configured = config.map(|c| c.configured_providers()).unwrap_or_default();
        let providers_restricted = !configured.is_empty();
        let (provider, allowed_providers) = if providers_restricted {
            let fallback = if configured.contains(&ProviderId::OpenAiCompatible) {
                ProviderId::OpenAiCompatible
            } else {
                configured[0]
            };
            (
                restricted(&configured, member.provider, fallback),
                configured,
            )
        } else {
            let supported: Vec<ProviderId> = ProviderId::ALL
                .into_iter()
                .filter(|p| p.is_supported())
                .collect();
            let provider = match member.provider {
                Some(p) => Effective::member(p),
                None => Effective::default(ProviderId::OpenAiCompatible),
            };
            (provider, supported)
        };

        let base_url = managed(
            openai.and_then(|o| o.base_url.clone()).map(Some),
            member.base_url.clone().map(Some),
            None,
        );
        let headers = managed(
            openai.and_then(|o| o.headers.clone()),
            (!member.headers.is_empty()).then(|| member.headers.clone()),
            Headers::new(),
        );
        let azure_api_version = managed(
            openai.and_then(|o| o.azure_api_version.clone()).map(Some),
            member.azure_api_version.clone().map(Some),
            None,
        );
        let azure_identity = managed(
            openai.and_then(|o| o.azure_identity),
            member.azure_identity,
            false,
        );

        // An empty list (possible only when built by hand: a document with one is refused)
        // offers no model at all; it never means "no allow-list".
        let offered_models = openai.and_then(|o| o.models.clone());
        let (model_id, model_info) = match &offered_models {
            Some(models) => {
                let ids: Vec<Option<String>> = models.iter().map(|m| Some(m.id.clone())).collect();
                let first = ids.first().cloned().flatten();
                let mut model_id = restricted(&ids, member.model_id.clone().map(Some), first);
                model_id.locked |= ids.is_empty();
                let chosen = model_id.value.as_deref().unwrap_or_default();
                let info = models
                    .iter()
                    .find(|m| m.id == chosen)
                    .cloned()
                    .unwrap_or_else(|| ModelInfo::new(chosen));
                let model_info = Effective {
                    overridden: member.model_info.clone().filter(|m| *m != info),
                    value: info,
                    origin: Origin::Organization,
                    locked: true,
                };
                (model_id, model_info)
            }
            None => {
                let model_id = match &member.model_id {
                    Some(id) => Effective::member(Some(id.clone())),
                    None => Effective::default(None),
                };
                let id = model_id.value.clone().unwrap_or_default();
                let model_info = match &member.model_info {
                    Some(info) => Effective::member(ModelInfo { id, ..info.clone() }),
                    None => Effective::default(ModelInfo::new(id)),
                };
                (model_id, model_info)
            }
        };

        let reasoning_effort = match member.reasoning_effort {
            Some(r) => Effective::member(r),
            None => Effective::default(ReasoningEffort::default()),
        };

        EffectiveSettings {
            policy,
            member,
            provider,
            base_url,
            headers,
            azure_api_version,
            azure_identity,
            model_id,
            model_info,
            reasoning_effort,
            allowed_providers,
            providers_restricted,
            offered_models,
        }
    }

    /// Replaces the organization's policy (`None` clears it) and re-applies it. The member's
    /// own values, kept underneath, take effect again wherever the new policy leaves a field
    /// unset.
    pub fn set_policy(&mut self, policy: Option<Arc<Policy>>) {
        let member = std::mem::take(&mut self.member);
        *self = EffectiveSettings::new(policy, member);
    }

    /// The policy in effect, if any.
    pub fn policy(&self) -> Option<&Policy> {
        self.policy.as_deref()
    }

    /// The organization whose policy is in effect, if any.
    pub fn organization(&self) -> Option<&Organization> {
        self.policy.as_deref().map(|p| &p.organization)
    }

    /// The member's own settings (what to save), including values the policy overrides.
    pub fn member(&self) -> &MemberSettings {
        &self.member
    }

    /// The member's settings, consuming these.
    pub fn into_member(self) -> MemberSettings {
        self.member
    }

    /// The provider.
    pub fn provider(&self) -> &Effective<ProviderId> {
        &self.provider
    }
    /// The base URL (`None` when nobody set one).
    pub fn base_url(&self) -> &Effective<Option<Url>> {
        &self.base_url
    }
    /// The custom headers sent with every request.
    pub fn headers(&self) -> &Effective<Headers> {
        &self.headers
    }
    /// The Azure API version, as configured (see also
    /// [`azure_api_version_or_default`](EffectiveSettings::azure_api_version_or_default)).
    pub fn azure_api_version(&self) -> &Effective<Option<String>> {
        &self.azure_api_version
    }
    /// Whether Azure Identity (Entra ID) replaces the API key.
    pub fn azure_identity(&self) -> &Effective<bool> {
        &self.azure_identity
    }
    /// The model id (`None` when nobody chose one).
    pub fn model_id(&self) -> &Effective<Option<String>> {
        &self.model_id
    }
    /// The model's info (the organization's when it lists models; its `id` is the model id).
    pub fn model_info(&self) -> &Effective<ModelInfo> {
        &self.model_info
    }
    /// The reasoning effort.
    pub fn reasoning_effort(&self) -> &Effective<ReasoningEffort> {
        &self.reasoning_effort
    }

    /// The providers the member may choose. With a policy that configures providers, exactly
    /// those (including ones this SDK does not implement); otherwise every provider this SDK
    /// implements.
    pub fn allowed_providers(&self) -> &[ProviderId] {
        &self.allowed_providers
    }

    /// Whether the organization restricts the choice of provider.
    pub fn providers_restricted(&self) -> bool {
        self.providers_restricted
    }

    /// The models the organization offers, or `None` when any model may be chosen.
    pub fn offered_models(&self) -> Option<&[ModelInfo]> {
        self.offered_models.as_deref()
    }

    /// The value of `field` as a person reads it (secrets in headers masked).
    pub(crate) fn display_value(&self, field: Field) -> String {
        match field {
            Field::Provider => self.provider.value.label().to_owned(),
            Field::BaseUrl => opt_display(self.base_url.value.as_ref()),
            Field::Headers => self.headers.value.masked(),
            Field::AzureApiVersion => match &self.azure_api_version.value {
                Some(v) => v.clone(),
                None if self.uses_azure() => format!("(default: {AZURE_DEFAULT_API_VERSION})"),
                None => "(not set)".into(),
            },
            Field::AzureIdentity => if self.azure_identity.value {
                "on"
            } else {
                "off"
            }
            .into(),
            Field::Model => opt_display(self.model_id.value.as_ref()),
            Field::ModelInfo => super::report::describe_model(&self.model_info.value),
            Field::ReasoningEffort => self.reasoning_effort.value.to_string(),
        }
    }

    /// The member's overridden value of `field`, as a person reads it.
    pub(crate) fn overridden_display(&self, field: Field) -> Option<String> {
        Some(match field {
            Field::Provider => self.provider.overridden?.label().to_owned(),
            Field::BaseUrl => opt_display(self.base_url.overridden.clone()?.as_ref()),
            Field::Headers => self.headers.overridden.as_ref()?.masked(),
            Field::AzureApiVersion => {
                opt_display(self.azure_api_version.overridden.clone()?.as_ref())
            }
            Field::AzureIdentity => if self.azure_identity.overridden? {
                "on"
            } else {
                "off"
            }
            .into(),
            Field::Model => opt_display(self.model_id.overridden.clone()?.as_ref()),
            Field::ModelInfo => super::report::describe_model(self.model_info.overridden.as_ref()?),
            Field::ReasoningEffort => self.reasoning_effort.overridden?.to_string(),
        })
    }

    /// `(origin, locked)` of `field`.
    pub fn status(&self, field: Field) -> (Origin, bool) {
        macro_rules! s {
            ($f:ident) => {
                (self.$f.origin, self.$f.locked)
            };
        }
        match field {
            Field::Provider => s!(provider),
            Field::BaseUrl => s!(base_url),
            Field::Headers => s!(headers),
            Field::AzureApiVersion => s!(azure_api_version),
            Field::AzureIdentity => s!(azure_identity),
            Field::Model => s!(model_id),
            Field::ModelInfo => s!(model_info),
            Field::ReasoningEffort => s!(reasoning_effort),
        }
    }

    /// Whether the organization has fixed `field`.
    pub fn is_locked(&self, field: Field) -> bool {
        self.status(field).1
    }

    /// Sentences for the member about every value of theirs the organization replaces, e.g.
    /// "your base URL is replaced by your organization's (yours: `https://mine.example/v1`)".
    pub fn override_notes(&self) -> Vec<String> {
        Field::ALL
            .into_iter()
            .filter_map(|f| {
                let mine = self.overridden_display(f)?;
                let now = self.display_value(f);
                Some(match f {
                    Field::Model => format!(
                        "your model `{mine}` is not offered by your organization; `{now}` is used instead"
                    ),
                    Field::Provider if !self.provider.locked => format!(
                        "your provider, {mine}, is not allowed by your organization; {now} is used instead"
                    ),
                    Field::Headers => format!(
                        "your custom headers are replaced by your organization's (yours: {mine})"
                    ),
                    _ => format!("{} is replaced by your organization's (yours: {mine})", f.yours()),
                })
            })
            .collect()
    }

    /// The connection mode to use, or an error when the effective provider is one this SDK
    /// does not implement (only possible when the organization configures such a provider).
    pub fn provider_kind(&self) -> Result<ProviderKind> {
        let id = self.provider.value;
        id.kind().ok_or_else(|| {
            PolicyError::new(
                Field::Provider,
                self.organization(),
                PolicyErrorReason::UnsupportedProvider { provider: id },
                self.allowed_providers
                    .iter()
                    .filter(|p| p.is_supported())
                    .map(|p| p.label().to_owned())
                    .collect(),
            )
            .into()
        })
    }
}

fn opt_display<T: fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "(not set)".to_owned(), |v| v.to_string())
}
