//! Every fault a Reply can inject is observable by a plain HTTP client.

mod common;

use std::time::{Duration, Instant};

use cline_provider_testkit::{
    render_sse, Reply, SseFrame, TestServer, KEEPALIVE_FRAME, MALFORMED_FRAME,
};
use common::{client, read_at_least, read_until_quiet, sse_data, sse_events};

fn numbered(n: usize) -> Vec<SseFrame> {
    (0..n)
        .map(|i| SseFrame::json(&serde_json::json!({ "n": i })))
        .chain(std::iter::once(SseFrame::done()))
        .collect()
}

async fn serve(reply: Reply) -> TestServer {
    let server = TestServer::start().await.expect("server starts");
    server.route("POST", "/stream", reply);
    server
}

async fn post(server: &TestServer) -> reqwest::Response {
    client()
        .post(format!("{}/stream", server.url()))
        .body("{}")
        .send()
        .await
        .expect("response headers arrive")
}

#[tokio::test]
async fn delay_headers_holds_back_the_status_line() {
    let delay = Duration::from_millis(200);
    let server = serve(Reply::text(200, "late").delay_headers(delay)).await;
    let started = Instant::now();
    let response = post(&server).await;
    let waited = started.elapsed();
    assert!(
        waited >= delay,
        "headers arrived after {waited:?}, before {delay:?}"
    );
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "late");
}

#[tokio::test]
async fn sse_reply_has_streaming_headers_and_exact_body() {
    let frames = numbered(3);
    let server = serve(Reply::sse(frames.clone()).header("x-request-id", "req_42")).await;
    let response = post(&server).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["x-request-id"], "req_42");
    assert!(
        headers.get("content-length").is_none(),
        "SSE must be chunked"
    );
    assert_eq!(response.text().await.expect("body"), render_sse(&frames));
}

#[tokio::test]
async fn status_and_headers_of_error_replies_reach_the_client() {
    let server = serve(
        Reply::json(429, serde_json::json!({"error": {"message": "slow down"}}))
            .header("retry-after", "2")
            .header("retry-after-ms", "1500"),
    )
    .await;
    let response = post(&server).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "2");
    assert_eq!(response.headers()["retry-after-ms"], "1500");
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: serde_json::Value = response.json().await.expect("json body");
    assert_eq!(body["error"]["message"], "slow down");
}

#[tokio::test]
async fn stall_after_sends_exactly_n_frames_then_nothing() {
    let frames = numbered(5);
    let server = serve(Reply::sse(frames.clone()).stall_after(2)).await;
    let mut body = post(&server).await.bytes_stream();
    let expected = render_sse(&frames[..2]);
    let read = read_at_least(&mut body, expected.len(), Duration::from_secs(2)).await;
    assert_eq!(read.text(), expected);
    let more = read_until_quiet(&mut body, Duration::from_millis(300)).await;
    assert!(!more.ended, "a stalled stream must stay open");
    assert!(
        more.chunks.is_empty(),
        "nothing after the stall: {:?}",
        more.text()
    );
}

#[tokio::test]
async fn stall_after_the_last_frame_keeps_the_connection_open() {
    let frames = numbered(1);
    let server = serve(Reply::sse(frames.clone()).stall_after(frames.len())).await;
    let mut body = post(&server).await.bytes_stream();
    let expected = render_sse(&frames);
    let read = read_at_least(&mut body, expected.len(), Duration::from_secs(2)).await;
    assert_eq!(read.text(), expected);
    let more = read_until_quiet(&mut body, Duration::from_millis(200)).await;
    assert!(!more.ended && more.chunks.is_empty());
}

#[tokio::test]
async fn stall_after_zero_sends_headers_only() {
    let server = serve(Reply::json(200, serde_json::json!({"ok": true})).stall_after(0)).await;
    let response = post(&server).await;
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let read = read_until_quiet(&mut body, Duration::from_millis(200)).await;
    assert!(!read.ended);
    assert!(read.chunks.is_empty(), "got {:?}", read.text());
}

