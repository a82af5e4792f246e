//! From an endpoint's error (HTTP status + body, or an in-band `{"error": …}` chunk) to a
//! typed [`Error`] with a hint for the person.
//!
//! | what the endpoint says | [`ErrorKind`] |
//! |---|---|
//! | 401 | [`InvalidApiKey`](ErrorKind::InvalidApiKey) |
//! | 403 | [`AccessDenied`](ErrorKind::AccessDenied) |
//! | 404, or code `model_not_found` | [`ModelNotFound`](ErrorKind::ModelNotFound) |
//! | 429 | [`RateLimited`](ErrorKind::RateLimited), with the wait from `retry-after-ms` / `retry-after` |
//! | 429 or 402 with `insufficient_quota` / credits | [`QuotaExhausted`](ErrorKind::QuotaExhausted) |
//! | code `context_length_exceeded` (or vLLM's / llama.cpp's wording) | [`ContextWindowExceeded`](ErrorKind::ContextWindowExceeded) |
//! | other 4xx | [`BadRequest`](ErrorKind::BadRequest) |
//! | 5xx | [`Server`](ErrorKind::Server) |

use std::time::SystemTime;

use cline_provider_core::http::parse_retry_after;
use cline_provider_core::{Error, ErrorKind};
use http::HeaderMap;

use crate::wire::{WireError, WireErrorBody, WireErrorField};

/// How much of a non-JSON error body is quoted in the message.
const BODY_QUOTE_CHARS: usize = 300;

/// Maps an HTTP error response of a chat-completions (or models) endpoint to an [`Error`].
///
/// It has the shape the streaming engine expects of an error mapper, and depends only on
/// the response, so Azure and any other OpenAI-style endpoint can use it as it is.
///
/// ```
/// use cline_provider_core::ErrorKind;
/// use cline_provider_openai::map_error;
/// let body = br#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
/// let err = map_error(429, &http::HeaderMap::new(), body);
/// assert_eq!(err.kind(), &ErrorKind::QuotaExhausted);
/// assert!(!err.is_retryable());
/// ```
pub fn map_error(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let wire = parse_body(body);
    let described = describe(&wire, body);
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let message = if reason.is_empty() {
        format!("HTTP {status}: {described}")
    } else {
        format!("HTTP {status} {reason}: {described}")
    };
    let kind = classify(Some(status), &wire);
    let mut err = Error::new(kind.clone(), message).with_status(status);
    if let Some(code) = wire
        .code
        .as_ref()
        .map(|c| c.0.as_str())
        .or(wire.kind.as_deref())
    {
        err = err.with_code(code);
    }
    if let Some(id) = request_id(headers) {
        err = err.with_request_id(id);
    }
    if kind == ErrorKind::RateLimited {
        if let Some(wait) = parse_retry_after(headers, SystemTime::now()) {
            err = err.with_retry_after(wait);
        }
    }
    err
}

/// Turns an in-band error (an `{"error": …}` chunk in a stream that had already started) into
/// an [`Error`]. Rate limits, quota and context errors keep their kind; anything else is a
/// [`StreamError`](ErrorKind::StreamError).
pub fn stream_error(field: WireErrorField) -> Error {
    let wire = field.into_error();
    // OpenRouter puts the HTTP status it would have used into `code`.
    let status = wire
        .code
        .as_ref()
        .and_then(|c| c.0.parse::<u16>().ok())
        .filter(|s| (400..600).contains(s));
    let kind = match classify(status, &wire) {
        k @ (ErrorKind::RateLimited
        | ErrorKind::QuotaExhausted
        | ErrorKind::ContextWindowExceeded
        | ErrorKind::ModelNotFound
        | ErrorKind::InvalidApiKey
        | ErrorKind::AccessDenied) => k,
        _ => ErrorKind::StreamError,
    };
    let mut err = Error::new(
        kind,
        format!(
            "the endpoint reported an error mid-stream: {}",
            describe(&wire, b"")
        ),
    );
    if let Some(code) = wire
        .code
        .as_ref()
        .map(|c| c.0.as_str())
        .or(wire.kind.as_deref())
    {
        err = err.with_code(code);
    }
    err
}

