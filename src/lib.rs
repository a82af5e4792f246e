//! `cline-provider`: reach large-language-model endpoints the way your organization
//! configured them.
//!
//! This facade re-exports the core types ([`Provider`], [`ChatRequest`], [`StreamEvent`],
//! [`Error`], [`policy`], …), the backends behind their features (`openai`, on by default;
//! `azure` for Azure Foundry with an api-key or Microsoft Entra ID), and
//! [`connect`] / [`connect_with`], which turn resolved [`EffectiveSettings`] and the member's
//! [`SecretStore`] into a ready provider behind the organization's policy (every request is
//! checked against the offered models and locked headers before a byte is sent). For a program
//! that runs for hours, [`ManagedConnection`] with [`connector`]
//! follows policy changes live. [`prelude`] brings what a program needs in one line.
//!
//! Features: `openai` (default), `azure`, `codex`, `keyring` (the OS keyring as a
//! [`SecretStore`]), `schemars` ([`Tool::for_type`]), `full` (all of them).
//!
//! ```no_run
//! use cline_provider::policy::{resolve, MemberSettings, Organization, Policy};
//! use cline_provider::secrets::MemorySecretStore;
//! use cline_provider::{connect, ChatRequest, Message};
//!
//! # async fn run() -> cline_provider::Result<()> {
//! let member = MemberSettings::from_json(r#"{"openAiModelId": "gpt-4o-mini"}"#)?;
//! let policy = Policy::from_file("org-policy.json".as_ref(), Organization::new("org-1"))?;
//! let settings = resolve(Some(&policy), &member);
//! let secrets = MemorySecretStore::new();
//! let provider = connect(&settings, &secrets)?;
//! let reply = provider
//!     .complete(ChatRequest::new("").message(Message::user("Say hello")))
//!     .await?;
//! println!("{}", reply.text);
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use cline_provider_core::*;

pub mod prelude {
    //! What a program that talks to a model needs, in one line:
    //!
    //! ```no_run
    //! use cline_provider::prelude::*;
    //!
    //! # async fn run() -> cline_provider::Result<()> {
    //! let provider = OpenAiProvider::new(OpenAiConfig::from_env()?)?;
    //! let mut stream = provider
    //!     .stream(ChatRequest::new("gpt-4o-mini").message(Message::user("Say hello")))
    //!     .await?;
    //! while let Some(event) = stream.next().await {
    //!     if let StreamEvent::TextDelta { text } = event? {
    //!         print!("{text}");
    //!     }
    //! }
    //! # Ok(())
    //! # }
    //! ```
    //!
    //! It holds the request and reply types, the [`Provider`] trait (and `async_trait` to
    //! implement it), errors, the tool loop, `connect` and the settings types, `StreamExt`
    //! for streams, `ExposeSecret`/`SecretString` for keys, and the OpenAI Compatible backend
    //! (feature `openai`).

    pub use cline_provider_core::policy::{resolve, EffectiveSettings, MemberSettings};
    pub use cline_provider_core::secrets::{FileSecretStore, MemorySecretStore, SecretStore};
    pub use cline_provider_core::{
        async_trait, run_tool_loop, CancellationToken, ChatRequest, ChatResponse, Collector,
        CompletedToolCall, ContentPart, Error, ErrorKind, EventStream, FinishReason, ImageSource,
        Message, ModelInfo, Provider, ProviderInfo, ProviderKind, ReasoningEffort, Result, Role,
        StreamEvent, TimeoutPhase, Tool, ToolArguments, ToolCall, ToolChoice, ToolLoopOutcome,
        Usage,
    };
    pub use futures_util::StreamExt;
    pub use secrecy::{ExposeSecret, SecretString};

    pub use crate::{connect, connect_with};
    #[cfg(feature = "openai")]
    #[cfg_attr(docsrs, doc(cfg(feature = "openai")))]
    pub use cline_provider_openai::{OpenAiConfig, OpenAiProvider};
}

use policy::Backend;

/// The OpenAI Compatible backend (feature `openai`, on by default).
#[cfg(feature = "openai")]
#[cfg_attr(docsrs, doc(cfg(feature = "openai")))]
pub mod openai {
    pub use cline_provider_openai::*;
}

/// The Azure Foundry backend (feature `azure`).
#[cfg(feature = "azure")]
pub mod azure {
    pub use cline_provider_azure::*;
}