#[tokio::test]
async fn keepalive_comments_arrive_during_a_stall() {
    let frames = numbered(3);
    let server = serve(
        Reply::sse(frames.clone())
            .stall_after(1)
            .keepalive_while_stalled(Duration::from_millis(40)),
    )
    .await;
    let mut body = post(&server).await.bytes_stream();
    let wanted = frames[0].as_wire().len() + 3 * KEEPALIVE_FRAME.len();
    let read = read_at_least(&mut body, wanted, Duration::from_secs(2)).await;
    assert!(!read.ended);
    let text = read.text();
    let rest = text
        .strip_prefix(frames[0].as_wire())
        .unwrap_or_else(|| panic!("first frame missing: {text:?}"));
    assert!(rest.len() >= 3 * KEEPALIVE_FRAME.len(), "{rest:?}");
    assert_eq!(
        rest.replace(KEEPALIVE_FRAME, ""),
        "",
        "only keep-alive comments may follow the stall: {rest:?}"
    );
}

#[tokio::test]
async fn close_after_bytes_cuts_an_sse_stream_with_an_error() {
    let frames = numbered(5);
    let wire = render_sse(&frames);
    let cut = 23;
    let server = serve(Reply::sse(frames).close_after_bytes(cut)).await;
    let mut body = post(&server).await.bytes_stream();
    let read = read_until_quiet(&mut body, Duration::from_secs(2)).await;
    assert!(read.error, "a cut chunked body must end with an error");
    assert_eq!(read.bytes(), wire.as_bytes()[..cut].to_vec());
}

#[tokio::test]
async fn close_after_bytes_leaves_a_sized_body_incomplete() {
    let text = "0123456789".repeat(10);
    let server = serve(Reply::text(200, text.clone()).close_after_bytes(40)).await;
    let response = post(&server).await;
    assert_eq!(response.content_length(), Some(100));
    let mut body = response.bytes_stream();
    let read = read_until_quiet(&mut body, Duration::from_secs(2)).await;
    assert!(
        read.error,
        "an incomplete sized body must end with an error"
    );
    assert_eq!(read.bytes(), text.as_bytes()[..40].to_vec());
}

#[tokio::test]
async fn close_after_zero_bytes_fails_before_any_body() {
    let server = serve(Reply::sse(numbered(2)).close_after_bytes(0)).await;
    let response = post(&server).await;
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let read = read_until_quiet(&mut body, Duration::from_secs(2)).await;
    assert!(read.error);
    assert!(read.bytes().is_empty());
}

/// Sends one raw HTTP/1.1 request and reads until the connection ends: what arrived, and
/// whether it ended with a reset (`ECONNRESET`) rather than an orderly close.
async fn raw_exchange(server: &TestServer) -> (Vec<u8>, bool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr())
        .await
        .expect("connect");
    stream
        .write_all(b"POST /stream HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}")
        .await
        .expect("request written");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
            Err(_) => panic!("the connection neither closed nor reset; got {got:?}"),
            Ok(Ok(0)) => return (got, false),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => return (got, true),
            Ok(Err(e)) => panic!("unexpected read error {e}"),
        }
    }
}

#[tokio::test]
async fn reset_before_headers_resets_the_connection_without_a_status_line() {
    let server = serve(Reply::text(200, "never sent").reset_before_headers()).await;
    server.route("POST", "/stream", Reply::text(200, "second"));
    let (got, reset) = raw_exchange(&server).await;
    assert!(reset, "the connection must end with a TCP reset");
    assert!(
        got.is_empty(),
        "nothing may arrive before the reset: {got:?}"
    );
    assert_eq!(server.requests().len(), 1, "the request was read first");
    // The route's next reply answers the next request.
    let response = post(&server).await;
    assert_eq!(response.text().await.expect("body"), "second");
}

