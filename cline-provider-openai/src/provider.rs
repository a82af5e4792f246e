//! [`OpenAiProvider`]: the [`Provider`] for OpenAI Compatible endpoints.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cline_provider_core::http::sse::{SseDecoder, SseParser};
use cline_provider_core::http::{
    default_error_mapper, header_pair, redact_url, Fetched, HttpClient, RequestSpec,
};
use cline_provider_core::telemetry::GenAiRequest;
use cline_provider_core::{
    ChatRequest, ChatResponse, Collector, Error, ErrorKind, EventStream, ModelInfo, Provider,
    ProviderInfo, ProviderKind, Result,
};
use http::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use secrecy::ExposeSecret;
use url::Url;

use crate::completion::parse_completion;
use crate::config::OpenAiConfig;
use crate::convert::{build_body_bytes, BodyOptions};
use crate::decode::ChatCompletionsDecoder;
use crate::models::parse_model_list;

/// How long the model list may take when it is fetched only to explain a "model not found".
const MODEL_LIST_FOR_404_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest model list read (OpenRouter's full catalogue is a few MiB).
const MAX_MODEL_LIST_BYTES: usize = 32 * 1024 * 1024;

/// `gen_ai.provider.name` of OpenAI and OpenAI Compatible endpoints.
const GEN_AI_PROVIDER: &str = "openai";

/// The largest whole reply read by [`Provider::complete`].
const MAX_COMPLETION_BYTES: usize = 32 * 1024 * 1024;

/// A connection to one OpenAI Compatible endpoint.
///
/// Chat requests go to `POST {base}/chat/completions`: [`Provider::stream`] streams (with
/// `stream_options.include_usage`), [`Provider::complete`] asks for one JSON reply
/// (`stream: false`) for servers and gateways that cannot stream. The model list comes from
/// `GET {base}/models`, with the same authentication and custom headers. Errors before the
/// reply starts come back from [`Provider::stream`]; a "model not found" lists what the
/// endpoint does offer when the list can be fetched quickly, and a 404 from both the chat
/// route and the model list says the base URL is wrong.
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
pub struct OpenAiProvider {
    config: OpenAiConfig,
    client: HttpClient,
    chat_url: Url,
    models_url: Url,
    /// Authentication and custom headers, built once; requests add their own on top.
    headers: HeaderMap,
    /// The headers of a streamed chat request without headers of its own, built once.
    stream_headers: HeaderMap,
}

impl fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URLs may carry a key in their query: shown redacted, like the configuration.
        f.debug_struct("OpenAiProvider")
            .field("config", &self.config)
            .field("client", &self.client)
            .field("chat_url", &redact_url(&self.chat_url))
            .field("models_url", &redact_url(&self.models_url))
            .finish_non_exhaustive()
    }
}

impl OpenAiProvider {
    /// Checks `config` and builds the provider with its own HTTP client.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`] naming the field for a bad URL, header, HTTP setting, or
    /// plain HTTP under `require_https`. Credentials over plain HTTP to a remote host are
    /// allowed but logged as a warning (see [`OpenAiConfig::warnings`]).
    pub fn new(config: OpenAiConfig) -> Result<Self> {
        let client = HttpClient::new(config.http.clone())?;
        Self::with_client(config, client)
    }

