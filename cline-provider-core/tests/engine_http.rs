//! The streaming engine against the testkit's fake server: retries before the first byte,
//! the four timeouts, truncation, size caps, cancellation and connection handling.

mod common;

use std::time::{Duration, Instant};

use cline_provider_core::http::{
    default_error_mapper, HttpClient, HttpConfig, RequestSpec, RetryPolicy,
};
use cline_provider_core::{CancellationToken, Error, ErrorKind, StreamEvent, TimeoutPhase};
use cline_provider_testkit::{Reply, SseFrame};
use futures_util::StreamExt;
use serde_json::{json, Value};

use common::*;

#[tokio::test]
async fn streams_events_until_the_terminal_marker() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::sse(frames(&["Hel", "lo", " 世界"])).chunk_size(3),
    );
    let config = HttpConfig {
        default_headers: vec![("X-Team".into(), "blue".into())],
        ..fast_config()
    };
    let (texts, error) = run(&client(config), &url(&server), None)
        .await
        .expect("stream starts");
    assert_eq!(texts, vec!["Hel", "lo", " 世界"]);
    assert!(error.is_none(), "{error:?}");
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let ua = requests[0].header("user-agent").expect("a user agent");
    assert_eq!(ua, format!("cline-provider/{}", env!("CARGO_PKG_VERSION")));
    assert_eq!(requests[0].header("x-team"), Some("blue"));
}

#[tokio::test]
async fn terminal_marker_without_blank_line_then_eof_ends_cleanly() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::sse(vec![text("a"), SseFrame::raw("data: [DONE]\n")]),
    );
    let (texts, error) = run(&client(fast_config()), &url(&server), None)
        .await
        .expect("starts");
    assert_eq!(texts, vec!["a"]);
    assert!(error.is_none(), "{error:?}");
}

#[tokio::test]
async fn crlf_stream_with_comments_and_bom() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::sse(vec![
            SseFrame::raw("\u{FEFF}: hi\r\n\r\n"),
            SseFrame::raw("event: delta\r\ndata: {\"text\":\"x\"}\r\n\r\n"),
            SseFrame::raw("data: [DONE]\r\n\r\n"),
        ])
        .chunk_size(1),
    );
    let (texts, error) = run(&client(fast_config()), &url(&server), None)
        .await
        .expect("starts");
    assert_eq!(texts, vec!["x"]);
    assert!(error.is_none(), "{error:?}");
}

#[tokio::test]
async fn rate_limit_with_retry_after_is_retried_after_the_wait() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::json(
            429,
            json!({"error": {"message": "Rate limit reached", "type": "requests"}}),
        )
        .header("retry-after", "1"),
    );
    server.route("POST", PATH, Reply::sse(frames(&["ok"])));
    let (client, retries) = recording_client(fast_config());
    let started = Instant::now();
    let (texts, error) = run(&client, &url(&server), None)
        .await
        .expect("retried to success");
    let waited = started.elapsed();
    assert_eq!(texts, vec!["ok"]);
    assert!(error.is_none());
    assert_eq!(server.requests().len(), 2);
    assert!(
        waited >= Duration::from_millis(950),
        "the 1 s Retry-After was not honoured: {waited:?}"
    );
    let retries = retries.lock().expect("not poisoned");
    assert_eq!(retries.len(), 1);
    assert_eq!(retries[0].attempt, 1);
    assert_eq!(retries[0].wait, Duration::from_secs(1));
    assert_eq!(retries[0].status, Some(429));
    assert!(
        retries[0].to_string().starts_with("retrying in 1 s"),
        "{}",
        retries[0]
    );
}

#[tokio::test]
async fn retry_after_ms_is_honoured() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::status(503).header("retry-after-ms", "120"),
    );
    server.route("POST", PATH, Reply::sse(frames(&["ok"])));
    let (client, retries) = recording_client(fast_config());
    let started = Instant::now();
    let (texts, _) = run(&client, &url(&server), None).await.expect("retried");
    assert_eq!(texts, vec!["ok"]);
    assert!(started.elapsed() >= Duration::from_millis(110));
    assert_eq!(
        retries.lock().expect("not poisoned")[0].wait,
        Duration::from_millis(120)
    );
}

