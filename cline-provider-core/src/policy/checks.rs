//! The checks of a [`SettingsReport`]: what an administrator verifies after saving a policy,
//! and a member before relying on the settings. Every check can fail when its condition fails;
//! a check that cannot be made here is [`CheckStatus::Skipped`] with the reason, never passed.

use serde::Serialize;

use super::cache::PolicyCache;
use super::credential::Credential;
use super::effective::EffectiveSettings;
use super::enforce::EnforcedProvider;
use super::member::ConfigDir;
use super::provider_id::ProviderId;
use super::remote::PolicySource;
use super::report::SettingsReport;
use crate::http::{check_plain_http, is_credential_header, ConfigWarning, CredentialKind};
use crate::secrets::SecretStore;

/// The outcome of one [`Check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CheckStatus {
    /// As it should be.
    Pass,
    /// Not as it should be; [`Check::detail`] says why.
    Fail,
    /// It works, but deserves a look (a credential over plain HTTP to an internal server).
    Warn,
    /// The check could not be made here; [`Check::detail`] says why.
    Skipped,
    /// Does not apply (for example: no policy).
    NotApplicable,
}

/// A verification of the settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// Which check this is, stable across versions and languages, for programs that act on
    /// one: `provider`, `round_trip`, `saved`, `encrypted`, `credential`, `endpoint_models`
    /// (the listing could not be read, or no model is configured), `endpoint_model` (one per
    /// model), `policy`.
    pub id: &'static str,
    /// What is checked.
    pub name: String,
    /// The outcome.
    pub status: CheckStatus,
    /// Why, in a sentence.
    pub detail: String,
}

impl Check {
    pub(crate) fn new(name: &str, status: CheckStatus, detail: impl Into<String>) -> Self {
        Check {
            id: id_of(name),
            name: name.to_owned(),
            status,
            detail: detail.into(),
        }
    }
}

/// What [`EffectiveSettings::verify`] may use to make its checks. Each part left `None` skips
/// the checks that need it, saying so.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckContext<'a> {
    /// The member's secret store: the API key, and the values of credential-like headers.
    pub secrets: Option<&'a dyn SecretStore>,
    /// Where the member's settings are saved.
    pub config_dir: Option<&'a ConfigDir>,
    /// The organizations' cached policies (what a restart without the admin API would use).
    pub policy_cache: Option<&'a PolicyCache>,
    /// The connection to check the endpoint through; its bare backend is asked for the
    /// endpoint's own model listing, not the organization's list.
    pub endpoint: Option<&'a EnforcedProvider>,
}

const POLICY: &str = "Organization policy";
const PROVIDER: &str = "Provider shows as OpenAI Compatible";
const IMPLEMENTED: &str = "Provider is implemented by this SDK";
const ROUND_TRIP: &str = "Settings survive a save and reload";
const SAVED: &str = "The saved settings are the ones in effect";
const ENCRYPTED: &str = "Credentials travel encrypted";
const CREDENTIAL: &str = "A credential is available";
const ENDPOINT_MODELS: &str = "The models are offered by the endpoint";

impl EffectiveSettings {
    /// The report of these settings, without I/O: the checks that need the secret store, the
    /// settings directory or the endpoint are [`CheckStatus::Skipped`] (use
    /// [`verify`](EffectiveSettings::verify) for them).
    pub fn report(&self) -> SettingsReport {
        let mut checks = self.checks_without_io();
        checks.push(skipped(
            SAVED,
            "not compared: no settings directory was given (EffectiveSettings::verify compares it)",
        ));
        checks.push(skipped(
            CREDENTIAL,
            "not checked: no secret store was given (EffectiveSettings::report_with_credentials checks it)",
        ));
        checks.push(skipped(
            ENDPOINT_MODELS,
            "not checked: the endpoint was not asked (EffectiveSettings::verify asks it)",
        ));
        self.build_report(None, checks)
    }

    /// The report, with the API key from `store` (masked) and the check that a credential is
    /// available.
    pub fn report_with_credentials(&self, store: &dyn SecretStore) -> SettingsReport {
        let mut checks = self.checks_without_io();
        checks.push(skipped(
            SAVED,
            "not compared: no settings directory was given (EffectiveSettings::verify compares it)",
        ));
        checks.push(self.credential_check(store));
        checks.push(skipped(
            ENDPOINT_MODELS,
            "not checked: the endpoint was not asked (EffectiveSettings::verify asks it)",
        ));
        self.build_report(Some(store), checks)
    }

