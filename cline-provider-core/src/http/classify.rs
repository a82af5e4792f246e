//! Turning HTTP failures into typed [`Error`]s, and reading how long a server wants us to wait.

use std::time::{Duration, SystemTime};

use http::HeaderMap;
use serde_json::Value;

use crate::error::{Error, ErrorKind};

/// Headers that carry the server's request id, most specific first.
const REQUEST_ID_HEADERS: &[&str] = &[
    "x-request-id",
    "openai-request-id",
    "apim-request-id",
    "x-ms-request-id",
    "request-id",
    "x-amzn-requestid",
    "cf-ray",
];

/// The longest server message kept in an error; error pages can be large.
const MAX_MESSAGE_CHARS: usize = 600;

/// How long the server asked us to wait: `retry-after-ms` (milliseconds, OpenAI and Azure),
/// else `Retry-After` as seconds or as an HTTP date (relative to `now`; a date in the past
/// means no wait). `None` when neither header is present and valid.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use cline_provider_core::http::parse_retry_after;
///
/// let mut h = http::HeaderMap::new();
/// h.insert("retry-after", "2".parse().unwrap());
/// assert_eq!(parse_retry_after(&h, SystemTime::now()), Some(Duration::from_secs(2)));
/// h.insert("retry-after-ms", "150".parse().unwrap());
/// assert_eq!(parse_retry_after(&h, SystemTime::now()), Some(Duration::from_millis(150)));
/// ```
pub fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(ms) = header_str(headers, "retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        if let Ok(wait) = Duration::try_from_secs_f64(ms / 1000.0) {
            return Some(wait);
        }
    }
    let value = header_str(headers, "retry-after")?;
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

/// Maps an error response of an OpenAI-style endpoint (chat completions, models, Azure
/// deployments, the Responses API) to a typed [`Error`]. Every backend passes it as its
/// `map_error`, so one set of rules decides what a status and body mean.
///
/// | what the endpoint says | kind |
/// |---|---|
/// | code or type `insufficient_quota`, or HTTP 402 | [`QuotaExhausted`](ErrorKind::QuotaExhausted) |
/// | `context_length_exceeded`, or a 4xx other than 429 whose message says the context is too long | [`ContextWindowExceeded`](ErrorKind::ContextWindowExceeded) |
/// | type or code `usage_limit_reached` (a subscription plan's limit) | [`SubscriptionLimit`](ErrorKind::SubscriptionLimit), with when it resets |
/// | type or code `usage_not_included` (the plan does not include this use) | [`AccessDenied`](ErrorKind::AccessDenied) |
/// | code `model_not_found`, LiteLLM's "Invalid model name", a 4xx saying the model is not supported or available, or HTTP 404 | [`ModelNotFound`](ErrorKind::ModelNotFound) |
/// | code `invalid_api_key`, or HTTP 401 | [`InvalidApiKey`](ErrorKind::InvalidApiKey) |
/// | 403 | [`AccessDenied`](ErrorKind::AccessDenied) |
/// | 429 | [`RateLimited`](ErrorKind::RateLimited), with the requested wait (`Retry-After`, else the message's "try again in 20s") |
/// | 408, 409, other 4xx | [`BadRequest`](ErrorKind::BadRequest) (408 and 409 are retryable by status) |
/// | 5xx | [`Server`](ErrorKind::Server) |
///
/// It fills the status, the provider's code, the request id (`x-request-id`,
/// `apim-request-id`, `cf-ray`, …) and the requested wait. The body may have any shape
/// [`ErrorDetails::parse`] reads.
///
/// ```
/// use cline_provider_core::{http::default_error_mapper, ErrorKind};
///
/// let body = br#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
/// let err = default_error_mapper(429, &http::HeaderMap::new(), body);
/// assert_eq!(err.kind(), &ErrorKind::QuotaExhausted);
/// assert_eq!(err.code(), Some("insufficient_quota"));
/// assert!(!err.is_retryable());
/// ```
pub fn default_error_mapper(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    map_error_with(&[], status, headers, body)
}