#[tokio::test]
async fn service_unavailable_three_times_then_success() {
    let server = server().await;
    for _ in 0..3 {
        server.route("POST", PATH, Reply::text(503, "upstream busy"));
    }
    server.route("POST", PATH, Reply::sse(frames(&["finally"])));
    let (client, retries) = recording_client(fast_config());
    let (texts, error) = run(&client, &url(&server), None)
        .await
        .expect("fourth attempt succeeds");
    assert_eq!(texts, vec!["finally"]);
    assert!(error.is_none());
    assert_eq!(server.requests().len(), 4);
    let retries = retries.lock().expect("not poisoned");
    let attempts: Vec<u32> = retries.iter().map(|r| r.attempt).collect();
    assert_eq!(attempts, vec![1, 2, 3]);
    for r in retries.iter() {
        assert_eq!(r.status, Some(503));
        assert!(
            r.wait <= Duration::from_millis(40),
            "backoff over the cap: {:?}",
            r.wait
        );
        assert!(r.reason.contains("upstream busy"), "{}", r.reason);
    }
}

#[tokio::test]
async fn retries_run_out_and_the_last_error_is_returned() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::json(502, json!({"error": {"message": "bad gateway"}}))
            .header("x-request-id", "req_42"),
    );
    let err = run(&client(fast_config()), &url(&server), None)
        .await
        .expect_err("gives up");
    assert_eq!(err.kind(), &ErrorKind::Server);
    assert_eq!(err.status(), Some(502));
    assert_eq!(err.request_id(), Some("req_42"));
    assert_eq!(server.requests().len(), 4, "one attempt plus three retries");
}

#[tokio::test]
async fn insufficient_quota_is_not_retried() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::json(
            429,
            json!({"error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "code": "insufficient_quota"}}),
        )
        .header("retry-after", "1"),
    );
    let (client, retries) = recording_client(fast_config());
    let err = run(&client, &url(&server), None).await.expect_err("quota");
    assert_eq!(err.kind(), &ErrorKind::QuotaExhausted);
    assert_eq!(err.code(), Some("insufficient_quota"));
    assert!(err.hint().contains("waiting will not help"));
    assert_eq!(server.requests().len(), 1);
    assert!(
        retries.lock().expect("not poisoned").is_empty(),
        "no retry announced, so no wait"
    );
}

#[tokio::test]
async fn errors_no_wait_can_fix_are_not_retried() {
    let cases = [
        (
            401,
            json!({"error": {"message": "Incorrect API key provided"}}),
            ErrorKind::InvalidApiKey,
        ),
        (
            400,
            json!({"error": {"message": "maximum context length is 8192 tokens", "code": "context_length_exceeded"}}),
            ErrorKind::ContextWindowExceeded,
        ),
        (
            403,
            json!({"error": {"message": "no access"}}),
            ErrorKind::AccessDenied,
        ),
        (
            404,
            json!({"error": {"message": "model not found"}}),
            ErrorKind::ModelNotFound,
        ),
        (
            501,
            json!({"error": {"message": "not implemented"}}),
            ErrorKind::Server,
        ),
    ];
    for (status, body, kind) in cases {
        let server = server().await;
        server.route("POST", PATH, Reply::json(status, body));
        let err = run(&client(fast_config()), &url(&server), None)
            .await
            .expect_err("fails");
        assert_eq!(err.kind(), &kind, "status {status}");
        assert_eq!(
            server.requests().len(),
            1,
            "status {status} must not be retried"
        );
    }
}

#[tokio::test]
async fn retry_after_beyond_the_cap_returns_the_error_without_waiting() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::status(429).header("retry-after", "3600"),
    );
    let (client, retries) = recording_client(fast_config());
    let err = run(&client, &url(&server), None)
        .await
        .expect_err("rate limited");
    assert_eq!(err.kind(), &ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert!(err.hint().contains("60 min"), "{}", err.hint());
    assert_eq!(server.requests().len(), 1);
    assert!(
        retries.lock().expect("not poisoned").is_empty(),
        "no wait was announced"
    );
}

