//! Where the engine draws its lines: redirects are refused, retries stop once output reached
//! the caller (and not before), errors that no wait fixes are not retried, an error after
//! output says so, and the request's credentials never come back inside an error.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cline_provider_core::http::{
    default_error_mapper, HttpConfig, RedirectPolicy, RequestSpec, RetryPolicy,
};
use cline_provider_core::{ErrorKind, StreamEvent, TimeoutPhase};
use cline_provider_testkit::{openai, Reply, SseFrame};
use futures_util::StreamExt;
use serde_json::json;

use common::*;

// --- Redirects ---------------------------------------------------------------------------

#[tokio::test]
async fn an_llm_request_never_follows_a_redirect_to_another_origin() {
    let elsewhere = server().await;
    elsewhere.route("POST", PATH, Reply::sse(frames(&["stolen"])));
    let server = server().await;
    let target = format!("{}{PATH}?tenant=a&api-key=sk-in-query-1", elsewhere.url());
    for status in [301, 302, 303, 307, 308] {
        server.route("POST", PATH, Reply::redirect(status, &target));
    }
    let config = HttpConfig {
        default_headers: vec![("X-Api-Key".into(), "sk-header-secret".into())],
        ..fast_config()
    };
    let (client, retries) = recording_client(config);
    for status in [301, 302, 303, 307, 308] {
        let err = run(&client, &url(&server), None)
            .await
            .expect_err("refused");
        assert_eq!(err.kind(), &ErrorKind::Redirected, "{status}: {err}");
        assert_eq!(err.status(), Some(status));
        let location = err.redirect_location().expect("names where it pointed");
        assert!(location.starts_with(&elsewhere.url()), "{location}");
        assert!(!location.contains("sk-in-query-1"), "{location}");
        assert!(err.hint().contains("base URL"), "{}", err.hint());
        assert!(err.hint().contains(&elsewhere.url()), "{}", err.hint());
        assert!(!err.is_retryable());
    }
    assert!(
        elsewhere.requests().is_empty(),
        "neither the credentials nor the prompt reached the other origin"
    );
    assert_eq!(
        server.requests().len(),
        5,
        "each redirect was answered once"
    );
    assert!(retries.lock().expect("not poisoned").is_empty());
}

#[tokio::test]
async fn the_same_origin_policy_follows_a_path_move_but_not_another_host() {
    let origin = server().await;
    origin.route(
        "GET",
        "/api/v1/config",
        Reply::redirect(308, "/api/v2/config"),
    );
    origin.route(
        "GET",
        "/api/v2/config",
        Reply::json(200, json!({"ok": true})),
    );
    let other = server().await;
    other.route(
        "GET",
        "/api/v2/config",
        Reply::json(200, json!({"ok": "stolen"})),
    );
    origin.route(
        "GET",
        "/api/v1/moved-away",
        Reply::redirect(302, &format!("{}/api/v2/config", other.url())),
    );
    let config = HttpConfig {
        redirects: RedirectPolicy::SameOrigin,
        default_headers: vec![("Authorization".into(), "Bearer admin-token-1".into())],
        ..fast_config()
    };
    let client = client(config);
    let get = |path: &'static str| {
        let target = format!("{}{path}", origin.url());
        move |c: &reqwest::Client| Ok(c.get(&target))
    };

    let build = get("/api/v1/config");
    let fetched = client
        .fetch(&RequestSpec::new(&build, &default_error_mapper), 1024)
        .await
        .expect("followed within the origin");
    assert_eq!(fetched.body.as_ref(), br#"{"ok":true}"#);
    let paths: Vec<String> = origin.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/api/v1/config", "/api/v2/config"]);
    assert_eq!(
        origin.requests()[1].header("authorization"),
        Some("Bearer admin-token-1"),
        "same origin: the credential goes along"
    );

    let build = get("/api/v1/moved-away");
    let err = client
        .fetch(&RequestSpec::new(&build, &default_error_mapper), 1024)
        .await
        .expect_err("another origin is refused");
    assert_eq!(err.kind(), &ErrorKind::Redirected);
    assert!(other.requests().is_empty());
}

// --- The retry boundary: nothing reached the caller --------------------------------------

#[tokio::test]
async fn a_reset_after_the_headers_before_any_event_is_retried() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::sse(frames(&["lost"])).close_after_bytes(0),
    );
    server.route("POST", PATH, Reply::sse(frames(&["second", "try"])));
    let (client, retries) = recording_client(fast_config());
    let (texts, error) = run(&client, &url(&server), None)
        .await
        .expect("retried to success");
    assert_eq!(texts, ["second", "try"]);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(server.requests().len(), 2);
    assert_eq!(retries.lock().expect("not poisoned").len(), 1);
}