/// [`default_error_mapper`] for an endpoint where some statuses mean something else: each
/// `(status, kind)` of `statuses` replaces what the status alone would mean (what the body
/// says, such as `insufficient_quota`, still wins). The admin API maps 401 to
/// [`NotSignedIn`](ErrorKind::NotSignedIn) this way: its credential is the member's sign-in,
/// not an API key.
///
/// ```
/// use cline_provider_core::{http::map_error_with, ErrorKind};
/// let rules = [(401, ErrorKind::NotSignedIn), (404, ErrorKind::BadRequest)];
/// let err = map_error_with(&rules, 401, &http::HeaderMap::new(), br#"{"error":"token expired"}"#);
/// assert_eq!(err.kind(), &ErrorKind::NotSignedIn);
/// assert!(err.message().contains("token expired"));
/// ```
pub fn map_error_with(
    statuses: &[(u16, ErrorKind)],
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> Error {
    let details = ErrorDetails::parse(body);
    let by_status = statuses.iter().find(|(s, _)| *s == status);
    let kind = match (classify(Some(status), &details), by_status) {
        // The body named the cause: that wins over any reading of the status.
        (k @ (ErrorKind::QuotaExhausted | ErrorKind::ContextWindowExceeded), _) => k,
        (_, Some((_, kind))) => kind.clone(),
        (k, None) => k,
    };
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| format!(" {r}"))
        .unwrap_or_default();
    let message = format!("HTTP {status}{reason}: {}", details.describe());
    annotate(
        Error::new(kind, message).with_status(status),
        &details,
        headers,
    )
}

/// Adds what the body and headers tell beyond the kind: the code, the request id, the wait.
fn annotate(mut err: Error, details: &ErrorDetails, headers: &HeaderMap) -> Error {
    if let Some(code) = details.code_or_type() {
        err = err.with_code(code);
    }
    if let Some(id) = REQUEST_ID_HEADERS
        .iter()
        .find_map(|h| header_str(headers, h))
    {
        if !id.is_empty() {
            err = err.with_request_id(id);
        }
    }
    let now = SystemTime::now();
    if let Some(at) = details.resets_at {
        err = err
            .with_resets_at(at)
            .with_retry_after(at.duration_since(now).unwrap_or_default());
    }
    if let Some(wait) = parse_retry_after(headers, now) {
        err = err.with_retry_after(wait);
    } else if err.kind() == &ErrorKind::RateLimited {
        if let Some(wait) = wait_from_message(&details.message) {
            err = err.with_retry_after(wait);
        }
    }
    err
}

/// The wait a rate-limit message asks for in words: "Please try again in 20s", "try again in
/// 1.5 s", "in 250ms", "in 1m30s", "in 2 seconds". `None` when the message names none ("try
/// again in a moment").
///
/// ```
/// use std::time::Duration;
/// use cline_provider_core::http::wait_from_message;
/// assert_eq!(wait_from_message("Rate limit reached. Please try again in 1.5s."), Some(Duration::from_millis(1500)));
/// assert_eq!(wait_from_message("try again in 20 ms"), Some(Duration::from_millis(20)));
/// assert_eq!(wait_from_message("Try again in 1m30s"), Some(Duration::from_secs(90)));
/// assert_eq!(wait_from_message("Try again in a moment."), None);
/// ```
pub fn wait_from_message(message: &str) -> Option<Duration> {
    const NEEDLE: &str = "try again in";
    let lower = message.to_ascii_lowercase();
    let rest = &lower.as_bytes()[lower.find(NEEDLE)? + NEEDLE.len()..];
    let mut i = 0;
    let skip_spaces = |i: &mut usize| {
        while rest.get(*i) == Some(&b' ') {
            *i += 1;
        }
    };
    skip_spaces(&mut i);
    let mut total = 0.0f64;
    let mut any = false;
    // Numbers and units alternate ("1m30s", "2.5 s"); a '.' counts only between digits.
    while rest.get(i).is_some_and(u8::is_ascii_digit) {
        let start = i;
        while rest.get(i).is_some_and(|b| {
            b.is_ascii_digit() || (*b == b'.' && rest.get(i + 1).is_some_and(u8::is_ascii_digit))
        }) {
            i += 1;
        }
        let number: f64 = std::str::from_utf8(&rest[start..i]).ok()?.parse().ok()?;
        skip_spaces(&mut i);
        let unit_start = i;
        while rest.get(i).is_some_and(u8::is_ascii_alphabetic) {
            i += 1;
        }
        let scale = match &rest[unit_start..i] {
            b"ms" | b"msec" | b"millisecond" | b"milliseconds" => 0.001,
            b"s" | b"sec" | b"secs" | b"second" | b"seconds" => 1.0,
            b"m" | b"min" | b"mins" | b"minute" | b"minutes" => 60.0,
            b"h" | b"hr" | b"hour" | b"hours" => 3600.0,
            _ => return None,
        };
        total += number * scale;
        any = true;
    }
    if any {
        Duration::try_from_secs_f64(total).ok()
    } else {
        None
    }
}