    /// The report with every check made that `context` allows: the saved settings compared
    /// with these, the credential looked up, and the endpoint's own model listing read.
    ///
    /// Every check can fail when its condition fails; one that cannot be made is
    /// [`CheckStatus::Skipped`] with the reason, never passed.
    ///
    /// | check | fails when |
    /// | --- | --- |
    /// | Provider shows as OpenAI Compatible | the policy configures OpenAI Compatible but another provider is in effect, or only providers this SDK cannot serve |
    /// | Settings survive a save and reload | the member's settings do not come back the same through the settings file's form, or do not re-resolve to the same values |
    /// | The saved settings are the ones in effect | the settings file (with the secret store and the cached policy) re-resolves to something else: an unsaved change, a lost header value, a missing cache |
    /// | Credentials travel encrypted | an identity token would cross the network over plain HTTP (a warning for an API key) |
    /// | A credential is available | no API key is stored, or Azure Identity is on for an endpoint that is not Azure |
    /// | Model `…` is offered by the endpoint | the endpoint's own model listing lacks a model the organization offers (or the one chosen) |
    ///
    /// [`EffectiveSettings::report`] does no I/O: the last two rows need the secret store and the
    /// endpoint, the third the settings directory, so they are skipped there.
    /// [`EffectiveSettings::verify`] runs them all with what its [`CheckContext`] provides.
    ///
    /// # Cancellation
    ///
    /// Dropping the future stops the listing request; nothing is written.
    pub async fn verify(&self, context: &CheckContext<'_>) -> SettingsReport {
        let mut checks = self.checks_without_io();
        checks.push(match context.config_dir {
            Some(dir) => self.saved_check(dir, context.secrets, context.policy_cache),
            None => skipped(SAVED, "not compared: no settings directory was given"),
        });
        checks.push(match context.secrets {
            Some(store) => self.credential_check(store),
            None => skipped(CREDENTIAL, "not checked: no secret store was given"),
        });
        match context.endpoint {
            Some(endpoint) => checks.extend(self.endpoint_model_checks(endpoint).await),
            None => checks.push(skipped(
                ENDPOINT_MODELS,
                "not checked: no connection to the endpoint was given",
            )),
        }
        self.build_report(context.secrets, checks)
    }

    fn checks_without_io(&self) -> Vec<Check> {
        let mut checks = self.provider_checks();
        checks.push(self.round_trip_check());
        checks.push(self.transport_check());
        checks
    }

    fn provider_checks(&self) -> Vec<Check> {
        let mut checks = Vec::new();
        let provider = self.provider().value;
        let Some(policy) = self.policy() else {
            checks.push(Check::new(
                POLICY,
                CheckStatus::NotApplicable,
                "no organization policy is in effect; all settings are the member's",
            ));
            if !provider.is_supported() {
                checks.push(Check::new(
                    IMPLEMENTED,
                    CheckStatus::Fail,
                    format!("{provider} is not implemented by this SDK"),
                ));
            }
            return checks;
        };
        let configured = policy.config.configured_providers();
        checks.push(if configured.contains(&ProviderId::OpenAiCompatible) {
            if provider == ProviderId::OpenAiCompatible {
                Check::new(
                    PROVIDER,
                    CheckStatus::Pass,
                    if self.uses_azure() {
                        "OpenAI Compatible, in Azure mode"
                    } else {
                        "OpenAI Compatible"
                    },
                )
            } else {
                Check::new(
                    PROVIDER,
                    CheckStatus::Fail,
                    format!("the provider in effect is {provider}"),
                )
            }
        } else if configured.is_empty() {
            Check::new(
                PROVIDER,
                CheckStatus::NotApplicable,
                "the policy configures no provider",
            )
        } else {
            Check::new(
                PROVIDER,
                if provider.is_supported() {
                    CheckStatus::NotApplicable
                } else {
                    CheckStatus::Fail
                },
                format!(
                    "the policy configures {} but not OpenAI Compatible{}",
                    provider_labels(&configured),
                    if provider.is_supported() {
                        ""
                    } else {
                        ", which this SDK cannot serve"
                    }
                ),
            )
        });
        checks
    }

