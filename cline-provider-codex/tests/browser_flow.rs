//! The browser sign-in end to end: an HTTP client plays the browser, following the fake
//! issuer's authorize redirect to the SDK's callback server.

mod common;

use std::time::Duration;

use cline_provider_codex::{CodexAuth, StoreLocation};
use cline_provider_core::ErrorKind;
use cline_provider_testkit::oauth::{AuthorizeMode, ExchangeMode};
use common::{browser, Setup};

fn query(url: &url::Url) -> std::collections::HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

#[tokio::test]
async fn a_browser_following_the_authorize_redirect_signs_the_person_in() {
    let setup = Setup::new().await;
    let auth = setup.auth();
    assert!(!auth.status().expect("status").signed_in);

    let login = auth.login_browser(false).await.expect("start");
    assert!(!login.browser_opened());
    let port = login.port();
    let q = query(login.url());
    assert_eq!(login.url().path(), "/oauth/authorize");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "app_EMoamEEZ73f0CkXaXp7hrann");
    assert_eq!(
        q["redirect_uri"],
        format!("http://localhost:{port}/auth/callback")
    );
    assert_eq!(q["scope"], "openid profile email offline_access");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert_eq!(q["id_token_add_organizations"], "true");
    assert_eq!(q["codex_cli_simplified_flow"], "true");
    assert_eq!(q["originator"], "cline");
    assert_eq!(q["state"].len(), 43);

    let url = login.url().clone();
    let waiting = tokio::spawn(login.wait());
    let page = browser().get(url).send().await.expect("browser");
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .starts_with("default-src 'none'"));
    let html = page.text().await.expect("page");
    assert!(html.contains("You can close this tab"), "{html}");
    assert!(html.contains("ada@example.com"));

    let status = waiting.await.expect("join").expect("signed in");
    assert!(status.signed_in);
    assert_eq!(status.email.as_deref(), Some("ada@example.com"));
    assert_eq!(status.plan_type.as_deref(), Some("plus"));
    assert_eq!(status.account_id.as_deref(), Some("acc-test-1"));
    assert_eq!(
        status.location,
        Some(StoreLocation::File(setup.token_file()))
    );

    // The exchange the issuer saw: form-encoded, the verifier, no state.
    let exchange = setup
        .issuer
        .server()
        .requests()
        .into_iter()
        .find(|r| r.path == "/oauth/token")
        .expect("exchange");
    assert_eq!(
        exchange.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let body = exchange.body_text();
    assert!(body.contains("grant_type=authorization_code"));
    assert!(body.contains("code_verifier="));
    assert!(!body.contains("state="), "{body}");
    assert_eq!(setup.issuer.exchange_requests(), 1);

    // Stored: 0600, and a token comes out without any refresh.
    #[cfg(unix)]
    assert_eq!(common::mode(&setup.token_file()), 0o600);
    let stored = setup.own_file().expect("stored");
    assert_eq!(stored["auth_mode"], "chatgpt");
    assert_eq!(stored["tokens"]["account_id"], "acc-test-1");
    let token = auth.token().await.expect("token");
    assert_eq!(token.account_id(), Some("acc-test-1"));
    assert_eq!(setup.issuer.refresh_requests(), 0);

    // The port is free again.
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("port released");
}

/// Drives one failing callback and returns the flow's error and the page's status.
async fn failing_flow(setup: &Setup) -> (cline_provider_core::Error, u16, String) {
    let auth = setup.auth();
    let login = auth.login_browser(false).await.expect("start");
    let url = login.url().clone();
    let waiting = tokio::spawn(login.wait());
    let page = browser().get(url).send().await.expect("browser");
    let status = page.status().as_u16();
    let html = page.text().await.expect("page");
    let err = waiting.await.expect("join").expect_err("must fail");
    assert!(
        !setup.token_file().exists(),
        "no token file after a failed sign-in"
    );
    (err, status, html)
}

#[tokio::test]
async fn a_callback_with_the_wrong_state_is_refused() {
    let setup = Setup::new().await;
    setup.issuer.set_authorize(AuthorizeMode::WrongState);
    let (err, status, html) = failing_flow(&setup).await;
    assert_eq!(status, 400);
    assert!(html.contains("State mismatch"));
    assert_eq!(err.kind(), &ErrorKind::NotSignedIn);
    assert_eq!(err.field(), Some("state"));
    assert!(
        err.hint().contains("Start the sign-in again"),
        "{}",
        err.hint()
    );
    assert_eq!(
        setup.issuer.exchange_requests(),
        0,
        "no exchange for a forged callback"
    );
}

