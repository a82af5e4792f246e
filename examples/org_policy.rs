//! An organization's policy, end to end: fetch it from an admin API (the testkit plays one on
//! 127.0.0.1), apply it to a member's settings, show the settings report, try to change a
//! locked field, and stream a reply through `connect()`.
//!
//! ```sh
//! cargo run --example org_policy                       # admin API simulated locally
//! cargo run --example org_policy -- --policy-file p.json  # a policy distributed as a file
//! ```
//!
//! With `--policy-file`, the file's `openAiBaseUrl` must point at a reachable endpoint for the
//! last step; without it, the policy points at the offline demo endpoint.

use std::process::ExitCode;

use cline_provider::policy::{
    Edit, EffectiveSettings, MemberSettings, Organization, Policy, RefreshOutcome,
    RemoteConfigClient,
};
use cline_provider::secrets::{MemorySecretStore, SecretStore, OPENAI_API_KEY};
use cline_provider::{connect, ChatRequest, Error, Message, StreamEvent};
use cline_provider_testkit::{demo, Reply, TestServer};
use futures_util::StreamExt;
use serde_json::json;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}\nhint: {}", e.hint());
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let policy_file = match args.as_slice() {
        [] => None,
        [flag, path] if flag == "--policy-file" => Some(path.clone()),
        _ => {
            return Err(Error::invalid_config(
                "arguments",
                "usage: org_policy [--policy-file <path>]",
            ))
        }
    };

    // The LLM endpoint the organization points its members at: here, the offline demo.
    let llm = demo::start().await?;

    let policy = match policy_file {
        Some(path) => {
            println!("== Loading the organization's policy from {path}");
            Policy::from_file(path.as_ref(), Organization::new("local-file"))?
        }
        None => fetch_from_admin_api(&llm).await?,
    };

    // What the member had chosen before the organization took over.
    let member = MemberSettings::from_json(
        r#"{
            "apiProvider": "openai",
            "openAiBaseUrl": "https://my-own-gateway.example.com/v1",
            "openAiModelId": "demo-chat",
            "reasoningEffort": "low"
        }"#,
    )?;
    let secrets = MemorySecretStore::new();
    secrets.set(OPENAI_API_KEY, "sk-member-own-key-7f3a".to_owned().into())?;

    let mut settings = EffectiveSettings::new(Some(policy.into()), member);

    println!(
        "\n== Settings report\n{}",
        settings.report_with_credentials(&secrets)
    );

    println!("== The member tries to change the base URL");
    match settings.edit(Edit::BaseUrl(Some(
        "https://elsewhere.example.com/v1".into(),
    ))) {
        Ok(()) => {
            return Err(Error::invalid_config(
                "openAiBaseUrl",
                "a locked field changed",
            ))
        }
        Err(refusal) => println!("refused: {refusal}\nhint: {}", refusal.hint()),
    }

    println!("\n== The member picks a model the organization does not offer");
    match settings.edit(Edit::Model(Some("gpt-4o".into()))) {
        Ok(()) => println!("accepted"),
        Err(refusal) => println!("refused: {refusal}\nhint: {}", refusal.hint()),
    }

    println!("\n== Streaming a reply through connect()");
    let provider = connect(&settings, &secrets)?;
    let mut stream = provider
        .stream(ChatRequest::new("").message(Message::user("Hello from Acme")))
        .await?;
    while let Some(event) = stream.next().await {
        match event? {
            StreamEvent::TextDelta { text } => print!("{text}"),
            StreamEvent::Usage(u) => {
                println!("\n[usage: {} in, {} out]", u.input_tokens, u.output_tokens)
            }
            _ => {}
        }
    }
    let sent = llm
        .requests()
        .into_iter()
        .rfind(|r| r.path == "/v1/chat/completions")
        .ok_or_else(|| Error::invalid_config("endpoint", "no request reached the endpoint"))?;
    println!(
        "[the endpoint saw X-Acme-Team: {}, model: {}]",
        sent.header("x-acme-team").unwrap_or("(missing)"),
        sent.json()
            .and_then(|b| b["model"].as_str().map(str::to_owned))
            .unwrap_or_default()
    );
    Ok(())
}

/// Plays the organization's admin API on 127.0.0.1 and fetches the policy from it the way a
/// member's SDK does: discovery first, then the organization's endpoint.
async fn fetch_from_admin_api(llm: &TestServer) -> Result<Policy, Error> {
    let admin = TestServer::start().await?;
    let policy = json!({
        "version": "v1",
        "providerSettings": {
            "OpenAiCompatible": {
                "openAiBaseUrl": format!("{}/v1", llm.url()),
                "openAiHeaders": {"X-Acme-Team": "platform"},
                "models": [
                    {"id": "demo-chat", "contextWindow": 32000, "maxTokens": 4096,
                     "inputPrice": 0.5, "outputPrice": 1.5, "supportsImages": false},
                    {"id": "demo-reasoner", "contextWindow": 64000, "maxTokens": 8192}
                ]
            }
        },
        "telemetryEnabled": false
    });
    admin.route(
        "GET",
        "/api/v1/users/me/remote-config",
        Reply::json(
            200,
            json!({"success": true, "data": {
                "organizationId": "org-acme",
                "organizations": [{"organizationId": "org-acme", "name": "Acme Corp"}]
            }}),
        ),
    );
    admin.route(
        "GET",
        "/api/v1/organizations/org-acme/remote-config",
        Reply::json(
            200,
            json!({"success": true, "error": "", "data": {
                "enabled": true, "value": policy.to_string()
            }}),
        ),
    );

    println!("== Fetching the organization's policy from {}", admin.url());
    let cache =
        std::env::temp_dir().join(format!("cline-provider-org-policy-{}", std::process::id()));
    let client = RemoteConfigClient::new(&admin.url(), "member-account-token".to_owned().into())?
        .with_cache_dir(&cache);
    let outcome = client.refresh().await;
    let _ = std::fs::remove_dir_all(&cache);
    match outcome {
        RefreshOutcome::Applied { policy, .. } => {
            println!("applied the policy of {}", policy.organization);
            Ok((*policy).clone())
        }
        other => Err(other
            .error()
            .map(|e| Error::new(e.kind().clone(), e.message()))
            .unwrap_or_else(|| {
                Error::invalid_config("policy", "the admin API returned no policy")
            })),
    }
}
