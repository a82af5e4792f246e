//! The request executor: one connection pool, retries before the first byte, timeouts,
//! cancellation.

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::HeaderMap;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::config::{redact_url, HttpConfig, ProxyConfig, RetryCallback, RetryInfo};
use super::errors::parse_retry_after;
use super::sse::SseDecoder;
use super::stream::SseStream;
use super::validate_header;
use crate::error::{Error, ErrorKind, Result, TimeoutPhase};
use crate::stream::EventStream;

/// How much of an error response body is read before mapping it.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Statuses worth sending again after a wait (when the mapped error agrees).
const RETRYABLE_STATUSES: &[u16] = &[408, 409, 429, 500, 502, 503, 504];

/// One request, described so that the engine can send it as often as retries need.
///
/// ```
/// use cline_provider_core::http::{default_error_mapper, RequestSpec};
///
/// let build = |client: &reqwest::Client| Ok(client.post("http://127.0.0.1:9/v1/chat/completions").body("{}"));
/// let spec = RequestSpec::new(&build, &default_error_mapper);
/// assert!(spec.cancel.is_none());
/// ```
pub struct RequestSpec<'a> {
    /// Builds one attempt's request afresh (called once per attempt), so a retry works with
    /// any body.
    pub build: &'a (dyn Fn(&reqwest::Client) -> Result<reqwest::RequestBuilder> + Send + Sync),
    /// Maps a non-2xx response (status, headers, the first 64 KiB of the body) to an
    /// [`Error`]; backends read their own error bodies here.
    pub map_error: &'a (dyn Fn(u16, &HeaderMap, &[u8]) -> Error + Send + Sync),
    /// Cancels the request (and its stream) when triggered.
    pub cancel: Option<CancellationToken>,
}

impl<'a> RequestSpec<'a> {
    /// A request with no cancellation token.
    pub fn new(
        build: &'a (dyn Fn(&reqwest::Client) -> Result<reqwest::RequestBuilder> + Send + Sync),
        map_error: &'a (dyn Fn(u16, &HeaderMap, &[u8]) -> Error + Send + Sync),
    ) -> Self {
        RequestSpec {
            build,
            map_error,
            cancel: None,
        }
    }

    /// Cancels the request when `token` is cancelled.
    pub fn with_cancel(mut self, token: Option<CancellationToken>) -> Self {
        self.cancel = token;
        self
    }
}

