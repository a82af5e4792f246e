//! `doctor`: every troubleshooting step of the original product's guides as an automatic
//! check, for members ([`run`]) and for administrators about to save a policy
//! ([`check_policy_draft`]).
//!
//! The checks run in order, each with a [`Status`] (ok, warning, failed, or skipped because a
//! check it needs failed), the evidence, and a hint in the person's terms. The first failure
//! is the cause to fix ([`Report::first_failure`]); what depends on it is skipped, not
//! reported as a second problem. The settings report's own checks
//! ([`EffectiveSettings::verify`], [`EffectiveSettings::model_checks`]), the engine's error
//! kinds and hints, and the application's HTTP settings (resolver, proxy, extra root
//! certificates) are used as they are, so a failure here is what a request would meet.
//!
//! | id | check | the guide's trouble it finds |
//! |---|---|---|
//! | `policy` | the organization's policy: present, fetched or cached (how old), which fields are locked | |
//! | `policy.provider` | the provider shows as OpenAI Compatible and this SDK serves it | "OpenAI Compatible not available as a provider option" |
//! | `policy.built` | this build includes the backend the settings select (its feature) | |
//! | `settings.round_trip` | the settings come back the same through their file form | "configuration changes don't persist" |
//! | `settings.writable` | the settings directory takes a save (a test write beside the file) | "configuration changes don't persist" |
//! | `settings.saved` | the saved file (with the secret store and cached policy) is what is in effect | "configuration changes don't persist" |
//! | `network.url` | the base URL parses (for Codex: the Codex endpoint, `CLINE_CODEX_BASE_URL`) | |
//! | `network.dns` | its host resolves (the configured resolver; the proxy's host behind a proxy) | connection errors (VPN) |
//! | `network.tcp` | TCP connects | connection errors or timeouts (firewall) |
//! | `network.tls` | TLS handshakes and the certificate is trusted (a corporate proxy or CA bundle otherwise) | connection errors |
//! | `network.encrypted` | credentials do not cross the network over plain HTTP (an API key: a warning; an identity token: a failure) | |
//! | `auth.credential` | an API key is stored, or Azure Identity replaces it | "Invalid API Key" |
//! | `auth.azure_identity` | which credential of the chain answered, for which tenant and scope | Azure authentication failures |
//! | `auth.codex_sign_in`, `auth.codex_token` | signed in with OpenAI, as whom, and the token's expiry; the sign-in still renews | "Authentication failed" for Codex; connections that keep expiring |
//! | `endpoint.connect` | a connection can be built from the settings | |
//! | `endpoint.credentials` | the endpoint accepts the credentials (its model listing, for Codex the plan's; on Azure, or without a listing, the request itself) | "Access Denied" or "Invalid API Key" |
//! | `models.offered[.<id>]` | the chosen model (each model the organization offers; with none chosen, the provider's default) is offered by the endpoint; on Azure the deployment answers | models not available |
//! | `auth.azure_role` | with Azure Identity: a 403 names the missing role ("Cognitive Services OpenAI User") | Azure role assignments |
//! | `request.stream` | one tiny streamed request succeeds; time to first token and tokens per second, read from its GenAI span | |
//!
//! ```no_run
//! use cline_provider::doctor::{self, DoctorOptions};
//! use cline_provider::policy::{resolve, MemberSettings};
//! use cline_provider::secrets::MemorySecretStore;
//!
//! # async fn run() -> cline_provider::Result<()> {
//! let settings = resolve(None, &MemberSettings::from_json(r#"{"openAiBaseUrl": "http://127.0.0.1:8000/v1"}"#)?);
//! let secrets = MemorySecretStore::new();
//! let report = doctor::run(&settings, &DoctorOptions::new(&secrets)).await;
//! print!("{report}");
//! if let Some(cause) = report.first_failure() {
//!     eprintln!("fix first: {} ({})", cause.title, cause.hint.as_deref().unwrap_or(""));
//! }
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "azure")]
mod azure;
#[cfg(feature = "codex")]
mod codex;
mod draft;
mod endpoint;
mod network;
mod report;
mod settings;

use std::fmt;
use std::sync::Arc;

pub use draft::{check_policy_draft, DraftOptions};
pub use report::{Report, Status, Step};

use crate::policy::{ConfigDir, ConnectOptions, Credential, EffectiveSettings, PolicyCache};
use crate::secrets::SecretStore;
use crate::ProviderKind;
use report::Checklist;

/// Reads one environment variable (`None` when unset).
pub type EnvFn = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What the doctor may use besides the settings.
pub struct DoctorOptions<'a> {
    /// The member's secret store (the API key).
    pub secrets: &'a dyn SecretStore,
    /// The application's HTTP settings (timeouts, proxy, extra root certificates, resolver):
    /// the doctor connects the way the application does. Default [`ConnectOptions::default`].
    pub connect: ConnectOptions,
    /// Where the member's settings are saved: the persistence checks write a test file there
    /// and compare the saved settings with these. `None` skips them, saying so.
    pub config_dir: Option<&'a ConfigDir>,
    /// The organizations' cached policies (what a restart without the admin API would use).
    pub policy_cache: Option<&'a PolicyCache>,
    /// Where Azure Identity's credential chain reads its variables (`AZURE_TENANT_ID`,
    /// `AZURE_TOKEN_CREDENTIALS`, …). Default: the process environment.
    pub env: Option<EnvFn>,
    /// The OpenAI Codex sign-in's store and issuer, and the Codex endpoint the checks go to.
    /// Default: `CodexConfig::from_env` (`CLINE_PROVIDER_HOME`, `CODEX_HOME`,
    /// `CLINE_CODEX_ISSUER`, `CLINE_CODEX_BASE_URL`).
    #[cfg(feature = "codex")]
    pub codex: Option<crate::codex::CodexConfig>,
    /// The end-to-end request's prompt. Default: "Reply with the single word: OK".
    pub prompt: String,
}

