//! An organization's policy, live: a member's program holds a `ManagedConnection`, the
//! administrator changes the policy on the admin API while a reply is streaming, and the
//! program follows without a restart. The admin API and two LLM gateways are simulated on
//! 127.0.0.1 (the offline demo endpoint), so this runs anywhere.
//!
//! ```sh
//! cargo run --example org_policy                          # the live walk-through
//! cargo run --example org_policy -- --policy-file p.json  # a policy distributed as a file
//! ```
//!
//! The walk-through: open the connection (policy fetched, settings report with every check),
//! refused edits and a refused request, then a reply starts streaming from the EU gateway; the
//! administrator moves everyone to the US gateway; the member's program is told what changed,
//! the reply in flight finishes on the EU gateway, and the next one goes to the US gateway.
//!
//! With `--policy-file`, the file's `openAiBaseUrl` must point at a reachable endpoint.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use cline_provider::policy::{
    ConfigDir, Edit, EffectiveSettings, ManagedConnection, MemberSettings, Organization, Policy,
    RefreshOutcome, RemoteConfigClient,
};
use cline_provider::secrets::{MemorySecretStore, SecretStore, OPENAI_API_KEY};
use cline_provider::{
    connect_with, connector, ChatRequest, ConnectOptions, Error, ErrorKind, EventStream, Message,
    StreamEvent,
};
use cline_provider_testkit::{demo, Reply, TestServer};
use futures_util::StreamExt;
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [] => live().await,
        [flag, path] if flag == "--policy-file" => from_file(path).await,
        _ => Err(Error::invalid_config(
            "arguments",
            "usage: org_policy [--policy-file <path>]",
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}\nhint: {}", e.hint());
            ExitCode::FAILURE
        }
    }
}

/// What the member had chosen before the organization took over.
const MEMBER_SETTINGS: &str = r#"{
    "apiProvider": "openai",
    "openAiBaseUrl": "https://my-own-gateway.example.com/v1",
    "openAiModelId": "demo-chat",
    "reasoningEffort": "low"
}"#;

fn policy(version: &str, gateway: &TestServer, team: &str) -> Value {
    json!({
        "version": version,
        "providerSettings": {"OpenAiCompatible": {
            "openAiBaseUrl": format!("{}/v1", gateway.url()),
            "openAiHeaders": {"X-Acme-Team": team},
            "models": [
                {"id": "demo-chat", "contextWindow": 32000, "maxTokens": 4096,
                 "inputPrice": 0.5, "outputPrice": 1.5, "supportsImages": false},
                {"id": "demo-reasoner", "contextWindow": 64000, "maxTokens": 8192}
            ]
        }},
        "telemetryEnabled": false
    })
}

/// The organization's admin API on 127.0.0.1: discovery answers with the policy published
/// last, to the member's account token only.
async fn admin_api(published: Arc<Mutex<Value>>) -> Result<TestServer, Error> {
    let admin = TestServer::start().await?;
    admin.route_fn("GET", "/api/v1/users/me/remote-config", move |req| {
        if req.header("authorization") != Some("Bearer member-account-token") {
            return Reply::json(401, json!({"success": false, "error": "not signed in"}));
        }
        let doc = published.lock().map(|d| d.to_string()).unwrap_or_default();
        Reply::json(
            200,
            json!({"success": true, "data": {
                "organizationId": "org-acme",
                "value": doc,
                "organizations": [{"organizationId": "org-acme", "name": "Acme Corp"}]
            }}),
        )
    });
    Ok(admin)
}