/// The HTTP client every backend shares: one `reqwest::Client` (one connection pool) plus the
/// retry, timeout and streaming rules of [`HttpConfig`]. Cloning is cheap and shares the pool.
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
    /// Builds the client. An invalid header, timeout, proxy or CA bundle is an
    /// [`ErrorKind::InvalidConfig`] error naming the field (or environment variable).
    pub fn new(config: HttpConfig) -> Result<HttpClient> {
        HttpClient::with_env(config, &|name| std::env::var(name).ok())
    }

    /// [`HttpClient::new`] reading environment variables through `env`, so tests do not have
    /// to change the process environment.
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
            // Credentials and prompts never follow a 3xx: reqwest strips `Authorization` on a
            // cross-origin redirect but not `api-key` or custom credential headers.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            // Credentials (API keys, bearer tokens, refresh tokens in a form body) and prompts
            // never follow a 3xx: a 307 would re-send the body to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(header_map(&config)?);

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
        Ok(HttpClient {
            client,
            config: Arc::new(config),
            on_retry: None,
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
    /// Connection, DNS and TLS failures are [`ErrorKind::Unreachable`]; the connect and header
    /// waits end in [`ErrorKind::Timeout`] naming their phase.
    ///
    /// [`RetryPolicy::max_retry_after`]: super::RetryPolicy::max_retry_after
    pub async fn send(&self, req: &RequestSpec<'_>) -> Result<reqwest::Response> {
        let deadline = self.deadline();
        self.send_until(req, deadline).await
    }

    /// [`send`](HttpClient::send), then frames the body as server-sent events and decodes
    /// each with `decoder`.
    ///
    /// The stream is poll-driven (no task, no channel); dropping it closes the connection. It
    /// yields [`ErrorKind::Truncated`] if the body ends before the decoder saw the terminal
    /// event, [`ErrorKind::EventTooLarge`] past [`HttpConfig::max_event_bytes`],
    /// `Timeout(Idle)` when no event data arrives for [`HttpConfig::idle_timeout`] (comments do
    /// not count), `Timeout(Total)` past [`HttpConfig::total_timeout`], and
    /// [`ErrorKind::Cancelled`] when the token fires. After an error it ends. Nothing is ever
    /// retried once the body started.
    pub async fn stream_sse(
        &self,
        req: &RequestSpec<'_>,
        decoder: Box<dyn SseDecoder>,
    ) -> Result<EventStream> {
        let deadline = self.deadline();
        let response = self.send_until(req, deadline).await?;
        check_event_stream(&response)?;
        Ok(Box::pin(SseStream::new(
            response,
            decoder,
            &self.config,
            deadline,
            req.cancel.clone(),
        )))
    }

    /// Streams an already received 2xx `response` as server-sent events decoded by `decoder`,
    /// with the idle, total and size rules of this client (the total timeout counts from
    /// now). For backends that send with [`send`](HttpClient::send) themselves, e.g. to
    /// refresh a token after a 401 before streaming.
    pub fn events_from_response(
        &self,
        response: reqwest::Response,
        decoder: Box<dyn SseDecoder>,
        cancel: Option<CancellationToken>,
    ) -> EventStream {
        Box::pin(SseStream::new(
            response,
            decoder,
            &self.config,
            self.deadline(),
            cancel,
        ))
    }

    fn deadline(&self) -> Option<Instant> {
        self.config.total_timeout.map(|t| Instant::now() + t)
    }

    async fn send_until(
        &self,
        req: &RequestSpec<'_>,
        deadline: Option<Instant>,
    ) -> Result<reqwest::Response> {
        match &req.cancel {
            Some(token) => {
                if token.is_cancelled() {
                    return Err(cancelled());
                }
                tokio::select! {
                    biased;
                    _ = token.cancelled() => Err(cancelled()),
                    result = self.with_retries(req, deadline) => result,
                }
            }
            None => self.with_retries(req, deadline).await,
        }
    }

    async fn with_retries(
        &self,
        req: &RequestSpec<'_>,
        deadline: Option<Instant>,
    ) -> Result<reqwest::Response> {
        let policy = &self.config.retry;
        let mut retry = 0u32;
        loop {
            let err = match self.attempt(req, deadline).await {
                Ok(response) => return Ok(response),
                Err(err) => err,
            };
            if retry >= policy.max_retries || !should_retry(&err) {
                return Err(err);
            }
            retry += 1;
            let wait = match err.retry_after() {
                Some(asked) if asked > policy.max_retry_after => {
                    tracing::warn!(
                        wait_ms = asked.as_millis() as u64,
                        max_ms = policy.max_retry_after.as_millis() as u64,
                        "the server asked to wait longer than allowed; not retrying"
                    );
                    return Err(err);
                }
                Some(asked) => asked,
                None => policy.jittered_backoff(retry),
            };
            if deadline.is_some_and(|d| Instant::now() + wait >= d) {
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
                wait_ms = wait.as_millis() as u64,
                status = info.status,
                reason = %info.reason,
                "{info}"
            );
            if let Some(cb) = &self.on_retry {
                cb(&info);
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt: build, send, wait for the headers; map a non-2xx answer.
    async fn attempt(
        &self,
        req: &RequestSpec<'_>,
        deadline: Option<Instant>,
    ) -> Result<reqwest::Response> {
        let request = (req.build)(&self.client)?.build().map_err(|e| {
            Error::invalid_config(
                "request",
                format!("the request could not be built: {}", error_chain(&e)),
            )
            .with_source(e.without_url())
        })?;
        let target = display_target(request.url());
        let header_timeout = self.config.header_timeout;
        let response = match bounded(self.client.execute(request), header_timeout, deadline).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => return Err(map_send_error(e, &target, self.config.connect_timeout)),
            Err(phase) => {
                let after = match phase {
                    TimeoutPhase::Total => self.config.total_timeout.unwrap_or(header_timeout),
                    _ => header_timeout,
                };
                return Err(Error::timeout(phase, after));
            }
        };
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let headers = response.headers().clone();
        let body = self.read_error_body(response, deadline).await;
        let mut err = (req.map_error)(status.as_u16(), &headers, &body);
        if err.status().is_none() {
            err = err.with_status(status.as_u16());
        }
        if err.retry_after().is_none() {
            if let Some(wait) = parse_retry_after(&headers, SystemTime::now()) {
                err = err.with_retry_after(wait);
            }
        }
        Err(err)
    }

    /// Up to [`MAX_ERROR_BODY`] bytes of an error body; a stall or failure just ends it.
    async fn read_error_body(
        &self,
        mut response: reqwest::Response,
        deadline: Option<Instant>,
    ) -> Vec<u8> {
        let mut body = Vec::new();
        while body.len() < MAX_ERROR_BODY {
            match bounded(response.chunk(), self.config.idle_timeout, deadline).await {
                Ok(Ok(Some(chunk))) => {
                    let room = MAX_ERROR_BODY - body.len();
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                _ => break,
            }
        }
        body
    }
}

/// Runs `fut` for at most `limit`, and never past `deadline`; on expiry says which bound hit.
async fn bounded<F: Future>(
    fut: F,
    limit: Duration,
    deadline: Option<Instant>,
) -> std::result::Result<F::Output, TimeoutPhase> {
    let own = Instant::now() + limit;
    let (until, phase) = match deadline {
        Some(d) if d <= own => (d, TimeoutPhase::Total),
        _ => (own, TimeoutPhase::Headers),
    };
    tokio::time::timeout_at(until, fut).await.map_err(|_| phase)
}

fn should_retry(err: &Error) -> bool {
    err.is_retryable() && err.status().is_none_or(|s| RETRYABLE_STATUSES.contains(&s))
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

/// Reports a malformed proxy variable now rather than letting it be ignored silently.
fn check_env_proxies(env: &dyn Fn(&str) -> Option<String>) -> Result<()> {
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        let Some(value) = env(var) else { continue };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let with_scheme = if value.contains("://") {
            value.to_owned()
        } else {
            format!("http://{value}")
        };
        let parsed = Url::parse(&with_scheme)
            .ok()
            .filter(|u| u.host_str().is_some());
        let Some(url) = parsed else {
            // The value may carry a password: never echo it.
            return Err(Error::invalid_config(
                var,
                "the environment variable is not a valid proxy URL",
            ));
        };
        if !matches!(url.scheme(), "http" | "https" | "socks5" | "socks5h") {
            return Err(Error::invalid_config(
                var,
                format!(
                    "the proxy scheme `{}` is not supported (use http:// or https://)",
                    url.scheme()
                ),
            ));
        }
    }
    Ok(())
}

fn explicit_proxy(url: &Url, no_proxy: Option<&str>) -> Result<reqwest::Proxy> {
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::invalid_config(
            "proxy",
            format!(
                "`{}` is not an http:// or https:// proxy URL",
                redact_url(url)
            ),
        ));
    }
    let proxy = reqwest::Proxy::all(url.as_str()).map_err(|e| {
        Error::invalid_config(
            "proxy",
            format!(
                "`{}` is not a usable proxy: {}",
                redact_url(url),
                e.without_url()
            ),
        )
    })?;
    Ok(proxy.no_proxy(no_proxy.and_then(reqwest::NoProxy::from_string)))
}

fn read_pem_bundle(field: &str, path: &Path) -> Result<Vec<reqwest::Certificate>> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::invalid_config(
            field,
            format!("cannot read the certificate file {}: {e}", path.display()),
        )
        .with_source(e)
    })?;
    let certs = reqwest::Certificate::from_pem_bundle(&bytes).map_err(|e| {
        Error::invalid_config(
            field,
            format!("{} is not a valid PEM certificate bundle", path.display()),
        )
        .with_source(e)
    })?;
    if certs.is_empty() {
        return Err(Error::invalid_config(
            field,
            format!(
                "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            ),
        ));
    }
    Ok(certs)
}

