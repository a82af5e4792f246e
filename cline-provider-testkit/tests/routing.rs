//! Routing, queue semantics and request recording.

mod common;

use cline_provider_testkit::{Reply, TestServer};
use common::client;
use serde_json::json;

async fn server() -> TestServer {
    TestServer::start().await.expect("server starts")
}

#[tokio::test]
async fn url_and_addr_point_at_loopback() {
    let server = server().await;
    let addr = server.addr();
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0);
    assert_eq!(server.url(), format!("http://127.0.0.1:{}", addr.port()));
    assert!(!server.url().ends_with('/'));
}

#[tokio::test]
async fn requests_are_recorded_exactly() {
    let server = server().await;
    server.route("POST", "/v1/chat/completions", Reply::status(204));
    let body: &[u8] = b"{\"model\":\"m\",\"bytes\":\"\xff\xfe\"}";
    let response = client()
        .post(format!(
            "{}/v1/chat/completions?api-version=2024-10-21&x=a%20b",
            server.url()
        ))
        .header("Authorization", "Bearer sk-test")
        .header("X-First", "1")
        .header("x-custom", "one")
        .header("X-Last", "2")
        .body(body.to_vec())
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 204);

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(
        request.query.as_deref(),
        Some("api-version=2024-10-21&x=a%20b")
    );
    assert_eq!(request.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(request.header("X-CUSTOM"), Some("one"));
    assert_eq!(request.body.as_ref(), body);
    assert_eq!(
        request.body_text(),
        "{\"model\":\"m\",\"bytes\":\"\u{fffd}\u{fffd}\"}"
    );
    assert_eq!(request.json(), None, "invalid UTF-8 is not JSON");

    let names: Vec<&str> = request.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.iter().all(|n| *n == n.to_ascii_lowercase()),
        "{names:?}"
    );
    let position = |name: &str| names.iter().position(|n| *n == name);
    assert!(position("x-first") < position("x-custom"), "{names:?}");
    assert!(position("x-custom") < position("x-last"), "{names:?}");
    assert_eq!(
        request.header("content-length"),
        Some(body.len().to_string().as_str())
    );
}

#[tokio::test]
async fn repeated_headers_are_all_kept() {
    let server = server().await;
    server.route("GET", "/", Reply::status(200));
    client()
        .get(server.url())
        .header("x-multi", "a")
        .header("x-multi", "b")
        .send()
        .await
        .expect("response");
    let request = &server.requests()[0];
    assert_eq!(request.header_all("x-multi"), vec!["a", "b"]);
    assert_eq!(request.header("x-multi"), Some("a"));
    assert_eq!(request.query, None);
}

#[tokio::test]
async fn json_bodies_parse() {
    let server = server().await;
    server.route("POST", "/j", Reply::status(200));
    client()
        .post(format!("{}/j", server.url()))
        .json(&json!({"stream": true, "n": [1, 2]}))
        .send()
        .await
        .expect("response");
    let request = &server.requests()[0];
    assert_eq!(request.json(), Some(json!({"stream": true, "n": [1, 2]})));
}

