//! The HTTPS listener: a client that trusts the per-test authority connects and is recorded;
//! one that does not, or that meets an expired or misnamed certificate, fails the handshake
//! and reaches no route.

use std::error::Error as _;

use cline_provider_testkit::{Reply, TestCertificates, TestServer};

fn trusting(certs: &TestCertificates) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(certs.ca_pem().as_bytes()).expect("CA PEM parses");
    reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([ca])
        .build()
        .expect("client builds")
}

/// The whole chain of `err`, so assertions can read the TLS library's reason.
fn chain(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[tokio::test]
async fn a_client_that_trusts_the_authority_is_served_over_https() {
    let certs = TestCertificates::localhost();
    let server = TestServer::start_tls(&certs).await.expect("server starts");
    server.route("POST", "/v1/ping", Reply::text(200, "pong"));
    assert!(
        server.url().starts_with("https://127.0.0.1:"),
        "{}",
        server.url()
    );

    let response = trusting(&certs)
        .post(format!("{}/v1/ping", server.url()))
        .body("hello")
        .send()
        .await
        .expect("handshake and request succeed");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "pong");

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/ping");
    assert_eq!(requests[0].body_text(), "hello");
}

#[tokio::test]
async fn localhost_by_name_is_covered_too() {
    let certs = TestCertificates::localhost();
    let server = TestServer::start_tls(&certs).await.expect("server starts");
    server.route("GET", "/", Reply::text(200, "ok"));
    let url = format!("https://localhost:{}/", server.addr().port());
    let response = trusting(&certs).get(url).send().await.expect("served");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_client_with_other_roots_fails_the_handshake_and_reaches_no_route() {
    let certs = TestCertificates::localhost();
    let server = TestServer::start_tls(&certs).await.expect("server starts");
    server.route("GET", "/", Reply::text(200, "ok"));

    // Trusts a different authority: what a client behind an unknown corporate root sees.
    let other = TestCertificates::localhost();
    let err = trusting(&other)
        .get(format!("{}/", server.url()))
        .send()
        .await
        .expect_err("an unknown authority is refused");
    assert!(err.is_connect(), "{}", chain(&err));
    assert!(
        chain(&err).to_lowercase().contains("certificate"),
        "{}",
        chain(&err)
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn an_expired_server_certificate_is_refused_by_name() {
    let certs = TestCertificates::expired_localhost();
    let server = TestServer::start_tls(&certs).await.expect("server starts");
    server.route("GET", "/", Reply::text(200, "ok"));
    let err = trusting(&certs)
        .get(format!("{}/", server.url()))
        .send()
        .await
        .expect_err("an expired certificate is refused");
    assert!(
        chain(&err).to_lowercase().contains("expired"),
        "{}",
        chain(&err)
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused() {
    let certs = TestCertificates::for_names(&["llm.other.example"]);
    assert_eq!(certs.names(), ["llm.other.example"]);
    let server = TestServer::start_tls(&certs).await.expect("server starts");
    server.route("GET", "/", Reply::text(200, "ok"));
    let err = trusting(&certs)
        .get(format!("{}/", server.url()))
        .send()
        .await
        .expect_err("a name mismatch is refused");
    assert!(
        chain(&err).to_lowercase().contains("not valid for name"),
        "{}",
        chain(&err)
    );
    assert!(server.requests().is_empty());
}

#[test]
fn debug_shows_names_not_keys() {
    let certs = TestCertificates::localhost();
    let shown = format!("{certs:?}");
    assert!(shown.contains("127.0.0.1"), "{shown}");
    assert!(!shown.contains("PRIVATE"), "{shown}");
    assert!(certs.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(certs
        .server_pem()
        .starts_with("-----BEGIN CERTIFICATE-----"));
    assert_ne!(certs.ca_pem(), certs.server_pem());
}
