//! Every error kind carries a hint a person can act on.

use std::time::Duration;

use cline_provider_core::{Error, ErrorKind, TimeoutPhase};

fn hint(kind: ErrorKind) -> String {
    Error::new(kind, "x").hint()
}

#[test]
fn every_kind_has_a_specific_hint() {
    let cases: Vec<(ErrorKind, &[&str])> = vec![
        (ErrorKind::InvalidApiKey, &["API key"]),
        (ErrorKind::AccessDenied, &["role", "Azure"]),
        (ErrorKind::Unreachable, &["VPN", "firewall", "proxy", "URL"]),
        (ErrorKind::Timeout(TimeoutPhase::Connect), &["Connecting"]),
        (
            ErrorKind::Timeout(TimeoutPhase::Headers),
            &["did not start answering"],
        ),
        (ErrorKind::Timeout(TimeoutPhase::Idle), &["stopped sending"]),
        (ErrorKind::Timeout(TimeoutPhase::Total), &["whole request"]),
        (ErrorKind::ModelNotFound, &["does not offer that model"]),
        (
            ErrorKind::LockedByOrganization,
            &["organization", "administrator"],
        ),
        (ErrorKind::NotSignedIn, &["Sign in"]),
        (ErrorKind::RateLimited, &["rate limiting"]),
        (
            ErrorKind::QuotaExhausted,
            &["quota", "waiting will not help"],
        ),
        (
            ErrorKind::SubscriptionLimit,
            &["usage limit", "subscription plan", "plan decides"],
        ),
        (ErrorKind::ContextWindowExceeded, &["context window"]),
        (ErrorKind::InvalidConfig, &["configuration"]),
        (ErrorKind::BadRequest, &["refused the request"]),
        (ErrorKind::Server, &["internal problem"]),
        (ErrorKind::StreamError, &["in the middle of the reply"]),
        (ErrorKind::Truncated, &["cut short"]),
        (ErrorKind::EventTooLarge, &["cap"]),
        (ErrorKind::Protocol, &["protocol"]),
        (ErrorKind::Cancelled, &["cancelled"]),
        (ErrorKind::Io, &["file"]),
        (ErrorKind::DnsFailure, &["DNS", "typo", "VPN"]),
        (
            ErrorKind::TlsCertificate,
            &["certificate", "SSL_CERT_FILE", "corporate proxy"],
        ),
        (ErrorKind::Redirected, &["redirect", "base URL"]),
        (ErrorKind::InvalidToolArguments, &["tool", "schema"]),
    ];
    let mut seen = std::collections::HashSet::new();
    for (kind, needles) in cases {
        let h = hint(kind.clone());
        for needle in needles {
            assert!(
                h.contains(needle),
                "hint for {kind:?} should mention {needle:?}: {h}"
            );
        }
        assert!(h.ends_with('.'), "hint for {kind:?} is a sentence: {h}");
        assert!(
            seen.insert(h),
            "hint for {kind:?} is not shared with another kind"
        );
    }
}

#[test]
fn rate_limit_hint_names_the_wait() {
    let e = Error::new(ErrorKind::RateLimited, "429").with_retry_after(Duration::from_secs(4));
    assert!(e.hint().contains("Wait 4 s"), "{}", e.hint());
    let e = Error::new(ErrorKind::RateLimited, "429").with_retry_after(Duration::from_millis(250));
    assert!(e.hint().contains("250 ms"), "{}", e.hint());
    let e = Error::new(ErrorKind::RateLimited, "429").with_retry_after(Duration::from_secs(600));
    assert!(e.hint().contains("10 min"), "{}", e.hint());
}

#[test]
fn subscription_limit_hint_says_when_it_resets() {
    let at = std::time::SystemTime::now() + Duration::from_secs(90);
    let e = Error::new(ErrorKind::SubscriptionLimit, "usage limit reached").with_resets_at(at);
    let h = e.hint();
    assert!(h.contains(&httpdate::fmt_http_date(at)), "{h}");
    assert!(h.contains("(in 90 s)") || h.contains("(in 89 s)"), "{h}");
    assert!(h.contains("plan decides these limits"), "{h}");
    assert!(!e.is_retryable());
    let e =
        Error::new(ErrorKind::SubscriptionLimit, "x").with_retry_after(Duration::from_secs(600));
    assert!(e.hint().contains("It resets in 10 min."), "{}", e.hint());
    assert!(hint(ErrorKind::SubscriptionLimit).contains("did not say when"));
}

#[test]
fn model_not_found_lists_what_is_offered() {
    let e = Error::new(ErrorKind::ModelNotFound, "no such model")
        .with_available_models(vec!["llama-3".into(), "qwen-2".into()]);
    assert!(
        e.hint().contains("it offers: llama-3, qwen-2."),
        "{}",
        e.hint()
    );
    let many: Vec<String> = (0..15).map(|i| format!("m{i}")).collect();
    let e = Error::new(ErrorKind::ModelNotFound, "x").with_available_models(many);
    assert!(e.hint().contains("m9, …"), "{}", e.hint());
}