async fn live() -> Result<(), Error> {
    let eu = demo::start().await?;
    let us = demo::start().await?;
    let published = Arc::new(Mutex::new(policy("v1", &eu, "platform-eu")));
    let admin = admin_api(published.clone()).await?;
    println!(
        "== The admin API ({}) publishes policy v1: the EU gateway",
        admin.url()
    );

    // The member's own settings and key, in a private directory.
    let dir = tempfile::tempdir()?;
    let config = ConfigDir::new(dir.path());
    config.save_member_settings(
        &MemberSettings::from_json(MEMBER_SETTINGS)?,
        &MemorySecretStore::new(),
    )?;
    let secrets = Arc::new(config.file_secret_store());
    secrets.set(OPENAI_API_KEY, "sk-member-own-key-7f3a".to_owned().into())?;

    let remote = RemoteConfigClient::new(&admin.url(), "member-account-token".to_owned().into())?
        .with_cache_dir(config.policy_cache_dir());
    let managed = ManagedConnection::open(
        connector(),
        Arc::new(remote),
        config,
        secrets,
        ConnectOptions::default(),
    )
    .await?;
    let provider = managed.provider();
    let mut updates = managed.subscribe();
    updates.borrow_and_update();

    println!("\n== Settings report\n{}", managed.report().await);

    println!("== The member tries to change the base URL");
    refused(
        managed
            .edit(Edit::BaseUrl(Some(
                "https://elsewhere.example.com/v1".into(),
            )))
            .await,
    )?;
    println!("\n== The member picks a model the organization does not offer");
    refused(managed.edit(Edit::Model(Some("gpt-4o".into()))).await)?;
    println!("\n== A program asks for that model in a request");
    refused(provider.stream(hello("gpt-4o")).await.map(|_| ()))?;
    println!(
        "[the gateways received {} requests]",
        chats(&eu) + chats(&us)
    );

    println!("\n== A reply starts streaming from the EU gateway");
    let mut in_flight = provider.stream(hello("")).await?;
    let started = take_words(&mut in_flight, 6).await?;
    println!("{started}…");

    println!("\n== The administrator moves everyone to the US gateway (policy v2)");
    if let Ok(mut doc) = published.lock() {
        *doc = policy("v2", &us, "platform-us");
    }
    let outcome = managed.refresh_now().await;
    if !matches!(outcome, RefreshOutcome::Applied { changed: true, .. }) {
        return Err(expectation("the new policy was not applied"));
    }
    if !updates.has_changed().unwrap_or(false) {
        return Err(expectation("no change was announced"));
    }
    let update = updates.borrow_and_update().clone();
    println!("The member's settings screen is told:");
    for change in &update.changes {
        println!("  - {}", change.message);
    }

    println!("\n== The reply that started before the change finishes on the EU gateway");
    println!("…{}", take_words(&mut in_flight, usize::MAX).await?);

    println!("\n== The next reply comes from the US gateway");
    let mut next = provider.stream(hello("")).await?;
    println!("{}", take_words(&mut next, usize::MAX).await?);

    let (eu_seen, us_seen) = (last_chat(&eu)?, last_chat(&us)?);
    println!(
        "\n[EU gateway: {} request(s), X-Acme-Team: {}; US gateway: {} request(s), X-Acme-Team: {}]",
        chats(&eu),
        eu_seen.0,
        chats(&us),
        us_seen.0
    );
    if chats(&eu) != 1 || chats(&us) != 1 || us_seen.0 != "platform-us" || us_seen.1 != "demo-chat"
    {
        return Err(expectation(
            "the requests did not reach the gateways the policy names",
        ));
    }
    Ok(())
}

/// A policy distributed as a file: the report, and one reply through `connect_with`.
async fn from_file(path: &str) -> Result<(), Error> {
    println!("== Loading the organization's policy from {path}");
    let policy = Policy::from_file(path.as_ref(), Organization::new("local-file"))?;
    let settings = EffectiveSettings::new(
        Some(policy.into()),
        MemberSettings::from_json(MEMBER_SETTINGS)?,
    );
    let secrets = MemorySecretStore::new();
    if let Ok(key) = std::env::var("OPENAI_API_KEY") {
        secrets.set(OPENAI_API_KEY, key.into())?;
    }
    println!("\n{}", settings.report_with_credentials(&secrets));
    let connection = connect_with(&settings, &secrets, &ConnectOptions::default())?;
    for warning in connection.warnings() {
        println!("warning: {warning}");
    }
    let mut stream = cline_provider::Provider::stream(connection.provider(), hello("")).await?;
    println!("{}", take_words(&mut stream, usize::MAX).await?);
    Ok(())
}

fn hello(model: &str) -> ChatRequest {
    ChatRequest::new(model).message(Message::user("Hello from Acme"))
}

fn refused(result: Result<(), Error>) -> Result<(), Error> {
    match result {
        Ok(()) => Err(expectation("the policy let it through")),
        Err(refusal) => {
            println!("refused: {refusal}\nhint: {}", refusal.hint());
            Ok(())
        }
    }
}

/// Up to `n` text pieces of the reply, joined.
async fn take_words(stream: &mut EventStream, n: usize) -> Result<String, Error> {
    let mut text = String::new();
    let mut taken = 0;
    while taken < n {
        match stream.next().await {
            Some(event) => {
                if let StreamEvent::TextDelta { text: t } = event? {
                    text.push_str(&t);
                    taken += 1;
                }
            }
            None => break,
        }
    }
    Ok(text)
}

fn chats(gateway: &TestServer) -> usize {
    gateway
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/chat/completions")
        .count()
}

/// The `X-Acme-Team` header and model of the last chat request `gateway` received.
fn last_chat(gateway: &TestServer) -> Result<(String, String), Error> {
    let sent = gateway
        .requests()
        .into_iter()
        .rfind(|r| r.path == "/v1/chat/completions")
        .ok_or_else(|| expectation("a gateway received no request"))?;
    Ok((
        sent.header("x-acme-team").unwrap_or("(missing)").to_owned(),
        sent.json()
            .and_then(|b| b["model"].as_str().map(str::to_owned))
            .unwrap_or_default(),
    ))
}

fn expectation(what: &str) -> Error {
    Error::new(
        ErrorKind::Protocol,
        format!("the example's expectation failed: {what}"),
    )
}