/// OpenAI Codex: "Sign in with OpenAI" (feature `codex`).
#[cfg(feature = "codex")]
pub mod codex {
    pub use cline_provider_codex::*;
}

pub mod doctor;

/// Builds the provider the effective settings call for, behind the organization's policy.
///
/// The same as [`connect_with`] with [`ConnectOptions::default`], returning only the
/// provider; configuration warnings are logged (with `tracing`), and returned by
/// [`connect_with`].
///
/// # Errors
///
/// As [`connect_with`].
pub fn connect(
    settings: &EffectiveSettings,
    secrets: &dyn SecretStore,
) -> Result<Box<dyn Provider>> {
    let connection = connect_with(settings, secrets, &ConnectOptions::default())?;
    Ok(Box::new(connection.into_provider()))
}

/// Builds the provider the effective settings call for, with the application's HTTP settings,
/// behind the organization's policy ([`EnforcedProvider`](policy::EnforcedProvider): every
/// request is checked against the offered models and the locked headers before a byte is
/// sent).
///
/// - OpenAI Compatible, with the organization's (or member's) base URL, custom headers and
///   model, and the member's API key from `secrets`;
/// - Azure Foundry when the original product's Azure rule holds (an `azureApiVersion` is set,
///   or the base URL is an Azure host and the model is not a DeepSeek model), with the
///   member's API key as `api-key`, or, when `azureIdentity` is on, Microsoft Entra ID
///   through the default credential chain (`az login`, managed identity, …; see
///   `azure::auth::chain`), the organization's API version and model list;
/// - OpenAI Codex: the member's "Sign in with OpenAI" (see [`codex`]; feature `codex`), on
///   their ChatGPT subscription, at `CLINE_CODEX_BASE_URL` or the ChatGPT backend.
///
/// The [`Connection`] also carries the configuration's warnings (a credential over plain
/// HTTP, say), for the settings screen.
///
/// # Errors
///
/// A typed error with a hint when the settings cannot work: no base URL, no credential (no
/// API key stored, or Azure Identity on for an endpoint that is not Azure), plain HTTP under
/// `options.require_https`, a provider this build does not include, or a provider the SDK does
/// not implement.
pub fn connect_with(
    settings: &EffectiveSettings,
    secrets: &dyn SecretStore,
    options: &ConnectOptions,
) -> Result<Connection> {
    connect_with_parts(settings, secrets, options, &Parts::default())
}

/// [`connect_with`], with parts a caller inside this crate built itself (the doctor's Entra ID
/// token cache, whose answering credential it reports).
pub(crate) fn connect_with_parts(
    settings: &EffectiveSettings,
    secrets: &dyn SecretStore,
    options: &ConnectOptions,
    parts: &Parts,
) -> Result<Connection> {
    Ok(Connection::new(
        settings,
        backend_with(settings, secrets, options, parts)?,
    ))
}

/// What a backend would otherwise build on its own.
#[derive(Default)]
pub(crate) struct Parts {
    /// Entra ID for Azure Identity, instead of the default chain over the process environment.
    #[cfg(feature = "azure")]
    pub(crate) entra: Option<azure::EntraId>,
    /// The OpenAI Codex sign-in, instead of the one [`codex::CodexConfig::from_env`] finds.
    #[cfg(feature = "codex")]
    pub(crate) codex: Option<codex::CodexAuth>,
}

/// The backends of this build, as a [`Connector`](policy::Connector) for
/// [`ManagedConnection::open`](policy::ManagedConnection::open), which connects again whenever
/// the organization's policy or the member's settings change.
pub fn connector() -> policy::Connector {
    std::sync::Arc::new(backend)
}

/// The bare backend the settings select. Adding a backend means adding its arm here; the
/// policy's enforcement is applied around whatever this returns ([`Connection::new`]).
fn backend(
    settings: &EffectiveSettings,
    secrets: &dyn SecretStore,
    options: &ConnectOptions,
) -> Result<Backend> {
    backend_with(settings, secrets, options, &Parts::default())
}

fn backend_with(
    settings: &EffectiveSettings,
    secrets: &dyn SecretStore,
    options: &ConnectOptions,
    parts: &Parts,
) -> Result<Backend> {
    match selected_backend(settings)? {
        (ProviderKind::OpenAiCompatible, _) => openai_backend(settings, secrets, options),
        (ProviderKind::AzureFoundry, why) => azure_backend(settings, secrets, options, parts, why),
        (ProviderKind::OpenAiCodex, _) => codex_backend(settings, options, parts),
    }
}

