//! [`OpenAiProvider`]: the [`Provider`] for OpenAI Compatible endpoints.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cline_provider_core::http::{
    default_error_mapper, header_pair, read_body_capped, HttpClient, RequestSpec,
};
use cline_provider_core::{
    ChatRequest, Error, ErrorKind, EventStream, ModelInfo, Provider, ProviderInfo, ProviderKind,
    Result,
};
use http::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use secrecy::ExposeSecret;
use url::Url;

use crate::config::OpenAiConfig;
use crate::convert::build_body;
use crate::decode::ChatCompletionsDecoder;
use crate::models::parse_model_list;

/// How long the model list may take when it is fetched only to explain a "model not found".
const MODEL_LIST_FOR_404_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest model list read (OpenRouter's full catalogue is a few MiB).
const MAX_MODEL_LIST_BYTES: usize = 32 * 1024 * 1024;

/// A connection to one OpenAI Compatible endpoint.
///
/// Chat requests go to `POST {base}/chat/completions` (always streamed, with
/// `stream_options.include_usage`), the model list comes from `GET {base}/models`, both with
/// the same authentication and custom headers. Errors before the reply starts come back from
/// [`Provider::stream`]; a "model not found" lists what the endpoint does offer when the list
/// can be fetched quickly.
///
/// ```no_run
/// use cline_provider_core::{ChatRequest, Message, Provider};
/// use cline_provider_openai::{OpenAiConfig, OpenAiProvider};
///
/// # async fn run() -> cline_provider_core::Result<()> {
/// let provider = OpenAiProvider::new(
///     OpenAiConfig::new("http://127.0.0.1:8000/v1")?.api_key("sk-…"),
/// )?;
/// let reply = provider
///     .complete(ChatRequest::new("Qwen/Qwen2.5-7B-Instruct").message(Message::user("Hello")))
///     .await?;
/// println!("{}", reply.text);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct OpenAiProvider {
    config: OpenAiConfig,
    client: HttpClient,
    chat_url: Url,
    models_url: Url,
    /// Authentication and custom headers, built once; requests add their own on top.
    headers: HeaderMap,
}

impl OpenAiProvider {
    /// Checks `config` and builds the provider with its own HTTP client.
    ///
    /// Fails with [`ErrorKind::InvalidConfig`] naming the field for a bad URL, header,
    /// HTTP setting, or plain HTTP under `require_https`. Credentials over plain HTTP to a
    /// remote host are allowed but logged as a warning (see [`OpenAiConfig::warnings`]).
    pub fn new(config: OpenAiConfig) -> Result<Self> {
        let client = HttpClient::new(config.http.clone())?;
        Self::with_client(config, client)
    }

