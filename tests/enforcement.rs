//! The provider `connect()` returns enforces the organization's policy on every request,
//! before a byte is sent: the offered models (from `ChatRequest::model` and from the extra
//! body field `model`), the organization's headers and the credential header. The testkit's
//! server records what arrived; a refused request leaves it with nothing.

use cline_provider::policy::{resolve, EffectiveSettings, MemberSettings, Organization, Policy};
use cline_provider::secrets::{MemorySecretStore, SecretStore, OPENAI_API_KEY};
use cline_provider::{connect, ChatRequest, Error, ErrorKind, Message, Provider};
use cline_provider_testkit::{openai, Reply, TestServer};
use serde_json::json;

async fn endpoint() -> TestServer {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        "/v1/chat/completions",
        Reply::sse(openai::text_stream("team-model", &["hi"], "stop", None)),
    );
    server.route(
        "GET",
        "/v1/models",
        Reply::json(200, openai::models(&["team-model", "other-model"])),
    );
    server
}

fn org_settings(server: &TestServer, models: serde_json::Value) -> EffectiveSettings {
    let mut block = json!({
        "openAiBaseUrl": format!("{}/v1", server.url()),
        "openAiHeaders": {"X-Team": "search"},
    });
    if !models.is_null() {
        block["models"] = models;
    }
    let doc = json!({"version": "1", "providerSettings": {"OpenAiCompatible": block}});
    let policy = Policy::from_json(
        &doc.to_string(),
        Organization::new("org-1").with_name("Acme"),
    )
    .unwrap();
    resolve(Some(&policy), &MemberSettings::default())
}

fn offered() -> serde_json::Value {
    json!([{"id": "team-model", "contextWindow": 64000}, {"id": "small-model"}])
}

fn secrets() -> MemorySecretStore {
    let s = MemorySecretStore::new();
    s.set(OPENAI_API_KEY, "sk-member-key".to_owned().into())
        .unwrap();
    s
}

fn chat_requests(server: &TestServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/chat/completions")
        .count()
}

async fn refused(provider: &dyn Provider, request: ChatRequest) -> Error {
    match provider.stream(request).await {
        Ok(_) => panic!("the request was sent"),
        Err(e) => e,
    }
}

fn hello(model: &str) -> ChatRequest {
    ChatRequest::new(model).message(Message::user("hello"))
}

fn assert_model_refused(err: &Error, requested: &str) {
    assert_eq!(err.kind(), &ErrorKind::LockedByOrganization, "{err}");
    assert_eq!(err.field(), Some("openAiModelId"));
    assert_eq!(err.organization(), Some("Acme"));
    assert_eq!(err.available_models(), ["team-model", "small-model"]);
    assert!(err.message().contains(requested), "{err}");
    assert!(
        err.hint().contains("team-model, small-model"),
        "{}",
        err.hint()
    );
    // The same typed refusal as an `Edit::Model` outside the list.
    assert!(err.policy_error().is_some());
}