/// Whether a 2xx JSON body is in fact an error document (see
/// [`ErrorDetails::parse_error_document`]).
pub(crate) fn is_error_document(body: &[u8]) -> bool {
    ErrorDetails::parse_error_document(body).is_some()
}

/// A 2xx answer with a JSON body where an event stream was expected. Gateways do this with
/// an error (`200 {"error": …}`): it is classified like an in-band error, so an upstream rate
/// limit stays [`RateLimited`](ErrorKind::RateLimited) and keeps its message. Any other JSON
/// document means the endpoint does not stream: [`Protocol`](ErrorKind::Protocol).
/// [`HttpClient::fetch`](super::HttpClient::fetch) uses it too, for a 2xx error document.
pub(crate) fn json_instead_of_stream(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    match ErrorDetails::parse_error_document(body) {
        Some(details) => {
            let kind = classify_in_band(&details);
            let message = format!(
                "HTTP {status}, but the body is an error: {}",
                details.describe()
            );
            annotate(Error::new(kind, message), &details, headers).with_status(status)
        }
        None => Error::new(
            ErrorKind::Protocol,
            "expected an event stream (text/event-stream) but the server answered with a JSON \
             document (`application/json`); the endpoint may not stream, so ask for a whole reply \
             instead (`Provider::complete`)",
        )
        .with_status(status),
    }
}

/// Decides what an error means, from the HTTP status when there was one (`None` for an error
/// event inside a stream) and what the body says. Codes win over statuses, since gateways
/// often wrap an upstream failure in a generic status.
///
/// ```
/// use cline_provider_core::http::{classify, ErrorDetails};
/// use cline_provider_core::ErrorKind;
/// let d = ErrorDetails::parse(br#"{"error":{"code":"model_not_found","message":"no"}}"#);
/// assert_eq!(classify(Some(400), &d), ErrorKind::ModelNotFound);
/// assert_eq!(classify(None, &ErrorDetails::parse(br#"{"error":{"code":"rate_limit_exceeded"}}"#)), ErrorKind::RateLimited);
/// ```
pub fn classify(status: Option<u16>, details: &ErrorDetails) -> ErrorKind {
    let code = details.code.as_deref().unwrap_or("").to_ascii_lowercase();
    let kind = details.kind.as_deref().unwrap_or("").to_ascii_lowercase();
    let mentions = |needle: &str| code.contains(needle) || kind.contains(needle);
    let message = details.message.to_ascii_lowercase();
    // Rate limits talk about tokens too ("too many tokens per minute"): the context heuristic
    // must never read one as a context overflow.
    let rate_limit = status == Some(429) || code == "429" || mentions("rate_limit");
    let client_side = !rate_limit && status.is_none_or(|s| (400..500).contains(&s));

    if mentions("insufficient_quota") {
        return ErrorKind::QuotaExhausted;
    }
    if mentions("context_length_exceeded")
        || mentions("exceed_context_size")
        || code == "string_above_max_length"
        || (client_side && says_context_is_too_long(&message))
    {
        return ErrorKind::ContextWindowExceeded;
    }
    if mentions("usage_limit_reached") {
        return ErrorKind::SubscriptionLimit;
    }
    if mentions("usage_not_included") {
        return ErrorKind::AccessDenied;
    }
    // LiteLLM: `400 {"error": {"message": "… Invalid model name passed in model=x …"}}`.
    if mentions("model_not_found")
        || (client_side
            && (message.contains("invalid model name") || says_model_is_unavailable(&message)))
    {
        return ErrorKind::ModelNotFound;
    }
    if mentions("invalid_api_key") {
        return ErrorKind::InvalidApiKey;
    }
    match status {
        Some(401) => ErrorKind::InvalidApiKey,
        Some(402) => ErrorKind::QuotaExhausted,
        Some(403) => ErrorKind::AccessDenied,
        Some(404) => ErrorKind::ModelNotFound,
        Some(429) => ErrorKind::RateLimited,
        Some(400..=499) => ErrorKind::BadRequest,
        Some(500..=599) => ErrorKind::Server,
        Some(_) => ErrorKind::Protocol,
        None if mentions("rate_limit") => ErrorKind::RateLimited,
        None => ErrorKind::StreamError,
    }
}

