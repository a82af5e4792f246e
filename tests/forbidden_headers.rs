//! Headers that change what a request means (`Host`, `Content-Length`, …) are refused from
//! each of the four places a header can come from: the organization's document, the member's
//! settings, a request, and `OpenAiConfig`. All four pass through `core::http::validate_header`.

use cline_provider::openai::{OpenAiConfig, OpenAiProvider};
use cline_provider::policy::{resolve, Edit, MemberSettings, Organization, Policy};
use cline_provider::secrets::{MemorySecretStore, SecretStore, OPENAI_API_KEY};
use cline_provider::{connect, ChatRequest, ErrorKind, Message, Provider};
use cline_provider_testkit::{openai, Reply, TestServer};
use serde_json::json;

const FORBIDDEN: [&str; 11] = [
    "Host",
    "Content-Length",
    "Transfer-Encoding",
    "Connection",
    "Upgrade",
    "TE",
    "Trailer",
    "Keep-Alive",
    "Proxy-Authorization",
    "proxy-connection",
    "Expect",
];

fn value_for(name: &str) -> &'static str {
    match name {
        "Host" => "evil.example",
        "Content-Length" => "3",
        _ => "x",
    }
}

fn assert_refused(err: &cline_provider::Error, name: &str, field_end: &str) {
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig, "{name}: {err}");
    let field = err.field().unwrap_or_default();
    assert!(field.ends_with(field_end), "{name}: field {field}");
    assert!(
        err.message().contains(name) && err.message().contains("cannot be set"),
        "{name}: {err}"
    );
    assert!(!err.hint().is_empty());
}

#[test]
fn an_organization_document_with_a_forbidden_header_is_refused() {
    for name in FORBIDDEN {
        let doc = json!({"version": "1", "providerSettings": {"OpenAiCompatible": {
            "openAiBaseUrl": "https://llm.example.com/v1",
            "openAiHeaders": {"X-Team": "a", name: value_for(name)}
        }}});
        let err = Policy::from_json(&doc.to_string(), Organization::new("org-1")).unwrap_err();
        assert_refused(
            &err,
            name,
            &format!("providerSettings.OpenAiCompatible.openAiHeaders.{name}"),
        );
    }
}

#[test]
fn member_settings_with_a_forbidden_header_are_refused_and_an_edit_changes_nothing() {
    for name in FORBIDDEN {
        let doc = json!({"openAiHeaders": {name: value_for(name)}});
        let err = MemberSettings::from_json(&doc.to_string()).unwrap_err();
        assert_refused(&err, name, &format!("openAiHeaders.{name}"));

        let mut settings = resolve(None, &MemberSettings::default());
        let before = settings.clone();
        let err = settings
            .edit(Edit::SetHeader {
                name: name.into(),
                value: value_for(name).into(),
            })
            .unwrap_err();
        assert_refused(&err, name, name);
        assert_eq!(
            settings, before,
            "{name}: a refused edit changed the settings"
        );
    }
}

async fn endpoint() -> TestServer {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        "/v1/chat/completions",
        Reply::sse(openai::text_stream("m", &["hi"], "stop", None)),
    );
    server
}

#[tokio::test]
async fn a_request_with_a_forbidden_header_is_refused_before_anything_is_sent() {
    let server = endpoint().await;
    let member = MemberSettings::from_json(
        &json!({"openAiBaseUrl": format!("{}/v1", server.url()), "openAiModelId": "m"}).to_string(),
    )
    .unwrap();
    let secrets = MemorySecretStore::new();
    secrets
        .set(OPENAI_API_KEY, "sk-member".to_owned().into())
        .unwrap();
    let connected = connect(&resolve(None, &member), &secrets).unwrap();
    let plain = OpenAiProvider::new(
        OpenAiConfig::new(&format!("{}/v1", server.url()))
            .unwrap()
            .api_key("k"),
    )
    .unwrap();
    let providers: [&dyn Provider; 2] = [connected.as_ref(), &plain];
    for provider in providers {
        for name in FORBIDDEN {
            let request = ChatRequest::new("m")
                .message(Message::user("hello"))
                .header(name, value_for(name));
            let err = match provider.stream(request).await {
                Ok(_) => panic!("{name}: the request was sent"),
                Err(e) => e,
            };
            assert_refused(&err, name, name);
        }
    }
    assert_eq!(
        server.requests().len(),
        0,
        "a refused request reached the server"
    );

    // The same request without the header goes through: the refusal was the header's.
    connected
        .complete(ChatRequest::new("m").message(Message::user("hello")))
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn an_openai_config_with_a_forbidden_header_is_refused() {
    for name in FORBIDDEN {
        let config = OpenAiConfig::new("https://llm.example.com/v1")
            .unwrap()
            .header(name, value_for(name));
        let err = config.validate().unwrap_err();
        assert_refused(&err, name, name);
        assert!(OpenAiProvider::new(config).is_err(), "{name}");
    }
}
