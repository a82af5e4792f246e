//! `cline-provider`: reach large-language-model endpoints the way your organization
//! configured them.
//!
//! This facade re-exports the core types ([`Provider`], [`ChatRequest`], [`StreamEvent`],
//! [`Error`], [`policy`], …), the backends behind their features (`openai`, on by default;
//! `azure` for Azure Foundry with api-key or Microsoft Entra ID), and
//! [`connect`], which turns resolved [`EffectiveSettings`] and the
//! member's [`SecretStore`] into a ready `Box<dyn Provider>`.
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

pub use cline_provider_core::*;

/// The OpenAI Compatible backend (feature `openai`, on by default).
#[cfg(feature = "openai")]
pub mod openai {
    pub use cline_provider_openai::*;
}

/// The Azure Foundry backend (feature `azure`).
#[cfg(feature = "azure")]
pub mod azure {
    pub use cline_provider_azure::*;
}

/// Builds the provider the effective settings call for.
///
/// - OpenAI Compatible, with the organization's (or member's) base URL, custom headers and
///   model, and the member's API key from `secrets`;
/// - Azure Foundry when the original product's Azure rule holds (an `azureApiVersion` is set,
///   or the base URL is an Azure host and the model is not a DeepSeek model), with the
///   member's API key as `api-key`, or, when `azureIdentity` is on, Microsoft Entra ID
///   through the default credential chain (`az login`, managed identity, …; see
///   `azure::auth::chain`), the organization's model list, and its API version;
/// - OpenAI Codex.
///
/// Fails with a typed error and a hint when the settings cannot work: no base URL, no API key
/// while Azure Identity is off, a provider this build does not include, or a provider the SDK
/// does not implement.
pub fn connect(
    settings: &EffectiveSettings,
    secrets: &dyn SecretStore,
) -> Result<Box<dyn Provider>> {
    match settings.provider_kind()? {
        ProviderKind::OpenAiCompatible if settings.uses_azure() => connect_azure(
            settings,
            secrets,
            "the settings select Azure (an Azure API version is set, or the base URL is an Azure host)",
        ),
        ProviderKind::OpenAiCompatible => connect_openai(settings, secrets),
        ProviderKind::AzureFoundry => connect_azure(settings, secrets, "it was chosen"),
        ProviderKind::OpenAiCodex => not_built(ProviderKind::OpenAiCodex, "codex", "it was chosen"),
    }
}

fn not_built(kind: ProviderKind, feature: &str, why: &str) -> Result<Box<dyn Provider>> {
    Err(Error::invalid_config(
        "provider",
        format!(
            "{kind} is needed because {why}, but this build of cline-provider does not include it \
             (the `{feature}` backend is not built yet)"
        ),
    ))
}

#[cfg(feature = "openai")]
fn connect_openai(
    settings: &EffectiveSettings,
    secrets: &dyn SecretStore,
) -> Result<Box<dyn Provider>> {
    use openai::{OpenAiConfig, OpenAiProvider};

    let Some(base_url) = settings.base_url().value.as_ref() else {
        return Err(Error::invalid_config(
            "openAiBaseUrl",
            "no base URL is configured; enter the endpoint's URL, e.g. https://llm.example.com/v1",
        ));
    };
    let api_key = settings.api_key(secrets)?;
    if api_key.is_none() && !settings.azure_identity().value {
        return Err(Error::invalid_config(
            settings.api_key_name(),
            "no API key is stored for this endpoint; enter your own API key (an organization never \
             supplies it), or any placeholder if the server needs none",
        ));
    }
    let mut config = OpenAiConfig::new(base_url.as_str())?.headers(
        settings
            .headers()
            .value
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    if let Some(key) = api_key {
        config = config.api_key(key);
    }
    config = config.reasoning_effort(settings.reasoning_effort().value);
    if let Some(model) = settings.model_id().value.as_deref() {
        config = config
            .default_model(model)
            .model_info(settings.model_info().value.clone());
    }
    Ok(Box::new(OpenAiProvider::new(config)?))
}

#[cfg(feature = "azure")]
fn connect_azure(
    settings: &EffectiveSettings,
    secrets: &dyn SecretStore,
    _why: &str,
) -> Result<Box<dyn Provider>> {
    use azure::{AzureConfig, AzureProvider, EntraId};

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
        );
    if let Some(version) = settings.azure_api_version().value.as_deref() {
        config = config.api_version(version);
    }
    if settings.azure_identity().value {
        config = config.entra_id(EntraId::default_chain());
    } else {
        let Some(key) = settings.api_key(secrets)? else {
            return Err(Error::invalid_config(
                settings.api_key_name(),
                "no API key is stored for this Azure resource; enter its key (KEY 1 or KEY 2 on \
                 the resource's Keys and Endpoint page), or turn on Azure Identity to sign in \
                 with Microsoft Entra ID instead",
            ));
        };
        config = config.api_key(key);
    }
    config = config.reasoning_effort(settings.reasoning_effort().value);
    if let Some(model) = settings.model_id().value.as_deref() {
        config = config
            .default_model(model)
            .model_info(settings.model_info().value.clone());
    }
    if let Some(models) = settings.offered_models() {
        config = config.models(models.to_vec());
    }
    Ok(Box::new(AzureProvider::new(config)?))
}

#[cfg(not(feature = "azure"))]
fn connect_azure(
    _: &EffectiveSettings,
    _: &dyn SecretStore,
    why: &str,
) -> Result<Box<dyn Provider>> {
    Err(Error::invalid_config(
        "provider",
        format!(
            "{} is needed because {why}, but this build of cline-provider leaves it out; build \
             with the `azure` feature",
            ProviderKind::AzureFoundry
        ),
    ))
}

#[cfg(not(feature = "openai"))]
fn connect_openai(_: &EffectiveSettings, _: &dyn SecretStore) -> Result<Box<dyn Provider>> {
    not_built(ProviderKind::OpenAiCompatible, "openai", "it was chosen")
}

// Compiles the README's code so that it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