/// Decides what an error reported inside a 2xx answer means (an `{"error": …}` stream
/// event, or a `200` JSON error from a gateway). OpenRouter puts the HTTP status it would have
/// used into `code`, so a numeric code acts as the status. Rate limits, quota, context, model
/// and credential errors keep their kind; anything else is a
/// [`StreamError`](ErrorKind::StreamError).
///
/// ```
/// use cline_provider_core::http::{classify_in_band, ErrorDetails};
/// use cline_provider_core::ErrorKind;
/// let d = ErrorDetails::parse(br#"{"code":429,"message":"Rate limited upstream"}"#);
/// assert_eq!(classify_in_band(&d), ErrorKind::RateLimited);
/// let d = ErrorDetails::parse(br#"{"code":502,"message":"Upstream failed"}"#);
/// assert_eq!(classify_in_band(&d), ErrorKind::StreamError);
/// ```
pub fn classify_in_band(details: &ErrorDetails) -> ErrorKind {
    let status = details
        .code
        .as_deref()
        .and_then(|c| c.parse::<u16>().ok())
        .filter(|s| (400..600).contains(s));
    match classify(status, details) {
        k @ (ErrorKind::RateLimited
        | ErrorKind::QuotaExhausted
        | ErrorKind::SubscriptionLimit
        | ErrorKind::ContextWindowExceeded
        | ErrorKind::ModelNotFound
        | ErrorKind::InvalidApiKey
        | ErrorKind::AccessDenied) => k,
        _ => ErrorKind::StreamError,
    }
}

/// The error for a failure reported inside a stream that had started (an `{"error": …}`
/// chunk, an `event: error`, a Responses `response.failed`): its kind from
/// [`classify_in_band`], `what` and the server's words as the message, and the same
/// annotations as an HTTP error (code, the wait a rate limit asks for in words, when a plan's
/// limit resets). Every backend's decoder reports in-band failures through here.
///
/// ```
/// use std::time::Duration;
/// use cline_provider_core::http::{in_band_error, ErrorDetails};
/// use cline_provider_core::ErrorKind;
/// let d = ErrorDetails::parse(br#"{"code":"rate_limit_exceeded","message":"Please try again in 2s."}"#);
/// let err = in_band_error("the response failed", &d);
/// assert_eq!(err.kind(), &ErrorKind::RateLimited);
/// assert_eq!(err.code(), Some("rate_limit_exceeded"));
/// assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
/// assert!(err.message().starts_with("the response failed: "));
/// ```
pub fn in_band_error(what: &str, details: &ErrorDetails) -> Error {
    let kind = classify_in_band(details);
    let err = Error::new(kind, format!("{what}: {}", details.describe()));
    annotate(err, details, &HeaderMap::new())
}

/// "The 'gpt-x' model is not supported when using Codex with a ChatGPT account.", "The model
/// `x` does not exist or you do not have access to it."
fn says_model_is_unavailable(message: &str) -> bool {
    [
        "model is not supported",
        "model is not available",
        "model does not exist",
        "does not exist or you do not have access to it",
    ]
    .iter()
    .any(|phrase| message.contains(phrase))
}

fn says_context_is_too_long(message: &str) -> bool {
    [
        "context length",
        "context_length_exceeded",
        "context window",
        "maximum context",
        "too many tokens",
        "prompt is too long",
        "exceeds the available context size",
        "exceed_context_size",
    ]
    .iter()
    .any(|phrase| message.contains(phrase))
}