#[tokio::test]
async fn reset_after_bytes_sends_the_headers_and_the_bytes_then_resets() {
    // The first frame is 15 bytes: 23 cut the second one.
    let server = serve(Reply::sse(numbered(5)).reset_after_bytes(23)).await;
    let (got, reset) = raw_exchange(&server).await;
    assert!(reset, "the connection must end with a TCP reset");
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("data: {\"n\":0}\n\n"), "{text}");
    assert!(!text.contains("\"n\":1"), "{text}");
}

#[tokio::test]
async fn close_after_bytes_is_an_orderly_close_not_a_reset() {
    let server = serve(Reply::sse(numbered(5)).close_after_bytes(23)).await;
    let (_, reset) = raw_exchange(&server).await;
    assert!(!reset, "close_after_bytes closes; reset_after_bytes resets");
}

#[tokio::test]
async fn malformed_frame_replaces_the_chosen_event() {
    let frames = numbered(3);
    let server = serve(Reply::sse(frames.clone()).malformed_at(1)).await;
    let text = post(&server).await.text().await.expect("body");
    let mut expected = frames.clone();
    expected[1] = SseFrame::raw(MALFORMED_FRAME);
    assert_eq!(text, render_sse(&expected));
    assert!(text.contains("data: {not json\n\n"));
}

#[tokio::test]
async fn oversized_event_has_the_requested_size() {
    let frames = numbered(2);
    let size = 300_000;
    let server = serve(Reply::sse(frames.clone()).oversized_at(1, size)).await;
    let text = post(&server).await.text().await.expect("body");
    let events = sse_events(&text);
    assert_eq!(events.len(), frames.len() + 1);
    assert_eq!(events[0], frames[0].as_wire().trim_end());
    let payload = sse_data(events[1]);
    assert_eq!(payload.len(), size);
    let value: serde_json::Value = serde_json::from_str(&payload).expect("payload is JSON");
    assert!(value["x"]
        .as_str()
        .is_some_and(|x| x.bytes().all(|b| b == b'x')));
    assert_eq!(events[2], frames[1].as_wire().trim_end());
}

#[tokio::test]
async fn oversized_event_can_be_appended_at_the_end() {
    let frames = numbered(1);
    let server = serve(Reply::sse(frames.clone()).oversized_at(frames.len(), 64)).await;
    let text = post(&server).await.text().await.expect("body");
    let events = sse_events(&text);
    assert_eq!(events.len(), frames.len() + 1);
    assert_eq!(sse_data(events[frames.len()]).len(), 64);
}

#[tokio::test]
async fn chunk_size_splits_the_body_without_changing_it() {
    let frames = numbered(6);
    let wire = render_sse(&frames);
    let size = 7;
    let server = serve(Reply::sse(frames).chunk_size(size)).await;
    let mut body = post(&server).await.bytes_stream();
    let read = read_until_quiet(&mut body, Duration::from_secs(2)).await;
    assert!(read.ended && !read.error);
    assert_eq!(read.text(), wire);
    assert!(
        read.chunks.len() >= wire.len().div_ceil(size),
        "{} pieces for {} bytes",
        read.chunks.len(),
        wire.len()
    );
    assert!(read.chunks.iter().all(|c| c.len() <= size));
}

#[tokio::test]
async fn chunk_size_of_one_splits_utf8_sequences() {
    let frames = vec![SseFrame::data("héllo ✓"), SseFrame::done()];
    let wire = render_sse(&frames);
    let server = serve(Reply::sse(frames).chunk_size(1)).await;
    let mut body = post(&server).await.bytes_stream();
    let read = read_until_quiet(&mut body, Duration::from_secs(2)).await;
    assert_eq!(read.chunks.len(), wire.len());
    assert_eq!(read.bytes(), wire.as_bytes());
}