    /// Like [`new`](Self::new), but shares an existing client (its connection pool and retry
    /// callback); `config.http` is then not used.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn with_client(config: OpenAiConfig, client: HttpClient) -> Result<Self> {
        config.validate()?;
        for warning in config.warnings() {
            tracing::warn!(host = config.base_url.host_str().unwrap_or(""), "{warning}");
        }
        let headers = base_headers(&config)?;
        let stream_headers = chat_headers(&headers, &[], true)?;
        Ok(OpenAiProvider {
            chat_url: config.chat_completions_url(),
            models_url: config.models_url(),
            config,
            client,
            headers,
            stream_headers,
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
        request_headers(&self.headers, extra, accept)
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
        let fetched = self.client.fetch(&spec, MAX_MODEL_LIST_BYTES).await?;
        let mut models = parse_model_list(&fetched.body)?;
        if let Some(info) = &self.config.model_info {
            for m in models.iter_mut().filter(|m| m.id == info.id) {
                *m = info.clone().or(m);
            }
        }
        Ok(models)
    }

    /// Fills the request from the configuration: the default model and reasoning effort.
    fn prepare(&self, request: &mut ChatRequest) {
        if request.model.trim().is_empty() {
            if let Some(model) = &self.config.default_model {
                request.model = model.clone();
            }
        }
        if request.reasoning_effort.is_none() {
            request.reasoning_effort = self.config.reasoning_effort;
        }
    }

    /// The body and headers of a chat request (a streamed request without headers of its own
    /// shares the provider's).
    fn chat_request(
        &self,
        request: &ChatRequest,
        stream: bool,
    ) -> Result<(Bytes, Cow<'_, HeaderMap>)> {
        let info = self.model_info_for(&request.model);
        let options = BodyOptions {
            stream,
            ..BodyOptions::default()
        };
        let body = Bytes::from(build_body_bytes(request, info, &options)?);
        let headers = if stream && request.extra_headers.is_empty() {
            Cow::Borrowed(&self.stream_headers)
        } else {
            Cow::Owned(chat_headers(&self.headers, &request.extra_headers, stream)?)
        };
        tracing::debug!(
            host = self.chat_url.host_str().unwrap_or(""),
            path = self.chat_url.path(),
            model = %request.model,
            messages = request.messages.len(),
            tools = request.tools.len(),
            stream,
            "chat completion request"
        );
        Ok((body, headers))
    }

    /// How a chat request is traced ([`telemetry`](cline_provider_core::telemetry)).
    fn gen_ai<'a>(&'a self, request: &'a ChatRequest) -> GenAiRequest<'a> {
        GenAiRequest::chat(GEN_AI_PROVIDER, request).server(&self.chat_url)
    }

    /// Builds each attempt's `POST {base}/chat/completions`.
    fn chat_post<'a>(
        &'a self,
        body: &'a Bytes,
        headers: &'a HeaderMap,
    ) -> impl Fn(&reqwest::Client) -> Result<reqwest::RequestBuilder> + Send + Sync + 'a {
        move |c: &reqwest::Client| {
            Ok(c.post(self.chat_url.clone())
                .headers(headers.clone())
                .body(body.clone()))
        }
    }

    /// A "model not found" made more useful (see [`explain_model_not_found`]); other errors
    /// as they are.
    ///
    /// [`explain_model_not_found`]: Self::explain_model_not_found
    async fn explained(&self, err: Error, model: &str) -> Error {
        if err.kind() == &ErrorKind::ModelNotFound && err.available_models().is_empty() {
            self.explain_model_not_found(err, model).await
        } else {
            err
        }
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
            Ok(Err(list_err))
                if list_err.status() == Some(404)
                    && err.status() == Some(404)
                    && err.code() != Some("model_not_found") =>
            {
                // Neither route exists: the path is wrong, not the model.
                Error::invalid_config(
                    "base_url",
                    format!(
                        "both {} and {} answered 404, so the base URL is probably wrong (it usually has to end in /v1)",
                        display_url(&self.chat_url),
                        display_url(&self.models_url)
                    ),
                )
                .with_status(404)
                .with_source(err)
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
            base_url: Some(self.config.redacted_base_url()),
            default_model: self.config.default_model.clone(),
        }
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        self.fetch_models().await
    }

    async fn stream(&self, mut request: ChatRequest) -> Result<EventStream> {
        self.prepare(&mut request);
        let (body, headers) = self.chat_request(&request, true)?;
        let build = self.chat_post(&body, &headers);
        let spec = chat_spec(&build, &request).with_gen_ai(self.gen_ai(&request));
        let new_decoder = || -> Box<dyn SseDecoder> { Box::new(ChatCompletionsDecoder::new()) };
        match self.client.stream_sse(&spec, &new_decoder).await {
            Err(e) => Err(self.explained(e, &request.model).await),
            ok => ok,
        }
    }

    fn model_info(&self, model: &str) -> Option<ModelInfo> {
        let model = match model.trim() {
            "" => self.config.default_model.as_deref()?,
            m => m,
        };
        self.model_info_for(model).cloned()
    }

    /// Sends one non-streaming request (`stream: false`) and reads the JSON reply, so that
    /// servers and gateways that cannot stream work too. A server that streams anyway is
    /// understood as well.
    async fn complete(&self, mut request: ChatRequest) -> Result<ChatResponse> {
        self.prepare(&mut request);
        let (body, headers) = self.chat_request(&request, false)?;
        let build = self.chat_post(&body, &headers);
        let spec = chat_spec(&build, &request).with_gen_ai(self.gen_ai(&request));
        let prices = self.model_info(&request.model);
        let max_event_bytes = self.client.config().max_event_bytes;
        let read = |fetched: Fetched| {
            if fetched.content_type() == "text/event-stream" {
                collect_sse_body(&fetched.body, max_event_bytes, prices.clone())
            } else {
                parse_completion(&fetched.body, prices.clone())
            }
        };
        match self
            .client
            .fetch_reply(&spec, MAX_COMPLETION_BYTES, &read)
            .await
        {
            Err(e) => Err(self.explained(e, &request.model).await),
            ok => ok,
        }
    }
}