#[tokio::test]
async fn a_retryable_in_band_error_as_the_first_event_is_retried_like_a_429() {
    let server = server().await;
    // OpenRouter and LiteLLM pass an upstream 429 on as the stream's first event.
    server.route(
        "POST",
        PATH,
        Reply::sse(vec![
            SseFrame::comment("OPENROUTER PROCESSING"),
            SseFrame::json(
                &json!({"error": {"code": "rate_limit_exceeded", "message": "upstream 429"}}),
            ),
        ]),
    );
    server.route("POST", PATH, Reply::sse(frames(&["ok"])));
    let (client, retries) = recording_client(fast_config());
    let (texts, error) = run(&client, &url(&server), None).await.expect("retried");
    assert_eq!(texts, ["ok"]);
    assert!(error.is_none());
    assert_eq!(server.requests().len(), 2);
    let retries = retries.lock().expect("not poisoned");
    assert_eq!(retries.len(), 1);
    assert!(
        retries[0].reason.contains("upstream 429"),
        "{}",
        retries[0].reason
    );
}

#[tokio::test]
async fn a_first_event_error_that_no_wait_fixes_comes_back_from_stream_itself() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::sse(vec![SseFrame::json(
            &json!({"error": {"code": "insufficient_quota", "message": "no credit"}}),
        )]),
    );
    let (client, retries) = recording_client(fast_config());
    let err = run(&client, &url(&server), None)
        .await
        .expect_err("returned by stream_sse, not as the first item");
    assert_eq!(err.kind(), &ErrorKind::QuotaExhausted);
    assert!(!err.is_after_output());
    assert_eq!(server.requests().len(), 1);
    assert!(retries.lock().expect("not poisoned").is_empty());
}

#[tokio::test]
async fn once_an_event_was_handed_out_nothing_is_retried_and_the_error_says_so() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::sse(vec![
            text("partial answer"),
            SseFrame::json(
                &json!({"error": {"code": "rate_limit_exceeded", "message": "upstream 429"}}),
            ),
        ]),
    );
    server.route("POST", PATH, Reply::sse(frames(&["must not be requested"])));
    let (client, retries) = recording_client(fast_config());
    let (texts, error) = run(&client, &url(&server), None).await.expect("starts");
    assert_eq!(texts, ["partial answer"]);
    let err = error.expect("the in-band error");
    assert_eq!(err.kind(), &ErrorKind::RateLimited);
    assert!(err.is_after_output());
    assert!(
        !err.is_retryable(),
        "a retry-if-retryable loop must not duplicate the partial answer"
    );
    assert_eq!(server.requests().len(), 1);
    assert!(retries.lock().expect("not poisoned").is_empty());
}

#[tokio::test]
async fn a_gateways_200_json_error_keeps_its_message_and_is_retried_when_retryable() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::json(
            200,
            json!({"error": {"message": "Upstream provider is rate limiting", "code": 429}}),
        ),
    );
    server.route(
        "POST",
        PATH,
        Reply::json(
            200,
            json!({"error": {"message": "Model gateway misconfigured: no route for team-b"}}),
        ),
    );
    let (client, retries) = recording_client(fast_config());
    let err = run(&client, &url(&server), None)
        .await
        .expect_err("the second one is final");
    assert_eq!(
        retries.lock().expect("not poisoned").len(),
        1,
        "the rate limit was retried"
    );
    assert_eq!(err.status(), Some(200));
    assert!(
        err.message().contains("no route for team-b"),
        "the gateway's own words: {}",
        err.message()
    );
    assert_eq!(server.requests().len(), 2);
}

// --- Errors that no wait fixes -------------------------------------------------------------

/// A resolver that knows no host: every lookup fails as DNS does for a typo.
struct NoSuchHost;

impl reqwest::dns::Resolve for NoSuchHost {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_owned();
        Box::pin(async move {
            Err::<Box<dyn Iterator<Item = SocketAddr> + Send>, _>(
                format!("failed to lookup address information: {name}: Name or service not known")
                    .into(),
            )
        })
    }
}

#[tokio::test]
async fn a_host_that_does_not_resolve_is_not_retried_and_says_so() {
    let config = HttpConfig {
        dns_resolver: Some(Arc::new(NoSuchHost)),
        ..fast_config()
    };
    let (client, retries) = recording_client(config);
    let err = run(
        &client,
        "http://llm.internal.example/v1/chat/completions",
        None,
    )
    .await
    .expect_err("no such host");
    assert_eq!(err.kind(), &ErrorKind::DnsFailure, "{err}");
    assert!(!err.is_retryable());
    assert!(retries.lock().expect("not poisoned").is_empty());
    assert!(
        err.message().contains("llm.internal.example"),
        "{}",
        err.message()
    );
    for word in ["DNS", "typo", "VPN"] {
        assert!(err.hint().contains(word), "{}", err.hint());
    }
}

