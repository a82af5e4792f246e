//! The request executor: one connection pool, retries while nothing has reached the caller,
//! timeouts, cancellation, redirects refused, secrets scrubbed from errors.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::HeaderMap;
use secrecy::SecretString;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, Span};

use super::body::{read_capped, OverCap};
use super::classify::{is_error_document, json_instead_of_stream, parse_retry_after};
use super::config::{HttpConfig, ProxyConfig, RetryCallback, RetryInfo};
use super::endpoint::url_credentials;
use super::event_stream::SseStream;
use super::headers::is_credential_header;
use super::proxy::{check_env_proxies, explicit_proxy};
use super::redirect::{redirect_error, redirect_policy};
use super::request_spec::{content_type, content_type_is, Fetched, NewDecoder, RequestSpec};
use super::scrub::{push_secret, scrub, Secrets};
use super::send_error::{display_target, error_chain, map_send_error};
use super::sse::SseDecoder;
use super::time::{after, bounded};
use super::tls::read_pem_bundle;
use super::validate_header;
use crate::error::{Error, ErrorKind, Result, TimeoutPhase};
use crate::stream::{ChatResponse, EventStream};
use crate::telemetry::{record_resend, GenAiCall};

/// How much of an error response body is read before mapping it.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Statuses worth sending again after a wait (when the mapped error agrees).
const RETRYABLE_STATUSES: &[u16] = &[408, 409, 429, 500, 502, 503, 504];

/// One attempt that got a 2xx answer, and the credentials it carried.
struct Sent {
    response: reqwest::Response,
    secrets: Secrets,
}