impl<'a> DoctorOptions<'a> {
    /// The defaults, with the member's secret store.
    pub fn new(secrets: &'a dyn SecretStore) -> Self {
        DoctorOptions {
            secrets,
            connect: ConnectOptions::default(),
            config_dir: None,
            policy_cache: None,
            env: None,
            #[cfg(feature = "codex")]
            codex: None,
            prompt: "Reply with the single word: OK".to_owned(),
        }
    }
}

impl fmt::Debug for DoctorOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DoctorOptions")
            .field("connect", &self.connect)
            .field("config_dir", &self.config_dir)
            .field("prompt", &self.prompt)
            .finish_non_exhaustive()
    }
}

/// Runs every check for the effective settings, in order, and returns the report (the
/// [module docs](self) list the checks).
///
/// It never fails: a problem is a failed check with its hint. It sends, at most, a `GET` of
/// the base URL (the TLS check, for `https://` only), one model listing and one tiny streamed
/// request to the endpoint (each once more after a 401 answered by a renewed sign-in), plus
/// what Azure Identity or the Codex sign-in need for a token.
///
/// # Cancellation
///
/// Dropping the future stops the checks; nothing but the settings directory's test file
/// (removed again) is written.
pub async fn run(settings: &EffectiveSettings, options: &DoctorOptions<'_>) -> Report {
    let mut list = Checklist::default();
    let checks = settings::report_checks(settings, options).await;
    settings::policy(&mut list, settings, &checks);
    if let Some(e) = crate::missing_backend(settings) {
        list.push(Step::failed(
            settings::BUILT,
            "This build includes the provider",
            e.message(),
            "The program was built without this backend. Add the feature the message names to \
             cline-provider in Cargo.toml (`full` includes every backend); for the examples, \
             run them with `--features full`.",
        ));
    }
    settings::persistence(&mut list, &checks, options);

    let kind = settings.provider_kind().ok();
    let codex = kind == Some(ProviderKind::OpenAiCodex);
    let (url, field) = network_target(settings, options, codex);
    let needs_provider = [settings::PROVIDER, settings::BUILT];
    if list.blocked(&needs_provider).is_some() {
        for (id, title) in [
            (network::URL, "The base URL parses"),
            (
                endpoint::CONNECT,
                "A connection can be built from the settings",
            ),
        ] {
            list.skip_unless(id, title, &needs_provider);
        }
        return list.into_report(subject(settings, url.as_ref()));
    }

    network::check(&mut list, url.as_ref(), field, &options.connect.http).await;
    if !codex {
        settings::encryption(&mut list, &checks);
    }

    #[allow(unused_mut)]
    let mut parts = crate::Parts::default();
    let mut needs = vec![
        settings::PROVIDER,
        network::URL,
        network::DNS,
        network::TCP,
        network::TLS,
        settings::ENCRYPTED,
    ];
    if codex {
        #[cfg(feature = "codex")]
        {
            codex::encryption(&mut list, url.as_ref(), options.connect.require_https);
            // The connection uses the sign-in the checks read (and may have refreshed).
            parts.codex = codex::codex(&mut list, options).await;
            needs.push(codex::CODEX_TOKEN);
        }
    } else {
        settings::credential(&mut list, &checks);
        needs.push(settings::CREDENTIAL);
        if matches!(
            settings.credential(options.secrets),
            Ok(Credential::AzureIdentity)
        ) {
            #[cfg(feature = "azure")]
            {
                parts.entra = azure::azure_identity(&mut list, settings, options).await;
                needs.push(azure::AZURE_IDENTITY);
            }
        }
    }
    endpoint::check(&mut list, settings, options, &parts, &needs).await;
    list.into_report(subject(settings, url.as_ref()))
}

/// The URL the requests go to, and the setting it comes from.
#[allow(unused_variables)]
fn network_target(
    settings: &EffectiveSettings,
    options: &DoctorOptions<'_>,
    codex: bool,
) -> (Option<url::Url>, &'static str) {
    #[cfg(feature = "codex")]
    if codex {
        // The Codex endpoint every request goes to (the sign-in server is asked by the token
        // check, when the token needs renewing).
        let config = options
            .codex
            .clone()
            .map_or_else(crate::codex::CodexConfig::from_env, Ok);
        return (config.ok().map(|c| c.base_url), "CLINE_CODEX_BASE_URL");
    }
    (settings.base_url().value.clone(), "openAiBaseUrl")
}

/// The report's first line: the mode, the endpoint `url` (redacted) and the model.
fn subject(settings: &EffectiveSettings, url: Option<&url::Url>) -> String {
    let mode = match settings.provider_kind() {
        Ok(ProviderKind::OpenAiCompatible) if settings.uses_azure() => {
            ProviderKind::AzureFoundry.label()
        }
        Ok(kind) => kind.label(),
        Err(_) => settings.provider().value.label(),
    };
    let mut s = format!("cline-provider doctor: {mode}");
    if let Some(url) = url {
        s.push_str(&format!(" at {}", crate::http::redact_url(url)));
    }
    if let Some(model) = &settings.model_id().value {
        s.push_str(&format!(", model {model}"));
    }
    if let Some(org) = settings.organization() {
        s.push_str(&format!(" (managed by {org})"));
    }
    s
}