    /// The member's settings through the settings file's form and back, re-resolved under the
    /// same policy.
    fn round_trip_check(&self) -> Check {
        let back = match self.member().through_file_form() {
            Ok(back) => back,
            Err(e) => {
                return Check::new(
                    ROUND_TRIP,
                    CheckStatus::Fail,
                    format!("the saved form cannot be read back: {}", e.message()),
                )
            }
        };
        if &back != self.member() {
            return Check::new(
                ROUND_TRIP,
                CheckStatus::Fail,
                format!(
                    "these settings do not come back the same after a save: {}",
                    differing_member_fields(self.member(), &back)
                ),
            );
        }
        let again = EffectiveSettings::new(self.policy.clone(), back);
        self.compare(
            ROUND_TRIP,
            &again,
            "saved and reloaded, they resolve to the same values",
        )
    }

    /// What a restart would give: the settings file (with the secret store), under the cached
    /// copy of the organization's policy when the policy came from the admin API.
    fn saved_check(
        &self,
        dir: &ConfigDir,
        secrets: Option<&dyn SecretStore>,
        cache: Option<&PolicyCache>,
    ) -> Check {
        let empty = crate::secrets::MemorySecretStore::new();
        let store: &dyn SecretStore = secrets.unwrap_or(&empty);
        let path = dir.member_settings_path();
        let saved = match dir.load_member_settings(store) {
            Ok(saved) => saved,
            Err(e) => {
                return Check::new(
                    SAVED,
                    CheckStatus::Fail,
                    format!("{} cannot be read back: {}", path.display(), e.message()),
                )
            }
        };
        let policy = match (self.policy(), cache) {
            (Some(p), Some(cache))
                if matches!(p.source, PolicySource::AdminApi | PolicySource::Cache(_)) =>
            {
                match cache.load(&p.organization) {
                    Ok(Some(cached)) => Some(std::sync::Arc::new(cached)),
                    Ok(None) => {
                        return Check::new(
                            SAVED,
                            CheckStatus::Fail,
                            format!(
                                "the organization's policy has no cached copy in {}, so a start \
                                 without the admin API would not enforce it",
                                cache.dir().display()
                            ),
                        )
                    }
                    Err(e) => {
                        return Check::new(
                            SAVED,
                            CheckStatus::Fail,
                            format!("the cached policy cannot be read: {}", e.message()),
                        )
                    }
                }
            }
            _ => self.policy.clone(),
        };
        let restarted = EffectiveSettings::new(policy, saved);
        self.compare(
            SAVED,
            &restarted,
            &format!("{} re-resolves to the settings in effect", path.display()),
        )
    }

    fn compare(&self, name: &str, other: &EffectiveSettings, pass: &str) -> Check {
        let changes = self.changes_since(other);
        if changes.is_empty() {
            Check::new(name, CheckStatus::Pass, pass)
        } else {
            let what: Vec<String> = changes.into_iter().map(|c| c.message).collect();
            Check::new(
                name,
                CheckStatus::Fail,
                format!("they resolve to other values: {}", what.join("; ")),
            )
        }
    }

    fn transport_check(&self) -> Check {
        let Some(url) = self.base_url().value.as_ref() else {
            return Check::new(ENCRYPTED, CheckStatus::NotApplicable, "no base URL is set");
        };
        // What a connection would send: an identity token in Azure Identity mode, otherwise
        // the API key a connection requires (and any credential-like header).
        let kind = if self.azure_identity().value && self.uses_azure() {
            CredentialKind::IdentityToken
        } else {
            CredentialKind::ApiKey
        };
        match check_plain_http(url, "openAiBaseUrl", kind, false) {
            Ok(None) => Check::new(
                ENCRYPTED,
                CheckStatus::Pass,
                if url.scheme() == "https" {
                    "the endpoint uses HTTPS"
                } else {
                    "plain HTTP, but only to this machine (loopback)"
                },
            ),
            Ok(Some(warning @ ConfigWarning::PlainHttpCredential { .. })) => {
                let headers = self
                    .headers()
                    .value
                    .iter()
                    .filter(|(n, _)| is_credential_header(n))
                    .count();
                let what = if headers > 0 {
                    format!("the API key and {headers} credential header(s)")
                } else {
                    "the API key".to_owned()
                };
                Check::new(ENCRYPTED, CheckStatus::Warn, format!("{what}: {warning}"))
            }
            Ok(Some(other)) => Check::new(ENCRYPTED, CheckStatus::Warn, other.to_string()),
            Err(e) => Check::new(ENCRYPTED, CheckStatus::Fail, e.message()),
        }
    }