#[tokio::test]
async fn each_attempt_builds_a_fresh_request() {
    let server = server().await;
    server.route("POST", PATH, Reply::status(500));
    server.route("POST", PATH, Reply::sse(frames(&["ok"])));
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let target = url(&server);
    let build = |c: &reqwest::Client| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(c.post(&target)
            .header("x-attempt", n.to_string())
            .body(format!("{{\"attempt\":{n}}}")))
    };
    let spec = RequestSpec::new(&build, &default_error_mapper);
    let stream = client(fast_config())
        .stream_sse(&spec, &text_decoder)
        .await
        .expect("starts");
    let (texts, _) = drain(stream).await;
    assert_eq!(texts, vec!["ok"]);
    let bodies: Vec<String> = server.requests().iter().map(|r| r.body_text()).collect();
    assert_eq!(bodies, vec![r#"{"attempt":0}"#, r#"{"attempt":1}"#]);
}

/// A slow server may be generating (and billing) the reply: a header timeout is not sent
/// again unless the policy says so.
async fn header_timeout_attempts(retry_header_timeout: bool) -> (Error, usize, usize) {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::sse(frames(&["late"])).delay_headers(Duration::from_secs(3)),
    );
    let config = HttpConfig {
        header_timeout: Duration::from_millis(200),
        retry: RetryPolicy {
            max_retries: 1,
            retry_header_timeout,
            ..fast_config().retry
        },
        ..fast_config()
    };
    let (client, retries) = recording_client(config);
    let err = run(&client, &url(&server), None)
        .await
        .expect_err("times out");
    let announced = retries.lock().expect("not poisoned").len();
    (err, server.requests().len(), announced)
}

#[tokio::test]
async fn stall_before_headers_is_a_header_timeout_and_not_sent_again() {
    let (err, requests, retries) = header_timeout_attempts(false).await;
    assert_eq!(err.kind(), &ErrorKind::Timeout(TimeoutPhase::Headers));
    assert!(err.hint().contains("did not start answering"));
    assert!(!err.is_retryable());
    assert_eq!(
        requests, 1,
        "a header timeout is not POSTed (and billed) again"
    );
    assert_eq!(retries, 0);
}

#[tokio::test]
async fn a_header_timeout_is_retried_when_the_policy_asks() {
    let (err, requests, retries) = header_timeout_attempts(true).await;
    assert_eq!(err.kind(), &ErrorKind::Timeout(TimeoutPhase::Headers));
    assert_eq!(requests, 2);
    assert_eq!(retries, 1);
}

#[tokio::test]
async fn stall_mid_stream_is_an_idle_timeout_and_keepalives_do_not_count() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::sse(frames(&["one", "two", "never"]))
            .stall_after(2)
            .keepalive_while_stalled(Duration::from_millis(50)),
    );
    let config = HttpConfig {
        idle_timeout: Duration::from_millis(400),
        ..fast_config()
    };
    let started = Instant::now();
    let (texts, error) = run(&client(config), &url(&server), None)
        .await
        .expect("starts");
    let elapsed = started.elapsed();
    assert_eq!(texts, vec!["one", "two"]);
    let err = error.expect("an idle timeout");
    assert_eq!(err.kind(), &ErrorKind::Timeout(TimeoutPhase::Idle));
    assert!(err.hint().contains("stopped sending"));
    assert!(
        elapsed >= Duration::from_millis(380),
        "fired early: {elapsed:?}"
    );
    // Had the keep-alives reset the idle timer, the server's stall would have run to its
    // own limit and ended as a cut connection (`Truncated`), not as an idle timeout.
    assert_eq!(
        server.requests().len(),
        1,
        "never retried once the body started"
    );
}

#[tokio::test]
async fn slow_but_steady_events_do_not_trip_the_idle_timer() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::sse(frames(&["a", "b", "c", "d", "e", "f"]))
            .event_interval(Duration::from_millis(60)),
    );
    let config = HttpConfig {
        idle_timeout: Duration::from_millis(200),
        ..fast_config()
    };
    let (texts, error) = run(&client(config), &url(&server), None)
        .await
        .expect("starts");
    assert_eq!(texts.len(), 6);
    assert!(error.is_none(), "{error:?}");
}

