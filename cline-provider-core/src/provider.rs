//! The [`Provider`] trait every backend implements.

use async_trait::async_trait;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::Result;
use crate::model::ModelInfo;
use crate::request::ChatRequest;
use crate::stream::{ChatResponse, Collector, EventStream, StreamEvent};

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
    /// The endpoint base URL, with any credential in its query (Azure API Management's
    /// `subscription-key`, …) replaced by a redaction mark, so that showing it is safe.
    pub base_url: Option<Url>,
    /// The model used when a request leaves it empty, if configured.
    pub default_model: Option<String>,
}

/// A connection to an LLM endpoint. Object-safe: use it as `Box<dyn Provider>` or
/// `Arc<dyn Provider>`.
///
/// Errors that happen before the reply starts (authentication, HTTP 4xx/5xx after retries,
/// connection failures, an in-band error as the first event) are returned by
/// [`Provider::stream`] itself, never as the first item of the stream.
///
/// Implementing it takes [`async_trait`](crate::async_trait), re-exported here. A wrapper that
/// adds behaviour in front of another provider delegates what it does not change; this one
/// logs every request and forwards the rest, prices included:
///
/// ```
/// use cline_provider_core::{async_trait, ChatRequest, EventStream, ModelInfo, Provider, ProviderInfo, Result};
///
/// struct Logged<P>(P);
///
/// #[async_trait]
/// impl<P: Provider> Provider for Logged<P> {
///     fn info(&self) -> ProviderInfo {
///         self.0.info()
///     }
///     async fn list_models(&self) -> Result<Vec<ModelInfo>> {
///         self.0.list_models().await
///     }
///     async fn stream(&self, request: ChatRequest) -> Result<EventStream> {
///         eprintln!("-> {} ({} messages)", request.model, request.messages.len());
///         self.0.stream(request).await
///     }
///     fn model_info(&self, model: &str) -> Option<ModelInfo> {
///         self.0.model_info(model)
///     }
///     // `complete` is forwarded so that the inner provider's non-streaming request is used.
///     async fn complete(&self, request: ChatRequest) -> Result<cline_provider_core::ChatResponse> {
///         self.0.complete(request).await
///     }
/// }
/// ```
#[async_trait]
pub trait Provider: Send + Sync {
    /// What this provider is connected to.
    fn info(&self) -> ProviderInfo;

    /// The models the endpoint offers.
    ///
    /// # Errors
    ///
    /// As [`stream`](Provider::stream): credentials, reachability, and a base URL that lists
    /// no models ([`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig), field
    /// `base_url`).
    async fn list_models(&self) -> Result<Vec<ModelInfo>>;

    /// Sends `request` and streams the reply. Returns once the first event is ready.
    ///
    /// # Errors
    ///
    /// Everything that happens before the first event, with its kind and hint: an invalid
    /// request ([`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) naming the
    /// field), credentials, rate limits and server errors after retries, timeouts, redirects.
    /// Errors after the first event come as the stream's last item, marked
    /// [`after_output`](crate::Error::is_after_output).
    ///
    /// # Cancellation
    ///
    /// Dropping the future or the stream cancels the request (see [`EventStream`]).
    async fn stream(&self, request: ChatRequest) -> Result<EventStream>;

    /// What is known about `model` (`""`: the default model), for pricing replies. Default:
    /// nothing.
    fn model_info(&self, model: &str) -> Option<ModelInfo> {
        let _ = model;
        None
    }

    /// Sends `request` and waits for the whole reply. The default collects
    /// [`stream`](Provider::stream); a backend may send a non-streaming request instead (the
    /// OpenAI Compatible one does, for servers and gateways that cannot stream).
    ///
    /// # Errors
    ///
    /// As [`stream`](Provider::stream), and any error the stream ends with.
    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse> {
        self.stream_collect(request, &mut |_| {}).await
    }

    /// Streams `request`, handing every event to `on_event` as it arrives (to show the reply
    /// while it is written), and returns the whole [`ChatResponse`] at the end, priced with
    /// [`model_info`](Provider::model_info).
    ///
    /// ```no_run
    /// # use cline_provider_core::{ChatRequest, Message, Provider, StreamEvent};
    /// # async fn run(provider: &dyn Provider) -> cline_provider_core::Result<()> {
    /// let reply = provider
    ///     .stream_collect(ChatRequest::new("m").message(Message::user("Hi")), &mut |e| {
    ///         if let StreamEvent::TextDelta { text } = e {
    ///             print!("{text}");
    ///         }
    ///     })
    ///     .await?;
    /// println!("\n{} tool calls, cost {:?}", reply.tool_calls.len(), reply.cost);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`stream`](Provider::stream), and any error the stream ends with (events before it
    /// have been handed to `on_event`).
    async fn stream_collect(
        &self,
        request: ChatRequest,
        on_event: &mut (dyn for<'e> FnMut(&'e StreamEvent) + Send),
    ) -> Result<ChatResponse> {
        let prices = self.model_info(&request.model);
        let mut stream = self.stream(request).await?;
        let mut collector = Collector::priced(prices);
        while let Some(event) = stream.next().await {
            let event = event?;
            on_event(&event);
            collector.push(&event);
        }
        Ok(collector.finish())
    }
}