/// Reads an error body in any of the known shapes; an unreadable body yields an empty error.
fn parse_body(body: &[u8]) -> WireError {
    serde_json::from_slice::<WireErrorBody>(body)
        .map(WireErrorBody::into_error)
        .unwrap_or_default()
}

/// The server's message, or a quote of the body when it sent no JSON message.
fn describe(wire: &WireError, body: &[u8]) -> String {
    let mut text = match wire.message.as_deref().map(str::trim) {
        Some(m) if !m.is_empty() => m.to_owned(),
        _ => quote_body(body),
    };
    if let Some(param) = wire.param.as_deref().filter(|p| !p.is_empty()) {
        text.push_str(&format!(" (param: {param})"));
    }
    text
}

fn quote_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return "no error message in the response".into();
    }
    if trimmed.starts_with('<') {
        // A proxy, firewall or login page answered instead of the API.
        return "the response is an HTML page, not an API error (a proxy, firewall or login page may be in the way, or the base URL is wrong)".into();
    }
    let collapsed: String = trimmed.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() > BODY_QUOTE_CHARS {
        let cut: String = collapsed.chars().take(BODY_QUOTE_CHARS).collect();
        format!("{cut}…")
    } else {
        collapsed
    }
}

fn has(hay: Option<&str>, needle: &str) -> bool {
    hay.is_some_and(|h| h.to_ascii_lowercase().contains(needle))
}

fn classify(status: Option<u16>, wire: &WireError) -> ErrorKind {
    let code = wire.code.as_ref().map(|c| c.0.as_str());
    let kind = wire.kind.as_deref();
    let message = wire.message.as_deref();
    let mentions = |needle: &str| has(code, needle) || has(kind, needle);

    if mentions("insufficient_quota") {
        return ErrorKind::QuotaExhausted;
    }
    if mentions("context_length_exceeded")
        || mentions("exceed_context_size")
        || has(message, "maximum context length")
        || has(message, "context length exceeded")
        || has(message, "context_length_exceeded")
        || has(message, "exceeds the available context size")
        || has(message, "exceed_context_size")
    {
        return ErrorKind::ContextWindowExceeded;
    }
    if mentions("model_not_found") {
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
        Some(s) if (400..500).contains(&s) => ErrorKind::BadRequest,
        Some(s) if (500..600).contains(&s) => ErrorKind::Server,
        Some(_) => ErrorKind::Protocol,
        None if mentions("rate_limit") => ErrorKind::RateLimited,
        None => ErrorKind::StreamError,
    }
}