/// Refuses a 2xx answer that is plainly not an event stream (a JSON document, a login page)
/// instead of reporting it later as a truncated stream.
fn check_event_stream(response: &reqwest::Response) -> Result<()> {
    let Some(ct) = response.headers().get(http::header::CONTENT_TYPE) else {
        return Ok(());
    };
    let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
    if ct.starts_with("application/json") || ct.starts_with("text/html") {
        return Err(Error::new(
            ErrorKind::Protocol,
            format!(
                "expected an event stream (text/event-stream) but the server answered with `{ct}`"
            ),
        )
        .with_status(response.status().as_u16()));
    }
    Ok(())
}

/// Maps a failure before the response headers arrived.
fn map_send_error(e: reqwest::Error, target: &str, connect_timeout: Duration) -> Error {
    let cause = error_chain(&e);
    let e = e.without_url();
    if e.is_connect() && e.is_timeout() {
        return Error::timeout(TimeoutPhase::Connect, connect_timeout).with_source(e);
    }
    if e.is_connect() {
        return Error::new(
            ErrorKind::Unreachable,
            format!("could not connect to {target}: {cause}"),
        )
        .with_source(e);
    }
    if e.is_redirect() {
        return Error::new(
            ErrorKind::Protocol,
            format!("too many redirects from {target}: {cause}"),
        )
        .with_source(e);
    }
    if e.is_builder() {
        return Error::invalid_config(
            "request",
            format!("the request to {target} could not be built: {cause}"),
        )
        .with_source(e);
    }
    // The connection broke before a response: nothing reached the caller, so a retry is safe.
    Error::new(
        ErrorKind::Unreachable,
        format!("the request to {target} failed before a response arrived: {cause}"),
    )
    .with_source(e)
}

/// `scheme://host[:port]/path`: the query can carry keys and is never shown.
pub(crate) fn display_target(url: &reqwest::Url) -> String {
    let mut s = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        s.push_str(&format!(":{port}"));
    }
    s.push_str(url.path());
    s
}

/// The error and its causes, `a: b: c`, without the URL (it may carry a key in its query).
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let text = match err.downcast_ref::<reqwest::Error>() {
            Some(re) if re.url().is_some() => {
                // Display of a reqwest error names its URL; describe the kind instead.
                let kind = if re.is_connect() {
                    "error trying to connect"
                } else if re.is_timeout() {
                    "operation timed out"
                } else if re.is_body() || re.is_decode() {
                    "error reading the response body"
                } else if re.is_builder() {
                    "builder error"
                } else {
                    "error sending the request"
                };
                kind.to_owned()
            }
            _ => err.to_string(),
        };
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
        cur = err.source();
    }
    parts.join(": ")
}