#[tokio::test]
async fn a_callback_without_a_code_is_refused() {
    let setup = Setup::new().await;
    setup.issuer.set_authorize(AuthorizeMode::NoCode);
    let (err, status, _) = failing_flow(&setup).await;
    assert_eq!(status, 400);
    assert_eq!(err.kind(), &ErrorKind::NotSignedIn);
    assert_eq!(err.field(), Some("code"));
    assert!(!err.hint().is_empty());
}

#[tokio::test]
async fn access_denied_is_reported_and_its_text_escaped() {
    let setup = Setup::new().await;
    setup.issuer.set_authorize(AuthorizeMode::Deny {
        error: "access_denied".into(),
        description: "<script>alert(1)</script> the user declined".into(),
    });
    let (err, status, html) = failing_flow(&setup).await;
    assert_eq!(status, 403);
    assert_eq!(err.kind(), &ErrorKind::AccessDenied);
    assert_eq!(err.code(), Some("access_denied"));
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; the user declined"));
    assert!(err.hint().contains("declined"));
}

#[tokio::test]
async fn codex_not_enabled_for_the_workspace_has_its_own_hint() {
    let setup = Setup::new().await;
    setup.issuer.set_authorize(AuthorizeMode::Deny {
        error: "access_denied".into(),
        description: "missing_codex_entitlement".into(),
    });
    let (err, _, html) = failing_flow(&setup).await;
    assert_eq!(err.kind(), &ErrorKind::AccessDenied);
    assert_eq!(err.code(), Some("missing_codex_entitlement"));
    assert!(
        err.hint().contains("not enabled for your workspace"),
        "{}",
        err.hint()
    );
    assert!(html.contains("You do not have access to Codex"));
}

#[tokio::test]
async fn an_id_token_that_is_not_a_jwt_fails_the_sign_in() {
    let setup = Setup::new().await;
    setup.issuer.set_exchange(ExchangeMode::OpaqueIdToken);
    let (err, status, _) = failing_flow(&setup).await;
    assert_eq!(status, 502);
    assert_eq!(err.kind(), &ErrorKind::Protocol);
    assert_eq!(err.field(), Some("id_token"));
    assert!(!err.message().contains("opaque-id-token"));
    assert!(err.hint().contains("CLINE_CODEX_ISSUER"));
}

#[tokio::test]
async fn a_token_answer_without_a_refresh_token_fails_the_sign_in() {
    let setup = Setup::new().await;
    setup.issuer.set_exchange(ExchangeMode::NoRefreshToken);
    let (err, _, _) = failing_flow(&setup).await;
    assert_eq!(err.kind(), &ErrorKind::Protocol);
    assert_eq!(err.field(), Some("refresh_token"));
    assert!(err.hint().contains("refresh token"), "{}", err.hint());
}

#[tokio::test]
async fn other_paths_get_404_and_do_not_end_the_flow() {
    let setup = Setup::new().await;
    let auth = setup.auth();
    let login = auth.login_browser(false).await.expect("start");
    let base = format!("http://127.0.0.1:{}", login.port());
    let url = login.url().clone();
    let waiting = tokio::spawn(login.wait());
    let other = browser()
        .get(format!("{base}/favicon.ico"))
        .send()
        .await
        .expect("get");
    assert_eq!(other.status(), 404);
    let page = browser().get(url).send().await.expect("browser");
    assert_eq!(page.status(), 200);
    waiting.await.expect("join").expect("signed in");
}

#[tokio::test]
async fn the_flow_times_out() {
    let setup = Setup::new().await;
    let mut config = setup.config();
    config.login_timeout = Duration::from_millis(200);
    let auth = CodexAuth::new(config).expect("auth");
    let login = auth.login_browser(false).await.expect("start");
    let port = login.port();
    let err = login.wait().await.expect_err("timeout");
    assert!(matches!(err.kind(), ErrorKind::Timeout(_)), "{err:?}");
    assert!(err.hint().contains("Start it again"));
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("port released after timeout");
}