/// The backend the settings select, and why: the original product's Azure rule sends OpenAI
/// Compatible settings with an Azure API version or an Azure host to Azure Foundry.
fn selected_backend(settings: &EffectiveSettings) -> Result<(ProviderKind, &'static str)> {
    Ok(match settings.provider_kind()? {
        ProviderKind::OpenAiCompatible if settings.uses_azure() => (
            ProviderKind::AzureFoundry,
            "the settings select Azure (an Azure API version is set, or the base URL is an Azure host)",
        ),
        kind => (kind, "it was chosen"),
    })
}

fn not_built(kind: ProviderKind, feature: &str, why: &str) -> Result<Backend> {
    Err(left_out(kind, feature, why))
}

/// The error for a backend this build leaves out: `kind` is needed because `why`.
fn left_out(kind: ProviderKind, feature: &str, why: &str) -> Error {
    Error::invalid_config(
        "provider",
        format!(
            "{kind} is needed because {why}, but this build of cline-provider leaves it out; \
             build with the `{feature}` feature"
        ),
    )
}

/// What [`connect`] would refuse because this build leaves out the backend the settings
/// select (`None` when it is built in, or when the settings select no provider this SDK has).
pub(crate) fn missing_backend(settings: &EffectiveSettings) -> Option<Error> {
    let (kind, why) = selected_backend(settings).ok()?;
    let (feature, built) = match kind {
        ProviderKind::OpenAiCompatible => ("openai", cfg!(feature = "openai")),
        ProviderKind::AzureFoundry => ("azure", cfg!(feature = "azure")),
        ProviderKind::OpenAiCodex => ("codex", cfg!(feature = "codex")),
    };
    (!built).then(|| left_out(kind, feature, why))
}

/// The HTTP client a backend sends with: `http`, and the application's retry callback.
#[cfg(any(feature = "openai", feature = "codex"))]
fn http_client(
    http: &cline_provider_core::http::HttpConfig,
    options: &ConnectOptions,
) -> Result<cline_provider_core::http::HttpClient> {
    let client = cline_provider_core::http::HttpClient::new(http.clone())?;
    Ok(match &options.on_retry {
        Some(on_retry) => client.with_retry_callback(on_retry.clone()),
        None => client,
    })
}

#[cfg(feature = "openai")]
fn openai_backend(
    settings: &EffectiveSettings,
    secrets: &dyn SecretStore,
    options: &ConnectOptions,
) -> Result<Backend> {
    use openai::{OpenAiConfig, OpenAiProvider};
    use policy::Credential;

    let Some(base_url) = settings.base_url().value.as_ref() else {
        return Err(Error::invalid_config(
            "openAiBaseUrl",
            "no base URL is configured; enter the endpoint's URL, e.g. https://llm.example.com/v1",
        ));
    };
    let mut config = OpenAiConfig::new(base_url.as_str())?
        .headers(
            settings
                .headers()
                .value
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
        )
        .require_https(options.require_https)
        .http(options.http.clone())
        .reasoning_effort(settings.reasoning_effort().value);
    match settings.credential(secrets)? {
        Credential::ApiKey(key) => config = config.api_key(key),
        // Azure Identity is chosen only for Azure settings, which never reach this arm.
        Credential::AzureIdentity => {
            return not_built(ProviderKind::AzureFoundry, "azure", "Azure Identity is on")
        }
    }
    if let Some(model) = settings.model_id().value.as_deref() {
        config = config
            .default_model(model)
            .model_info(settings.model_info().value.clone());
    }
    let warnings = config.warnings();
    let client = http_client(&config.http, options)?;
    Ok(Backend {
        provider: Box::new(OpenAiProvider::with_client(config, client)?),
        credential_headers: vec!["Authorization".to_owned()],
        warnings,
    })
}