#[tokio::test]
async fn a_request_without_any_credential_that_gets_401_is_told_a_key_is_needed() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        openai::error_reply(
            401,
            "You didn't provide an API key.",
            "invalid_request_error",
            None,
        ),
    );
    let err = run(&client(fast_config()), &url(&server), None)
        .await
        .expect_err("401");
    assert_eq!(err.kind(), &ErrorKind::InvalidApiKey);
    assert!(err.no_credential_sent());
    assert!(err.hint().contains("requires an API key"), "{}", err.hint());

    // With a credential, the same answer means the credential is wrong.
    let config = HttpConfig {
        default_headers: vec![("Authorization".into(), "Bearer sk-wrong".into())],
        ..fast_config()
    };
    let err = run(&client(config), &url(&server), None)
        .await
        .expect_err("401");
    assert!(!err.no_credential_sent());
    assert!(
        err.hint().contains("rejected your API key"),
        "{}",
        err.hint()
    );
}

// --- Secrets in echoes ---------------------------------------------------------------------

#[tokio::test]
async fn credentials_the_server_echoes_never_enter_the_error() {
    let server = server().await;
    server.route_fn("POST", PATH, openai::echo_credentials);
    let config = HttpConfig {
        default_headers: vec![("api-key".into(), "azure-key-echo-2".into())],
        ..fast_config()
    };
    let target = format!("{}?subscription-key=apim-key-echo-3", url(&server));
    let build = |c: &reqwest::Client| {
        Ok(c.post(&target)
            .header("Authorization", "Bearer sk-echo-secret-1")
            .body("{}"))
    };
    let spec = RequestSpec::new(&build, &default_error_mapper);
    let err = match client(config).stream_sse(&spec, &text_decoder).await {
        Ok(_) => panic!("the server refuses the key"),
        Err(e) => e,
    };
    // The server did echo them: the test would prove nothing otherwise.
    let echoed = server.requests()[0].clone();
    assert_eq!(
        echoed.header("authorization"),
        Some("Bearer sk-echo-secret-1")
    );
    let shown = format!("{err} {err:?} {}", err.hint());
    for secret in ["sk-echo-secret-1", "azure-key-echo-2", "apim-key-echo-3"] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
    assert!(err.message().contains("[redacted]"), "{}", err.message());
}

// --- Limits ------------------------------------------------------------------------------

#[tokio::test]
async fn a_per_request_total_timeout_replaces_the_clients() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::sse(frames(&["a", "b", "c", "d"])).event_interval(Duration::from_millis(300)),
    );
    let target = url(&server);
    let build = |c: &reqwest::Client| Ok(c.post(&target).body("{}"));
    let spec = RequestSpec::new(&build, &default_error_mapper)
        .with_total_timeout(Some(Duration::from_millis(400)));
    let config = HttpConfig {
        total_timeout: Some(Duration::from_secs(600)),
        ..fast_config()
    };
    let stream = client(config)
        .stream_sse(&spec, &text_decoder)
        .await
        .expect("starts");
    let (texts, error) = drain(stream).await;
    let err = error.expect("the request's own limit");
    assert_eq!(err.kind(), &ErrorKind::Timeout(TimeoutPhase::Total));
    assert!(err.message().contains("400ms"), "{}", err.message());
    assert!(texts.len() < 4);
}

#[tokio::test]
async fn retries_and_streams_survive_limits_of_duration_max() {
    let server = server().await;
    server.route("POST", PATH, Reply::status(503));
    server.route("POST", PATH, Reply::sse(frames(&["fine"])));
    let config = HttpConfig {
        connect_timeout: Duration::MAX,
        header_timeout: Duration::MAX,
        idle_timeout: Duration::MAX,
        total_timeout: Some(Duration::MAX),
        retry: RetryPolicy {
            max_retries: 1,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
            max_retry_after: Duration::MAX,
            retry_header_timeout: true,
        },
        ..HttpConfig::default()
    };
    let (texts, error) = run(&client(config), &url(&server), None)
        .await
        .expect("no overflow anywhere");
    assert_eq!(texts, ["fine"]);
    assert!(error.is_none());
}

