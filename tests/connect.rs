//! `connect()` turns effective settings and the member's secrets into a working provider, or
//! a typed error that says what is missing.

use cline_provider::policy::{resolve, MemberSettings, Organization, Policy};
use cline_provider::secrets::{MemorySecretStore, SecretStore, OPENAI_API_KEY};
use std::sync::{Arc, Mutex};

use cline_provider::http::{ConfigWarning, HttpConfig, RetryPolicy};
use cline_provider::{
    connect, connect_with, ChatRequest, ConnectOptions, ErrorKind, Message, Provider, ProviderKind,
};
use cline_provider_testkit::{openai, Reply, TestServer};
use serde_json::json;

fn policy(doc: serde_json::Value) -> Policy {
    Policy::from_json(
        &doc.to_string(),
        Organization::new("org-1").with_name("Acme"),
    )
    .unwrap()
}

fn member(doc: serde_json::Value) -> MemberSettings {
    MemberSettings::from_json(&doc.to_string()).unwrap()
}

fn secrets_with_key() -> MemorySecretStore {
    let s = MemorySecretStore::new();
    s.set(OPENAI_API_KEY, "sk-member-key".to_owned().into())
        .unwrap();
    s
}

fn connect_err(
    settings: &cline_provider::policy::EffectiveSettings,
    secrets: &dyn SecretStore,
) -> cline_provider::Error {
    match connect(settings, secrets) {
        Ok(_) => panic!("connect should fail"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn the_organizations_url_headers_and_model_reach_the_wire_with_the_members_key() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        "/v1/chat/completions",
        Reply::sse(openai::text_stream(
            "team-model",
            &["hi"],
            "stop",
            Some((3, 1)),
        )),
    );
    let org = policy(json!({
        "version": "1",
        "providerSettings": {"OpenAiCompatible": {
            "openAiBaseUrl": format!("{}/v1", server.url()),
            "openAiHeaders": {"X-Team": "search"},
            "models": [{"id": "team-model", "maxTokens": 256}]
        }}
    }));
    let me = member(json!({
        "openAiBaseUrl": "https://mine.example.com/v1",
        "openAiHeaders": {"X-Team": "mine"},
        "openAiModelId": "team-model"
    }));
    let settings = resolve(Some(&org), &me);
    let provider = connect(&settings, &secrets_with_key()).unwrap();
    assert_eq!(provider.info().kind, ProviderKind::OpenAiCompatible);

    let reply = provider
        .complete(ChatRequest::new("").message(Message::user("hello")))
        .await
        .unwrap();
    assert_eq!(reply.text, "hi");

    let sent = &server.requests()[0];
    assert_eq!(sent.header("x-team"), Some("search"));
    assert_eq!(sent.header("authorization"), Some("Bearer sk-member-key"));
    let body = sent.json().unwrap();
    assert_eq!(body["model"], "team-model");
    // The organization's model info supplies the output limit.
    assert_eq!(body["max_tokens"], 256);
}

#[test]
fn a_missing_key_is_refused_with_a_hint() {
    let settings = resolve(
        None,
        &member(json!({"openAiBaseUrl": "https://llm.example.com/v1"})),
    );
    let err = connect_err(&settings, &MemorySecretStore::new());
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    assert_eq!(err.field(), Some(OPENAI_API_KEY));
    assert!(err.hint().contains("API key"), "{}", err.hint());
}

#[test]
fn no_base_url_is_refused() {
    let err = connect_err(
        &resolve(None, &MemberSettings::default()),
        &secrets_with_key(),
    );
    assert_eq!(err.field(), Some("openAiBaseUrl"));
}

#[cfg(feature = "azure")]
#[tokio::test]
async fn azure_settings_reach_the_deployment_with_the_api_key_and_the_organizations_version() {
    use cline_provider_testkit::azure;
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        &azure::chat_path("team-4o"),
        Reply::sse(azure::filtered_text_stream("team-4o", &["hi"], None)),
    );
    let org = policy(json!({
        "version": "1",
        "providerSettings": {"OpenAiCompatible": {
            "openAiBaseUrl": format!("{}/openai", server.url()),
            "openAiHeaders": {"X-Team": "search"},
            "azureApiVersion": "2025-04-01-preview",
            "models": [{"id": "team-4o"}, {"id": "team-o3"}]
        }}
    }));
    let settings = resolve(Some(&org), &member(json!({"openAiModelId": "team-4o"})));
    assert!(settings.uses_azure());
    let provider = connect(&settings, &secrets_with_key()).unwrap();
    assert_eq!(provider.info().kind, ProviderKind::AzureFoundry);
    // The organization's model list, without asking the resource.
    let ids: Vec<String> = provider
        .list_models()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, ["team-4o", "team-o3"]);

    let reply = provider
        .complete(ChatRequest::new("").message(Message::user("hello")))
        .await
        .unwrap();
    assert_eq!(reply.text, "hi");
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/openai/deployments/team-4o/chat/completions");
    assert_eq!(
        sent.query.as_deref(),
        Some("api-version=2025-04-01-preview")
    );
    assert_eq!(sent.header("api-key"), Some("sk-member-key"));
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(sent.header("x-team"), Some("search"));
}