/// A chat request's spec: the request's cancellation and time limit, the shared error rules.
fn chat_spec<'a>(
    build: &'a (dyn Fn(&reqwest::Client) -> Result<reqwest::RequestBuilder> + Send + Sync),
    request: &ChatRequest,
) -> RequestSpec<'a> {
    RequestSpec::new(build, &default_error_mapper)
        .with_cancel(request.cancel.as_ref().map(|c| c.0.clone()))
        .with_total_timeout(request.timeout)
}

/// A whole SSE body (a server that streamed although asked not to), decoded and collected.
fn collect_sse_body(
    body: &[u8],
    max_event_bytes: usize,
    prices: Option<ModelInfo>,
) -> Result<ChatResponse> {
    let mut parser = SseParser::with_max_event_bytes(max_event_bytes);
    let mut decoder = ChatCompletionsDecoder::new();
    let mut collector = Collector::priced(prices);
    let mut out = Vec::new();
    parser.feed(body);
    parser.finish();
    while let Some(event) = parser.next_event() {
        let terminal = decoder.decode(&event?, &mut out)?;
        collector.extend(out.drain(..));
        if terminal {
            return Ok(collector.finish());
        }
    }
    Err(Error::new(
        ErrorKind::Truncated,
        "the streamed reply ended before its terminal event ([DONE])",
    ))
}

/// The headers of one request: SDK defaults, then authentication and custom headers (`base`),
/// then the request's own.
fn request_headers(
    base: &HeaderMap,
    extra: &[(String, String)],
    accept: &'static str,
) -> Result<HeaderMap> {
    let mut h = HeaderMap::with_capacity(base.len() + extra.len() + 2);
    h.insert(ACCEPT, HeaderValue::from_static(accept));
    for (name, value) in base {
        h.insert(name.clone(), value.clone());
    }
    for (name, value) in extra {
        let (name, value) = header_pair(name, value)?;
        h.insert(name, value);
    }
    Ok(h)
}

/// [`request_headers`] of a chat request: its `Accept`, and JSON as the body's type unless a
/// header says otherwise.
fn chat_headers(base: &HeaderMap, extra: &[(String, String)], stream: bool) -> Result<HeaderMap> {
    let accept = if stream {
        "text/event-stream"
    } else {
        "application/json"
    };
    let mut headers = request_headers(base, extra, accept)?;
    if !headers.contains_key(CONTENT_TYPE) {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    Ok(headers)
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
