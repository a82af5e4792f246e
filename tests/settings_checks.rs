//! Every check of the settings report can fail: each test here breaks the condition a check
//! guards and watches it fail (or warn), next to a case where it passes. The endpoint's model
//! listing comes from the testkit's server.

use cline_provider::policy::{
    resolve, Check, CheckContext, CheckStatus, ConfigDir, Edit, MemberSettings, Organization,
    Policy, PolicyCache, PolicySource, SettingsReport,
};
use cline_provider::secrets::{MemorySecretStore, SecretStore, OPENAI_API_KEY};
use cline_provider::{connect_with, ConnectOptions};
use cline_provider_testkit::{openai, Reply, TestServer};
use serde_json::json;

fn check<'a>(report: &'a SettingsReport, name: &str) -> &'a Check {
    report
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name:?} in {report}"))
}

fn status(report: &SettingsReport, name: &str) -> CheckStatus {
    check(report, name).status
}

fn member(doc: serde_json::Value) -> MemberSettings {
    MemberSettings::from_json(&doc.to_string()).unwrap()
}

fn acme(doc: serde_json::Value) -> Policy {
    Policy::from_json(
        &doc.to_string(),
        Organization::new("org-1").with_name("Acme"),
    )
    .unwrap()
}

fn key_store() -> MemorySecretStore {
    let s = MemorySecretStore::new();
    s.set(OPENAI_API_KEY, "sk-member-0000000000".to_owned().into())
        .unwrap();
    s
}

#[test]
fn the_provider_check_fails_when_the_policy_names_only_providers_the_sdk_cannot_serve() {
    let ok = acme(json!({"version": "1", "providerSettings": {"OpenAiCompatible": {}}}));
    let report = resolve(Some(&ok), &MemberSettings::default()).report();
    assert_eq!(
        status(&report, "Provider shows as OpenAI Compatible"),
        CheckStatus::Pass
    );

    let bedrock = acme(
        json!({"version": "1", "providerSettings": {"AwsBedrock": {"awsRegion": "eu-west-1"}}}),
    );
    let report = resolve(Some(&bedrock), &MemberSettings::default()).report();
    assert_eq!(
        status(&report, "Provider shows as OpenAI Compatible"),
        CheckStatus::Fail
    );
    assert!(!report.all_checks_pass());
}

#[test]
fn the_round_trip_check_fails_for_a_value_the_settings_file_cannot_hold() {
    let mut m = member(json!({
        "openAiBaseUrl": "https://llm.example.com/v1",
        "openAiModelId": "m",
        "openAiHeaders": {"X-Api-Key": "hdr-secret", "X-Team": "blue"},
        "openAiModelInfo": {"temperature": 0.2, "contextWindow": 8000}
    }));
    let report = resolve(None, &m).report();
    assert_eq!(
        status(&report, "Settings survive a save and reload"),
        CheckStatus::Pass,
        "{report}"
    );

    // JSON has no NaN: a temperature set to NaN by hand comes back unset.
    if let Some(info) = m.model_info.as_mut() {
        info.temperature = Some(f32::NAN);
    }
    let report = resolve(None, &m).report();
    let c = check(&report, "Settings survive a save and reload");
    assert_eq!(c.status, CheckStatus::Fail);
    assert!(c.detail.contains("openAiModelInfo"), "{}", c.detail);
    assert!(!report.all_checks_pass());
}

