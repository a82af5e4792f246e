//! [`CodexProvider`]: the [`Provider`] that sends a person's requests to the ChatGPT
//! backend's Codex endpoint, on their subscription.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cline_provider_core::auth::send_renewing_after_401;
use cline_provider_core::http::sse::SseDecoder;
use cline_provider_core::http::{
    check_plain_http, default_error_mapper, header_pair, CredentialKind, HttpClient, HttpConfig,
    RequestSpec,
};
use cline_provider_core::telemetry::GenAiRequest;
use cline_provider_core::{
    ChatRequest, Error, ErrorKind, EventStream, ModelInfo, Provider, ProviderInfo, ProviderKind,
    ReasoningEffort, Result,
};
use http::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use secrecy::ExposeSecret;
use url::Url;

use crate::auth::{CodexAuth, CodexToken};
use crate::models::{catalog, catalog_model, parse_listing, DEFAULT_MODEL};
use crate::responses::failure::USAGE_NOT_INCLUDED_HINT;
use crate::responses::{build_body_bytes, BodyOptions, ResponsesDecoder};

/// How long the model listing may take when it is read only to explain a refused model.
const LISTING_FOR_REFUSAL_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest model listing read.
const MAX_LISTING_BYTES: usize = 4 * 1024 * 1024;

/// `gen_ai.provider.name` of the Codex endpoint: OpenAI's, in OpenTelemetry's GenAI
/// conventions.
const GEN_AI_PROVIDER: &str = "openai";

/// The header a request sets to choose its own session id.
const SESSION_HEADER: &str = "session_id";

/// A person's ChatGPT subscription through Codex, as a [`Provider`].
///
/// Requests go to `POST {base}/responses` (the Responses API, always streamed, `store: false`),
/// with the sign-in's bearer token, `ChatGPT-Account-Id`, `originator`, `session_id` and
/// `User-Agent`. The session id is a UUID v7 made when the provider is built, so one provider
/// is one conversation for the endpoint's prompt cache; set your own with
/// [`session_id`](CodexProvider::session_id), or per request with a `session_id` header.
///
/// - Not signed in: [`ErrorKind::NotSignedIn`] with the sign-in hint, before anything is sent.
/// - HTTP 401: the sign-in is reloaded or refreshed and the request sent once more; a second
///   401 is [`ErrorKind::NotSignedIn`].
/// - The plan's usage limit: [`ErrorKind::SubscriptionLimit`], saying when it resets.
/// - A model the plan does not include: [`ErrorKind::ModelNotFound`], "not available on your
///   plan", with the models it does include.
/// - Usage is billed to the plan: [`Billing::Subscription`](cline_provider_core::Billing),
///   cost 0.
///
/// ```no_run
/// use cline_provider_codex::{CodexAuth, CodexProvider};
/// use cline_provider_core::{ChatRequest, Message, Provider};
///
/// # async fn run() -> cline_provider_core::Result<()> {
/// let provider = CodexProvider::new(CodexAuth::from_env()?)?;
/// let reply = provider
///     .complete(ChatRequest::new("gpt-5.5").message(Message::user("Hello")))
///     .await?;
/// println!("{}", reply.text);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct CodexProvider {
    auth: CodexAuth,
    client: HttpClient,
    responses_url: Url,
    models_url: Url,
    session_id: String,
    default_model: Option<String>,
    reasoning_effort: ReasoningEffort,
    parallel_tool_calls: bool,
}

impl CodexProvider {
    /// A provider over `auth`, with its own HTTP client ([`HttpConfig::default`]: proxy and
    /// extra root certificates from the environment, a 300 s idle timeout).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`] naming the field for an endpoint the sign-in's token may
    /// not travel to (plain `http://` to a remote host) or an HTTP setting that does not work.
    pub fn new(auth: CodexAuth) -> Result<Self> {
        let client = HttpClient::new(HttpConfig::default())?;
        Self::with_client(auth, client)
    }

    /// Like [`new`](Self::new), with an existing client (its pool, settings and retry
    /// callback).
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn with_client(auth: CodexAuth, client: HttpClient) -> Result<Self> {
        let config = auth.config();
        // The sign-in's token opens the person's whole account: never over plain HTTP.
        check_plain_http(
            &config.base_url,
            "base_url",
            CredentialKind::IdentityToken,
            false,
        )?;
        let responses_url = config.endpoint("responses");
        let mut models_url = config.endpoint("models");
        models_url
            .query_pairs_mut()
            .append_pair("client_version", env!("CARGO_PKG_VERSION"));
        Ok(CodexProvider {
            responses_url,
            models_url,
            session_id: uuid::Uuid::now_v7().to_string(),
            default_model: None,
            reasoning_effort: ReasoningEffort::Medium,
            parallel_tool_calls: true,
            auth,
            client,
        })
    }

    /// Sets the session id (`session_id` header and `prompt_cache_key`). Default: a UUID v7
    /// made when the provider was built.
    pub fn session_id(mut self, id: impl Into<String>) -> Self {
        self.session_id = id.into();
        self
    }