#[tokio::test]
async fn event_interval_spaces_the_frames() {
    let frames = numbered(3);
    let interval = Duration::from_millis(60);
    let server = serve(Reply::sse(frames.clone()).event_interval(interval)).await;
    let started = Instant::now();
    let text = post(&server).await.text().await.expect("body");
    let took = started.elapsed();
    assert_eq!(text, render_sse(&frames));
    let pauses = u32::try_from(frames.len() - 1).expect("few frames");
    assert!(took >= interval * pauses, "{took:?}");
}

#[tokio::test]
async fn paced_frames_arrive_as_separate_pieces() {
    let frames = numbered(3);
    let server = serve(Reply::sse(frames.clone()).event_interval(Duration::from_millis(10))).await;
    let mut body = post(&server).await.bytes_stream();
    let read = read_until_quiet(&mut body, Duration::from_secs(2)).await;
    assert!(read.ended && !read.error);
    let pieces: Vec<&[u8]> = read.chunks.iter().map(|c| c.as_ref()).collect();
    let expected: Vec<&[u8]> = frames.iter().map(|f| f.as_wire().as_bytes()).collect();
    assert_eq!(pieces, expected);
}

#[tokio::test]
async fn faults_combine() {
    let frames = numbered(4);
    let mut expected = frames.clone();
    expected[2] = SseFrame::raw(MALFORMED_FRAME);
    let wire = render_sse(&expected);
    let cut = wire.len() - 5;
    let server = serve(
        Reply::sse(frames)
            .malformed_at(2)
            .chunk_size(4)
            .event_interval(Duration::from_millis(5))
            .close_after_bytes(cut),
    )
    .await;
    let mut body = post(&server).await.bytes_stream();
    let read = read_until_quiet(&mut body, Duration::from_secs(2)).await;
    assert!(read.error);
    assert_eq!(read.bytes(), wire.as_bytes()[..cut].to_vec());
    assert!(read.chunks.iter().all(|c| c.len() <= 4));
}

#[tokio::test]
async fn invalid_scripts_answer_500_with_an_explanation() {
    let server = TestServer::start().await.expect("server starts");
    server.route("GET", "/bad-status", Reply::status(42));
    server.route(
        "GET",
        "/bad-header",
        Reply::status(200).header("x-key", "a\nb"),
    );
    server.route("GET", "/bad-index", Reply::sse(numbered(1)).malformed_at(9));
    for (path, needle) in [
        ("/bad-status", "status 42"),
        ("/bad-header", "header \"x-key\""),
        ("/bad-index", "malformed_at(9)"),
    ] {
        let response = client()
            .get(format!("{}{path}", server.url()))
            .send()
            .await
            .expect("response");
        assert_eq!(response.status(), 500, "{path}");
        let body: serde_json::Value = response.json().await.expect("json error body");
        assert_eq!(body["error"]["type"], "testkit_invalid_reply");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{path}: {message}");
        assert!(message.contains(path), "{path}: {message}");
    }
}

#[tokio::test]
async fn status_only_reply_has_an_empty_body() {
    let server = serve(Reply::status(503).header("retry-after", "0")).await;
    let response = post(&server).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().get("content-type").is_none());
    assert_eq!(response.bytes().await.expect("body").len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_after_bytes_is_exact_on_a_multi_thread_runtime() {
    let frames = numbered(20);
    let wire = render_sse(&frames);
    for cut in [1, 17, 100, wire.len() - 1] {
        let server = serve(
            Reply::sse(frames.clone())
                .chunk_size(5)
                .close_after_bytes(cut),
        )
        .await;
        let mut body = post(&server).await.bytes_stream();
        let read = read_until_quiet(&mut body, Duration::from_secs(2)).await;
        assert!(read.error, "cut at {cut}");
        assert_eq!(
            read.bytes(),
            wire.as_bytes()[..cut].to_vec(),
            "cut at {cut}"
        );
    }
}