#[tokio::test]
async fn the_saved_settings_check_fails_for_an_unsaved_change_a_lost_secret_or_a_missing_cache() {
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigDir::new(dir.path());
    let secrets = key_store();
    let mut settings = resolve(
        None,
        &member(json!({"openAiBaseUrl": "https://llm.example.com/v1", "openAiModelId": "a"})),
    );
    settings
        .edit(Edit::SetHeader {
            name: "X-Gateway-Token".into(),
            value: "gw-secret".into(),
        })
        .unwrap();
    config
        .save_member_settings(settings.member(), &secrets)
        .unwrap();
    let context = CheckContext {
        secrets: Some(&secrets),
        config_dir: Some(&config),
        ..CheckContext::default()
    };
    let name = "The saved settings are the ones in effect";
    assert_eq!(
        status(&settings.verify(&context).await, name),
        CheckStatus::Pass
    );

    // An edit that was never saved.
    let mut unsaved = settings.clone();
    unsaved.edit(Edit::Model(Some("b".into()))).unwrap();
    let report = unsaved.verify(&context).await;
    let c = check(&report, name);
    assert_eq!(c.status, CheckStatus::Fail);
    assert!(c.detail.contains("model"), "{}", c.detail);

    // The header's value lost from the secret store.
    secrets.delete("openAiHeaders.X-Gateway-Token").unwrap();
    let report = settings.verify(&context).await;
    let c = check(&report, name);
    assert_eq!(c.status, CheckStatus::Fail);
    assert!(c.detail.contains("X-Gateway-Token"), "{}", c.detail);
    config
        .save_member_settings(settings.member(), &secrets)
        .unwrap();

    // A policy from the admin API without its cached copy: a restart while the admin API is
    // down would not enforce it.
    let mut policy = acme(
        json!({"version": "1", "providerSettings": {"OpenAiCompatible": {
            "openAiBaseUrl": "https://llm.acme.example/v1"
        }}}),
    );
    policy.source = PolicySource::AdminApi;
    let managed = resolve(Some(&policy), settings.member());
    let cache = PolicyCache::new(dir.path().join("cache"));
    let with_cache = CheckContext {
        policy_cache: Some(&cache),
        ..context
    };
    let report = managed.verify(&with_cache).await;
    let c = check(&report, name);
    assert_eq!(c.status, CheckStatus::Fail);
    assert!(c.detail.contains("cached copy"), "{}", c.detail);
    cache
        .store(
            &policy.organization,
            &json!({"version": "1", "providerSettings": {"OpenAiCompatible": {
                "openAiBaseUrl": "https://llm.acme.example/v1"
            }}})
            .to_string(),
        )
        .unwrap();
    assert_eq!(
        status(&managed.verify(&with_cache).await, name),
        CheckStatus::Pass
    );
    // A stale cached copy (another base URL) re-resolves to other values.
    cache
        .store(
            &policy.organization,
            &json!({"version": "1", "providerSettings": {"OpenAiCompatible": {
                "openAiBaseUrl": "https://old.acme.example/v1"
            }}})
            .to_string(),
        )
        .unwrap();
    assert_eq!(
        status(&managed.verify(&with_cache).await, name),
        CheckStatus::Fail
    );
}

#[test]
fn the_transport_check_warns_for_a_key_and_fails_for_an_identity_token_over_plain_http() {
    let name = "Credentials travel encrypted";
    let report = resolve(
        None,
        &member(json!({"openAiBaseUrl": "https://llm.example.com/v1"})),
    )
    .report();
    assert_eq!(status(&report, name), CheckStatus::Pass);
    let report = resolve(
        None,
        &member(json!({"openAiBaseUrl": "http://127.0.0.1:8000/v1"})),
    )
    .report();
    assert_eq!(status(&report, name), CheckStatus::Pass);

    let report = resolve(
        None,
        &member(json!({
            "openAiBaseUrl": "http://10.0.0.5:8000/v1",
            "openAiHeaders": {"X-Api-Key": "k"}
        })),
    )
    .report();
    let c = check(&report, name);
    assert_eq!(c.status, CheckStatus::Warn);
    assert!(
        c.detail.contains("10.0.0.5") && c.detail.contains("1 credential header"),
        "{}",
        c.detail
    );
    assert!(report.all_checks_pass(), "a warning is not a failure");

    let report = resolve(
        None,
        &member(json!({
            "openAiBaseUrl": "http://res.openai.azure.com/openai",
            "openAiModelId": "gpt-4o",
            "azureIdentity": true
        })),
    )
    .report();
    let c = check(&report, name);
    assert_eq!(c.status, CheckStatus::Fail);
    assert!(c.detail.contains("sign-in token"), "{}", c.detail);
}

