//! The refresh manager against the fake issuer: single flight, reload before refresh after a
//! 401, permanent vs transient failures, and the Codex CLI's shared sign-in.

mod common;

use std::sync::Arc;
use std::time::Duration;

use cline_provider_codex::CodexAuth;
use cline_provider_core::lockfile::FileLock;
use cline_provider_core::ErrorKind;
use cline_provider_testkit::oauth::jwt;
use cline_provider_testkit::Reply;
use common::{write_own, Setup};
use secrecy::ExposeSecret;

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn before_any_sign_in_token_says_not_signed_in_without_the_network() {
    let setup = Setup::new().await;
    let err = setup.auth().token().await.expect_err("not signed in");
    assert_eq!(err.kind(), &ErrorKind::NotSignedIn);
    assert!(err.hint().contains("login"), "{}", err.hint());
    assert!(setup.issuer.server().requests().is_empty());
}

#[tokio::test]
async fn a_fresh_token_is_used_as_stored() {
    let setup = Setup::new().await;
    let seeded = setup.seed_own(HOUR);
    let auth = setup.auth();
    let token = auth.token().await.expect("token");
    assert_eq!(token.bearer().expose_secret(), seeded.access_token);
    assert_eq!(token.account_id(), Some("acc-test-1"));
    assert!(setup.issuer.server().requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_calls_on_an_expired_token_make_one_refresh() {
    let setup = Setup::new().await;
    let seeded = setup.seed_own(Duration::ZERO);
    setup.issuer.delay_refreshes(Duration::from_millis(100));
    let auth = setup.auth();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let auth = auth.clone();
        calls.spawn(async move { auth.token().await });
    }
    let mut seen = std::collections::HashSet::new();
    while let Some(result) = calls.join_next().await {
        let token = result.expect("join").expect("token");
        seen.insert(token.bearer().expose_secret().to_owned());
        assert_eq!(token.account_id(), Some("acc-test-1"));
    }
    assert_eq!(setup.issuer.refresh_requests(), 1);
    assert_eq!(seen.len(), 1, "every caller got the one refreshed token");
    assert!(!seen.contains(&seeded.access_token));
    let stored = setup.own_file().expect("stored");
    assert_ne!(stored["tokens"]["refresh_token"], seeded.refresh_token);
    assert_eq!(
        stored["tokens"]["access_token"].as_str(),
        seen.iter().next().map(String::as_str)
    );
}

#[tokio::test]
async fn a_token_within_five_minutes_of_exp_is_refreshed() {
    let setup = Setup::new().await;
    let seeded = setup.seed_own(Duration::from_secs(240));
    let token = setup.auth().token().await.expect("token");
    assert_ne!(token.bearer().expose_secret(), seeded.access_token);
    assert_eq!(setup.issuer.refresh_requests(), 1);
    let form = setup
        .issuer
        .server()
        .requests()
        .into_iter()
        .find(|r| r.path == "/oauth/token")
        .expect("refresh")
        .body_text();
    assert!(form.contains("grant_type=refresh_token"));
    assert!(form.contains("client_id=app_EMoamEEZ73f0CkXaXp7hrann"));
    assert!(form.contains(&format!("refresh_token={}", seeded.refresh_token)));
}

#[tokio::test]
async fn without_exp_the_tokens_are_refreshed_after_eight_days() {
    let setup = Setup::new().await;
    let real = setup.issuer.issue_tokens(HOUR);
    let write = |days_ago: u64| {
        let at = std::time::SystemTime::now() - Duration::from_secs(days_ago * 24 * 3600);
        let mut doc = real.cli_auth_json();
        doc["tokens"]["access_token"] = jwt(&serde_json::json!({"sub": "no-exp"})).into();
        doc["last_refresh"] = humantime::format_rfc3339_seconds(at).to_string().into();
        let outer = serde_json::json!({"openai-codex-oauth-credentials": doc.to_string()});
        std::fs::create_dir_all(setup.home()).expect("dir");
        std::fs::write(setup.token_file(), outer.to_string()).expect("write");
    };
    write(7);
    setup.auth().token().await.expect("token");
    assert_eq!(setup.issuer.refresh_requests(), 0, "7 days old: still good");
    write(9);
    setup.auth().token().await.expect("token");
    assert_eq!(setup.issuer.refresh_requests(), 1, "9 days old: refreshed");
}

#[tokio::test]
async fn after_a_401_the_store_is_reloaded_before_any_refresh() {
    let setup = Setup::new().await;
    setup.seed_own(HOUR);
    let auth = setup.auth();
    let first = auth.token().await.expect("token");

    // Another process refreshed and stored newer tokens meanwhile.
    let newer = setup.issuer.issue_tokens(HOUR);
    write_own(&setup.token_file(), &newer);
    let second = auth
        .refresh_after_unauthorized(&first)
        .await
        .expect("reloaded");
    assert_eq!(second.bearer().expose_secret(), newer.access_token);
    assert_eq!(setup.issuer.refresh_requests(), 0);

    // The reloaded token is rejected too: now it is refreshed, whatever its exp says.
    let third = auth
        .refresh_after_unauthorized(&second)
        .await
        .expect("refreshed");
    assert_ne!(third.bearer().expose_secret(), newer.access_token);
    assert_eq!(setup.issuer.refresh_requests(), 1);

    // Concurrent reports of the same rejected token share that one refresh.
    let (a, b) = tokio::join!(
        auth.refresh_after_unauthorized(&second),
        auth.refresh_after_unauthorized(&second)
    );
    assert_eq!(
        a.expect("a").bearer().expose_secret(),
        third.bearer().expose_secret()
    );
    assert_eq!(
        b.expect("b").bearer().expose_secret(),
        third.bearer().expose_secret()
    );
    assert_eq!(setup.issuer.refresh_requests(), 1);
}

async fn permanent(setup: &Setup, fault: Option<Reply>) -> cline_provider_core::Error {
    let seeded = setup.seed_own(Duration::ZERO);
    match fault {
        Some(reply) => setup.issuer.fail_next_refresh(reply),
        None => setup.issuer.spend(&seeded.refresh_token),
    }
    let auth = setup.auth();
    let err = auth.token().await.expect_err("permanent");
    assert_eq!(err.kind(), &ErrorKind::NotSignedIn);
    assert!(err.hint().contains("Sign in again"), "{}", err.hint());
    assert!(setup.own_file().is_none(), "stored tokens cleared");
    let requests = setup.issuer.server().requests().len();
    let again = auth.token().await.expect_err("still signed out");
    assert_eq!(again.kind(), &ErrorKind::NotSignedIn);
    assert_eq!(
        setup.issuer.server().requests().len(),
        requests,
        "no network after"
    );
    err
}

#[tokio::test]
async fn a_reused_refresh_token_is_permanent_and_clears_the_store() {
    let setup = Setup::new().await;
    let err = permanent(&setup, None).await;
    assert_eq!(err.code(), Some("refresh_token_reused"));
    assert_eq!(err.status(), Some(401));
}

#[tokio::test]
async fn a_generic_oauth_invalid_grant_is_permanent_too() {
    let setup = Setup::new().await;
    let reply = Reply::json(
        400,
        serde_json::json!({"error": "invalid_grant", "error_description": "Refresh token expired"}),
    );
    let err = permanent(&setup, Some(reply)).await;
    assert_eq!(err.code(), Some("invalid_grant"));
    assert!(err.message().contains("Refresh token expired"));
}

#[tokio::test]
async fn expired_and_invalidated_codes_are_permanent() {
    for code in ["refresh_token_expired", "refresh_token_invalidated"] {
        let setup = Setup::new().await;
        let reply = Reply::json(
            401,
            serde_json::json!({"error": {"code": code, "message": "no"}}),
        );
        let err = permanent(&setup, Some(reply)).await;
        assert_eq!(err.code(), Some(code));
    }
}

#[tokio::test]
async fn a_transient_failure_keeps_the_tokens_and_uses_the_current_one_while_valid() {
    let setup = Setup::new().await;
    // Inside the refresh window, but still valid for four minutes.
    let seeded = setup.seed_own(Duration::from_secs(240));
    setup
        .issuer
        .fail_next_refresh(Reply::text(503, "upstream busy"));
    let auth = setup.auth();
    let token = auth.token().await.expect("current token still served");
    assert_eq!(token.bearer().expose_secret(), seeded.access_token);
    assert_eq!(setup.issuer.refresh_requests(), 1);
    let stored = setup.own_file().expect("kept");
    assert_eq!(stored["tokens"]["refresh_token"], seeded.refresh_token);
    // The cool-down: no second attempt right away.
    auth.token().await.expect("token");
    assert_eq!(setup.issuer.refresh_requests(), 1);
}

#[tokio::test]
async fn a_transient_failure_with_an_expired_token_is_a_retryable_error() {
    let setup = Setup::new().await;
    let seeded = setup.seed_own(Duration::ZERO);
    setup.issuer.fail_next_refresh(Reply::text(500, "oops"));
    let err = setup
        .auth()
        .token()
        .await
        .expect_err("expired and no refresh");
    assert_eq!(err.kind(), &ErrorKind::Server);
    assert!(err.is_retryable());
    let stored = setup.own_file().expect("kept");
    assert_eq!(stored["tokens"]["refresh_token"], seeded.refresh_token);
    // The token was not spent: the next attempt succeeds.
    let fresh = CodexAuth::new(setup.config()).expect("auth");
    fresh.token().await.expect("refreshed later");
}

#[tokio::test]
async fn an_unreachable_issuer_is_transient() {
    let setup = Setup::new().await;
    let seeded = setup.seed_own(Duration::ZERO);
    let dead = {
        let probe = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("probe");
        format!("http://{}", probe.local_addr().expect("addr"))
    };
    let config = setup.config().issuer(&dead).expect("issuer");
    let err = CodexAuth::new(config)
        .expect("auth")
        .token()
        .await
        .expect_err("down");
    assert_eq!(err.kind(), &ErrorKind::Unreachable);
    assert_eq!(
        setup.own_file().expect("kept")["tokens"]["refresh_token"],
        seeded.refresh_token
    );
}

#[tokio::test]
async fn a_corrupt_token_file_is_a_typed_error_and_is_left_alone() {
    let setup = Setup::new().await;
    std::fs::create_dir_all(setup.home()).expect("dir");
    let garbage =
        r#"{"openai-codex-oauth-credentials": "{\"tokens\": {\"access_token\": \"rt-leak\""}"#;
    std::fs::write(setup.token_file(), garbage).expect("write");
    let auth = setup.auth();
    let err = auth.token().await.expect_err("corrupt");
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    assert!(!err.message().contains("rt-leak"));
    assert!(err.hint().contains("sign in again"), "{}", err.hint());
    assert!(auth.status().is_err());
    assert_eq!(
        std::fs::read_to_string(setup.token_file()).expect("read"),
        garbage
    );

    // The outer file itself damaged: same kind, names the file.
    std::fs::write(setup.token_file(), "{not json").expect("write");
    let err = auth.token().await.expect_err("corrupt");
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    assert!(
        err.message().contains("codex-auth.json"),
        "{}",
        err.message()
    );

    // Signing out removes the damaged file; then a sign-in starts from scratch.
    auth.logout().await.expect("logout");
    assert!(!setup.token_file().exists());
}

#[tokio::test]
async fn a_codex_cli_sign_in_is_used_in_place() {
    let setup = Setup::new().await;
    let seeded = setup.seed_cli(HOUR);
    let auth = CodexAuth::new(setup.shared_config()).expect("auth");
    let status = auth.status().expect("status");
    assert!(status.signed_in);
    assert!(matches!(
        status.location,
        Some(cline_provider_codex::StoreLocation::CodexCli(_))
    ));
    let token = auth.token().await.expect("token");
    assert_eq!(token.bearer().expose_secret(), seeded.access_token);
    assert!(!setup.token_file().exists(), "never copied into our store");
}

#[cfg(unix)]
#[tokio::test]
async fn an_expired_shared_sign_in_is_refreshed_in_place_in_the_clis_format() {
    let setup = Setup::new().await;
    let seeded = setup.seed_cli(Duration::ZERO);
    let auth = CodexAuth::new(setup.shared_config()).expect("auth");
    let token = auth.token().await.expect("refreshed");
    assert_eq!(setup.issuer.refresh_requests(), 1);
    let file = setup.cli_file();
    assert_eq!(
        file["tokens"]["access_token"].as_str(),
        Some(token.bearer().expose_secret())
    );
    assert_ne!(file["tokens"]["refresh_token"], seeded.refresh_token);
    assert_eq!(file["auth_mode"], "chatgpt");
    assert!(file["OPENAI_API_KEY"].is_null());
    assert_eq!(file["cli_only_field"], serde_json::json!({"keep": true}));
    assert_eq!(
        file["tokens"]["oauth_provenance"]["issuer"],
        setup.issuer.url()
    );
    assert_ne!(file["last_refresh"], "2026-01-01T00:00:00Z");
    assert_eq!(common::mode(&setup.codex_home().join("auth.json")), 0o600);
    assert!(!setup.token_file().exists());
}

#[cfg(unix)]
#[tokio::test]
async fn a_refresh_waits_for_the_clis_auth_lock_and_rereads_under_it() {
    let setup = Setup::new().await;
    setup.seed_cli(Duration::ZERO);
    // The CLI is committing: it holds auth.lock.
    let held = FileLock::try_acquire(&setup.codex_home().join("auth.lock"))
        .expect("lock")
        .expect("free");
    let auth = CodexAuth::new(setup.shared_config()).expect("auth");
    let pending = tokio::spawn({
        let auth = auth.clone();
        async move { auth.token().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!pending.is_finished(), "waits for auth.lock");
    assert_eq!(
        setup.issuer.refresh_requests(),
        0,
        "nothing spent while locked out"
    );
    // The CLI writes its fresh tokens, then lets go.
    let cli_new = setup.seed_cli(HOUR);
    drop(held);
    let token = pending.await.expect("join").expect("token");
    assert_eq!(token.bearer().expose_secret(), cli_new.access_token);
    assert_eq!(
        setup.issuer.refresh_requests(),
        0,
        "re-read under the lock, no refresh"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_reuse_error_on_a_shared_sign_in_waits_for_the_clis_new_tokens() {
    let setup = Arc::new(Setup::new().await);
    let seeded = setup.seed_cli(Duration::ZERO);
    // A running CLI already spent this refresh token and will write its result shortly.
    setup.issuer.spend(&seeded.refresh_token);
    let writer = tokio::spawn({
        let setup = Arc::clone(&setup);
        async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            setup.seed_cli(HOUR)
        }
    });
    let auth = CodexAuth::new(setup.shared_config()).expect("auth");
    let token = auth.token().await.expect("the CLI's tokens");
    let cli_new = writer.await.expect("join");
    assert_eq!(token.bearer().expose_secret(), cli_new.access_token);
    assert_eq!(setup.issuer.refresh_requests(), 1);
}

#[cfg(unix)]
#[tokio::test]
async fn a_dead_shared_sign_in_is_reported_but_never_cleared() {
    let setup = Setup::new().await;
    let seeded = setup.seed_cli(Duration::ZERO);
    setup.issuer.spend(&seeded.refresh_token);
    let auth = CodexAuth::new(setup.shared_config()).expect("auth");
    let err = auth.token().await.expect_err("dead");
    assert_eq!(err.kind(), &ErrorKind::NotSignedIn);
    assert_eq!(err.code(), Some("refresh_token_reused"));
    assert!(err.hint().contains("codex login"), "{}", err.hint());
    let file = setup.cli_file();
    assert_eq!(
        file["tokens"]["refresh_token"], seeded.refresh_token,
        "left as it was"
    );
    // Later calls fail fast, without spending anything.
    auth.token().await.expect_err("still dead");
    assert_eq!(setup.issuer.refresh_requests(), 1);
}

#[tokio::test]
async fn the_sdks_own_sign_in_comes_before_the_clis() {
    let setup = Setup::new().await;
    setup.seed_cli(HOUR);
    let own = setup.seed_own(HOUR);
    let auth = CodexAuth::new(setup.shared_config()).expect("auth");
    let token = auth.token().await.expect("token");
    assert_eq!(token.bearer().expose_secret(), own.access_token);
}

#[tokio::test]
async fn a_damaged_codex_cli_file_is_a_typed_error_that_names_it_and_is_left_alone() {
    let setup = Setup::new().await;
    std::fs::create_dir_all(setup.codex_home()).expect("dir");
    let path = setup.codex_home().join("auth.json");
    std::fs::write(&path, r#"{"tokens": {"access_token": "at-leak"#).expect("write");
    let auth = CodexAuth::new(setup.shared_config()).expect("auth");
    let err = auth.token().await.expect_err("damaged");
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    assert!(err.message().contains("auth.json"), "{}", err.message());
    assert!(!err.message().contains("at-leak"));
    assert!(err.hint().contains("codex login"), "{}", err.hint());
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        r#"{"tokens": {"access_token": "at-leak"#
    );
    // An API-key login of the CLI is no sign-in here, and no error either.
    std::fs::write(&path, r#"{"OPENAI_API_KEY": "sk-cli"}"#).expect("write");
    assert!(!auth.status().expect("status").signed_in);
}
