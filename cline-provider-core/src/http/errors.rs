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

/// A mapper for the common error bodies: `{"error":{"message","type","code"}}`,
/// `{"error":"…"}` and `{"message":"…"}` (anything else is quoted as text).
///
/// | status | kind |
/// |---|---|
/// | 400 | [`ContextWindowExceeded`](ErrorKind::ContextWindowExceeded) when the code or message says so, else [`BadRequest`](ErrorKind::BadRequest) |
/// | 401 | [`InvalidApiKey`](ErrorKind::InvalidApiKey) |
/// | 403 | [`AccessDenied`](ErrorKind::AccessDenied) |
/// | 404 | [`ModelNotFound`](ErrorKind::ModelNotFound) |
/// | 408, 409, other 4xx | [`BadRequest`](ErrorKind::BadRequest) (408 and 409 are retryable by status) |
/// | 429 | [`QuotaExhausted`](ErrorKind::QuotaExhausted) for `insufficient_quota`, else [`RateLimited`](ErrorKind::RateLimited) |
/// | 5xx | [`Server`](ErrorKind::Server) |
///
/// It fills the status, the provider's code, the request id (`x-request-id`,
/// `apim-request-id`, `cf-ray`, …) and the requested wait. Backends wrap it to read their own
/// error shapes first.
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
    let parsed = ErrorBody::parse(body);
    let code = parsed.code.clone().or_else(|| parsed.kind.clone());
    let lower_code = code.as_deref().unwrap_or("").to_ascii_lowercase();
    let lower_type = parsed.kind.as_deref().unwrap_or("").to_ascii_lowercase();
    let lower_message = parsed.message.to_ascii_lowercase();

    let kind = match status {
        400 | 413 if is_context_overflow(&lower_code, &lower_message) => {
            ErrorKind::ContextWindowExceeded
        }
        401 => ErrorKind::InvalidApiKey,
        403 => ErrorKind::AccessDenied,
        404 => ErrorKind::ModelNotFound,
        429 if lower_code == "insufficient_quota" || lower_type == "insufficient_quota" => {
            ErrorKind::QuotaExhausted
        }
        429 => ErrorKind::RateLimited,
        400..=499 => ErrorKind::BadRequest,
        500..=599 => ErrorKind::Server,
        _ => ErrorKind::Protocol,
    };

    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let message = if parsed.message.is_empty() {
        format!("HTTP {status} {reason}").trim_end().to_owned()
    } else {
        format!("HTTP {status}: {}", parsed.message)
    };
    let mut err = Error::new(kind, message).with_status(status);
    if let Some(code) = code {
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
    if let Some(wait) = parse_retry_after(headers, SystemTime::now()) {
        err = err.with_retry_after(wait);
    }
    err
}

fn is_context_overflow(code: &str, message: &str) -> bool {
    code == "context_length_exceeded"
        || code == "string_above_max_length"
        || message.contains("context length")
        || message.contains("context_length_exceeded")
        || message.contains("context window")
        || message.contains("maximum context")
        || message.contains("too many tokens")
        || message.contains("prompt is too long")
}

/// The useful parts of an error body.
#[derive(Debug, Default)]
struct ErrorBody {
    message: String,
    code: Option<String>,
    kind: Option<String>,
}

impl ErrorBody {
    fn parse(body: &[u8]) -> ErrorBody {
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return ErrorBody {
                message: clean_text(&String::from_utf8_lossy(body)),
                ..ErrorBody::default()
            };
        };
        // Some gateways wrap the error in a one-element array.
        let value = match value {
            Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
            other => other,
        };
        let (obj, outer) = match value.get("error") {
            Some(Value::Object(_)) => (value.get("error"), Some(&value)),
            Some(Value::String(s)) => {
                return ErrorBody {
                    message: clean_text(s),
                    code: scalar(value.get("code")),
                    kind: scalar(value.get("type")),
                }
            }
            _ => (Some(&value), None),
        };
        let obj = obj.unwrap_or(&value);
        let message = obj
            .get("message")
            .or_else(|| outer.and_then(|o| o.get("message")))
            .or_else(|| obj.get("detail"))
            .and_then(|m| match m {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            })
            .map(|m| clean_text(&m))
            .unwrap_or_else(|| {
                if obj.is_object() && obj.as_object().is_some_and(|o| !o.is_empty()) {
                    clean_text(&obj.to_string())
                } else {
                    String::new()
                }
            });
        ErrorBody {
            message,
            code: scalar(obj.get("code")),
            kind: scalar(obj.get("type")),
        }
    }
}

fn scalar(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
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
        assert!(err.message().starts_with("HTTP 429: Requests to the"));
        assert!(err.hint().contains("3 s"));
    }

    #[test]
    fn other_body_shapes() {
        let h = HeaderMap::new();
        let e = default_error_mapper(400, &h, br#"{"message":"flat message","code":7}"#);
        assert_eq!(e.message(), "HTTP 400: flat message");
        assert_eq!(e.code(), Some("7"));
        let e = default_error_mapper(400, &h, br#"{"error":"just a string","type":"invalid"}"#);
        assert_eq!(e.message(), "HTTP 400: just a string");
        assert_eq!(e.code(), Some("invalid"));
        let e = default_error_mapper(400, &h, br#"[{"error":{"message":"in an array"}}]"#);
        assert_eq!(e.message(), "HTTP 400: in an array");
        let e = default_error_mapper(422, &h, br#"{"detail":"vllm style"}"#);
        assert_eq!(e.message(), "HTTP 422: vllm style");
        let e = default_error_mapper(502, &h, b"");
        assert_eq!(e.message(), "HTTP 502 Bad Gateway");
        let e = default_error_mapper(599, &h, b"\xff\xfe");
        assert!(e.message().starts_with("HTTP 599"));
    }

    #[test]
    fn long_or_multiline_bodies_are_cleaned() {
        let body = format!("line one\r\nline two\x07{}", "x".repeat(5000));
        let err = default_error_mapper(500, &HeaderMap::new(), body.as_bytes());
        assert!(!err.message().contains('\n'));
        assert!(!err.message().contains('\x07'));
        assert!(err.message().chars().count() < MAX_MESSAGE_CHARS + 20);
        assert!(err.message().ends_with('…'));
    }
}