/// The HTTP client every backend shares: one `reqwest::Client` (one connection pool) plus the
/// retry, timeout and streaming rules of [`HttpConfig`]. Cloning is cheap and shares the pool.
///
/// **Retries** happen only while nothing has reached the caller: before the response headers,
/// and for streams also while no event has been handed out (a reset after the headers, or a
/// retryable in-band error as the first event). **Redirects** follow
/// [`HttpConfig::redirects`]. **Secrets**: the credentials a request carried (its
/// `Authorization` and other credential headers, credential query parameters) are removed from
/// every error message the server's answer produces.
///
/// ```
/// use cline_provider_core::http::{HttpClient, HttpConfig};
/// use cline_provider_core::ErrorKind;
///
/// let client = HttpClient::new(HttpConfig::default()).unwrap();
/// assert!(client.config().user_agent.starts_with("cline-provider/"));
///
/// let bad = HttpConfig {
///     default_headers: vec![("X-Team".into(), "blue\r\nInjected: yes".into())],
///     ..HttpConfig::default()
/// };
/// let err = HttpClient::new(bad).unwrap_err();
/// assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
/// assert_eq!(err.field(), Some("headers.X-Team"));
/// ```
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    config: Arc<HttpConfig>,
    on_retry: Option<RetryCallback>,
    /// Credential values among the configured default headers.
    default_secrets: Secrets,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("config", &self.config)
            .field("on_retry", &self.on_retry.as_ref().map(|_| "callback"))
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`] naming the field (or environment variable) for an invalid
    /// header, zero timeout, proxy or CA bundle.
    pub fn new(config: HttpConfig) -> Result<HttpClient> {
        HttpClient::with_env(config, &|name| std::env::var(name).ok())
    }

    /// [`HttpClient::new`] reading environment variables through `env`, so tests do not have
    /// to change the process environment.
    ///
    /// # Errors
    ///
    /// As [`HttpClient::new`].
    pub fn with_env(
        config: HttpConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<HttpClient> {
        check_positive("connect_timeout", config.connect_timeout)?;
        check_positive("header_timeout", config.header_timeout)?;
        check_positive("idle_timeout", config.idle_timeout)?;
        if let Some(total) = config.total_timeout {
            check_positive("total_timeout", total)?;
        }
        if config.max_event_bytes == 0 {
            return Err(Error::invalid_config(
                "max_event_bytes",
                "the event size cap must be greater than zero",
            ));
        }

        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            // Credentials (API keys, bearer tokens, refresh tokens in a form body) and prompts
            // never follow a 3xx to another origin: a 307 would re-send the body to wherever
            // it points, and reqwest strips only `Authorization`, not `api-key` or custom
            // credential headers. LLM requests follow none at all.
            .redirect(redirect_policy(config.redirects))
            .default_headers(header_map(&config)?);
        if let Some(resolver) = &config.dns_resolver {
            builder = builder.dns_resolver(Arc::clone(resolver));
        }

        builder = match &config.proxy {
            ProxyConfig::FromEnv => {
                check_env_proxies(env)?;
                builder
            }
            ProxyConfig::Direct => builder.no_proxy(),
            ProxyConfig::Url { url, no_proxy } => {
                builder.proxy(explicit_proxy(url, no_proxy.as_deref())?)
            }
        };

        let ca = match &config.extra_root_certificates {
            Some(path) => Some(("extra_root_certificates", path.clone())),
            None => env("SSL_CERT_FILE")
                .filter(|p| !p.trim().is_empty())
                .map(|p| ("SSL_CERT_FILE", p.into())),
        };
        let has_extra_ca = ca.is_some();
        if let Some((field, path)) = ca {
            builder = builder.tls_certs_merge(read_pem_bundle(field, &path)?);
        }

        let client = builder.build().map_err(|e| {
            let field = if has_extra_ca {
                "extra_root_certificates"
            } else {
                "http"
            };
            Error::invalid_config(
                field,
                format!("the HTTP client could not be built: {}", error_chain(&e)),
            )
            .with_source(e)
        })?;
        let mut default_secrets = Vec::new();
        for (name, value) in &config.default_headers {
            if is_credential_header(name) {
                push_secret(&mut default_secrets, value);
            }
        }
        Ok(HttpClient {
            client,
            config: Arc::new(config),
            on_retry: None,
            default_secrets: default_secrets.into(),
        })
    }

    /// Calls `cb` before every retry, e.g. to show "retrying in 4 s…".
    pub fn with_retry_callback(mut self, cb: RetryCallback) -> HttpClient {
        self.on_retry = Some(cb);
        self
    }

    /// The settings.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// The underlying `reqwest` client (its pool, `User-Agent` and default headers).
    pub fn reqwest(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends with retries before the first byte and returns the 2xx response (its headers
    /// received, the body not read yet).
    ///
    /// A non-2xx response has its body read (up to 64 KiB) and handed to
    /// [`RequestSpec::map_error`]; the request is sent again when the mapped error
    /// [`is_retryable`](Error::is_retryable), the status is 408, 409, 429, 500, 502, 503 or 504
    /// (or there was no response), and attempts remain. The wait honours `Retry-After` and
    /// `retry-after-ms`; a requested wait above [`RetryPolicy::max_retry_after`] is not
    /// waited: the error is returned.
    ///
    /// # Errors
    ///
    /// Connection failures are [`ErrorKind::Unreachable`] (retried), a host that does not
    /// resolve [`ErrorKind::DnsFailure`] and a refused certificate
    /// [`ErrorKind::TlsCertificate`] (neither retried); the connect and header waits end in
    /// [`ErrorKind::Timeout`] naming their phase (a header timeout is retried only with
    /// [`RetryPolicy::retry_header_timeout`]); a redirect not followed is
    /// [`ErrorKind::Redirected`]; a 401 for a request that carried no credential says so
    /// ([`Error::no_credential_sent`]).
    ///
    /// # Cancellation
    ///
    /// Dropping the future, or cancelling [`RequestSpec::cancel`], abandons the request
    /// (cancelling returns [`ErrorKind::Cancelled`]).
    ///
    /// [`RetryPolicy::max_retry_after`]: super::RetryPolicy::max_retry_after
    /// [`RetryPolicy::retry_header_timeout`]: super::RetryPolicy::retry_header_timeout
    pub async fn send(&self, req: &RequestSpec<'_>) -> Result<reqwest::Response> {
        let (deadline, _) = self.deadline(req);
        let this = self;
        let attempt = move || async move {
            this.attempt(req, deadline)
                .await
                .map(|sent| sent.response)
                .map_err(|e| this.judged(e))
        };
        cancellable(
            &req.cancel,
            self.retrying(deadline, &Span::none(), 0, attempt),
        )
        .await
    }

    /// [`send`](HttpClient::send), then reads the whole body, refusing more than `max_bytes`.
    /// A connection cut while the body is read is retried like one before the headers, since
    /// nothing has reached the caller yet, and so is a retryable error document in a 2xx JSON
    /// answer (a gateway's `200 {"error": …}`, which is an error, not a body).
    ///
    /// # Errors
    ///
    /// As [`send`](HttpClient::send); a body over `max_bytes` is [`ErrorKind::Protocol`], a body
    /// cut off for good [`ErrorKind::Truncated`].
    ///
    /// # Cancellation
    ///
    /// As [`send`](HttpClient::send).
    pub async fn fetch(&self, req: &RequestSpec<'_>, max_bytes: usize) -> Result<Fetched> {
        let call = self.start_call(req, false);
        let fetched = self.fetch_in(req, max_bytes, call.as_ref()).await;
        if let (Some(call), Err(e)) = (call, &fetched) {
            call.fail(e);
        }
        fetched
    }

    /// [`fetch`](HttpClient::fetch) for a whole model reply: `read` turns the body into the
    /// [`ChatResponse`], whose usage, finish reason and model go into the request's GenAI span
    /// ([`RequestSpec::gen_ai`]).
    ///
    /// # Errors
    ///
    /// As [`fetch`](HttpClient::fetch), and what `read` returns.
    ///
    /// # Cancellation
    ///
    /// As [`send`](HttpClient::send).
    pub async fn fetch_reply(
        &self,
        req: &RequestSpec<'_>,
        max_bytes: usize,
        read: &(dyn Fn(Fetched) -> Result<ChatResponse> + Send + Sync),
    ) -> Result<ChatResponse> {
        let call = self.start_call(req, false);
        let reply = self
            .fetch_in(req, max_bytes, call.as_ref())
            .await
            .and_then(read);
        match (call, &reply) {
            (Some(call), Ok(reply)) => call.finish_with(reply),
            (Some(call), Err(e)) => call.fail(e),
            (None, _) => {}
        }
        reply
    }

    /// Opens the GenAI span of `req` when it is a model call.
    fn start_call(&self, req: &RequestSpec<'_>, streaming: bool) -> Option<GenAiCall> {
        req.gen_ai
            .as_ref()
            .map(|call| GenAiCall::start(call, streaming, self.config.capture_content))
    }

    async fn fetch_in(
        &self,
        req: &RequestSpec<'_>,
        max_bytes: usize,
        call: Option<&GenAiCall>,
    ) -> Result<Fetched> {
        let span = call.map_or_else(Span::none, |c| c.span().clone());
        let (deadline, _) = self.deadline(req);
        let this = self;
        let attempt = move || async move {
            let sent = this
                .attempt(req, deadline)
                .await
                .map_err(|e| this.judged(e))?;
            let status = sent.response.status().as_u16();
            let headers = sent.response.headers().clone();
            let read = read_capped(
                sent.response,
                max_bytes,
                OverCap::Refuse,
                this.config.idle_timeout,
                deadline,
                "response",
            )
            .await;
            match read {
                // A gateway's `200 {"error": …}` is an error, whatever protocol asked for it.
                Ok(body)
                    if content_type(&headers) == "application/json" && is_error_document(&body) =>
                {
                    let err = scrub(
                        json_instead_of_stream(status, &headers, &body),
                        &sent.secrets,
                    );
                    let retry = this.may_retry_before_output(&err);
                    Err((err, retry))
                }
                Ok(body) => Ok(Fetched {
                    status,
                    headers,
                    body,
                }),
                Err(e) => {
                    let e = scrub(e, &sent.secrets);
                    let retry = this.may_retry_before_output(&e);
                    Err((e, retry))
                }
            }
        };
        cancellable(
            &req.cancel,
            self.retrying(deadline, &span, resends(req), attempt),
        )
        .instrument(span.clone())
        .await
    }

    /// [`send`](HttpClient::send), then frames the body as server-sent events and decodes
    /// each with a decoder from `new_decoder` (a fresh one per attempt).
    ///
    /// Returns once the first event is ready, so that everything before it (a reset after the
    /// headers, a retryable in-band error as the first event) is retried like an error before
    /// the headers, and every error before output comes back from this call rather than as the
    /// first stream item. A `200` answer with a JSON body instead of a stream is read and
    /// mapped (a gateway's `{"error": …}` keeps its message and kind).
    ///
    /// The stream is poll-driven (no task, no channel); dropping it closes the connection. It
    /// yields [`ErrorKind::Truncated`] if the body ends before the decoder saw the terminal
    /// event, [`ErrorKind::EventTooLarge`] past [`HttpConfig::max_event_bytes`],
    /// `Timeout(Idle)` when no event data arrives for [`HttpConfig::idle_timeout`] (comments do
    /// not count), `Timeout(Total)` past the total timeout, and [`ErrorKind::Cancelled`] when
    /// the token fires. After an error it ends. An error after the first event is
    /// [`after_output`](Error::is_after_output) and never retried.
    ///
    /// # Errors
    ///
    /// As [`send`](HttpClient::send), plus the stream errors above when they happen before the
    /// first event.
    ///
    /// # Cancellation
    ///
    /// As [`send`](HttpClient::send); the returned stream also ends with
    /// [`ErrorKind::Cancelled`] when the token fires.
    pub async fn stream_sse(
        &self,
        req: &RequestSpec<'_>,
        new_decoder: NewDecoder<'_>,
    ) -> Result<EventStream> {
        let (deadline, limit) = self.deadline(req);
        let this = self;
        let attempt = move || async move {
            let sent = this
                .attempt(req, deadline)
                .await
                .map_err(|e| this.judged(e))?;
            let response = this
                .expect_event_stream(sent.response, deadline, &sent.secrets)
                .await
                .map_err(|e| this.judged(e))?;
            let mut stream = SseStream::new(
                response,
                new_decoder(),
                &this.config,
                deadline.map(|at| (at, limit)),
                req.cancel.clone(),
                sent.secrets,
            );
            match stream.prefetch().await {
                None => Ok(stream),
                Some(err) => {
                    let retry = this.may_retry_before_output(&err);
                    Err((err, retry))
                }
            }
        };
        let call = self.start_call(req, true);
        let span = call.as_ref().map_or_else(Span::none, |c| c.span().clone());
        let stream = cancellable(
            &req.cancel,
            self.retrying(deadline, &span, resends(req), attempt),
        )
        .instrument(span.clone())
        .await;
        // The one place a model call's span learns about its reply: the first output is ready
        // here, and the wrapper records the end (no tracing call per event).
        match (stream, call) {
            (Ok(stream), Some(mut call)) => {
                call.first_output();
                Ok(Box::pin(call.traced(stream)))
            }
            (Ok(stream), None) => Ok(Box::pin(stream)),
            (Err(e), Some(call)) => {
                call.fail(&e);
                Err(e)
            }
            (Err(e), None) => Err(e),
        }
    }

    /// Streams an already received 2xx `response` as server-sent events decoded by `decoder`,
    /// with the idle, total and size rules of this client (the total timeout counts from
    /// now). For backends that send with [`send`](HttpClient::send) themselves, e.g. to
    /// refresh a token after a 401 before streaming. Nothing is retried here.
    pub fn events_from_response(
        &self,
        response: reqwest::Response,
        decoder: Box<dyn SseDecoder>,
        cancel: Option<CancellationToken>,
    ) -> EventStream {
        let deadline = self
            .config
            .total_timeout
            .map(|t| (after(Instant::now(), t), t));
        Box::pin(SseStream::new(
            response,
            decoder,
            &self.config,
            deadline,
            cancel,
            Arc::clone(&self.default_secrets),
        ))
    }

    /// The deadline of a request that starts now, and the limit it came from.
    fn deadline(&self, req: &RequestSpec<'_>) -> (Option<Instant>, Duration) {
        match req.total_timeout.or(self.config.total_timeout) {
            Some(limit) => (Some(after(Instant::now(), limit)), limit),
            None => (None, Duration::ZERO),
        }
    }

    /// Whether an error before the response's body is worth another attempt.
    fn may_retry(&self, err: &Error) -> bool {
        let by_kind = err.is_retryable()
            || (self.config.retry.retry_header_timeout
                && err.kind() == &ErrorKind::Timeout(TimeoutPhase::Headers));
        // A status outside the retryable ones is final even when its kind would wait (a 501).
        by_kind
            && err
                .status()
                .is_none_or(|s| !(400..600).contains(&s) || RETRYABLE_STATUSES.contains(&s))
    }

    /// Whether an error after a 2xx, before anything reached the caller, is worth another
    /// attempt: a connection cut (nothing arrived), a retryable in-band error, and an idle
    /// timeout only where a header timeout would be.
    fn may_retry_before_output(&self, err: &Error) -> bool {
        match err.kind() {
            ErrorKind::Truncated => true,
            ErrorKind::Timeout(TimeoutPhase::Idle) => self.config.retry.retry_header_timeout,
            _ => self.may_retry(err),
        }
    }

    fn judged(&self, err: Error) -> (Error, bool) {
        let retry = self.may_retry(&err);
        (err, retry)
    }

    /// Runs `attempt` until it succeeds, says not to retry, or the policy's retries or the
    /// deadline run out; waits between attempts as the server asked or with jittered backoff.
    async fn retrying<T, F, Fut>(
        &self,
        deadline: Option<Instant>,
        span: &Span,
        resent: u32,
        mut attempt: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<T, (Error, bool)>>,
    {
        let policy = &self.config.retry;
        let mut retry = 0u32;
        loop {
            let err = match attempt().await {
                Ok(value) => return Ok(value),
                Err((err, true)) if retry < policy.max_retries => err,
                Err((err, _)) => return Err(err),
            };
            retry += 1;
            let wait = match err.retry_after() {
                Some(asked) if asked > policy.max_retry_after => {
                    tracing::warn!(
                        wait_ms = u64::try_from(asked.as_millis()).unwrap_or(u64::MAX),
                        max_ms =
                            u64::try_from(policy.max_retry_after.as_millis()).unwrap_or(u64::MAX),
                        "the server asked to wait longer than allowed; not retrying"
                    );
                    return Err(err);
                }
                Some(asked) => asked,
                None => policy.jittered_backoff(retry),
            };
            if deadline.is_some_and(|d| after(Instant::now(), wait) >= d) {
                tracing::warn!("no time left for another attempt within the total timeout");
                return Err(err);
            }
            let info = RetryInfo {
                attempt: retry,
                wait,
                status: err.status(),
                reason: err.message().to_owned(),
            };
            tracing::warn!(
                attempt = info.attempt,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                status = info.status,
                reason = %info.reason,
                "{info}"
            );
            if let Some(cb) = &self.on_retry {
                cb(&info);
            }
            record_resend(span, resent.saturating_add(retry));
            tokio::time::sleep_until(after(Instant::now(), wait)).await;
        }
    }

    /// One attempt: build, send, wait for the headers; map a non-2xx answer.
    async fn attempt(&self, req: &RequestSpec<'_>, deadline: Option<Instant>) -> Result<Sent> {
        let request = (req.build)(&self.client)?.build().map_err(|e| {
            Error::invalid_config(
                "request",
                format!("the request could not be built: {}", error_chain(&e)),
            )
            .with_source(e.without_url())
        })?;
        let secrets = self.secrets_of(&request);
        let header_timeout = self.config.header_timeout;
        let response = match bounded(self.client.execute(request), header_timeout, deadline).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => {
                // Only an error names the target (reqwest's error carries the URL), so nothing
                // is formatted for a request that succeeds.
                let target = e
                    .url()
                    .map_or_else(|| "the endpoint".to_owned(), display_target);
                let err = map_send_error(e, &target, self.config.connect_timeout);
                return Err(scrub(err, &secrets));
            }
            Err(phase) => {
                let after = match phase {
                    TimeoutPhase::Total => req
                        .total_timeout
                        .or(self.config.total_timeout)
                        .unwrap_or(header_timeout),
                    _ => header_timeout,
                };
                return Err(Error::timeout(phase, after));
            }
        };
        let status = response.status();
        if status.is_success() {
            return Ok(Sent { response, secrets });
        }
        if status.is_redirection() {
            return Err(scrub(redirect_error(&response), &secrets));
        }
        let headers = response.headers().clone();
        let body = self.error_body(response, deadline).await;
        let mut err = (req.map_error)(status.as_u16(), &headers, &body);
        if err.status().is_none() {
            err = err.with_status(status.as_u16());
        }
        if err.retry_after().is_none() {
            if let Some(wait) = parse_retry_after(&headers, SystemTime::now()) {
                err = err.with_retry_after(wait);
            }
        }
        if status == http::StatusCode::UNAUTHORIZED && secrets.is_empty() {
            err = err.with_no_credential_sent();
        }
        Err(scrub(err, &secrets))
    }

    /// The first [`MAX_ERROR_BODY`] bytes of a body that explains an error; a failure while
    /// reading just ends it.
    async fn error_body(&self, response: reqwest::Response, deadline: Option<Instant>) -> Bytes {
        read_capped(
            response,
            MAX_ERROR_BODY,
            OverCap::Truncate,
            self.config.idle_timeout,
            deadline,
            "error body",
        )
        .await
        .unwrap_or_default()
    }

    /// The credentials `request` carries: credential or sensitive headers (the client's
    /// defaults included), the URL's password and credential query parameters.
    fn secrets_of(&self, request: &reqwest::Request) -> Secrets {
        let mut out: Vec<SecretString> = self.default_secrets.to_vec();
        for (name, value) in request.headers() {
            if value.is_sensitive() || is_credential_header(name.as_str()) {
                if let Ok(v) = value.to_str() {
                    push_secret(&mut out, v);
                }
            }
        }
        for v in url_credentials(request.url()) {
            push_secret(&mut out, &v);
        }
        out.into()
    }

    /// Reads and maps a 2xx answer that is plainly not an event stream (a JSON document, a
    /// login page) instead of reporting it later as a truncated stream.
    async fn expect_event_stream(
        &self,
        response: reqwest::Response,
        deadline: Option<Instant>,
        secrets: &Secrets,
    ) -> Result<reqwest::Response> {
        if content_type_is(response.headers(), "application/json") {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = self.error_body(response, deadline).await;
            return Err(scrub(
                json_instead_of_stream(status, &headers, &body),
                secrets,
            ));
        }
        if content_type_is(response.headers(), "text/html") {
            return Err(Error::new(
                ErrorKind::Protocol,
                "expected an event stream (text/event-stream) but the server answered with an \
                 HTML page (`text/html`); a proxy, firewall or login page may be in the way, or \
                 the base URL is wrong",
            )
            .with_status(response.status().as_u16()));
        }
        Ok(response)
    }
}

/// Runs `fut` unless `cancel` fires first.
async fn cancellable<T>(
    cancel: &Option<CancellationToken>,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    match cancel {
        Some(token) => {
            if token.is_cancelled() {
                return Err(cancelled());
            }
            tokio::select! {
                biased;
                _ = token.cancelled() => Err(cancelled()),
                result = fut => result,
            }
        }
        None => fut.await,
    }
}

fn cancelled() -> Error {
    Error::new(ErrorKind::Cancelled, "the request was cancelled")
}

fn check_positive(field: &str, d: Duration) -> Result<()> {
    if d.is_zero() {
        return Err(Error::invalid_config(
            field,
            "the timeout must be greater than zero",
        ));
    }
    Ok(())
}

fn header_map(config: &HttpConfig) -> Result<HeaderMap> {
    let mut map = HeaderMap::new();
    validate_header("User-Agent", &config.user_agent).map_err(|_| {
        Error::invalid_config(
            "user_agent",
            "the User-Agent must be printable text without line breaks",
        )
    })?;
    let ua = http::HeaderValue::from_str(&config.user_agent)
        .map_err(|e| Error::invalid_config("user_agent", e))?;
    map.insert(http::header::USER_AGENT, ua);
    let mut seen_user_header = std::collections::HashSet::new();
    for (name, value) in &config.default_headers {
        validate_header(name, value)?;
        let (Ok(name), Ok(mut value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) else {
            return Err(Error::invalid_config(
                format!("headers.{name}"),
                "the header is not valid",
            ));
        };
        // Organizations put keys in custom headers: keep them out of HTTP/2 header tables.
        value.set_sensitive(true);
        // A configured header replaces the built-in User-Agent; repeated names are all sent.
        if seen_user_header.insert(name.clone()) {
            map.insert(name, value);
        } else {
            map.append(name, value);
        }
    }
    Ok(map)
}

/// How many times the backend already sent the model call `req` is (0 for other requests).
fn resends(req: &RequestSpec<'_>) -> u32 {
    req.gen_ai.as_ref().map_or(0, |call| call.resends)
}
