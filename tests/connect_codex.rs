//! `connect()` routes the OpenAI Codex provider kind to the Codex backend, behind the one
//! enforcement wrapper: the member's Codex CLI sign-in, the member's model, the endpoint from
//! `CLINE_CODEX_BASE_URL`.
//!
//! One test in its own binary, because it sets the process environment the Codex
//! configuration reads.
#![cfg(feature = "codex")]

use std::time::Duration;

use cline_provider::policy::{resolve, MemberSettings};
use cline_provider::secrets::MemorySecretStore;
use cline_provider::{connect, ChatRequest, ErrorKind, Message, ProviderKind};
use cline_provider_testkit::oauth::FakeIssuer;
use cline_provider_testkit::responses::{FakeCodexBackend, Turn};
use futures_util::StreamExt;
use serde_json::json;

#[tokio::test]
async fn codex_settings_connect_to_the_subscription_behind_the_enforcement() {
    let issuer = FakeIssuer::start().await.unwrap();
    let backend = FakeCodexBackend::start().await.unwrap();
    backend.push(Turn::text(&["Hi from ", "the plan"]).usage(8, 0, 3, 0));
    let dir = tempfile::tempdir().unwrap();
    let codex_home = dir.path().join("codex");
    std::fs::create_dir_all(&codex_home).unwrap();
    let tokens = issuer.issue_tokens(Duration::from_secs(3600));
    std::fs::write(
        codex_home.join("auth.json"),
        tokens.cli_auth_json().to_string(),
    )
    .unwrap();
    // Edition 2021: setting the environment is safe; this binary runs this one test.
    std::env::set_var("CLINE_PROVIDER_HOME", dir.path().join("sdk"));
    std::env::set_var("CODEX_HOME", &codex_home);
    std::env::set_var("CLINE_CODEX_ISSUER", issuer.url());
    std::env::set_var("CLINE_CODEX_BASE_URL", backend.base_url());

    let member = MemberSettings::from_json(
        &json!({"apiProvider": "openai-codex", "openAiModelId": "gpt-5.4"}).to_string(),
    )
    .unwrap();
    let settings = resolve(None, &member);
    // No API key is stored: a Codex connection needs none.
    let provider = connect(&settings, &MemorySecretStore::new()).unwrap();
    let info = provider.info();
    assert_eq!(info.kind, ProviderKind::OpenAiCodex);
    assert_eq!(info.default_model.as_deref(), Some("gpt-5.4"));
    assert_eq!(
        info.base_url.map(|u| u.to_string()),
        Some(backend.base_url())
    );

    let mut stream = provider
        .stream(ChatRequest::new("").message(Message::user("hello")))
        .await
        .unwrap();
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        if let cline_provider::StreamEvent::TextDelta { text: t } = event.unwrap() {
            text.push_str(&t);
        }
    }
    assert_eq!(text, "Hi from the plan");
    let sent = backend.responses_requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].json().unwrap()["model"], "gpt-5.4");
    assert_eq!(
        sent[0].header("authorization"),
        Some(format!("Bearer {}", tokens.access_token).as_str())
    );

    // The enforcement wrapper is in front: the sign-in's headers cannot be set by a request.
    for header in ["Authorization", "chatgpt-account-id"] {
        let err = provider
            .stream(
                ChatRequest::new("")
                    .message(Message::user("x"))
                    .header(header, "forged"),
            )
            .await
            .err()
            .expect("refused before sending");
        assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
        assert_eq!(err.field(), Some(format!("headers.{header}").as_str()));
        assert!(err.message().contains("sign-in with OpenAI"), "{err}");
    }
    assert_eq!(
        backend.responses_requests().len(),
        1,
        "nothing more was sent"
    );

    // The sign-in's token never goes over plain HTTP to another machine.
    std::env::set_var(
        "CLINE_CODEX_BASE_URL",
        "http://codex.example.com/backend-api/codex",
    );
    let err = connect(&settings, &MemorySecretStore::new())
        .err()
        .expect("refused");
    assert_eq!(err.field(), Some("CLINE_CODEX_BASE_URL"));
}