/// What an error body says. Servers disagree on its shape, so every known one is read:
/// `{"error": {…}}` (OpenAI, Azure, llama.cpp, LiteLLM, OpenRouter), `{"error": "…"}` (Ollama,
/// TGI), a flat `{"message", "type", "code"}` (vLLM), `{"detail": …}` (FastAPI gateways), the
/// same wrapped in a one-element array, and plain text or an HTML page (quoted, bounded).
///
/// ```
/// use cline_provider_core::http::ErrorDetails;
/// let d = ErrorDetails::parse(br#"{"error":"model \"llama9\" not found"}"#);
/// assert_eq!(d.message, "model \"llama9\" not found");
/// let d = ErrorDetails::parse(br#"{"error":{"message":"bad","code":400,"param":"tools"}}"#);
/// assert_eq!((d.code.as_deref(), d.param.as_deref()), (Some("400"), Some("tools")));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorDetails {
    /// The server's message on one line, bounded; empty when it sent none.
    pub message: String,
    /// `code`, as text whatever its JSON type.
    pub code: Option<String>,
    /// `type` (or TGI's `error_type`).
    pub kind: Option<String>,
    /// `param`: the request field at fault.
    pub param: Option<String>,
    /// When a usage limit resets: `resets_at` (Unix seconds), else `resets_in_seconds` from
    /// now.
    pub resets_at: Option<SystemTime>,
}

impl ErrorDetails {
    /// Reads a response body (or an in-band error's JSON) in any known shape.
    pub fn parse(body: &[u8]) -> ErrorDetails {
        match serde_json::from_slice::<Value>(body) {
            Ok(value) => ErrorDetails::from_value(&value),
            Err(_) => ErrorDetails {
                message: quote_text(&String::from_utf8_lossy(body)),
                ..ErrorDetails::default()
            },
        }
    }

    /// Reads an already parsed JSON error: a whole body, or the `error` member of one.
    pub fn from_value(value: &Value) -> ErrorDetails {
        // Some gateways wrap the error in a one-element array.
        let value = match value {
            Value::Array(items) if !items.is_empty() => &items[0],
            other => other,
        };
        let (obj, outer) = match value.get("error") {
            Some(inner @ Value::Object(_)) => (inner, Some(value)),
            Some(Value::String(s)) => {
                return ErrorDetails {
                    message: clean_text(s),
                    code: scalar(value.get("code")),
                    kind: scalar(value.get("type")).or_else(|| scalar(value.get("error_type"))),
                    param: None,
                    resets_at: None,
                }
            }
            _ => (value, None),
        };
        let message = match value {
            Value::String(s) => Some(s.clone()),
            _ => obj
                .get("message")
                .or_else(|| outer.and_then(|o| o.get("message")))
                .or_else(|| obj.get("detail"))
                .and_then(|m| match m {
                    Value::String(s) => Some(s.clone()),
                    Value::Null => None,
                    other => Some(other.to_string()),
                }),
        };
        let message = message.map(|m| clean_text(&m)).unwrap_or_else(|| {
            if obj.as_object().is_some_and(|o| !o.is_empty()) {
                clean_text(&obj.to_string())
            } else {
                String::new()
            }
        });
        ErrorDetails {
            message,
            code: scalar(obj.get("code")),
            kind: scalar(obj.get("type")).or_else(|| scalar(obj.get("error_type"))),
            param: scalar(obj.get("param")),
            resets_at: resets_at(obj),
        }
    }

    /// Reads a body only when it is an error document: an `error` member that is not null or
    /// empty (and no `"success": true` beside it), vLLM's `"object": "error"`, or FastAPI's
    /// `detail`. `None` for anything else (a
    /// completion, a model list), so that those are never mistaken for errors.
    pub fn parse_error_document(body: &[u8]) -> Option<ErrorDetails> {
        let value: Value = serde_json::from_slice(body).ok()?;
        let first = match &value {
            Value::Array(items) => items.first()?,
            other => other,
        };
        // Envelopes say `"success": true, "error": ""` when all is well.
        if first.get("success").and_then(Value::as_bool) == Some(true) {
            return None;
        }
        let present = |v: Option<&Value>| match v {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(Value::Object(o)) => !o.is_empty(),
            Some(_) => true,
        };
        let is_error = present(first.get("error"))
            || first.get("object").and_then(Value::as_str) == Some("error")
            || present(first.get("detail"));
        is_error.then(|| ErrorDetails::from_value(&value))
    }

    /// The code, else the type: what [`Error::code`] reports.
    pub fn code_or_type(&self) -> Option<&str> {
        self.code.as_deref().or(self.kind.as_deref())
    }