    /// Sets the model used when a request names none. Default [`DEFAULT_MODEL`].
    pub fn default_model(mut self, model: impl Into<String>) -> Self {
        self.default_model = Some(model.into());
        self
    }

    /// Sets the reasoning effort used when a request sets none. Default `medium`;
    /// [`ReasoningEffort::None`] turns reasoning off.
    pub fn reasoning_effort(mut self, effort: ReasoningEffort) -> Self {
        self.reasoning_effort = effort;
        self
    }

    /// Sets whether the model may call several tools in one reply. Default `true`.
    pub fn parallel_tool_calls(mut self, allowed: bool) -> Self {
        self.parallel_tool_calls = allowed;
        self
    }

    /// The sign-in.
    pub fn auth(&self) -> &CodexAuth {
        &self.auth
    }

    /// The session id requests carry unless they set their own.
    pub fn session(&self) -> &str {
        &self.session_id
    }

    /// The HTTP client.
    pub fn client(&self) -> &HttpClient {
        &self.client
    }

    /// The headers of one request: the sign-in, the Codex identification, then the request's
    /// own headers (which win).
    fn headers(
        &self,
        token: &CodexToken,
        session_id: &str,
        accept: &'static str,
        extra: &[(String, String)],
    ) -> Result<HeaderMap> {
        let mut h = HeaderMap::with_capacity(6 + extra.len());
        h.insert(ACCEPT, HeaderValue::from_static(accept));
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let mut bearer =
            HeaderValue::from_str(&format!("Bearer {}", token.bearer().expose_secret())).map_err(
                |_| {
                    Error::new(
                        ErrorKind::NotSignedIn,
                        "the stored access token cannot be sent in a header",
                    )
                },
            )?;
        bearer.set_sensitive(true);
        h.insert(AUTHORIZATION, bearer);
        if let Some(account) = token.account_id() {
            let (name, mut value) = header_pair("ChatGPT-Account-Id", account)?;
            value.set_sensitive(true);
            h.insert(name, value);
        }
        let (name, value) = header_pair("originator", &self.auth.config().originator)?;
        h.insert(name, value);
        let (name, value) = header_pair(SESSION_HEADER, session_id)?;
        h.insert(name, value);
        for (name, value) in extra {
            let (name, value) = header_pair(name, value)?;
            h.insert(name, value);
        }
        Ok(h)
    }

    /// Runs `send` with the sign-in's token and how many times it was sent before (0); after
    /// a 401, once more (1) with a reloaded or refreshed one. A second 401 ends the sign-in.
    async fn signed_in<T, Fut>(&self, send: impl Fn(CodexToken, u32) -> Fut) -> Result<T>
    where
        Fut: Future<Output = Result<T>>,
    {
        send_renewing_after_401(
            self.auth.token().await?,
            send,
            |rejected| async move {
                self.auth
                    .refresh_after_unauthorized(&rejected)
                    .await
                    .map(Some)
            },
            |e| self.auth.rejected_after_refresh(401).with_source(e),
        )
        .await
    }

    async fn open_stream(
        &self,
        token: CodexToken,
        body: &Bytes,
        session_id: &str,
        request: &ChatRequest,
        resends: u32,
    ) -> Result<EventStream> {
        let headers = self.headers(
            &token,
            session_id,
            "text/event-stream",
            &request.extra_headers,
        )?;
        let url = &self.responses_url;
        let build = |c: &reqwest::Client| {
            Ok(c.post(url.clone())
                .headers(headers.clone())
                .body(body.clone()))
        };
        let spec = RequestSpec::new(&build, &map_error)
            .with_cancel(request.cancel.as_ref().map(|c| c.0.clone()))
            .with_total_timeout(request.timeout)
            .with_gen_ai(
                GenAiRequest::chat(GEN_AI_PROVIDER, request)
                    .server(url)
                    .resent(resends),
            );
        let new_decoder = || -> Box<dyn SseDecoder> { Box::new(ResponsesDecoder::new()) };
        self.client.stream_sse(&spec, &new_decoder).await
    }

    async fn fetch_listing(&self, token: CodexToken) -> Result<Vec<ModelInfo>> {
        let headers = self.headers(&token, &self.session_id, "application/json", &[])?;
        let url = &self.models_url;
        let build = |c: &reqwest::Client| Ok(c.get(url.clone()).headers(headers.clone()));
        // No listing at this path (older endpoints): not a model the endpoint lacks.
        let map = |status: u16, h: &HeaderMap, body: &[u8]| {
            if status == 404 {
                Error::invalid_config(
                    "base_url",
                    "this Codex endpoint serves no model listing (GET …/models answered 404)",
                )
                .with_status(404)
            } else {
                map_error(status, h, body)
            }
        };
        let spec = RequestSpec::new(&build, &map);
        let fetched = self.client.fetch(&spec, MAX_LISTING_BYTES).await?;
        parse_listing(&fetched.body)
    }

