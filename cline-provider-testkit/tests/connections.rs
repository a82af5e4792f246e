//! Connection tracking: a test can prove that dropping a client stream closed the socket.

mod common;

use std::time::Duration;

use cline_provider_testkit::{Reply, SseFrame, TestServer};
use common::{client, read_at_least, read_until_quiet};

fn stalled() -> Reply {
    Reply::sse(vec![SseFrame::data("first"), SseFrame::done()]).stall_after(1)
}

#[tokio::test]
async fn dropping_a_streaming_response_closes_its_connection() {
    let server = TestServer::start().await.expect("server starts");
    server.route("POST", "/s", stalled());
    assert_eq!(server.open_connections(), 0);

    let client = client();
    let response = client
        .post(format!("{}/s", server.url()))
        .send()
        .await
        .expect("response");
    let mut body = response.bytes_stream();
    let read = read_at_least(&mut body, 1, Duration::from_secs(2)).await;
    assert_eq!(read.text(), "data: first\n\n");
    assert_eq!(server.open_connections(), 1);

    drop(body);
    server
        .wait_until_no_connections(Duration::from_secs(2))
        .await
        .expect("dropping the body closes the connection");
    assert_eq!(server.open_connections(), 0);
}

#[tokio::test]
async fn waiting_fails_while_a_stream_is_held_open() {
    let server = TestServer::start().await.expect("server starts");
    server.route("GET", "/s", stalled());
    let response = client()
        .get(format!("{}/s", server.url()))
        .send()
        .await
        .expect("response");
    let mut body = response.bytes_stream();
    let read = read_until_quiet(&mut body, Duration::from_millis(100)).await;
    assert!(!read.ended);

    let error = server
        .wait_until_no_connections(Duration::from_millis(100))
        .await
        .expect_err("the stalled stream is still open");
    assert_eq!(error.open, 1);
    assert_eq!(error.waited, Duration::from_millis(100));
    assert!(
        error.to_string().contains("1 connection(s) still open"),
        "{error}"
    );
    drop(body);
}

#[tokio::test]
async fn waiting_with_no_connection_returns_at_once() {
    let server = TestServer::start().await.expect("server starts");
    server
        .wait_until_no_connections(Duration::from_millis(1))
        .await
        .expect("nothing is open");
}

#[tokio::test]
async fn pooled_connections_count_until_the_client_goes() {
    let server = TestServer::start().await.expect("server starts");
    server.route("GET", "/", Reply::text(200, "ok"));
    let client = client();
    for _ in 0..3 {
        let response = client.get(server.url()).send().await.expect("response");
        assert_eq!(response.text().await.expect("body"), "ok");
    }
    // Keep-alive: the three requests shared one pooled connection.
    assert_eq!(server.open_connections(), 1);
    drop(client);
    server
        .wait_until_no_connections(Duration::from_secs(2))
        .await
        .expect("dropping the client closes its pool");
}

#[tokio::test]
async fn delayed_headers_end_when_the_client_gives_up() {
    let server = TestServer::start().await.expect("server starts");
    server.route(
        "GET",
        "/slow",
        Reply::status(200).delay_headers(Duration::from_secs(30)),
    );
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(100))
        .build()
        .expect("client");
    let error = client
        .get(format!("{}/slow", server.url()))
        .send()
        .await
        .expect_err("the client times out first");
    assert!(error.is_timeout(), "{error}");
    drop(client);
    server
        .wait_until_no_connections(Duration::from_secs(2))
        .await
        .expect("the server notices the client left during the delay");
}

#[tokio::test]
async fn dropping_the_last_handle_stops_the_server() {
    let server = TestServer::start().await.expect("server starts");
    server.route("GET", "/s", stalled());
    let url = server.url();
    let clone = server.clone();
    let response = client()
        .get(format!("{url}/s"))
        .send()
        .await
        .expect("response");
    let mut body = response.bytes_stream();
    let read = read_at_least(&mut body, 1, Duration::from_secs(2)).await;
    assert!(!read.ended);

    drop(server);
    // One clone left: still serving.
    assert_eq!(clone.open_connections(), 1);
    drop(clone);

    let rest = read_until_quiet(&mut body, Duration::from_secs(2)).await;
    assert!(rest.ended, "the open stream ends when the server stops");
    assert!(rest.error, "and it ends without a clean chunked end");
    let refused = client().get(format!("{url}/s")).send().await;
    assert!(refused.is_err(), "the listener is closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_tracking_works_on_a_multi_thread_runtime() {
    let server = TestServer::start().await.expect("server starts");
    server.route(
        "GET",
        "/s",
        stalled().keepalive_while_stalled(Duration::from_millis(20)),
    );
    let client = client();
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let response = client
            .get(format!("{}/s", server.url()))
            .send()
            .await
            .expect("response");
        let mut body = response.bytes_stream();
        let read = read_at_least(&mut body, 1, Duration::from_secs(2)).await;
        assert!(!read.ended);
        bodies.push(body);
    }
    assert_eq!(server.open_connections(), 3);
    bodies.clear();
    server
        .wait_until_no_connections(Duration::from_secs(2))
        .await
        .expect("all three streams closed");
}