    /// Like [`new`](Self::new), but shares an existing client (its connection pool and retry
    /// callback); `config.http` is then not used.
    pub fn with_client(config: OpenAiConfig, client: HttpClient) -> Result<Self> {
        config.validate()?;
        for warning in config.warnings() {
            tracing::warn!(host = config.base_url.host_str().unwrap_or(""), "{warning}");
        }
        let headers = base_headers(&config)?;
        Ok(OpenAiProvider {
            chat_url: config.chat_completions_url(),
            models_url: config.models_url(),
            config,
            client,
            headers,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    /// The HTTP client.
    pub fn client(&self) -> &HttpClient {
        &self.client
    }

    /// The configured model info, when it describes `model`.
    fn model_info_for(&self, model: &str) -> Option<&ModelInfo> {
        self.config
            .model_info
            .as_ref()
            .filter(|i| i.id.is_empty() || i.id == model)
    }

    /// The headers of one request: SDK defaults, then authentication and custom headers,
    /// then the request's own.
    fn request_headers(
        &self,
        extra: &[(String, String)],
        accept: &'static str,
    ) -> Result<HeaderMap> {
        let mut h = HeaderMap::with_capacity(self.headers.len() + extra.len() + 2);
        h.insert(ACCEPT, HeaderValue::from_static(accept));
        for (name, value) in &self.headers {
            h.insert(name.clone(), value.clone());
        }
        for (name, value) in extra {
            let (name, value) = header_pair(name, value)?;
            h.insert(name, value);
        }
        Ok(h)
    }

    async fn fetch_models(&self) -> Result<Vec<ModelInfo>> {
        let headers = self.request_headers(&[], "application/json")?;
        let url = &self.models_url;
        let build = |c: &reqwest::Client| Ok(c.get(url.clone()).headers(headers.clone()));
        let map = |status: u16, h: &HeaderMap, body: &[u8]| {
            if status == 404 {
                Error::invalid_config(
                    "base_url",
                    format!(
                        "the endpoint has no model list at {} (HTTP 404); check the base URL's path (many servers expect it to end in /v1)",
                        display_url(url)
                    ),
                )
                .with_status(404)
            } else {
                default_error_mapper(status, h, body)
            }
        };
        let spec = RequestSpec::new(&build, &map);
        let response = self.client.send(&spec).await?;
        let wait = self.client.config().header_timeout;
        let body = tokio::time::timeout(
            wait,
            read_body_capped(response, MAX_MODEL_LIST_BYTES, "model list"),
        )
        .await
        .map_err(|_| Error::timeout(cline_provider_core::TimeoutPhase::Total, wait))??;
        let mut models = parse_model_list(&body)?;
        if let Some(info) = &self.config.model_info {
            for m in models.iter_mut().filter(|m| m.id == info.id) {
                *m = info.clone().or(m);
            }
        }
        Ok(models)
    }

    /// Adds what the endpoint offers to a "model not found", or points at the base URL when
    /// the endpoint does list the model (then the 404 came from a wrong path).
    async fn explain_model_not_found(&self, err: Error, model: &str) -> Error {
        let listed = tokio::time::timeout(MODEL_LIST_FOR_404_TIMEOUT, self.fetch_models()).await;
        match listed {
            Ok(Ok(models)) => {
                let ids: Vec<String> = models.into_iter().map(|m| m.id).collect();
                let model_listed = ids.iter().any(|id| id == model);
                if model_listed
                    && err.status() == Some(404)
                    && err.code() != Some("model_not_found")
                {
                    Error::invalid_config(
                        "base_url",
                        format!(
                            "{} answered 404 although the endpoint lists model `{model}`; the base URL's path is probably wrong",
                            display_url(&self.chat_url)
                        ),
                    )
                    .with_status(404)
                    .with_available_models(ids)
                    .with_source(err)
                } else {
                    err.with_available_models(ids)
                }
            }
            Ok(Err(list_err)) => {
                tracing::debug!(error = %list_err, "could not list models to explain a model-not-found error");
                err
            }
            Err(_) => {
                tracing::debug!("listing models to explain a model-not-found error timed out");
                err
            }
        }
    }
}

#[async_trait]
impl Provider for OpenAiProvider {
    fn info(&self) -> ProviderInfo {
        ProviderInfo {
            kind: ProviderKind::OpenAiCompatible,
            base_url: Some(self.config.base_url.clone()),
            default_model: self.config.default_model.clone(),
        }
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        self.fetch_models().await
    }

    async fn stream(&self, mut request: ChatRequest) -> Result<EventStream> {
        if request.model.trim().is_empty() {
            if let Some(model) = &self.config.default_model {
                request.model = model.clone();
            }
        }
        if request.reasoning_effort.is_none() {
            request.reasoning_effort = self.config.reasoning_effort;
        }
        let body = build_body(&request, self.model_info_for(&request.model))?;
        let body = Bytes::from(serde_json::to_vec(&body).map_err(|e| {
            Error::invalid_config(
                "request",
                format!("the request could not be encoded as JSON: {e}"),
            )
        })?);
        let mut headers = self.request_headers(&request.extra_headers, "text/event-stream")?;
        if !headers.contains_key(CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        tracing::debug!(
            host = self.chat_url.host_str().unwrap_or(""),
            path = self.chat_url.path(),
            model = %request.model,
            messages = request.messages.len(),
            tools = request.tools.len(),
            "chat completion request"
        );
        let url = &self.chat_url;
        let build = |c: &reqwest::Client| {
            Ok(c.post(url.clone())
                .headers(headers.clone())
                .body(body.clone()))
        };
        let spec = RequestSpec::new(&build, &default_error_mapper)
            .with_cancel(request.cancel.as_ref().map(|c| c.0.clone()));
        match self
            .client
            .stream_sse(&spec, Box::new(ChatCompletionsDecoder::new()))
            .await
        {
            Err(e) if e.kind() == &ErrorKind::ModelNotFound && e.available_models().is_empty() => {
                Err(self.explain_model_not_found(e, &request.model).await)
            }
            other => other,
        }
    }
}

/// The API key's `Authorization` header (unless a custom one replaces it) and the custom
/// headers; credential-like values are marked sensitive so that no `Debug` shows them.
fn base_headers(config: &OpenAiConfig) -> Result<HeaderMap> {
    let mut h = HeaderMap::new();
    if let Some(key) = &config.api_key {
        if !config.has_authorization_header() {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", key.expose_secret().trim())).map_err(|_| {
                Error::invalid_config(
                    "api_key",
                    "the API key contains characters that cannot be sent in a header (line breaks or control characters)",
                )
            })?;
            value.set_sensitive(true);
            h.insert(AUTHORIZATION, value);
        }
    }
    for (name, value) in &config.headers {
        let (name, value) = header_pair(name, value)?;
        h.insert(name, value);
    }
    Ok(h)
}

/// A URL for messages: scheme, host, port and path, never the query (it may carry a token).
fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.to_string()
}