#[tokio::test]
async fn total_timeout_covers_the_stream() {
    let server = server().await;
    let words: Vec<String> = (0..50).map(|i| i.to_string()).collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    server.route(
        "POST",
        PATH,
        Reply::sse(frames(&words)).event_interval(Duration::from_millis(20)),
    );
    let config = HttpConfig {
        total_timeout: Some(Duration::from_millis(300)),
        ..fast_config()
    };
    let (texts, error) = run(&client(config), &url(&server), None)
        .await
        .expect("starts");
    let err = error.expect("a total timeout");
    assert_eq!(err.kind(), &ErrorKind::Timeout(TimeoutPhase::Total));
    assert!(!texts.is_empty() && texts.len() < 50);
    assert!(err.is_after_output() && !err.is_retryable());
}

#[tokio::test]
async fn total_timeout_during_the_header_wait() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::sse(frames(&["x"])).delay_headers(Duration::from_secs(3)),
    );
    let config = HttpConfig {
        total_timeout: Some(Duration::from_millis(200)),
        ..fast_config()
    };
    let err = run(&client(config), &url(&server), None)
        .await
        .expect_err("times out");
    assert_eq!(err.kind(), &ErrorKind::Timeout(TimeoutPhase::Total));
    assert_eq!(
        server.requests().len(),
        1,
        "no retry past the total deadline"
    );
}

#[tokio::test]
async fn connection_cut_mid_stream_is_truncated_without_retry_or_duplicates() {
    let server = server().await;
    let sent = frames(&["alpha", "beta", "gamma", "delta"]);
    // Cut inside the third event: the first two arrive whole, the third is half-written.
    let cut = sent[0].as_wire().len() + sent[1].as_wire().len() + 5;
    server.route("POST", PATH, Reply::sse(sent).close_after_bytes(cut));
    server.route(
        "POST",
        PATH,
        Reply::sse(frames(&["must", "not", "be", "requested"])),
    );
    let (client, retries) = recording_client(fast_config());
    let (texts, error) = run(&client, &url(&server), None).await.expect("starts");
    assert_eq!(texts, vec!["alpha", "beta"], "each event exactly once");
    let err = error.expect("a truncation");
    assert_eq!(err.kind(), &ErrorKind::Truncated);
    assert!(err.hint().contains("cut short"));
    assert_eq!(server.requests().len(), 1);
    assert!(retries.lock().expect("not poisoned").is_empty());
}

#[tokio::test]
async fn body_ending_without_the_terminal_marker_is_truncated() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::sse(vec![text("partial"), text("answer")]),
    );
    let (texts, error) = run(&client(fast_config()), &url(&server), None)
        .await
        .expect("starts");
    assert_eq!(texts, vec!["partial", "answer"]);
    let err = error.expect("a truncation");
    assert_eq!(err.kind(), &ErrorKind::Truncated);
    assert!(
        err.message().contains("2 events received"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn oversized_event_is_a_typed_error() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::sse(frames(&["before", "after"])).oversized_at(1, 200_000),
    );
    let config = HttpConfig {
        max_event_bytes: 64 * 1024,
        ..fast_config()
    };
    let (texts, error) = run(&client(config), &url(&server), None)
        .await
        .expect("starts");
    assert_eq!(texts, vec!["before"]);
    let err = error.expect("too large");
    assert_eq!(err.kind(), &ErrorKind::EventTooLarge);
    assert!(err.message().contains("65536"));
}

#[tokio::test]
async fn large_event_under_the_cap_passes() {
    let server = server().await;
    let big = "x".repeat(300_000);
    server.route(
        "POST",
        PATH,
        Reply::sse(frames(&[&big, "end"])).chunk_size(1460),
    );
    let (texts, error) = run(&client(fast_config()), &url(&server), None)
        .await
        .expect("starts");
    assert!(error.is_none(), "{error:?}");
    assert_eq!(texts.len(), 2);
    assert_eq!(texts[0].len(), 300_000);
}

#[tokio::test]
async fn in_band_error_event_is_typed_and_ends_the_stream() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::sse(vec![
            text("start"),
            SseFrame::json(
                &json!({"error": {"code": "server_overloaded", "message": "try later"}}),
            ),
            text("ignored"),
            SseFrame::done(),
        ]),
    );
    let (texts, error) = run(&client(fast_config()), &url(&server), None)
        .await
        .expect("starts");
    assert_eq!(texts, vec!["start"]);
    let err = error.expect("the in-band error");
    assert_eq!(err.kind(), &ErrorKind::StreamError);
    assert_eq!(err.code(), Some("server_overloaded"));
    assert_eq!(err.message(), "try later");
}