    /// The plan's models as the endpoint lists them (`GET {base}/models`), with the sign-in,
    /// and its errors: unlike [`list_models`](Provider::list_models), which falls back to the
    /// catalog, this says whether the endpoint accepted the sign-in (a diagnosis reads it).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotSignedIn`] without a sign-in (nothing is sent) or after a second 401;
    /// [`ErrorKind::InvalidConfig`] naming `base_url` (status 404) for an endpoint that serves
    /// no listing; the endpoint's other refusals mapped by core's classification.
    pub async fn plan_models(&self) -> Result<Vec<ModelInfo>> {
        self.signed_in(|token, _| self.fetch_listing(token)).await
    }

    /// Adds what only this provider knows to an error: a refused model is not on the
    /// person's plan, and the plan's models are listed; a refused model the plan does list
    /// points at the endpoint's address instead.
    async fn explain(&self, err: Error, model: &str) -> Error {
        if err.kind() != &ErrorKind::ModelNotFound {
            return err;
        }
        let plan = self
            .auth
            .status()
            .ok()
            .and_then(|s| s.plan_type)
            .map(|p| format!(" ({p})"))
            .unwrap_or_default();
        let offered =
            match tokio::time::timeout(LISTING_FOR_REFUSAL_TIMEOUT, self.plan_models()).await {
                Ok(Ok(models)) if !models.is_empty() => models.into_iter().map(|m| m.id).collect(),
                _ => Vec::new(),
            };
        if offered.iter().any(|m| m == model) {
            // The plan lists the model, so the refusal is not about the plan: a bare 404
            // comes from an address that is not the Codex endpoint.
            let hint = format!(
                "Your ChatGPT plan{plan} offers `{model}`, but {} refused it: that address is \
                 probably not the Codex endpoint. Check the Codex base URL (it ends in \
                 /backend-api/codex).",
                self.responses_url
            );
            return err.with_available_models(offered).with_hint(hint);
        }
        let listed = if offered.is_empty() {
            String::new()
        } else {
            format!(" It offers: {}.", offered.join(", "))
        };
        let hint = format!(
            "The model `{model}` is not available on your ChatGPT plan{plan}.{listed} Choose \
             another model, or a plan that includes this one."
        );
        err.with_available_models(offered).with_hint(hint)
    }
}

#[async_trait]
impl Provider for CodexProvider {
    fn info(&self) -> ProviderInfo {
        ProviderInfo {
            kind: ProviderKind::OpenAiCodex,
            base_url: Some(self.auth.config().base_url.clone()),
            default_model: Some(
                self.default_model
                    .clone()
                    .unwrap_or_else(|| DEFAULT_MODEL.to_owned()),
            ),
        }
    }

    /// The plan's models from the endpoint's listing, completed from the catalog; the catalog
    /// itself when the listing cannot be had (no sign-in yet, an endpoint without one).
    async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        match self.plan_models().await {
            Ok(models) if !models.is_empty() => Ok(models),
            Ok(_) => Ok(catalog().to_vec()),
            Err(e) => {
                tracing::debug!(error = %e, "the Codex model listing is unavailable; using the catalog");
                Ok(catalog().to_vec())
            }
        }
    }

    /// The catalog's entry (prices 0); a model the catalog does not know is priced at 0 too,
    /// since the plan pays for every model.
    fn model_info(&self, model: &str) -> Option<ModelInfo> {
        let model = match model.trim() {
            "" => self.default_model.as_deref().unwrap_or(DEFAULT_MODEL),
            m => m,
        };
        Some(catalog_model(model).cloned().unwrap_or_else(|| {
            let mut info = ModelInfo::new(model);
            info.input_price = Some(0.0);
            info.output_price = Some(0.0);
            info
        }))
    }

    async fn stream(&self, mut request: ChatRequest) -> Result<EventStream> {
        if request.model.trim().is_empty() {
            request.model = self
                .default_model
                .clone()
                .unwrap_or_else(|| DEFAULT_MODEL.to_owned());
        }
        let session_id = request
            .extra_headers
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(SESSION_HEADER))
            .map_or(self.session_id.as_str(), |(_, v)| v.as_str())
            .to_owned();
        let options = BodyOptions {
            session_id: &session_id,
            reasoning_effort: self.reasoning_effort,
            parallel_tool_calls: self.parallel_tool_calls,
        };
        let body = Bytes::from(build_body_bytes(&request, &options)?);
        tracing::debug!(
            host = self.responses_url.host_str().unwrap_or(""),
            model = %request.model,
            messages = request.messages.len(),
            tools = request.tools.len(),
            "Codex responses request"
        );
        let opened = self
            .signed_in(|token, resends| {
                self.open_stream(token, &body, &session_id, &request, resends)
            })
            .await;
        match opened {
            Err(e) => Err(self.explain(e, &request.model).await),
            ok => ok,
        }
    }
}

/// The endpoint's error bodies through core's rules, with this plan's advice added.
fn map_error(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let err = default_error_mapper(status, headers, body);
    if err.code() == Some("usage_not_included") {
        return err.with_hint(USAGE_NOT_INCLUDED_HINT);
    }
    err
}
