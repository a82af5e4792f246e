//! Every flow logs at TRACE into a buffer; no token, code, verifier or state may appear in it.

mod common;

use std::time::Duration;

use cline_provider_codex::CodexAuth;
use cline_provider_testkit::Reply;
use common::{browser, Setup};
use secrecy::ExposeSecret;

fn secrets_in(value: &serde_json::Value, out: &mut Vec<String>) {
    if let Some(tokens) = value.get("tokens") {
        for key in ["id_token", "access_token", "refresh_token"] {
            if let Some(t) = tokens.get(key).and_then(|v| v.as_str()) {
                out.push(t.to_owned());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_flow_logs_a_secret() {
    let capture = common::Capture::install_trace();

    let setup = Setup::new().await;
    let mut secrets: Vec<String> = Vec::new();
    let auth = CodexAuth::new(setup.shared_config()).expect("auth");

    // Browser sign-in.
    let login = auth.login_browser(false).await.expect("start");
    secrets.extend(
        login
            .url()
            .query_pairs()
            .filter(|(k, _)| k == "state" || k == "code_challenge")
            .map(|(_, v)| v.into_owned()),
    );
    let url = login.url().clone();
    let waiting = tokio::spawn(login.wait());
    browser().get(url).send().await.expect("browser");
    waiting.await.expect("join").expect("signed in");
    secrets_in(&setup.own_file().expect("stored"), &mut secrets);

    // Tokens, a 401 recovery, a transient and a permanent refresh failure.
    let token = auth.token().await.expect("token");
    let next = auth
        .refresh_after_unauthorized(&token)
        .await
        .expect("refreshed");
    secrets.push(next.bearer().expose_secret().to_owned());
    secrets_in(&setup.own_file().expect("stored"), &mut secrets);
    setup.issuer.fail_next_refresh(Reply::text(503, "busy"));
    let _ = auth.refresh_after_unauthorized(&next).await;
    let spent = setup.own_file().expect("stored")["tokens"]["refresh_token"]
        .as_str()
        .expect("rt")
        .to_owned();
    setup.issuer.spend(&spent);
    let _ = auth.refresh_after_unauthorized(&next).await;

    // Device sign-in, then a shared Codex CLI sign-in refreshed in place, then sign-out.
    setup.issuer.set_pending_polls(1);
    let device = auth.login_device().await.expect("device");
    device.wait().await.expect("device sign-in");
    secrets_in(&setup.own_file().expect("stored"), &mut secrets);
    auth.logout().await.expect("logout");
    let cli = setup.seed_cli(Duration::ZERO);
    secrets.extend([cli.access_token, cli.refresh_token, cli.id_token]);
    auth.token().await.expect("shared refresh");
    secrets_in(&setup.cli_file(), &mut secrets);

    // Whatever crossed the wire as a credential.
    for r in setup.issuer.server().requests() {
        let params: Vec<(String, String)> = match r.json() {
            Some(serde_json::Value::Object(map)) => map
                .into_iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
                .collect(),
            _ => url::form_urlencoded::parse(r.body_text().as_bytes())
                .into_owned()
                .collect(),
        };
        for (k, v) in params {
            if [
                "code",
                "code_verifier",
                "refresh_token",
                "token",
                "device_auth_id",
            ]
            .contains(&k.as_str())
            {
                secrets.push(v);
            }
        }
    }

    let logs = capture.text();
    assert!(
        logs.contains("refreshing the Codex sign-in"),
        "logging was on:\n{logs}"
    );
    assert!(logs.contains("signed in to OpenAI Codex"));
    assert!(secrets.len() > 15, "collected {} secrets", secrets.len());
    for secret in &secrets {
        assert!(secret.len() >= 8, "too short to check: {secret}");
        assert!(
            !logs.contains(secret.as_str()),
            "a secret reached the log:\n{logs}"
        );
    }
}
