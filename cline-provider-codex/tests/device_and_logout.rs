//! Device-code sign-in, sign-out and status against the fake issuer.

mod common;

use std::time::Duration;

use cline_provider_codex::{CodexAuth, StoreLocation};
use cline_provider_core::ErrorKind;
use cline_provider_testkit::Reply;
use common::Setup;

#[tokio::test]
async fn the_device_flow_polls_through_authorization_pending_then_signs_in() {
    let setup = Setup::new().await;
    setup.issuer.set_pending_polls(2);
    let auth = setup.auth();
    let device = auth.login_device().await.expect("device code");
    assert!(device.user_code().starts_with("ABCD-"));
    assert_eq!(
        device.verification_url().as_str(),
        format!("{}/codex/device", setup.issuer.url())
    );
    assert_eq!(device.interval(), Duration::from_secs(1));
    let started = std::time::Instant::now();
    let status = device.wait().await.expect("signed in");
    assert!(status.signed_in);
    assert_eq!(status.email.as_deref(), Some("ada@example.com"));

    let requests = setup.issuer.server().requests();
    let user_code = &requests[0];
    assert_eq!(user_code.path, "/api/accounts/deviceauth/usercode");
    assert_eq!(
        user_code.json().expect("json")["client_id"],
        "app_EMoamEEZ73f0CkXaXp7hrann"
    );
    let polls: Vec<_> = requests
        .iter()
        .filter(|r| r.path == "/api/accounts/deviceauth/token")
        .collect();
    assert_eq!(polls.len(), 3, "two pending answers, then the code");
    assert!(polls[0].json().expect("json")["device_auth_id"].is_string());
    // The server's interval (1 s) between polls: at least two intervals passed.
    assert!(started.elapsed() >= Duration::from_secs(2));
    // The exchange used the device redirect URI and the verifier the issuer handed back.
    let exchange = requests
        .iter()
        .find(|r| r.path == "/oauth/token")
        .expect("exchange")
        .body_text();
    assert!(exchange.contains("grant_type=authorization_code"));
    assert!(exchange.contains("deviceauth%2Fcallback"), "{exchange}");
    assert!(auth.token().await.is_ok());
}

#[tokio::test]
async fn a_declined_or_expired_device_code_is_a_typed_error() {
    let setup = Setup::new().await;
    setup.issuer.set_pending_polls(100);
    let auth = setup.auth();
    let device = auth.login_device().await.expect("device code");
    setup.issuer.server().route(
        "POST",
        "/api/accounts/deviceauth/token",
        Reply::json(400, serde_json::json!({"error": "expired_token"})),
    );
    let err = device.wait().await.expect_err("expired");
    assert_eq!(err.kind(), &ErrorKind::NotSignedIn);
    assert!(err.hint().contains("--device"), "{}", err.hint());
    assert!(!setup.token_file().exists());
}

#[tokio::test]
async fn a_device_flow_that_nobody_approves_times_out() {
    let setup = Setup::new().await;
    setup.issuer.set_pending_polls(1000);
    let mut config = setup.config();
    config.device_timeout = Duration::from_millis(300);
    let auth = CodexAuth::new(config).expect("auth");
    let err = auth
        .login_device()
        .await
        .expect("code")
        .wait()
        .await
        .expect_err("timeout");
    assert!(matches!(err.kind(), ErrorKind::Timeout(_)));
}

#[tokio::test]
async fn logout_revokes_and_removes_the_tokens() {
    let setup = Setup::new().await;
    let seeded = setup.seed_own(Duration::from_secs(3600));
    let auth = setup.auth();
    auth.token().await.expect("signed in");
    let outcome = auth.logout().await.expect("logout");
    assert!(outcome.removed);
    assert_eq!(outcome.revoked, Some(true));
    assert_eq!(outcome.still_signed_in_via, None);
    assert!(setup.issuer.is_revoked(&seeded.refresh_token));
    let revoke = &setup.issuer.revoke_requests()[0];
    let body = revoke.json().expect("json");
    assert_eq!(body["token"], seeded.refresh_token);
    assert_eq!(body["token_type_hint"], "refresh_token");
    assert_eq!(body["client_id"], "app_EMoamEEZ73f0CkXaXp7hrann");
    assert!(setup.own_file().is_none());
    // The cache forgot the token too.
    assert_eq!(
        auth.token().await.expect_err("out").kind(),
        &ErrorKind::NotSignedIn
    );
    assert!(!auth.status().expect("status").signed_in);

    // Signing out again is not an error and sends nothing.
    let again = auth.logout().await.expect("logout twice");
    assert!(!again.removed);
    assert_eq!(again.revoked, None);
    assert_eq!(setup.issuer.revoke_requests().len(), 1);
}

#[tokio::test]
async fn a_failing_or_slow_revoke_does_not_keep_the_tokens() {
    let setup = Setup::new().await;
    setup.seed_own(Duration::from_secs(3600));
    setup.issuer.server().route(
        "POST",
        "/oauth/revoke",
        Reply::json(200, serde_json::json!({})).delay_headers(Duration::from_secs(30)),
    );
    let mut config = setup.config();
    config.revoke_timeout = Duration::from_millis(200);
    let auth = CodexAuth::new(config).expect("auth");
    let outcome = auth.logout().await.expect("logout");
    assert!(outcome.removed);
    assert_eq!(outcome.revoked, Some(false));
    assert!(setup.own_file().is_none());
}

#[tokio::test]
async fn logout_leaves_a_codex_cli_sign_in_alone_and_says_so() {
    let setup = Setup::new().await;
    let cli = setup.seed_cli(Duration::from_secs(3600));
    let auth = CodexAuth::new(setup.shared_config()).expect("auth");
    let outcome = auth.logout().await.expect("logout");
    assert!(!outcome.removed);
    assert!(matches!(
        outcome.still_signed_in_via,
        Some(StoreLocation::CodexCli(_))
    ));
    assert_eq!(
        setup.cli_file()["tokens"]["refresh_token"],
        cli.refresh_token
    );
    assert!(!setup.issuer.is_revoked(&cli.refresh_token));
}

#[tokio::test]
async fn status_shows_who_without_secrets() {
    let setup = Setup::new().await;
    let seeded = setup.seed_own(Duration::from_secs(3600));
    let status = setup.auth().status().expect("status");
    let shown = format!("{status}\n{status:?}");
    assert!(shown.contains("ada@example.com"));
    assert!(shown.contains("plus"));
    assert!(shown.contains("acc-test-1"));
    assert!(shown.contains("min left"));
    for secret in [
        &seeded.access_token,
        &seeded.refresh_token,
        &seeded.id_token,
    ] {
        assert!(!shown.contains(secret.as_str()));
    }
    assert!(status.access_expires_at.is_some());
    assert_eq!(
        Setup::new()
            .await
            .auth()
            .status()
            .expect("status")
            .to_string(),
        "Not signed in to OpenAI Codex."
    );
}

#[tokio::test]
async fn a_new_sign_in_revokes_the_one_it_replaces() {
    let setup = Setup::new().await;
    let old = setup.seed_own(Duration::from_secs(3600));
    let auth = setup.auth();
    let login = auth.login_browser(false).await.expect("start");
    let url = login.url().clone();
    let waiting = tokio::spawn(login.wait());
    common::browser().get(url).send().await.expect("browser");
    waiting.await.expect("join").expect("signed in");
    for _ in 0..100 {
        if setup.issuer.is_revoked(&old.refresh_token) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(setup.issuer.is_revoked(&old.refresh_token));
}