#[cfg(feature = "azure")]
fn azure_backend(
    settings: &EffectiveSettings,
    secrets: &dyn SecretStore,
    options: &ConnectOptions,
    parts: &Parts,
    _why: &str,
) -> Result<Backend> {
    use azure::{AzureConfig, AzureProvider, EntraId};
    use policy::Credential;

    let Some(base_url) = settings.base_url().value.as_ref() else {
        return Err(Error::invalid_config(
            "openAiBaseUrl",
            "no Azure endpoint is configured; enter the resource's URL, e.g. https://my-resource.openai.azure.com",
        ));
    };
    let mut config = AzureConfig::new(base_url.as_str())
        .map_err(|e| e.with_field("openAiBaseUrl"))?
        .headers(
            settings
                .headers()
                .value
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
        )
        .require_https(options.require_https)
        .http(options.http.clone())
        .reasoning_effort(settings.reasoning_effort().value);
    if let Some(version) = settings.azure_api_version().value.as_deref() {
        config = config.api_version(version);
    }
    let credential = settings.credential(secrets).map_err(|e| {
        if e.field() == Some(settings.api_key_name()) {
            Error::invalid_config(
                settings.api_key_name(),
                "no API key is stored for this Azure resource; enter its key (KEY 1 or KEY 2 on \
                 the resource's Keys and Endpoint page), or turn on Azure Identity to sign in \
                 with Microsoft Entra ID instead",
            )
        } else {
            e
        }
    })?;
    let credential_headers = match credential {
        Credential::ApiKey(key) => {
            config = config.api_key(key);
            vec!["api-key".to_owned(), "Authorization".to_owned()]
        }
        Credential::AzureIdentity => {
            config = config.entra_id(parts.entra.clone().unwrap_or_else(EntraId::default_chain));
            vec!["Authorization".to_owned(), "api-key".to_owned()]
        }
    };
    if let Some(model) = settings.model_id().value.as_deref() {
        config = config
            .default_model(model)
            .model_info(settings.model_info().value.clone());
    }
    if let Some(models) = settings.offered_models() {
        config = config.models(models.to_vec());
    }
    let warnings = config.warnings();
    let client = http_client(&config.http, options)?;
    Ok(Backend {
        provider: Box::new(AzureProvider::with_client(config, client)?),
        credential_headers,
        warnings,
    })
}

#[cfg(not(feature = "azure"))]
fn azure_backend(
    _: &EffectiveSettings,
    _: &dyn SecretStore,
    _: &ConnectOptions,
    _: &Parts,
    why: &str,
) -> Result<Backend> {
    not_built(ProviderKind::AzureFoundry, "azure", why)
}

/// OpenAI Codex on the member's ChatGPT subscription: the sign-in made with
/// [`codex::CodexAuth`] (or the Codex CLI's), found where [`codex::CodexConfig::from_env`]
/// looks (`CLINE_PROVIDER_HOME`, `CODEX_HOME`), requests to `CLINE_CODEX_BASE_URL` or the
/// ChatGPT backend. No API key is involved: the member's secret store is not read.
#[cfg(feature = "codex")]
fn codex_backend(
    settings: &EffectiveSettings,
    options: &ConnectOptions,
    parts: &Parts,
) -> Result<Backend> {
    use cline_provider_core::http::{check_plain_http, CredentialKind};
    use codex::{CodexAuth, CodexConfig, CodexProvider};

    let auth = match &parts.codex {
        Some(auth) => auth.clone(),
        None => CodexAuth::new(CodexConfig::from_env()?)?,
    };
    let config = auth.config();
    check_plain_http(
        &config.base_url,
        "CLINE_CODEX_BASE_URL",
        CredentialKind::IdentityToken,
        options.require_https,
    )?;
    let client = http_client(&options.http, options)?;
    let mut provider = CodexProvider::with_client(auth, client)?
        .reasoning_effort(settings.reasoning_effort().value);
    if let Some(model) = settings.model_id().value.as_deref() {
        provider = provider.default_model(model);
    }
    Ok(Backend {
        provider: Box::new(provider),
        // The sign-in travels in these; a request never sets them.
        credential_headers: vec!["Authorization".to_owned(), "ChatGPT-Account-Id".to_owned()],
        warnings: Vec::new(),
    })
}

#[cfg(not(feature = "codex"))]
fn codex_backend(_: &EffectiveSettings, _: &ConnectOptions, _: &Parts) -> Result<Backend> {
    not_built(ProviderKind::OpenAiCodex, "codex", "it was chosen")
}

#[cfg(not(feature = "openai"))]
fn openai_backend(
    _: &EffectiveSettings,
    _: &dyn SecretStore,
    _: &ConnectOptions,
) -> Result<Backend> {
    not_built(ProviderKind::OpenAiCompatible, "openai", "it was chosen")
}

// Compiles the README's code so that it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