    /// The message for a person, with the field at fault when the server named one.
    pub fn describe(&self) -> String {
        let mut text = if self.message.is_empty() {
            "no error message in the response".to_owned()
        } else {
            self.message.clone()
        };
        if let Some(param) = &self.param {
            text.push_str(&format!(" (param: {param})"));
        }
        text
    }
}

fn resets_at(obj: &Value) -> Option<SystemTime> {
    let seconds = |key: &str| obj.get(key).and_then(Value::as_f64).filter(|s| *s >= 0.0);
    if let Some(at) = seconds("resets_at") {
        return SystemTime::UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(at).ok()?);
    }
    let wait = Duration::try_from_secs_f64(seconds("resets_in_seconds")?).ok()?;
    SystemTime::now().checked_add(wait)
}

fn scalar(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A non-JSON body: an HTML page is named as such (its markup helps nobody), anything else is
/// quoted on one line.
fn quote_text(text: &str) -> String {
    if text.trim_start().starts_with('<') {
        return "the response is an HTML page, not an API error (a proxy, firewall or login \
                page may be in the way, or the base URL is wrong)"
            .into();
    }
    clean_text(text)
}

/// One line, no control characters, bounded length.
fn clean_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_MESSAGE_CHARS + 3));
    let mut last_space = false;
    for (count, c) in s.trim().chars().enumerate() {
        if count >= MAX_MESSAGE_CHARS {
            out.push('…');
            break;
        }
        let c = if c.is_control() { ' ' } else { c };
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("valid header value"));
        }
        h
    }

    #[test]
    fn a_rate_limit_that_talks_about_tokens_is_never_a_context_overflow() {
        let tpm = br#"{"error":{"message":"Rate limit reached for gpt-4o: too many tokens per minute (TPM): Limit 30000","type":"tokens","code":"rate_limit_exceeded"}}"#;
        let e = default_error_mapper(429, &HeaderMap::new(), tpm);
        assert_eq!(e.kind(), &ErrorKind::RateLimited);
        let bare = br#"{"error":{"message":"too many tokens, maximum context is busy"}}"#;
        assert_eq!(
            default_error_mapper(429, &HeaderMap::new(), bare).kind(),
            &ErrorKind::RateLimited
        );
        let in_band =
            ErrorDetails::parse(br#"{"code":429,"message":"too many tokens in the last minute"}"#);
        assert_eq!(classify_in_band(&in_band), ErrorKind::RateLimited);
        // The same words on a 400 are a context overflow.
        assert_eq!(
            default_error_mapper(400, &HeaderMap::new(), bare).kind(),
            &ErrorKind::ContextWindowExceeded
        );
    }

    #[test]
    fn litellms_invalid_model_name_is_model_not_found() {
        let body = br#"{"error":{"message":"400: {'error': '/chat/completions: Invalid model name passed in model=gpt-5. Call `/v1/models` to view available models for your key.'}","type":"None","param":"None","code":"400"}}"#;
        let e = default_error_mapper(400, &HeaderMap::new(), body);
        assert_eq!(e.kind(), &ErrorKind::ModelNotFound);
        assert!(
            e.message().contains("Invalid model name"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn only_error_documents_are_read_as_errors() {
        assert!(ErrorDetails::parse_error_document(br#"{"error":{"message":"x"}}"#).is_some());
        assert!(
            ErrorDetails::parse_error_document(br#"{"object":"error","message":"x"}"#).is_some()
        );
        assert!(ErrorDetails::parse_error_document(br#"{"detail":"Not authenticated"}"#).is_some());
        assert!(ErrorDetails::parse_error_document(br#"{"choices":[],"error":null}"#).is_none());
        assert!(ErrorDetails::parse_error_document(
            br#"{"success":true,"error":"","data":{"enabled":true}}"#
        )
        .is_none());
        assert!(
            ErrorDetails::parse_error_document(br#"{"success":false,"error":"boom"}"#).is_some()
        );
        assert!(ErrorDetails::parse_error_document(b"not json").is_none());
    }

    #[test]
    fn retry_after_seconds_ms_and_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", "7")]), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", "1.5")]), now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after-ms", "250")]), now),
            Some(Duration::from_millis(250))
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", &date)]), now),
            Some(Duration::from_secs(30))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", &past)]), now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn retry_after_ms_wins_over_seconds() {
        let h = headers(&[("retry-after", "10"), ("retry-after-ms", "20")]);
        assert_eq!(
            parse_retry_after(&h, SystemTime::now()),
            Some(Duration::from_millis(20))
        );
    }

    #[test]
    fn retry_after_garbage_is_ignored() {
        let now = SystemTime::now();
        for bad in ["soon", "-3", "NaN", "inf", "1e400", ""] {
            assert_eq!(
                parse_retry_after(&headers(&[("retry-after", bad)]), now),
                None,
                "{bad}"
            );
        }
        let h = headers(&[("retry-after-ms", "-5"), ("retry-after", "2")]);
        assert_eq!(
            parse_retry_after(&h, now),
            Some(Duration::from_secs(2)),
            "bad ms falls back"
        );
        assert_eq!(parse_retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn maps_statuses_to_kinds() {
        let h = HeaderMap::new();
        let cases: &[(u16, &str, ErrorKind)] = &[
            (
                400,
                r#"{"error":{"message":"bad param"}}"#,
                ErrorKind::BadRequest,
            ),
            (
                400,
                r#"{"error":{"message":"This model's maximum context length is 8192 tokens","code":"context_length_exceeded"}}"#,
                ErrorKind::ContextWindowExceeded,
            ),
            (
                401,
                r#"{"error":{"message":"Incorrect API key"}}"#,
                ErrorKind::InvalidApiKey,
            ),
            (403, "forbidden", ErrorKind::AccessDenied),
            (
                404,
                r#"{"error":{"code":"DeploymentNotFound","message":"no"}}"#,
                ErrorKind::ModelNotFound,
            ),
            (408, "", ErrorKind::BadRequest),
            (409, "", ErrorKind::BadRequest),
            (422, "{}", ErrorKind::BadRequest),
            (
                429,
                r#"{"error":{"message":"slow down","type":"requests"}}"#,
                ErrorKind::RateLimited,
            ),
            (
                429,
                r#"{"error":{"type":"insufficient_quota","message":"pay"}}"#,
                ErrorKind::QuotaExhausted,
            ),
            (500, "oops", ErrorKind::Server),
            (503, "<html>busy</html>", ErrorKind::Server),
            (302, "", ErrorKind::Protocol),
        ];
        for (status, body, kind) in cases {
            let err = default_error_mapper(*status, &h, body.as_bytes());
            assert_eq!(err.kind(), kind, "{status} {body}");
            assert_eq!(err.status(), Some(*status));
            assert!(!err.hint().is_empty());
        }
    }

    #[test]
    fn retryability_follows_the_issue() {
        let h = HeaderMap::new();
        for status in [408, 409, 429, 500, 502, 503, 504] {
            assert!(
                default_error_mapper(status, &h, b"").is_retryable(),
                "{status}"
            );
        }
        for status in [400, 401, 403, 404, 422] {
            assert!(
                !default_error_mapper(status, &h, b"").is_retryable(),
                "{status}"
            );
        }
        let quota = br#"{"error":{"code":"insufficient_quota","message":"x"}}"#;
        assert!(!default_error_mapper(429, &h, quota).is_retryable());
        let ctx = br#"{"error":{"code":"context_length_exceeded","message":"x"}}"#;
        assert!(!default_error_mapper(400, &h, ctx).is_retryable());
    }

    #[test]
    fn fills_code_message_request_id_and_wait() {
        let h = headers(&[("apim-request-id", "abc-123"), ("retry-after", "3")]);
        let err = default_error_mapper(
            429,
            &h,
            br#"{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation have exceeded the rate limit."}}"#,
        );
        assert_eq!(err.code(), Some("429"));
        assert_eq!(err.request_id(), Some("abc-123"));
        assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
        assert!(err
            .message()
            .starts_with("HTTP 429 Too Many Requests: Requests to the"));
        assert!(err.hint().contains("3 s"));
    }

    #[test]
    fn other_body_shapes() {
        let h = HeaderMap::new();
        let e = default_error_mapper(400, &h, br#"{"message":"flat message","code":7}"#);
        assert_eq!(e.message(), "HTTP 400 Bad Request: flat message");
        assert_eq!(e.code(), Some("7"));
        let e = default_error_mapper(400, &h, br#"{"error":"just a string","type":"invalid"}"#);
        assert_eq!(e.message(), "HTTP 400 Bad Request: just a string");
        assert_eq!(e.code(), Some("invalid"));
        let e = default_error_mapper(400, &h, br#"[{"error":{"message":"in an array"}}]"#);
        assert_eq!(e.message(), "HTTP 400 Bad Request: in an array");
        let e = default_error_mapper(422, &h, br#"{"detail":"vllm style"}"#);
        assert_eq!(e.message(), "HTTP 422 Unprocessable Entity: vllm style");
        let e = default_error_mapper(502, &h, b"");
        assert_eq!(
            e.message(),
            "HTTP 502 Bad Gateway: no error message in the response"
        );
        let e = default_error_mapper(599, &h, b"\xff\xfe");
        assert!(e.message().starts_with("HTTP 599"));
    }

    #[test]
    fn a_plans_usage_limit_is_a_subscription_limit_with_its_reset() {
        let h = HeaderMap::new();
        let body = br#"{"error":{"type":"usage_limit_reached","message":"The usage limit has been reached","plan_type":"plus","resets_at":1900000000}}"#;
        let err = default_error_mapper(429, &h, body);
        assert_eq!(err.kind(), &ErrorKind::SubscriptionLimit);
        assert!(!err.is_retryable());
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000);
        assert_eq!(err.resets_at(), Some(at));
        assert!(err.retry_after().is_some());
        assert!(err.hint().contains(&httpdate::fmt_http_date(at)));

        let body = br#"{"error":{"type":"usage_limit_reached","resets_in_seconds":120}}"#;
        let before = SystemTime::now();
        let err = default_error_mapper(429, &h, body);
        let at = err.resets_at().expect("resets_in_seconds is read");
        assert!(at >= before + Duration::from_secs(120));
        assert!(at <= SystemTime::now() + Duration::from_secs(120));

        // An ordinary 429 stays a rate limit.
        let err = default_error_mapper(429, &h, br#"{"error":{"type":"requests"}}"#);
        assert_eq!(err.kind(), &ErrorKind::RateLimited);
        assert_eq!(err.resets_at(), None);
    }

    #[test]
    fn plan_and_model_refusals() {
        let h = HeaderMap::new();
        let body = br#"{"error":{"type":"usage_not_included","message":"Upgrade to Plus"}}"#;
        assert_eq!(
            default_error_mapper(403, &h, body).kind(),
            &ErrorKind::AccessDenied
        );
        let body = br#"{"detail":"The 'gpt-9' model is not supported when using Codex with a ChatGPT account."}"#;
        assert_eq!(
            default_error_mapper(400, &h, body).kind(),
            &ErrorKind::ModelNotFound
        );
        // A server failure that mentions a model is still a server failure.
        let body = br#"{"detail":"model is not available right now"}"#;
        assert_eq!(
            default_error_mapper(503, &h, body).kind(),
            &ErrorKind::Server
        );
    }

    #[test]
    fn a_rate_limit_message_gives_the_wait_when_no_header_does() {
        let body = br#"{"error":{"code":"rate_limit_exceeded","message":"Rate limit reached. Please try again in 2.5s."}}"#;
        let err = default_error_mapper(429, &HeaderMap::new(), body);
        assert_eq!(err.retry_after(), Some(Duration::from_millis(2500)));
        let err = default_error_mapper(429, &headers(&[("retry-after", "7")]), body);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        for (text, wait) in [
            ("try again in 20ms", Some(Duration::from_millis(20))),
            ("Try again in 3 seconds", Some(Duration::from_secs(3))),
            ("try again in 1h2m", Some(Duration::from_secs(3720))),
            ("try again in 5 parsecs", None),
            ("try again in a moment", None),
            ("no wait here", None),
            ("try again in", None),
        ] {
            assert_eq!(wait_from_message(text), wait, "{text}");
        }
    }

    #[test]
    fn long_or_multiline_bodies_are_cleaned() {
        let body = format!("line one\r\nline two\x07{}", "x".repeat(5000));
        let err = default_error_mapper(500, &HeaderMap::new(), body.as_bytes());
        assert!(!err.message().contains('\n'));
        assert!(!err.message().contains('\x07'));
        // "HTTP 500 Internal Server Error: " plus the bounded message.
        assert!(err.message().chars().count() < MAX_MESSAGE_CHARS + 40);
        assert!(err.message().ends_with('…'));
    }
}