#[tokio::test]
async fn dropping_a_sign_in_frees_the_port_at_once() {
    let setup = Setup::new().await;
    let auth = setup.auth();
    let login = auth.login_browser(false).await.expect("start");
    let port = login.port();
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", port)).is_err(),
        "held while pending"
    );
    drop(login);
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("free after drop");

    // The same for a `wait` future dropped half-way.
    let login = auth.login_browser(false).await.expect("start");
    let port = login.port();
    let waited = tokio::time::timeout(Duration::from_millis(50), login.wait()).await;
    assert!(waited.is_err(), "still waiting");
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("free after the future is dropped");
}

#[tokio::test]
async fn cancelling_a_sign_in_ends_it_and_frees_the_port() {
    let setup = Setup::new().await;
    let login = setup.auth().login_browser(false).await.expect("start");
    let port = login.port();
    let cancel = login.canceller();
    let waiting = tokio::spawn(login.wait());
    cancel.cancel();
    let err = waiting.await.expect("join").expect_err("cancelled");
    assert_eq!(err.kind(), &ErrorKind::Cancelled);
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("free after cancel");
    assert!(!setup.token_file().exists());
}

#[tokio::test]
async fn a_stale_sign_in_server_on_the_port_is_asked_to_cancel() {
    let setup = Setup::new().await;
    let first = setup.auth().login_browser(false).await.expect("first");
    let port = first.port();
    let first_wait = tokio::spawn(first.wait());

    let second_auth = CodexAuth::new(setup.config().callback_ports(port, None)).expect("auth");
    let second = second_auth
        .login_browser(false)
        .await
        .expect("second takes over");
    assert_eq!(second.port(), port);
    let err = first_wait
        .await
        .expect("join")
        .expect_err("first cancelled");
    assert_eq!(err.kind(), &ErrorKind::Cancelled);
    assert!(!err.hint().is_empty());

    // The second one still completes.
    let url = second.url().clone();
    let waiting = tokio::spawn(second.wait());
    browser().get(url).send().await.expect("browser");
    waiting.await.expect("join").expect("signed in");
}

#[tokio::test]
async fn a_port_held_by_something_else_falls_back() {
    let setup = Setup::new().await;
    let held = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("hold a port");
    let busy = held.local_addr().expect("addr").port();
    let free = {
        let probe = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("probe");
        probe.local_addr().expect("addr").port()
    };
    let auth = CodexAuth::new(setup.config().callback_ports(busy, Some(free))).expect("auth");
    let login = auth.login_browser(false).await.expect("falls back");
    assert_eq!(login.port(), free);
    assert!(
        login
            .url()
            .query_pairs()
            .any(|(k, v)| k == "redirect_uri"
                && v == format!("http://localhost:{free}/auth/callback"))
    );
    drop(login);

    // With no fallback, the error names the port and hints at the way out.
    let auth = CodexAuth::new(setup.config().callback_ports(busy, None)).expect("auth");
    let err = auth.login_browser(false).await.expect_err("busy");
    assert_eq!(err.kind(), &ErrorKind::Io);
    assert_eq!(err.field(), Some("callback_port"));
    assert!(err.hint().contains("--device"));
    drop(held);
}

#[tokio::test]
async fn a_pasted_redirect_finishes_a_manual_sign_in() {
    let setup = Setup::new().await;
    let auth = setup.auth();
    let manual = auth.login_manual().expect("manual");
    // The browser ends on the redirect URI, which nobody serves: take the Location instead.
    let location = common::authorize_location(manual.url()).await;
    assert!(location.starts_with("http://localhost:1455/auth/callback?code="));

    // Wrong state first: refused, nothing stored, and the real one still works after.
    let forged = location.replace("state=", "state=x");
    let err = manual.finish(&forged).await.expect_err("forged");
    assert_eq!(err.field(), Some("state"));
    let err = manual.finish("hello").await.expect_err("not a redirect");
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    assert!(!setup.token_file().exists());

    let status = manual
        .finish(&format!("  {location}\n"))
        .await
        .expect("signed in");
    assert_eq!(status.email.as_deref(), Some("ada@example.com"));
    assert!(auth.status().expect("status").signed_in);
}

#[tokio::test]
async fn a_pasted_code_and_state_pair_is_accepted() {
    let setup = Setup::new().await;
    let auth = setup.auth();
    let login = auth.login_browser(false).await.expect("start");
    let location = url::Url::parse(&common::authorize_location(login.url()).await).expect("url");
    let q = query(&location);
    let pasted = format!("{}#{}", q["code"], q["state"]);
    let port = login.port();
    let status = login
        .finish_with_redirect(&pasted)
        .await
        .expect("signed in");
    assert!(status.signed_in);
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("port released");
}
