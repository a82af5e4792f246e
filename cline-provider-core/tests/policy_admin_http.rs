//! The admin API client goes through the SDK's HTTP engine: its User-Agent, trusted roots
//! (an extra CA, as `SSL_CERT_FILE` gives), proxy, error rules, and same-origin redirects only,
//! so the member's account token never follows a redirect to another host.

use cline_provider_core::http::{HttpConfig, ProxyConfig};
use cline_provider_core::policy::RemoteConfigClient;
use cline_provider_core::ErrorKind;
use cline_provider_testkit::{Reply, TestCertificates, TestServer};
use serde_json::json;

const DISCOVERY: &str = "/api/v1/users/me/remote-config";
const TOKEN: &str = "member-account-token-42";

fn doc() -> String {
    json!({"version": "v1", "providerSettings": {"OpenAiCompatible": {
        "openAiBaseUrl": "https://llm.acme.example/v1"
    }}})
    .to_string()
}

fn discovery() -> Reply {
    Reply::json(
        200,
        json!({"success": true, "data": {
            "organizationId": "org-acme",
            "value": doc(),
            "organizations": [{"organizationId": "org-acme", "name": "Acme"}]
        }}),
    )
}

fn client(base: &str, config: HttpConfig) -> RemoteConfigClient {
    RemoteConfigClient::with_http_config(base, TOKEN.to_owned().into(), config).expect("client")
}

#[tokio::test]
async fn the_admin_api_request_carries_the_sdks_user_agent_and_the_token() {
    let server = TestServer::start().await.unwrap();
    server.route("GET", DISCOVERY, discovery());
    let outcome = client(&server.url(), HttpConfig::default()).refresh().await;
    assert!(outcome.policy().is_some(), "{outcome:?}");
    let sent = &server.requests()[0];
    assert!(
        sent.header("user-agent")
            .is_some_and(|ua| ua.starts_with("cline-provider/")),
        "{sent:?}"
    );
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

#[tokio::test]
async fn a_same_origin_redirect_is_followed_and_another_origin_is_refused() {
    let server = TestServer::start().await.unwrap();
    // A gateway that moved the API under a prefix.
    server.route(
        "GET",
        DISCOVERY,
        Reply::redirect(308, "/v2/api/v1/users/me/remote-config"),
    );
    server.route("GET", "/v2/api/v1/users/me/remote-config", discovery());
    let outcome = client(&server.url(), HttpConfig::default()).refresh().await;
    assert!(outcome.policy().is_some(), "{outcome:?}");
    assert_eq!(
        server.requests()[1].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str()),
        "the same origin gets the token"
    );

    let elsewhere = TestServer::start().await.unwrap();
    elsewhere.route("GET", DISCOVERY, discovery());
    let moved = TestServer::start().await.unwrap();
    moved.route(
        "GET",
        DISCOVERY,
        Reply::redirect(302, &format!("{}{DISCOVERY}", elsewhere.url())),
    );
    let outcome = client(&moved.url(), HttpConfig::default()).refresh().await;
    let err = outcome.error().expect("refused");
    assert_eq!(err.kind(), &ErrorKind::Redirected, "{err}");
    assert!(outcome.policy().is_none());
    assert!(
        elsewhere.requests().is_empty(),
        "the token never reached the other origin"
    );
    assert!(!format!("{err} {err:?}").contains(TOKEN));
}

#[tokio::test]
async fn the_admin_api_trusts_the_extra_root_certificates_and_names_a_refused_one() {
    let certs = TestCertificates::localhost();
    let server = TestServer::start_tls(&certs).await.unwrap();
    server.route("GET", DISCOVERY, discovery());

    let outcome = client(&server.url(), HttpConfig::default()).refresh().await;
    let err = outcome.error().expect("the test CA is not trusted yet");
    assert_eq!(err.kind(), &ErrorKind::TlsCertificate, "{err}");
    assert!(err.hint().contains("SSL_CERT_FILE"));

    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("corp-root.pem");
    std::fs::write(&ca, certs.ca_pem()).unwrap();
    let config = HttpConfig {
        extra_root_certificates: Some(ca),
        ..HttpConfig::default()
    };
    let outcome = client(&server.url(), config).refresh().await;
    assert!(outcome.policy().is_some(), "{outcome:?}");
}

#[tokio::test]
async fn the_admin_api_goes_through_the_configured_proxy() {
    // The testkit server plays a plain-HTTP proxy: it receives the request for the made-up
    // host itself, so nothing is resolved. A loopback admin URL keeps the token rule happy.
    let proxy = TestServer::start().await.unwrap();
    proxy.route("GET", DISCOVERY, discovery());
    let config = HttpConfig {
        proxy: ProxyConfig::Url {
            url: url::Url::parse(&proxy.url()).unwrap(),
            no_proxy: None,
        },
        ..HttpConfig::default()
    };
    let outcome = client("http://admin.localhost:9", config).refresh().await;
    assert!(outcome.policy().is_some(), "{outcome:?}");
    assert_eq!(
        proxy.requests()[0].header("host"),
        Some("admin.localhost:9")
    );
}

#[tokio::test]
async fn admin_api_statuses_read_as_the_admin_api_means_them() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "GET",
        DISCOVERY,
        Reply::json(401, json!({"error": format!("token {TOKEN} expired")})),
    );
    let outcome = client(&server.url(), HttpConfig::default()).refresh().await;
    let err = outcome.error().expect("401");
    assert_eq!(
        err.kind(),
        &ErrorKind::NotSignedIn,
        "not an API key problem"
    );
    assert!(err.message().contains("the admin API"), "{}", err.message());
    assert!(err.message().contains("expired"), "{}", err.message());
    assert!(
        !err.message().contains(TOKEN),
        "echoed token scrubbed: {}",
        err.message()
    );
}
