//! In-band errors: an `{"error": …}` chunk, or an `event: error`, in a stream that had
//! already started.
//!
//! HTTP error responses need nothing OpenAI-specific: the provider hands
//! [`default_error_mapper`](cline_provider_core::http::default_error_mapper) to the engine, and
//! the same rules ([`in_band_error`]) decide what an in-band error means.

use cline_provider_core::http::{in_band_error, ErrorDetails};
use cline_provider_core::Error;

/// Turns an in-band error (the JSON of the `error` member, or of a whole `event: error`
/// payload) into an [`Error`]. Rate limits, quota, context, model and credential errors keep
/// their kind; anything else is a
/// [`StreamError`](cline_provider_core::ErrorKind::StreamError).
///
/// ```
/// use cline_provider_core::ErrorKind;
/// use cline_provider_openai::errors::stream_error;
/// let err = stream_error(br#"{"code":"server_error","message":"Provider disconnected"}"#);
/// assert_eq!(err.kind(), &ErrorKind::StreamError);
/// assert!(err.message().contains("Provider disconnected"));
/// ```
pub fn stream_error(json: &[u8]) -> Error {
    in_band_error(
        "the endpoint reported an error mid-stream",
        &ErrorDetails::parse(json),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use cline_provider_core::http::default_error_mapper;
    use cline_provider_core::ErrorKind;
    use http::{HeaderMap, HeaderValue};
    use std::time::Duration;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    /// The dialects' HTTP error bodies, through the mapper the provider uses.
    fn err(status: u16, body: &str) -> Error {
        default_error_mapper(status, &HeaderMap::new(), body.as_bytes())
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
        assert!(e.message().chars().count() < 700);
        assert!(e.message().ends_with('…'));
        let e = err(500, "");
        assert!(e.message().contains("no error message"));
    }

    #[test]
    fn rate_limit_carries_wait_and_request_id() {
        let e = default_error_mapper(
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
        fn parse(s: &str) -> &[u8] {
            s.as_bytes()
        }
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

    #[test]
    fn an_in_band_rate_limit_carries_the_wait_it_asks_for_in_words() {
        let e = stream_error(
            br#"{"code":"rate_limit_exceeded","message":"Rate limit reached. Please try again in 3s."}"#,
        );
        assert_eq!(e.kind(), &ErrorKind::RateLimited);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert!(e.message().contains("mid-stream"), "{e}");
    }
}