#[cfg(feature = "azure")]
#[tokio::test]
async fn the_organizations_enforcement_applies_to_the_azure_backend() {
    use cline_provider_testkit::azure;
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        &azure::chat_path("team-4o"),
        Reply::sse(azure::filtered_text_stream("team-4o", &["hi"], None)),
    );
    server.route(
        "POST",
        &azure::chat_path("gpt-4o"),
        Reply::sse(azure::filtered_text_stream("gpt-4o", &["no"], None)),
    );
    let org = policy(json!({
        "version": "1",
        "providerSettings": {"OpenAiCompatible": {
            "openAiBaseUrl": format!("{}/openai", server.url()),
            "openAiHeaders": {"X-Team": "search"},
            "azureApiVersion": "2024-10-21",
            "models": [{"id": "team-4o"}]
        }}
    }));
    let settings = resolve(Some(&org), &member(json!({"openAiModelId": "team-4o"})));
    let provider = connect(&settings, &secrets_with_key()).unwrap();
    assert_eq!(provider.info().kind, ProviderKind::AzureFoundry);

    // A deployment the organization does not offer never leaves the machine.
    let err = match provider
        .stream(ChatRequest::new("gpt-4o").message(Message::user("x")))
        .await
    {
        Ok(_) => panic!("the request was sent"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), &ErrorKind::LockedByOrganization);
    // Nor does a request that tries to bring its own api-key or change a locked header.
    let mut own_key = ChatRequest::new("team-4o").message(Message::user("x"));
    own_key
        .extra_headers
        .push(("api-key".into(), "someone-elses".into()));
    assert!(provider.stream(own_key).await.is_err());
    let mut other_team = ChatRequest::new("team-4o").message(Message::user("x"));
    other_team
        .extra_headers
        .push(("X-Team".into(), "mine".into()));
    assert!(provider.stream(other_team).await.is_err());
    assert!(server.requests().is_empty(), "{:?}", server.requests());

    // The offered deployment goes through.
    let reply = provider
        .complete(ChatRequest::new("team-4o").message(Message::user("x")))
        .await
        .unwrap();
    assert_eq!(reply.text, "hi");
    assert_eq!(server.requests().len(), 1);
}

#[cfg(feature = "azure")]
#[test]
fn an_azure_host_selects_azure_and_azure_identity_needs_no_key() {
    let settings = resolve(
        None,
        &member(json!({
            "openAiBaseUrl": "https://res.openai.azure.com/openai",
            "openAiModelId": "gpt-4o",
            "azureIdentity": true
        })),
    );
    let provider = connect(&settings, &MemorySecretStore::new()).unwrap();
    assert_eq!(provider.info().kind, ProviderKind::AzureFoundry);

    // Without Azure Identity, the key is required, and the hint says both ways.
    let settings = resolve(
        None,
        &member(
            json!({"openAiBaseUrl": "https://res.openai.azure.com/openai", "openAiModelId": "gpt-4o"}),
        ),
    );
    let err = connect_err(&settings, &MemorySecretStore::new());
    assert_eq!(err.field(), Some(OPENAI_API_KEY));
    assert!(err.message().contains("Azure Identity"), "{err}");
}

#[cfg(feature = "azure")]
#[test]
fn an_entra_id_token_over_plain_http_is_refused_by_connect() {
    let settings = resolve(
        None,
        &member(json!({
            "openAiBaseUrl": "http://res.openai.azure.com/openai",
            "openAiModelId": "gpt-4o",
            "azureIdentity": true
        })),
    );
    let err = connect_err(&settings, &MemorySecretStore::new());
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    assert!(err.message().contains("plain HTTP"), "{err}");
}

#[cfg(not(feature = "azure"))]
#[test]
fn azure_settings_without_the_feature_say_which_feature_to_enable() {
    let settings = resolve(
        None,
        &member(
            json!({"openAiBaseUrl": "https://llm.example.com/v1", "azureApiVersion": "2024-10-21"}),
        ),
    );
    let err = connect_err(&settings, &secrets_with_key());
    assert_eq!(err.field(), Some("provider"));
    assert!(err.message().contains("`azure` feature"), "{err}");
}

#[test]
fn a_deepseek_model_on_an_azure_host_uses_the_plain_protocol() {
    let settings = resolve(
        None,
        &member(json!({
            "openAiBaseUrl": "https://res.services.ai.azure.com/models",
            "openAiModelId": "DeepSeek-R1"
        })),
    );
    let provider = connect(&settings, &secrets_with_key()).unwrap();
    assert_eq!(provider.info().kind, ProviderKind::OpenAiCompatible);
}