    fn credential_check(&self, store: &dyn SecretStore) -> Check {
        match self.credential(store) {
            Ok(Credential::ApiKey(_)) => {
                Check::new(CREDENTIAL, CheckStatus::Pass, "an API key is stored")
            }
            Ok(Credential::AzureIdentity) => Check::new(
                CREDENTIAL,
                CheckStatus::Pass,
                "Azure Identity is on for an Azure endpoint: your Azure sign-in is used instead \
                 of an API key",
            ),
            Err(e) => Check::new(CREDENTIAL, CheckStatus::Fail, e.message()),
        }
    }

    /// One check per model that should be usable: the organization's offered models, or the
    /// chosen model without a list, against the endpoint's own listing.
    async fn endpoint_model_checks(&self, endpoint: &EnforcedProvider) -> Vec<Check> {
        if self.wanted_models().is_empty() {
            return self.model_checks(&[]);
        }
        match endpoint.endpoint().list_models().await {
            Ok(listed) => self.model_checks(&listed),
            Err(e) => vec![skipped(
                ENDPOINT_MODELS,
                &format!(
                    "the endpoint's model list could not be read ({}): {}",
                    e.message(),
                    e.hint()
                ),
            )],
        }
    }

    /// The models that should be usable: the organization's offered models, or the chosen
    /// model when there is no list.
    fn wanted_models(&self) -> Vec<String> {
        match (self.offered_models(), &self.model_id().value) {
            (Some(offered), _) => offered.iter().map(|m| m.id.clone()).collect(),
            (None, Some(id)) => vec![id.clone()],
            (None, None) => Vec::new(),
        }
    }

    /// The "Model `…` is offered by the endpoint" checks against a listing already read
    /// (`listed`, the endpoint's own models): one per model that should be usable (the
    /// organization's offered models, or the chosen model), failing for each the listing
    /// lacks. [`verify`](EffectiveSettings::verify) runs them after asking the endpoint; a
    /// program that has the listing already (a diagnosis) runs them with it.
    pub fn model_checks(&self, listed: &[crate::model::ModelInfo]) -> Vec<Check> {
        let wanted = self.wanted_models();
        if wanted.is_empty() {
            return vec![Check::new(
                ENDPOINT_MODELS,
                CheckStatus::NotApplicable,
                "no model is configured",
            )];
        }
        wanted
            .into_iter()
            .map(|id| {
                let name = format!("Model `{id}` is offered by the endpoint");
                if listed.iter().any(|m| m.id == id) {
                    Check::new(&name, CheckStatus::Pass, "the endpoint lists it")
                } else {
                    Check::new(
                        &name,
                        CheckStatus::Fail,
                        format!(
                            "the endpoint's own list ({} models) does not include it; requests \
                             for it will fail",
                            listed.len()
                        ),
                    )
                }
            })
            .collect()
    }
}

/// The stable id of the check called `name`.
fn id_of(name: &str) -> &'static str {
    match name {
        PROVIDER | IMPLEMENTED => "provider",
        ROUND_TRIP => "round_trip",
        SAVED => "saved",
        ENCRYPTED => "encrypted",
        CREDENTIAL => "credential",
        ENDPOINT_MODELS => "endpoint_models",
        POLICY => "policy",
        _ => "endpoint_model",
    }
}

fn skipped(name: &str, why: &str) -> Check {
    Check::new(name, CheckStatus::Skipped, why)
}

/// The keys of the member's settings that differ, for a failure message.
fn differing_member_fields(a: &super::MemberSettings, b: &super::MemberSettings) -> String {
    let mut keys = Vec::new();
    let mut differs = |key: &str, same: bool| {
        if !same {
            keys.push(key.to_owned());
        }
    };
    differs("apiProvider", a.provider == b.provider);
    differs("openAiBaseUrl", a.base_url == b.base_url);
    differs("openAiHeaders", a.headers == b.headers);
    differs(
        "azureApiVersion",
        a.azure_api_version == b.azure_api_version,
    );
    differs("azureIdentity", a.azure_identity == b.azure_identity);
    differs("openAiModelId", a.model_id == b.model_id);
    differs("openAiModelInfo", a.model_info == b.model_info);
    differs("reasoningEffort", a.reasoning_effort == b.reasoning_effort);
    differs("other keys", a.extra == b.extra);
    keys.join(", ")
}

pub(crate) fn provider_labels(providers: &[ProviderId]) -> String {
    providers
        .iter()
        .map(|p| {
            if p.is_supported() {
                p.label().to_owned()
            } else {
                format!("{} (not implemented by this SDK)", p.label())
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