/// The request id servers attach, for support tickets.
fn request_id(headers: &HeaderMap) -> Option<String> {
    [
        "x-request-id",
        "request-id",
        "apim-request-id",
        "x-ms-request-id",
    ]
    .iter()
    .find_map(|name| headers.get(*name))
    .and_then(|v| v.to_str().ok())
    .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use std::time::Duration;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn err(status: u16, body: &str) -> Error {
        map_error(status, &HeaderMap::new(), body.as_bytes())
    }

    #[test]
    fn status_kinds() {
        let openai = |t: &str, c: &str| {
            format!(r#"{{"error":{{"message":"m","type":"{t}","code":"{c}"}}}}"#)
        };
        assert_eq!(
            err(401, &openai("invalid_request_error", "invalid_api_key")).kind(),
            &ErrorKind::InvalidApiKey
        );
        assert_eq!(err(401, "").kind(), &ErrorKind::InvalidApiKey);
        assert_eq!(err(403, "forbidden").kind(), &ErrorKind::AccessDenied);
        assert_eq!(
            err(404, &openai("invalid_request_error", "model_not_found")).kind(),
            &ErrorKind::ModelNotFound
        );
        assert_eq!(
            err(400, &openai("invalid_request_error", "model_not_found")).kind(),
            &ErrorKind::ModelNotFound
        );
        assert_eq!(
            err(429, &openai("requests", "rate_limit_exceeded")).kind(),
            &ErrorKind::RateLimited
        );
        assert_eq!(
            err(429, &openai("insufficient_quota", "insufficient_quota")).kind(),
            &ErrorKind::QuotaExhausted
        );
        assert_eq!(
            err(
                402,
                r#"{"error":{"code":402,"message":"Insufficient credits"}}"#
            )
            .kind(),
            &ErrorKind::QuotaExhausted
        );
        assert_eq!(
            err(
                400,
                &openai("invalid_request_error", "context_length_exceeded")
            )
            .kind(),
            &ErrorKind::ContextWindowExceeded
        );
        assert_eq!(
            err(400, &openai("invalid_request_error", "unsupported_value")).kind(),
            &ErrorKind::BadRequest
        );
        assert_eq!(err(422, "{}").kind(), &ErrorKind::BadRequest);
        assert_eq!(err(500, "boom").kind(), &ErrorKind::Server);
        assert_eq!(err(503, "").kind(), &ErrorKind::Server);
    }

    #[test]
    fn context_errors_of_other_servers() {
        // vLLM: flat body, no code.
        let vllm = r#"{"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.","type":"BadRequestError","param":null,"code":400}"#;
        assert_eq!(err(400, vllm).kind(), &ErrorKind::ContextWindowExceeded);
        // llama.cpp's server.
        let llama = r#"{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error"}}"#;
        assert_eq!(err(400, llama).kind(), &ErrorKind::ContextWindowExceeded);
    }

    #[test]
    fn message_names_status_and_server_text() {
        let e = err(
            401,
            r#"{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
        );
        assert_eq!(
            e.message(),
            "HTTP 401 Unauthorized: Incorrect API key provided."
        );
        assert_eq!(e.status(), Some(401));
        assert_eq!(e.code(), Some("invalid_api_key"));
        assert!(e.hint().contains("API key"));
    }

    #[test]
    fn ollama_string_error() {
        let e = err(
            404,
            r#"{"error":"model \"llama9\" not found, try pulling it first"}"#,
        );
        assert_eq!(e.kind(), &ErrorKind::ModelNotFound);
        assert!(e.message().contains("llama9"));
    }

    #[test]
    fn html_and_long_bodies_are_summarised() {
        let e = err(502, "<html><body>Bad gateway</body></html>");
        assert!(e.message().contains("HTML page"), "{}", e.message());
        let long = "x ".repeat(1000);
        let e = err(500, &long);
        assert!(e.message().chars().count() < 400);
        assert!(e.message().ends_with('…'));
        let e = err(500, "");
        assert!(e.message().contains("no error message"));
    }

    #[test]
    fn rate_limit_carries_wait_and_request_id() {
        let e = map_error(
            429,
            &headers(&[("retry-after", "12"), ("x-request-id", "req_123")]),
            br#"{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}"#,
        );
        assert_eq!(e.kind(), &ErrorKind::RateLimited);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(12)));
        assert_eq!(e.request_id(), Some("req_123"));
        assert!(e.hint().contains("12 s"), "{}", e.hint());
        assert!(e.is_retryable());
    }

    #[test]
    fn in_band_errors() {
        let parse = |s: &str| serde_json::from_str::<WireErrorField>(s).unwrap();
        let e = stream_error(parse(
            r#"{"code":"server_error","message":"Provider disconnected"}"#,
        ));
        assert_eq!(e.kind(), &ErrorKind::StreamError);
        assert!(e.message().contains("Provider disconnected"));
        let e = stream_error(parse(r#"{"code":429,"message":"Rate limited upstream"}"#));
        assert_eq!(e.kind(), &ErrorKind::RateLimited);
        let e = stream_error(parse(r#"{"message":"x","type":"insufficient_quota"}"#));
        assert_eq!(e.kind(), &ErrorKind::QuotaExhausted);
        let e = stream_error(parse(r#""plain text error""#));
        assert_eq!(e.kind(), &ErrorKind::StreamError);
        assert!(e.message().contains("plain text error"));
        let e = stream_error(parse(r#"{"code":502,"message":"Upstream failed"}"#));
        assert_eq!(e.kind(), &ErrorKind::StreamError);
        assert_eq!(e.code(), Some("502"));
    }
}