#[tokio::test]
async fn metadata_alone_does_not_cross_the_retry_boundary() {
    /// Metadata first (the id and model), then whatever the body says.
    struct WithMetadata;
    impl cline_provider_core::http::sse::SseDecoder for WithMetadata {
        fn decode(
            &mut self,
            event: &cline_provider_core::http::sse::SseEvent,
            out: &mut Vec<StreamEvent>,
        ) -> cline_provider_core::Result<bool> {
            if event.data == "meta" {
                out.push(StreamEvent::Metadata {
                    id: Some("r1".into()),
                    model: None,
                });
                return Ok(false);
            }
            cline_provider_core::http::sse::SseDecoder::decode(&mut TextDecoder, event, out)
        }
    }
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::sse(vec![
            SseFrame::data("meta"),
            SseFrame::json(&json!({"error": {"code": "rate_limit_exceeded", "message": "busy"}})),
        ]),
    );
    server.route(
        "POST",
        PATH,
        Reply::sse(vec![SseFrame::data("meta"), text("ok"), SseFrame::done()]),
    );
    let target = url(&server);
    let build = |c: &reqwest::Client| Ok(c.post(&target).body("{}"));
    let spec = RequestSpec::new(&build, &default_error_mapper);
    let new_decoder =
        || -> Box<dyn cline_provider_core::http::sse::SseDecoder> { Box::new(WithMetadata) };
    let mut stream = client(fast_config())
        .stream_sse(&spec, &new_decoder)
        .await
        .expect("the second attempt streams");
    let mut events = Vec::new();
    while let Some(e) = stream.next().await {
        events.push(e.expect("no error"));
    }
    assert_eq!(server.requests().len(), 2);
    assert_eq!(
        events,
        [
            StreamEvent::Metadata {
                id: Some("r1".into()),
                model: None
            },
            StreamEvent::TextDelta { text: "ok".into() }
        ]
    );
}

// --- Certificates --------------------------------------------------------------------------

#[tokio::test]
async fn an_untrusted_certificate_is_not_retried_and_points_at_ssl_cert_file() {
    let certs = cline_provider_testkit::TestCertificates::localhost();
    let server = cline_provider_testkit::TestServer::start_tls(&certs)
        .await
        .expect("https server");
    server.route("POST", PATH, Reply::sse(frames(&["trusted"])));
    let (client, retries) = recording_client(fast_config());
    let err = run(&client, &url(&server), None)
        .await
        .expect_err("the test CA is not trusted");
    assert_eq!(err.kind(), &ErrorKind::TlsCertificate, "{err}");
    assert!(!err.is_retryable());
    assert!(retries.lock().expect("not poisoned").is_empty());
    for word in ["SSL_CERT_FILE", "corporate proxy"] {
        assert!(err.hint().contains(word), "{}", err.hint());
    }

    // Trusting the authority (as SSL_CERT_FILE would) makes the same server fine.
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = dir.path().join("corp-root.pem");
    std::fs::write(&ca, certs.ca_pem()).expect("write the CA");
    let config = HttpConfig {
        extra_root_certificates: Some(ca),
        ..fast_config()
    };
    let (texts, error) = run(&client_for(config), &url(&server), None)
        .await
        .expect("trusted now");
    assert_eq!(texts, ["trusted"]);
    assert!(error.is_none());
}

#[tokio::test]
async fn an_expired_certificate_is_a_certificate_error_too() {
    let certs = cline_provider_testkit::TestCertificates::expired_localhost();
    let server = cline_provider_testkit::TestServer::start_tls(&certs)
        .await
        .expect("https server");
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = dir.path().join("root.pem");
    std::fs::write(&ca, certs.ca_pem()).expect("write the CA");
    let config = HttpConfig {
        extra_root_certificates: Some(ca),
        ..fast_config()
    };
    let err = run(&client_for(config), &url(&server), None)
        .await
        .expect_err("expired");
    assert_eq!(err.kind(), &ErrorKind::TlsCertificate, "{err}");
    assert!(server.requests().is_empty());
}

fn client_for(config: HttpConfig) -> cline_provider_core::http::HttpClient {
    client(config)
}

#[tokio::test]
async fn a_whole_reply_that_is_a_200_error_is_an_error_and_retried_when_retryable() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::json(
            200,
            json!({"error": {"message": "upstream busy", "code": 429}}),
        ),
    );
    server.route(
        "POST",
        PATH,
        Reply::json(200, json!({"choices": [], "error": null})),
    );
    let target = url(&server);
    let build = |c: &reqwest::Client| Ok(c.post(&target).body("{}"));
    let (client, retries) = recording_client(fast_config());
    let fetched = client
        .fetch(&RequestSpec::new(&build, &default_error_mapper), 1024)
        .await
        .expect("the second answer is a body");
    assert_eq!(fetched.body.as_ref(), br#"{"choices":[],"error":null}"#);
    assert_eq!(retries.lock().expect("not poisoned").len(), 1);
}