#[test]
fn locked_hint_names_the_field_and_organization() {
    let e = Error::new(ErrorKind::LockedByOrganization, "locked")
        .with_field("openAiBaseUrl")
        .with_organization("Acme");
    assert!(e.hint().contains("`openAiBaseUrl`"));
    assert!(e.hint().contains("(Acme)"));
}

#[test]
fn invalid_config_hint_names_the_field_and_why() {
    let e = Error::invalid_config("messages[2].tool_call_id", "no such call");
    assert_eq!(e.field(), Some("messages[2].tool_call_id"));
    assert_eq!(
        e.hint(),
        "Fix the setting `messages[2].tool_call_id`: no such call."
    );
    assert_eq!(
        e.to_string(),
        "invalid `messages[2].tool_call_id`: no such call"
    );
}

#[test]
fn timeout_errors_name_their_phase() {
    let e = Error::timeout(TimeoutPhase::Headers, Duration::from_secs(2));
    assert_eq!(e.kind(), &ErrorKind::Timeout(TimeoutPhase::Headers));
    assert!(e.to_string().contains("waiting for the response headers"));
}

#[test]
fn retryability() {
    let retryable = [
        Error::new(ErrorKind::RateLimited, "x"),
        Error::new(ErrorKind::Server, "x").with_status(503),
        Error::new(ErrorKind::Unreachable, "x"),
        Error::timeout(TimeoutPhase::Connect, Duration::from_secs(1)),
        Error::new(ErrorKind::BadRequest, "x").with_status(408),
        Error::new(ErrorKind::BadRequest, "x").with_status(409),
    ];
    for e in retryable {
        assert!(e.is_retryable(), "{e:?}");
    }
    let permanent = [
        Error::new(ErrorKind::InvalidApiKey, "x").with_status(401),
        Error::new(ErrorKind::QuotaExhausted, "x").with_status(429),
        Error::new(ErrorKind::ContextWindowExceeded, "x").with_status(400),
        Error::new(ErrorKind::BadRequest, "x").with_status(400),
        Error::new(ErrorKind::Truncated, "x"),
        Error::timeout(TimeoutPhase::Idle, Duration::from_secs(1)),
        // A slow server may be generating, and billing, the reply: not sent again by default.
        Error::timeout(TimeoutPhase::Headers, Duration::from_secs(1)),
        Error::new(ErrorKind::DnsFailure, "x"),
        Error::new(ErrorKind::TlsCertificate, "x"),
        Error::new(ErrorKind::Redirected, "x").with_status(307),
        Error::new(ErrorKind::Cancelled, "x"),
        // Whatever the kind, once output reached the caller.
        Error::new(ErrorKind::RateLimited, "x").after_output(),
        Error::new(ErrorKind::Unreachable, "x").after_output(),
    ];
    for e in permanent {
        assert!(!e.is_retryable(), "{e:?}");
    }
}

#[test]
fn long_waits_read_in_hours() {
    let wait = |secs| {
        Error::new(ErrorKind::RateLimited, "429")
            .with_retry_after(Duration::from_secs(secs))
            .hint()
    };
    assert!(wait(86_400).contains("Wait 24 h"), "{}", wait(86_400));
    assert!(wait(3 * 3600).contains("Wait 3 h"), "{}", wait(3 * 3600));
    assert!(wait(5400).contains("Wait 90 min"), "{}", wait(5400));
}

#[test]
fn scrub_removes_every_secret_from_the_message_and_code() {
    let e = Error::new(
        ErrorKind::InvalidApiKey,
        "key sk-abc123 rejected (sk-abc123)",
    )
    .with_code("bad:sk-abc123")
    .scrub(["sk-abc123", "x"]);
    assert_eq!(e.message(), "key [redacted] rejected ([redacted])");
    assert_eq!(e.code(), Some("bad:[redacted]"));
    assert!(!format!("{e:?}").contains("sk-abc123"));
}

#[test]
fn an_error_stays_one_pointer_wide() {
    assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    assert_eq!(
        std::mem::size_of::<cline_provider_core::Result<()>>(),
        std::mem::size_of::<usize>()
    );
}

#[test]
fn errors_carry_server_details() {
    let e = Error::new(ErrorKind::QuotaExhausted, "You exceeded your current quota")
        .with_status(429)
        .with_code("insufficient_quota")
        .with_request_id("req_123");
    assert_eq!(e.status(), Some(429));
    assert_eq!(e.code(), Some("insufficient_quota"));
    assert_eq!(e.request_id(), Some("req_123"));
    assert_eq!(e.message(), "You exceeded your current quota");
}

#[test]
fn io_errors_convert() {
    let e: Error = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied").into();
    assert_eq!(e.kind(), &ErrorKind::Io);
    assert!(std::error::Error::source(&e).is_some());
}
