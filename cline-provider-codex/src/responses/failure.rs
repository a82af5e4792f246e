//! Failures reported inside the stream (`response.failed`, an `error` event) as typed errors.
//!
//! The code decides the kind through core's rules for in-band errors ([`in_band_error`]):
//!
//! | code | kind |
//! |---|---|
//! | `context_length_exceeded` | [`ContextWindowExceeded`](ErrorKind::ContextWindowExceeded) |
//! | `insufficient_quota` | [`QuotaExhausted`](ErrorKind::QuotaExhausted) |
//! | `usage_not_included` | [`AccessDenied`](ErrorKind::AccessDenied), with a hint about the plan |
//! | `usage_limit_reached` | [`SubscriptionLimit`](ErrorKind::SubscriptionLimit) |
//! | `rate_limit_exceeded` | [`RateLimited`](ErrorKind::RateLimited), with the wait from "try again in N s/ms" |
//! | anything else (`server_error`, …) | [`StreamError`](ErrorKind::StreamError) |

use cline_provider_core::http::{in_band_error, ErrorDetails};
use cline_provider_core::{Error, ErrorKind};

/// The hint for a plan that does not include Codex at all.
pub(crate) const USAGE_NOT_INCLUDED_HINT: &str =
    "Your ChatGPT plan does not include Codex. Use a plan that does (Plus, Pro, Business, \
     Enterprise or Edu), or connect with an OpenAI API key through the OpenAI Compatible \
     provider instead.";

/// The error for a `response.failed` event whose `response.error` is `error` (its JSON).
pub fn response_failed(error: Option<&[u8]>) -> Error {
    let details = error.map(ErrorDetails::parse).unwrap_or_default();
    in_band("the response failed", &details)
}

/// The error for an `error` event (its whole `data`: `{"type":"error","code":…,"message":…}`).
pub fn error_event(data: &str) -> Error {
    let mut details = ErrorDetails::parse(data.as_bytes());
    // The event's own `type` ("error") says nothing about the failure.
    if details.kind.as_deref() == Some("error") {
        details.kind = None;
    }
    in_band("the endpoint reported an error", &details)
}

fn in_band(what: &str, details: &ErrorDetails) -> Error {
    let err = in_band_error(what, details);
    if err.kind() == &ErrorKind::AccessDenied && err.code() == Some("usage_not_included") {
        return err.with_hint(USAGE_NOT_INCLUDED_HINT);
    }
    err
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn failed(json: &str) -> Error {
        response_failed(Some(json.as_bytes()))
    }

    #[test]
    fn each_code_has_its_kind() {
        let cases = [
            ("context_length_exceeded", ErrorKind::ContextWindowExceeded),
            ("insufficient_quota", ErrorKind::QuotaExhausted),
            ("usage_not_included", ErrorKind::AccessDenied),
            ("usage_limit_reached", ErrorKind::SubscriptionLimit),
            ("rate_limit_exceeded", ErrorKind::RateLimited),
            ("server_error", ErrorKind::StreamError),
        ];
        for (code, kind) in cases {
            let e = failed(&format!(r#"{{"code":"{code}","message":"m"}}"#));
            assert_eq!(e.kind(), &kind, "{code}");
            assert_eq!(e.code(), Some(code));
        }
    }

    #[test]
    fn a_rate_limit_carries_the_wait_from_its_message() {
        let e = failed(
            r#"{"code":"rate_limit_exceeded","message":"Rate limit reached for gpt-5 on tokens per min. Please try again in 11.054s."}"#,
        );
        assert_eq!(e.retry_after(), Some(Duration::from_millis(11_054)));
        assert!(e.is_retryable());
        let e = failed(r#"{"code":"rate_limit_exceeded","message":"try again in 35ms"}"#);
        assert_eq!(e.retry_after(), Some(Duration::from_millis(35)));
    }

    #[test]
    fn no_detail_is_still_an_error() {
        let e = response_failed(None);
        assert_eq!(e.kind(), &ErrorKind::StreamError);
        assert!(e.message().starts_with("the response failed"));
        let e = error_event(r#"{"type":"error","code":"server_is_overloaded","message":"busy"}"#);
        assert_eq!(e.code(), Some("server_is_overloaded"));
        assert_eq!(e.message(), "the endpoint reported an error: busy");
    }

    #[test]
    fn usage_not_included_says_what_to_do() {
        let e = failed(r#"{"code":"usage_not_included","message":"no"}"#);
        assert!(
            e.hint().contains("plan does not include Codex"),
            "{}",
            e.hint()
        );
    }
}