#[tokio::test]
async fn malformed_event_is_a_protocol_error() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::sse(frames(&["ok", "lost"])).malformed_at(1),
    );
    let (texts, error) = run(&client(fast_config()), &url(&server), None)
        .await
        .expect("starts");
    assert_eq!(texts, vec!["ok"]);
    assert_eq!(error.expect("protocol error").kind(), &ErrorKind::Protocol);
}

#[tokio::test]
async fn a_json_answer_instead_of_a_stream_is_a_protocol_error() {
    let server = server().await;
    server.route("POST", PATH, Reply::json(200, json!({"choices": []})));
    let err = run(&client(fast_config()), &url(&server), None)
        .await
        .expect_err("not a stream");
    assert_eq!(err.kind(), &ErrorKind::Protocol);
    assert!(err.message().contains("application/json"));
}

#[tokio::test]
async fn dropping_the_stream_closes_the_server_side_connection() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::sse(frames(&["one", "two"])).stall_after(1),
    );
    let target = url(&server);
    let build = |c: &reqwest::Client| Ok(c.post(&target).body("{}"));
    let spec = RequestSpec::new(&build, &default_error_mapper);
    let client = client(fast_config());
    let mut stream = client
        .stream_sse(&spec, &text_decoder)
        .await
        .expect("starts");
    let first = stream.next().await.expect("an item").expect("an event");
    assert_eq!(first, StreamEvent::TextDelta { text: "one".into() });
    assert_eq!(server.open_connections(), 1);
    drop(stream);
    server
        .wait_until_no_connections(Duration::from_secs(2))
        .await
        .expect("dropping the stream closed the connection");
}

#[tokio::test]
async fn cancellation_mid_stream() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::sse(frames(&["one", "two"])).stall_after(1),
    );
    let token = CancellationToken::new();
    let target = url(&server);
    let build = |c: &reqwest::Client| Ok(c.post(&target).body("{}"));
    let spec = RequestSpec::new(&build, &default_error_mapper).with_cancel(Some(token.clone()));
    let client = client(fast_config());
    let mut stream = client
        .stream_sse(&spec, &text_decoder)
        .await
        .expect("starts");
    assert!(stream.next().await.expect("an item").is_ok());
    let canceller = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        canceller.cancel();
    });
    let err = stream
        .next()
        .await
        .expect("an item")
        .expect_err("cancelled");
    // Cancelled, not Timeout(Idle): the token, not the idle timer, ended it.
    assert_eq!(err.kind(), &ErrorKind::Cancelled);
    assert!(
        stream.next().await.is_none(),
        "the stream ends after its error"
    );
    server
        .wait_until_no_connections(Duration::from_secs(2))
        .await
        .expect("cancelling closed the connection");
}

#[tokio::test]
async fn cancellation_while_waiting_for_headers_and_before_sending() {
    let server = server().await;
    server.route(
        "POST",
        PATH,
        Reply::sse(frames(&["x"])).delay_headers(Duration::from_secs(3)),
    );
    let token = CancellationToken::new();
    let canceller = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        canceller.cancel();
    });
    let err = run(&client(fast_config()), &url(&server), Some(token.clone()))
        .await
        .expect_err("cancelled");
    // Cancelled, not Timeout(Headers) after the 2 s header timeout.
    assert_eq!(err.kind(), &ErrorKind::Cancelled);

    // An already cancelled token sends nothing.
    server.clear_requests();
    let err = run(&client(fast_config()), &url(&server), Some(token))
        .await
        .expect_err("cancelled");
    assert_eq!(err.kind(), &ErrorKind::Cancelled);
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn unreachable_endpoint_is_retried_then_reported() {
    // A port that was free a moment ago: nothing listens there.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let (client, retries) = recording_client(fast_config());
    let err = run(
        &client,
        &format!("http://127.0.0.1:{port}/v1/chat/completions?key=secret"),
        None,
    )
    .await
    .expect_err("nothing listens");
    assert_eq!(err.kind(), &ErrorKind::Unreachable);
    assert!(err.hint().contains("proxy"));
    assert!(
        err.message().contains(&format!("127.0.0.1:{port}")),
        "{}",
        err.message()
    );
    assert!(
        !err.to_string().contains("secret"),
        "the query never reaches a message"
    );
    assert_eq!(retries.lock().expect("not poisoned").len(), 3);
}