#[tokio::test]
async fn queued_replies_run_in_order_then_the_last_repeats() {
    let server = server().await;
    server.route("GET", "/q", Reply::text(503, "first"));
    server.route("GET", "/q", Reply::text(200, "second"));
    let mut seen = Vec::new();
    for _ in 0..4 {
        let response = client()
            .get(format!("{}/q", server.url()))
            .send()
            .await
            .expect("response");
        let status = response.status().as_u16();
        seen.push((status, response.text().await.expect("body")));
    }
    let expected: Vec<(u16, String)> = vec![
        (503, "first".into()),
        (200, "second".into()),
        (200, "second".into()),
        (200, "second".into()),
    ];
    assert_eq!(seen, expected);
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn routes_match_method_and_path_but_not_query() {
    let server = server().await;
    server.route("get", "/r", Reply::text(200, "get"));
    server.route("POST", "/r", Reply::text(200, "post"));
    let get = client()
        .get(format!("{}/r?anything=1", server.url()))
        .send()
        .await
        .expect("response");
    assert_eq!(get.text().await.expect("body"), "get");
    let post = client()
        .post(format!("{}/r", server.url()))
        .send()
        .await
        .expect("response");
    assert_eq!(post.text().await.expect("body"), "post");
    let sub = client()
        .get(format!("{}/r/", server.url()))
        .send()
        .await
        .expect("response");
    assert_eq!(sub.status(), 404);
}

#[tokio::test]
async fn unmatched_requests_get_a_json_404() {
    let server = server().await;
    server.route("GET", "/v1/models", Reply::status(200));
    let response = client()
        .delete(format!("{}/v1/models?x=1", server.url()))
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(
        body,
        json!({"error": {"message": "no route for DELETE /v1/models", "type": "not_found"}})
    );
    let recorded = server.requests();
    assert_eq!(recorded.len(), 1, "unmatched requests are recorded too");
    assert_eq!(recorded[0].method, "DELETE");
}

#[tokio::test]
async fn route_fn_computes_replies_from_the_request() {
    let server = server().await;
    server.route_fn("POST", "/echo", |request| {
        let name = request
            .json()
            .and_then(|v| v["name"].as_str().map(str::to_owned))
            .unwrap_or_default();
        Reply::json(
            200,
            json!({"hello": name, "auth": request.header("authorization").is_some()}),
        )
    });
    let response = client()
        .post(format!("{}/echo", server.url()))
        .json(&json!({"name": "Ada"}))
        .send()
        .await
        .expect("response");
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body, json!({"hello": "Ada", "auth": false}));
}

#[tokio::test]
async fn route_and_route_fn_replace_each_other() {
    let server = server().await;
    let get = |server: TestServer| async move {
        client()
            .get(format!("{}/x", server.url()))
            .send()
            .await
            .expect("response")
            .text()
            .await
            .expect("body")
    };
    server.route("GET", "/x", Reply::text(200, "queued"));
    server.route_fn("GET", "/x", |_| Reply::text(200, "computed"));
    assert_eq!(get(server.clone()).await, "computed");
    server.route("GET", "/x", Reply::text(200, "queued again"));
    assert_eq!(get(server.clone()).await, "queued again");
}

#[tokio::test]
async fn a_panicking_route_fn_answers_500() {
    let server = server().await;
    server.route_fn("GET", "/boom", |request| {
        if request.path == "/boom" {
            panic!("scripted failure");
        }
        Reply::status(200)
    });
    let response = client()
        .get(format!("{}/boom", server.url()))
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 500);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"]["type"], "testkit_route_panicked");
    // The server keeps serving after the panic.
    server.route("GET", "/ok", Reply::status(200));
    let ok = client()
        .get(format!("{}/ok", server.url()))
        .send()
        .await
        .expect("response");
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn clones_share_routes_and_records_and_clear_requests_forgets() {
    let server = server().await;
    let other = server.clone();
    other.route("GET", "/shared", Reply::status(200));
    client()
        .get(format!("{}/shared", server.url()))
        .send()
        .await
        .expect("response");
    assert_eq!(server.requests(), other.requests());
    assert_eq!(server.requests().len(), 1);
    other.clear_requests();
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn debug_output_redacts_credentials() {
    let server = server().await;
    server.route("GET", "/", Reply::status(200));
    client()
        .get(server.url())
        .header("authorization", "Bearer sk-very-secret")
        .header("api-key", "azure-secret")
        .header("x-visible", "shown")
        .send()
        .await
        .expect("response");
    let request = &server.requests()[0];
    let debug = format!("{request:?}");
    assert!(!debug.contains("sk-very-secret"), "{debug}");
    assert!(!debug.contains("azure-secret"), "{debug}");
    assert!(
        debug.contains("<redacted>") && debug.contains("shown"),
        "{debug}"
    );
    assert_eq!(
        request.header("authorization"),
        Some("Bearer sk-very-secret")
    );
}
