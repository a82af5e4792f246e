//! The [`Provider`] trait every backend implements.

use async_trait::async_trait;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::Result;
use crate::model::ModelInfo;
use crate::request::ChatRequest;
use crate::stream::{ChatResponse, Collector, EventStream};

/// The connection modes this SDK knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProviderKind {
    /// Any endpoint speaking OpenAI's chat-completions API (provider id `openai`).
    #[serde(rename = "openai")]
    OpenAiCompatible,
    /// Azure OpenAI / Azure Foundry deployments.
    #[serde(rename = "azure")]
    AzureFoundry,
    /// ChatGPT subscription through "Sign in with OpenAI" (provider id `openai-codex`).
    #[serde(rename = "openai-codex")]
    OpenAiCodex,
}

impl ProviderKind {
    /// The id used in settings files (`openai`, `azure`, `openai-codex`).
    pub fn id(self) -> &'static str {
        match self {
            ProviderKind::OpenAiCompatible => "openai",
            ProviderKind::AzureFoundry => "azure",
            ProviderKind::OpenAiCodex => "openai-codex",
        }
    }
    /// The name a person sees.
    pub fn label(self) -> &'static str {
        match self {
            ProviderKind::OpenAiCompatible => "OpenAI Compatible",
            ProviderKind::AzureFoundry => "Azure Foundry",
            ProviderKind::OpenAiCodex => "OpenAI Codex (ChatGPT subscription)",
        }
    }
}

impl std::fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// What a provider instance is connected to.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderInfo {
    /// The mode.
    pub kind: ProviderKind,
    /// The endpoint base URL.
    pub base_url: Option<Url>,
    /// The model used when a request leaves it empty, if configured.
    pub default_model: Option<String>,
}

/// A connection to an LLM endpoint. Object-safe: use it as `Box<dyn Provider>` or
/// `Arc<dyn Provider>`.
///
/// Errors that happen before the reply body starts (authentication, HTTP 4xx/5xx after
/// retries, connection failures) are returned by [`Provider::stream`] itself, never as the
/// first item of the stream.
#[async_trait]
pub trait Provider: Send + Sync {
    /// What this provider is connected to.
    fn info(&self) -> ProviderInfo;

    /// The models the endpoint offers.
    async fn list_models(&self) -> Result<Vec<ModelInfo>>;

    /// Sends `request` and streams the reply.
    async fn stream(&self, request: ChatRequest) -> Result<EventStream>;

    /// Sends `request` and waits for the whole reply.
    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse> {
        let mut stream = self.stream(request).await?;
        let mut collector = Collector::default();
        while let Some(event) = stream.next().await {
            collector.push(&event?);
        }
        Ok(collector.finish())
    }
}