#[tokio::test]
async fn connect_timeout_names_its_phase() {
    // A listener whose accept queue is full: the kernel drops further SYNs, so connecting
    // hangs until the connect timeout.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    let listener = socket.listen(1).expect("listen");
    let addr = listener.local_addr().expect("addr");
    let mut fillers = Vec::new();
    for _ in 0..8 {
        let attempt = tokio::time::timeout(
            Duration::from_millis(100),
            tokio::net::TcpStream::connect(addr),
        )
        .await;
        match attempt {
            Ok(Ok(stream)) => fillers.push(stream),
            _ => break,
        }
    }
    let config = HttpConfig {
        connect_timeout: Duration::from_millis(200),
        retry: RetryPolicy::never(),
        ..fast_config()
    };
    let err = run(&client(config), &format!("http://{addr}{PATH}"), None)
        .await
        .expect_err("hangs");
    assert_eq!(
        err.kind(),
        &ErrorKind::Timeout(TimeoutPhase::Connect),
        "{err}"
    );
    assert!(err.hint().contains("Connecting"));
    drop(listener);
}

#[tokio::test]
async fn header_injection_is_refused() {
    let config = HttpConfig {
        default_headers: vec![("X-Org".into(), "a\r\nX-Injected: 1".into())],
        ..fast_config()
    };
    let err = HttpClient::with_env(config, &|_| None).expect_err("refused");
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    assert_eq!(err.field(), Some("headers.X-Org"));
    assert!(err.hint().contains("headers.X-Org"));

    let config = HttpConfig {
        default_headers: vec![("Bad Name".into(), "v".into())],
        ..fast_config()
    };
    let err = HttpClient::with_env(config, &|_| None).expect_err("refused");
    assert_eq!(err.field(), Some("headers.Bad Name"));
    // Per-request headers are the request's to check (`ChatRequest::validate`): the provider
    // test `bad_requests_fail_before_sending` shows the server then receives nothing.
}

#[tokio::test]
async fn send_returns_the_response_for_other_uses() {
    let server = server().await;
    server.route(
        "GET",
        "/v1/models",
        Reply::json(200, json!({"data": [{"id": "m"}]})),
    );
    let target = format!("{}/v1/models", server.url());
    let build = |c: &reqwest::Client| Ok(c.get(&target));
    let spec = RequestSpec::new(&build, &default_error_mapper);
    let response = client(fast_config()).send(&spec).await.expect("ok");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["data"][0]["id"], "m");
}

#[tokio::test]
async fn explicit_proxy_is_used_and_no_proxy_bypasses_it() {
    // The fake server plays the proxy: a plain-HTTP proxy receives the request itself, so
    // the made-up host is never resolved.
    let proxy = server().await;
    proxy.route("POST", PATH, Reply::sse(frames(&["via proxy"])));
    let direct = server().await;
    direct.route("POST", PATH, Reply::sse(frames(&["direct"])));
    let config = HttpConfig {
        proxy: cline_provider_core::http::ProxyConfig::Url {
            url: url::Url::parse(&proxy.url()).expect("url"),
            no_proxy: Some("127.0.0.1".into()),
        },
        retry: RetryPolicy::never(),
        ..fast_config()
    };
    let client = client(config);
    let (texts, _) = run(&client, "http://llm.invalid/v1/chat/completions", None)
        .await
        .expect("proxied");
    assert_eq!(texts, vec!["via proxy"]);
    assert_eq!(proxy.requests()[0].header("host"), Some("llm.invalid"));

    let (texts, _) = run(&client, &url(&direct), None).await.expect("direct");
    assert_eq!(texts, vec!["direct"]);
    assert_eq!(proxy.requests().len(), 1, "NO_PROXY hosts bypass the proxy");
    assert_eq!(direct.requests().len(), 1);
}