#[tokio::test]
async fn a_model_the_organization_does_not_offer_never_reaches_the_server() {
    let server = endpoint().await;
    let provider = connect(&org_settings(&server, offered()), &secrets()).unwrap();

    let err = refused(provider.as_ref(), hello("gpt-4o")).await;
    assert_model_refused(&err, "gpt-4o");
    // Ids compare as the endpoint compares them: no case folding, no trimming.
    for near in ["Team-Model", "team-model ", " team-model"] {
        let err = refused(provider.as_ref(), hello(near)).await;
        assert_model_refused(&err, near);
    }
    assert_eq!(chat_requests(&server), 0);

    // An offered model goes through, and so does an empty one (the effective model).
    provider.complete(hello("small-model")).await.unwrap();
    provider.complete(hello("")).await.unwrap();
    let sent: Vec<String> = server
        .requests()
        .iter()
        .filter_map(|r| r.json())
        .map(|b| b["model"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(sent, ["small-model", "team-model"]);
}

#[tokio::test]
async fn a_model_in_the_extra_body_field_is_checked_too() {
    let server = endpoint().await;
    let provider = connect(&org_settings(&server, offered()), &secrets()).unwrap();

    let err = refused(
        provider.as_ref(),
        hello("").body_field("model", json!("gpt-4o")),
    )
    .await;
    assert_model_refused(&err, "gpt-4o");
    let err = refused(
        provider.as_ref(),
        hello("team-model").body_field("model", json!("gpt-4o")),
    )
    .await;
    assert_model_refused(&err, "gpt-4o");
    let err = refused(
        provider.as_ref(),
        hello("team-model").body_field("model", json!(["team-model"])),
    )
    .await;
    assert_eq!(err.kind(), &ErrorKind::LockedByOrganization);
    assert_eq!(chat_requests(&server), 0);

    provider
        .complete(hello("").body_field("model", json!("small-model")))
        .await
        .unwrap();
    assert_eq!(server.requests()[0].json().unwrap()["model"], "small-model");
}

#[tokio::test]
async fn a_header_the_organization_sets_survives_a_per_request_attempt() {
    let server = endpoint().await;
    let provider = connect(&org_settings(&server, offered()), &secrets()).unwrap();

    for name in ["X-Team", "x-team", "X-TEAM"] {
        for value in ["mine", ""] {
            let err = refused(provider.as_ref(), hello("").header(name, value)).await;
            assert_eq!(err.kind(), &ErrorKind::LockedByOrganization, "{err}");
            assert_eq!(err.field(), Some(format!("openAiHeaders.{name}").as_str()));
            assert_eq!(err.organization(), Some("Acme"));
            assert!(err.message().contains(name), "{err}");
            assert!(err.hint().contains(name), "{}", err.hint());
        }
    }
    assert_eq!(chat_requests(&server), 0);

    // Repeating the organization's own value changes nothing and is let through; another
    // header the organization does not set is the request's to add.
    provider
        .complete(
            hello("")
                .header("X-Team", "search")
                .header("X-Trace", "t-1"),
        )
        .await
        .unwrap();
    let sent = &server.requests()[0];
    assert_eq!(sent.header_all("x-team"), ["search"]);
    assert_eq!(sent.header("x-trace"), Some("t-1"));
}

#[tokio::test]
async fn the_credential_header_cannot_be_replaced_per_request() {
    let server = endpoint().await;
    let provider = connect(&org_settings(&server, offered()), &secrets()).unwrap();
    for name in ["Authorization", "authorization"] {
        let err = refused(
            provider.as_ref(),
            hello("").header(name, "Bearer someone-else"),
        )
        .await;
        assert_eq!(err.kind(), &ErrorKind::InvalidConfig, "{err}");
        assert_eq!(err.field(), Some(format!("headers.{name}").as_str()));
        assert!(err.message().contains("credential"), "{err}");
    }
    assert_eq!(chat_requests(&server), 0);
    provider.complete(hello("")).await.unwrap();
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer sk-member-key")
    );
}

#[tokio::test]
async fn the_model_list_is_the_organizations_when_it_has_one() {
    let server = endpoint().await;
    let provider = connect(&org_settings(&server, offered()), &secrets()).unwrap();
    let models = provider.list_models().await.unwrap();
    let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["team-model", "small-model"]);
    assert_eq!(models[0].context_window, Some(64000));
    assert!(server.requests().is_empty(), "the endpoint was asked");
    assert_eq!(provider.info().default_model.as_deref(), Some("team-model"));

    // Without a list, the endpoint's own.
    let provider = connect(&org_settings(&server, serde_json::Value::Null), &secrets()).unwrap();
    let ids: Vec<String> = provider
        .list_models()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, ["team-model", "other-model"]);
    assert_eq!(server.requests()[0].path, "/v1/models");
}

#[tokio::test]
async fn without_a_list_any_model_reaches_the_endpoint() {
    let server = endpoint().await;
    let provider = connect(&org_settings(&server, serde_json::Value::Null), &secrets()).unwrap();
    provider.complete(hello("anything-at-all")).await.unwrap();
    assert_eq!(
        server.requests()[0].json().unwrap()["model"],
        "anything-at-all"
    );
}

#[tokio::test]
async fn an_empty_list_set_by_hand_offers_no_model_rather_than_every_model() {
    let server = endpoint().await;
    let mut policy = Policy::from_json(
        &json!({"version": "1", "providerSettings": {"OpenAiCompatible": {
            "openAiBaseUrl": format!("{}/v1", server.url()),
            "models": [{"id": "team-model"}]
        }}})
        .to_string(),
        Organization::new("org-1").with_name("Acme"),
    )
    .unwrap();
    policy.config.openai_compatible.as_mut().unwrap().models = Some(Vec::new());
    let settings = resolve(Some(&policy), &MemberSettings::default());
    assert_eq!(settings.offered_models(), Some(&[][..]));
    let provider = connect(&settings, &secrets()).unwrap();
    for model in ["team-model", "", "gpt-4o"] {
        let err = refused(provider.as_ref(), hello(model)).await;
        assert_ne!(err.kind(), &ErrorKind::Unreachable, "{err}");
    }
    let err = refused(provider.as_ref(), hello("team-model")).await;
    assert_eq!(err.kind(), &ErrorKind::LockedByOrganization);
    assert!(err.message().contains("offered: none"), "{err}");
    assert_eq!(chat_requests(&server), 0);
}

#[tokio::test]
async fn without_a_policy_the_members_own_headers_stay_the_requests_to_replace() {
    let server = endpoint().await;
    let member = MemberSettings::from_json(
        &json!({
            "openAiBaseUrl": format!("{}/v1", server.url()),
            "openAiHeaders": {"X-Team": "mine"},
            "openAiModelId": "team-model"
        })
        .to_string(),
    )
    .unwrap();
    let provider = connect(&resolve(None, &member), &secrets()).unwrap();
    provider
        .complete(hello("").header("X-Team", "per-request"))
        .await
        .unwrap();
    assert_eq!(server.requests()[0].header("x-team"), Some("per-request"));
}
