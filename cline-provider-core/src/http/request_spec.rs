//! What a backend hands the engine for one request: [`RequestSpec`] (how to build each attempt,
//! how to read its errors, its cancellation and time limit), the decoder factory for streams,
//! and [`Fetched`], a response read whole.

use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use tokio_util::sync::CancellationToken;

use super::sse::SseDecoder;
use crate::error::{Error, Result};
use crate::telemetry::GenAiRequest;

/// Makes a fresh [`SseDecoder`] for each attempt, so that a retry never sees what an earlier
/// attempt's decoder had buffered.
pub type NewDecoder<'a> = &'a (dyn Fn() -> Box<dyn SseDecoder> + Send + Sync);

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
    /// Maps a non-2xx, non-3xx response (status, headers, the first 64 KiB of the body) to an
    /// [`Error`]; backends read their own error bodies here. The engine then removes the
    /// request's credentials from its message.
    pub map_error: &'a (dyn Fn(u16, &HeaderMap, &[u8]) -> Error + Send + Sync),
    /// Cancels the request (and its stream) when triggered.
    pub cancel: Option<CancellationToken>,
    /// The whole request's time limit, retries and streaming included; replaces
    /// [`HttpConfig::total_timeout`](super::HttpConfig::total_timeout) for this request when set. Running out is
    /// `Timeout(Total)`.
    pub total_timeout: Option<Duration>,
    /// The model call this request is, when it is one: the engine then traces it as one
    /// GenAI span ([`telemetry`](crate::telemetry)). `None` for other requests (model lists,
    /// the admin API).
    pub gen_ai: Option<GenAiRequest<'a>>,
}

impl<'a> RequestSpec<'a> {
    /// A request with no cancellation token and the client's total timeout.
    pub fn new(
        build: &'a (dyn Fn(&reqwest::Client) -> Result<reqwest::RequestBuilder> + Send + Sync),
        map_error: &'a (dyn Fn(u16, &HeaderMap, &[u8]) -> Error + Send + Sync),
    ) -> Self {
        RequestSpec {
            build,
            map_error,
            cancel: None,
            total_timeout: None,
            gen_ai: None,
        }
    }

    /// Traces the request as the model call `call` ([`telemetry`](crate::telemetry)).
    pub fn with_gen_ai(mut self, call: GenAiRequest<'a>) -> Self {
        self.gen_ai = Some(call);
        self
    }

    /// Cancels the request when `token` is cancelled.
    pub fn with_cancel(mut self, token: Option<CancellationToken>) -> Self {
        self.cancel = token;
        self
    }

    /// Sets this request's total time limit (`None` keeps the client's).
    pub fn with_total_timeout(mut self, limit: Option<Duration>) -> Self {
        self.total_timeout = limit;
        self
    }
}

/// A response read whole by [`HttpClient::fetch`](super::HttpClient::fetch).
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The 2xx status.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body, at most the cap asked for.
    pub body: Bytes,
}

impl Fetched {
    /// The `Content-Type` without parameters, lower-cased (`application/json`), or `""`.
    pub fn content_type(&self) -> String {
        content_type(&self.headers)
    }
}

/// Whether the `Content-Type` without parameters is `media_type` (ASCII case ignored); no
/// allocation, as every streamed response asks.
pub(crate) fn content_type_is(headers: &HeaderMap, media_type: &str) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case(media_type)
        })
}

/// The `Content-Type` without parameters, lower-cased, or `""`.
pub(crate) fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}