#[test]
fn a_provider_the_sdk_does_not_implement_is_refused() {
    let org = policy(
        json!({"version": "1", "providerSettings": {"AwsBedrock": {"awsRegion": "us-east-1"}}}),
    );
    let err = connect_err(
        &resolve(Some(&org), &MemberSettings::default()),
        &secrets_with_key(),
    );
    // The organization chose a provider this SDK does not implement: a configuration the
    // member cannot fix, named as such (not a lock on something the member tried to change).
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig, "{err:?}");
    assert!(err.message().contains("AWS Bedrock"), "{err}");
    assert_eq!(err.field(), Some("apiProvider"));
    assert!(
        err.policy_error().is_some(),
        "the policy refusal stays reachable"
    );
    assert!(!err.hint().is_empty());
}

#[test]
fn azure_identity_on_an_endpoint_that_is_not_azure_is_no_silent_missing_credential() {
    let me = member(json!({
        "openAiBaseUrl": "https://llm.example.com/v1",
        "openAiModelId": "gpt-4o",
        "azureIdentity": true
    }));
    let settings = resolve(None, &me);
    assert!(!settings.uses_azure());
    let err = connect_err(&settings, &MemorySecretStore::new());
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    assert_eq!(err.field(), Some("azureIdentity"));
    assert!(err.message().contains("llm.example.com"), "{err}");
    assert!(err.hint().contains("API key"), "{}", err.hint());
    assert!(err.hint().contains("Azure Identity off"), "{}", err.hint());

    // Locked on by the organization, the hint sends the member to the administrator.
    let org = policy(
        json!({"version": "1", "providerSettings": {"OpenAiCompatible": {
            "openAiBaseUrl": "https://llm.example.com/v1", "azureIdentity": true
        }}}),
    );
    let err = connect_err(
        &resolve(Some(&org), &MemberSettings::default()),
        &MemorySecretStore::new(),
    );
    assert_eq!(err.field(), Some("azureIdentity"));
    assert!(err.hint().contains("administrator"), "{}", err.hint());

    // With a key, the key is used.
    assert!(connect(&settings, &secrets_with_key()).is_ok());
}

#[test]
fn connect_with_returns_the_plain_http_warning_and_require_https_refuses_it() {
    let me = member(json!({"openAiBaseUrl": "http://10.0.0.5:8000/v1", "openAiModelId": "m"}));
    let settings = resolve(None, &me);
    let connection =
        connect_with(&settings, &secrets_with_key(), &ConnectOptions::default()).unwrap();
    assert_eq!(
        connection.warnings(),
        [ConfigWarning::PlainHttpCredential {
            host: "10.0.0.5".into()
        }]
    );

    let options = ConnectOptions {
        require_https: true,
        ..ConnectOptions::default()
    };
    let err = match connect_with(&settings, &secrets_with_key(), &options) {
        Ok(_) => panic!("plain HTTP was accepted under require_https"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    assert!(err.message().contains("require_https"), "{err}");

    // Loopback is fine either way, and warns about nothing.
    let local = resolve(
        None,
        &member(json!({"openAiBaseUrl": "http://127.0.0.1:9/v1", "openAiModelId": "m"})),
    );
    assert!(connect_with(&local, &secrets_with_key(), &options)
        .unwrap()
        .warnings()
        .is_empty());
}

#[tokio::test]
async fn connect_with_uses_the_applications_http_settings_and_retry_callback() {
    let server = TestServer::start().await.unwrap();
    server.route("POST", "/v1/chat/completions", Reply::status(503));
    server.route(
        "POST",
        "/v1/chat/completions",
        Reply::sse(openai::text_stream("m", &["ok"], "stop", None)),
    );
    let settings = resolve(
        None,
        &member(json!({"openAiBaseUrl": format!("{}/v1", server.url()), "openAiModelId": "m"})),
    );
    let retries = Arc::new(Mutex::new(Vec::new()));
    let seen = retries.clone();
    let options = ConnectOptions {
        http: HttpConfig {
            user_agent: "acme-app/2".into(),
            retry: RetryPolicy {
                base_delay: std::time::Duration::from_millis(1),
                ..RetryPolicy::default()
            },
            ..HttpConfig::default()
        },
        on_retry: Some(Arc::new(move |info| {
            seen.lock().unwrap().push(info.status);
        })),
        ..ConnectOptions::default()
    };
    let connection = connect_with(&settings, &secrets_with_key(), &options).unwrap();
    let reply = connection
        .provider()
        .complete(ChatRequest::new("").message(Message::user("hi")))
        .await
        .unwrap();
    assert_eq!(reply.text, "ok");
    assert_eq!(*retries.lock().unwrap(), [Some(503)]);
    let sent = server.requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].header("user-agent"), Some("acme-app/2"));
}