#[test]
fn the_credential_check_fails_without_a_key_or_with_azure_identity_on_a_plain_endpoint() {
    let name = "A credential is available";
    let plain = resolve(
        None,
        &member(json!({"openAiBaseUrl": "https://llm.example.com/v1"})),
    );
    assert_eq!(
        status(&plain.report_with_credentials(&key_store()), name),
        CheckStatus::Pass
    );
    let c = plain.report_with_credentials(&MemorySecretStore::new());
    assert_eq!(status(&c, name), CheckStatus::Fail);

    let identity = resolve(
        None,
        &member(json!({"openAiBaseUrl": "https://llm.example.com/v1", "azureIdentity": true})),
    );
    let report = identity.report_with_credentials(&MemorySecretStore::new());
    let c = check(&report, name);
    assert_eq!(c.status, CheckStatus::Fail);
    assert!(c.detail.contains("not an Azure endpoint"), "{}", c.detail);

    let azure = resolve(
        None,
        &member(
            json!({"openAiBaseUrl": "https://res.openai.azure.com/openai", "openAiModelId": "gpt-4o", "azureIdentity": true}),
        ),
    );
    assert_eq!(
        status(
            &azure.report_with_credentials(&MemorySecretStore::new()),
            name
        ),
        CheckStatus::Pass
    );
}

async fn endpoint_listing(ids: &[&str]) -> TestServer {
    let server = TestServer::start().await.unwrap();
    server.route("GET", "/v1/models", Reply::json(200, openai::models(ids)));
    server
}

async fn verify_against(server: &TestServer, models: Option<serde_json::Value>) -> SettingsReport {
    let mut block = json!({"openAiBaseUrl": format!("{}/v1", server.url())});
    if let Some(models) = models {
        block["models"] = models;
    }
    let policy = acme(json!({"version": "1", "providerSettings": {"OpenAiCompatible": block}}));
    let settings = resolve(
        Some(&policy),
        &member(json!({"openAiModelId": "team-model"})),
    );
    let secrets = key_store();
    let connection = connect_with(&settings, &secrets, &ConnectOptions::default()).unwrap();
    settings
        .verify(&CheckContext {
            secrets: Some(&secrets),
            endpoint: Some(connection.provider()),
            ..CheckContext::default()
        })
        .await
}

#[tokio::test]
async fn each_offered_model_is_checked_against_the_endpoints_own_listing() {
    let server = endpoint_listing(&["team-model", "something-else"]).await;
    let report = verify_against(
        &server,
        Some(json!([{"id": "team-model"}, {"id": "small-model"}])),
    )
    .await;
    assert_eq!(
        status(&report, "Model `team-model` is offered by the endpoint"),
        CheckStatus::Pass
    );
    let c = check(&report, "Model `small-model` is offered by the endpoint");
    assert_eq!(c.status, CheckStatus::Fail, "{report}");
    assert!(c.detail.contains("2 models"), "{}", c.detail);
    assert!(!report.all_checks_pass());
    // The endpoint itself was asked, not the organization's list.
    assert_eq!(server.requests()[0].path, "/v1/models");

    // Without an organization list, the chosen model is checked.
    let report = verify_against(&server, None).await;
    assert_eq!(
        status(&report, "Model `team-model` is offered by the endpoint"),
        CheckStatus::Pass
    );
    let bare = endpoint_listing(&["other"]).await;
    let report = verify_against(&bare, None).await;
    assert_eq!(
        status(&report, "Model `team-model` is offered by the endpoint"),
        CheckStatus::Fail
    );
}

#[tokio::test]
async fn an_endpoint_without_a_model_list_skips_the_check_and_says_why() {
    let server = TestServer::start().await.unwrap();
    let report = verify_against(&server, Some(json!([{"id": "team-model"}]))).await;
    let c = check(&report, "The models are offered by the endpoint");
    assert_eq!(c.status, CheckStatus::Skipped, "{report}");
    assert!(c.detail.contains("404"), "{}", c.detail);
    assert!(report
        .to_string()
        .contains("○ The models are offered by the endpoint"));
}
