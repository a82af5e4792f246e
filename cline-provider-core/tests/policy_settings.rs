//! Resolving the policy over member settings: precedence for every field, locks, allow-lists,
//! the edit API, the report, and the property that no member edit moves a locked value.

use std::sync::Arc;

use cline_provider_core::policy::{
    resolve, CheckStatus, Edit, EffectiveSettings, Field, Headers, MemberSettings, Organization,
    Origin, Policy, PolicyErrorReason, ProviderId, AZURE_DEFAULT_API_VERSION,
};
use cline_provider_core::secrets::{MemorySecretStore, SecretStore, OPENAI_API_KEY};
use cline_provider_core::{ErrorKind, ModelInfo, ProviderKind, ReasoningEffort};
use proptest::prelude::*;
use secrecy::SecretString;

const ORG_POLICY: &str = r#"{
  "version": "7",
  "providerSettings": {"OpenAiCompatible": {
    "openAiBaseUrl": "https://llm.acme.example/v1",
    "openAiHeaders": {"X-Team": "platform", "Authorization": "Bearer org-gateway-secret-123"},
    "azureApiVersion": "2024-10-21",
    "azureIdentity": false,
    "models": [
      {"id": "gpt-4o", "contextWindow": 128000, "maxTokens": 16384, "inputPrice": 2.5, "outputPrice": 10, "supportsImages": true},
      {"id": "gpt-4o-mini", "contextWindow": 128000}
    ]
  }}
}"#;

fn acme(doc: &str) -> Policy {
    Policy::from_json(doc, Organization::new("org-42").with_name("Acme")).expect("valid policy")
}

fn member() -> MemberSettings {
    MemberSettings::from_json(
        r#"{
      "apiProvider": "openai-codex",
      "openAiBaseUrl": "https://mine.example/v1",
      "openAiHeaders": {"X-Me": "1"},
      "azureApiVersion": "2025-01-01-preview",
      "azureIdentity": true,
      "openAiModelId": "my-model",
      "openAiModelInfo": {"contextWindow": 8000, "inputPrice": 1},
      "reasoningEffort": "high"
    }"#,
    )
    .expect("valid member settings")
}

fn url(e: &EffectiveSettings) -> Option<&str> {
    e.base_url().value.as_ref().map(|u| u.as_str())
}

#[test]
fn without_a_policy_every_field_is_the_members() {
    let eff = resolve(None, &member());
    assert_eq!(eff.provider().value, ProviderId::OpenAiCodex);
    assert_eq!(url(&eff), Some("https://mine.example/v1"));
    assert_eq!(eff.headers().value.get("X-Me"), Some("1"));
    assert_eq!(
        eff.azure_api_version().value.as_deref(),
        Some("2025-01-01-preview")
    );
    assert!(eff.azure_identity().value);
    assert_eq!(eff.model_id().value.as_deref(), Some("my-model"));
    assert_eq!(eff.model_info().value.context_window, Some(8000));
    assert_eq!(eff.model_info().value.id, "my-model");
    assert_eq!(eff.reasoning_effort().value, ReasoningEffort::High);
    for f in Field::ALL {
        assert_eq!(eff.status(f), (Origin::Member, false), "{f}");
    }
    assert!(!eff.providers_restricted());
    assert!(eff.offered_models().is_none());
    assert!(eff.override_notes().is_empty());
}

#[test]
fn without_anything_every_field_is_the_default() {
    let eff = resolve(None, &MemberSettings::default());
    for f in Field::ALL {
        assert_eq!(eff.status(f), (Origin::Default, false), "{f}");
    }
    assert_eq!(eff.provider().value, ProviderId::OpenAiCompatible);
    assert_eq!(eff.base_url().value, None);
    assert!(eff.headers().value.is_empty());
    assert_eq!(eff.azure_api_version().value, None);
    assert!(!eff.azure_identity().value);
    assert_eq!(eff.model_id().value, None);
    assert_eq!(eff.reasoning_effort().value, ReasoningEffort::Medium);
    assert_eq!(
        eff.allowed_providers(),
        &[
            ProviderId::OpenAiCompatible,
            ProviderId::AzureFoundry,
            ProviderId::OpenAiCodex
        ]
    );
}

#[test]
fn the_organization_wins_every_field_it_sets_and_locks_it() {
    let policy = acme(ORG_POLICY);
    let eff = resolve(Some(&policy), &member());

    assert_eq!(eff.provider().value, ProviderId::OpenAiCompatible);
    assert_eq!(url(&eff), Some("https://llm.acme.example/v1"));
    assert_eq!(eff.headers().value.get("X-Team"), Some("platform"));
    assert_eq!(
        eff.headers().value.get("X-Me"),
        None,
        "org headers replace the member's"
    );
    assert_eq!(eff.azure_api_version().value.as_deref(), Some("2024-10-21"));
    assert!(!eff.azure_identity().value, "Azure Identity is locked too");
    for f in [
        Field::Provider,
        Field::BaseUrl,
        Field::Headers,
        Field::AzureApiVersion,
        Field::AzureIdentity,
        Field::ModelInfo,
    ] {
        assert_eq!(eff.status(f), (Origin::Organization, true), "{f}");
    }
    // The member's model is not offered: the first offered one is used, still choosable.
    assert_eq!(eff.model_id().value.as_deref(), Some("gpt-4o"));
    assert_eq!(eff.status(Field::Model), (Origin::Organization, false));
    // The organization's model info, not the member's.
    assert_eq!(eff.model_info().value.context_window, Some(128_000));
    assert_eq!(eff.model_info().value.input_price, Some(2.5));
    // Reasoning effort is never managed.
    assert_eq!(eff.status(Field::ReasoningEffort), (Origin::Member, false));
    assert_eq!(eff.reasoning_effort().value, ReasoningEffort::High);

    // The member's values are kept underneath and reported.
    assert_eq!(eff.provider().overridden, Some(ProviderId::OpenAiCodex));
    assert_eq!(
        eff.base_url()
            .overridden
            .clone()
            .flatten()
            .map(|u| u.to_string()),
        Some("https://mine.example/v1".to_owned())
    );
    assert!(eff.azure_identity().overridden == Some(true));
    let notes = eff.override_notes().join("\n");
    assert!(
        notes.contains(
            "your base URL is replaced by your organization's (yours: https://mine.example/v1)"
        ),
        "{notes}"
    );
    assert!(
        notes.contains("your model `my-model` is not offered"),
        "{notes}"
    );
    assert_eq!(
        eff.member(),
        &member(),
        "the member's settings are untouched"
    );
}

#[test]
fn fields_the_organization_leaves_unset_stay_the_members() {
    let policy = acme(
        r#"{"version": "1", "providerSettings": {"OpenAiCompatible": {"openAiBaseUrl": "https://llm.acme.example/v1"}}}"#,
    );
    let eff = resolve(Some(&policy), &member());
    assert_eq!(eff.status(Field::BaseUrl), (Origin::Organization, true));
    for f in [
        Field::Headers,
        Field::AzureApiVersion,
        Field::AzureIdentity,
        Field::Model,
        Field::ModelInfo,
        Field::ReasoningEffort,
    ] {
        assert_eq!(eff.status(f), (Origin::Member, false), "{f}");
    }
    assert_eq!(eff.model_id().value.as_deref(), Some("my-model"));
    assert!(eff.offered_models().is_none());
}

#[test]
fn a_policy_without_provider_settings_restricts_nothing() {
    let policy = acme(r#"{"version": "1", "telemetryEnabled": false}"#);
    let eff = resolve(Some(&policy), &member());
    assert!(!eff.providers_restricted());
    for f in Field::ALL {
        assert!(!eff.is_locked(f), "{f}");
    }
}

#[test]
fn clearing_the_policy_brings_the_members_values_back() {
    let policy = Arc::new(acme(ORG_POLICY));
    let mut eff = EffectiveSettings::new(Some(policy.clone()), member());
    assert_eq!(url(&eff), Some("https://llm.acme.example/v1"));
    eff.set_policy(None);
    assert_eq!(eff, resolve(None, &member()));
    eff.set_policy(Some(policy));
    assert_eq!(url(&eff), Some("https://llm.acme.example/v1"));
}

#[test]
fn the_organizations_provider_is_the_only_one_allowed_and_the_default() {
    let policy = acme(ORG_POLICY);
    let mut eff = resolve(Some(&policy), &MemberSettings::default());
    assert_eq!(eff.allowed_providers(), &[ProviderId::OpenAiCompatible]);
    assert!(eff.providers_restricted());
    assert_eq!(eff.provider().value, ProviderId::OpenAiCompatible);
    assert_eq!(
        eff.provider_kind().expect("served"),
        ProviderKind::OpenAiCompatible
    );

    for other in [
        ProviderId::OpenAiCodex,
        ProviderId::AzureFoundry,
        ProviderId::Anthropic,
    ] {
        let err = eff
            .edit(Edit::Provider(Some(other)))
            .expect_err("not allowed");
        assert_eq!(err.kind(), &ErrorKind::LockedByOrganization);
        assert_eq!(err.field(), Some("apiProvider"));
        assert_eq!(err.organization(), Some("Acme"));
        let pe = err.policy_error().expect("a PolicyError source");
        assert_eq!(
            pe.reason(),
            &PolicyErrorReason::ProviderNotAllowed { requested: other }
        );
        assert_eq!(pe.allowed(), &["OpenAI Compatible".to_owned()]);
        assert!(err.hint().contains("OpenAI Compatible"), "{}", err.hint());
    }
    let err = eff
        .edit(Edit::Provider(Some(ProviderId::OpenAiCompatible)))
        .expect_err("locked even to the same value");
    assert_eq!(
        err.policy_error().map(|p| p.reason().clone()),
        Some(PolicyErrorReason::Locked)
    );
}

#[test]
fn several_configured_providers_are_all_allowed_and_unsupported_ones_are_refused_clearly() {
    let policy = acme(
        r#"{"version": "1", "providerSettings": {"Anthropic": {}, "OpenAiCompatible": {}, "LiteLLM": {"baseUrl": "x"}}}"#,
    );
    let mut eff = resolve(Some(&policy), &MemberSettings::default());
    assert_eq!(
        eff.allowed_providers(),
        &[
            ProviderId::OpenAiCompatible,
            ProviderId::LiteLlm,
            ProviderId::Anthropic
        ]
    );
    // OpenAI Compatible is the default because this SDK can serve it.
    assert_eq!(eff.provider().value, ProviderId::OpenAiCompatible);
    assert!(!eff.is_locked(Field::Provider));

    let err = eff
        .edit(Edit::Provider(Some(ProviderId::LiteLlm)))
        .expect_err("unsupported");
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    assert_eq!(err.field(), Some("apiProvider"));
    assert_eq!(err.organization(), Some("Acme"));
    assert!(
        err.message().contains("does not implement"),
        "{}",
        err.message()
    );
    assert!(
        matches!(
            err.policy_error().map(|p| p.reason()),
            Some(PolicyErrorReason::UnsupportedProvider {
                provider: ProviderId::LiteLlm
            })
        ),
        "{err:?}"
    );
    assert_eq!(
        eff.provider().value,
        ProviderId::OpenAiCompatible,
        "unchanged"
    );
    eff.edit(Edit::Provider(Some(ProviderId::OpenAiCompatible)))
        .expect("allowed");
    assert_eq!(eff.provider().origin, Origin::Member);
}

#[test]
fn a_policy_configuring_only_an_unsupported_provider_makes_connecting_fail_clearly() {
    let policy =
        acme(r#"{"version": "1", "providerSettings": {"AwsBedrock": {"awsRegion": "eu-west-1"}}}"#);
    let eff = resolve(Some(&policy), &MemberSettings::default());
    assert_eq!(eff.provider().value, ProviderId::AwsBedrock);
    assert!(eff.is_locked(Field::Provider));
    let err = eff.provider_kind().expect_err("Bedrock is not served");
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    assert!(err.message().contains("AWS Bedrock"), "{}", err.message());
    let report = eff.report();
    assert!(!report.all_checks_pass());
    assert!(report
        .to_string()
        .contains("AWS Bedrock (not implemented by this SDK)"));
}

#[test]
fn choosing_an_unsupported_provider_without_a_policy_is_refused() {
    let mut eff = resolve(None, &MemberSettings::default());
    let err = eff
        .edit(Edit::Provider(Some(ProviderId::Vertex)))
        .expect_err("unsupported");
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    assert_eq!(err.organization(), None);
    assert!(err.hint().contains("OpenAI Compatible"), "{}", err.hint());
    eff.edit(Edit::Provider(Some(ProviderId::OpenAiCodex)))
        .expect("served");
    assert_eq!(eff.provider().value, ProviderId::OpenAiCodex);
}

#[test]
fn the_model_allow_list_is_enforced_with_the_organizations_model_info() {
    let policy = acme(ORG_POLICY);
    let mut eff = resolve(Some(&policy), &MemberSettings::default());
    let offered: Vec<&str> = eff
        .offered_models()
        .expect("list")
        .iter()
        .map(|m| m.id.as_str())
        .collect();
    assert_eq!(offered, ["gpt-4o", "gpt-4o-mini"]);
    assert_eq!(eff.model_id().value.as_deref(), Some("gpt-4o"));

    eff.edit(Edit::Model(Some("gpt-4o-mini".into())))
        .expect("offered");
    assert_eq!(eff.model_id().value.as_deref(), Some("gpt-4o-mini"));
    assert_eq!(eff.model_id().origin, Origin::Member);
    assert_eq!(eff.model_info().value.id, "gpt-4o-mini");
    assert_eq!(
        eff.model_info().value.input_price,
        None,
        "the org's info for that model"
    );

    let err = eff
        .edit(Edit::Model(Some("gpt-5".into())))
        .expect_err("not offered");
    assert_eq!(err.kind(), &ErrorKind::LockedByOrganization);
    assert_eq!(err.field(), Some("openAiModelId"));
    assert_eq!(err.organization(), Some("Acme"));
    assert_eq!(
        err.available_models(),
        &["gpt-4o".to_owned(), "gpt-4o-mini".to_owned()]
    );
    assert!(err.hint().contains("gpt-4o-mini"), "{}", err.hint());
    assert_eq!(
        eff.model_id().value.as_deref(),
        Some("gpt-4o-mini"),
        "unchanged"
    );

    let err = eff
        .edit(Edit::ModelInfo(Some(
            ModelInfo::new("x").context_window(1_000_000),
        )))
        .expect_err("model info comes from the organization");
    assert_eq!(err.field(), Some("openAiModelInfo"));
}

#[test]
fn a_single_offered_model_is_locked() {
    let policy = acme(
        r#"{"version": "1", "providerSettings": {"OpenAiCompatible": {"models": [{"id": "only-one"}]}}}"#,
    );
    let mut eff = resolve(Some(&policy), &member());
    assert_eq!(eff.model_id().value.as_deref(), Some("only-one"));
    assert_eq!(eff.status(Field::Model), (Origin::Organization, true));
    let err = eff
        .edit(Edit::Model(Some("only-one".into())))
        .expect_err("locked");
    assert_eq!(
        err.policy_error().map(|p| p.reason().clone()),
        Some(PolicyErrorReason::Locked)
    );
}

#[test]
fn every_locked_field_refuses_edits_naming_field_and_organization() {
    let policy = acme(ORG_POLICY);
    let mut eff = resolve(Some(&policy), &member());
    let before = eff.clone();
    let edits = [
        Edit::BaseUrl(Some("https://elsewhere.example/v1".into())),
        Edit::BaseUrl(None),
        Edit::Headers(Headers::new()),
        Edit::SetHeader {
            name: "X-Team".into(),
            value: "mine".into(),
        },
        Edit::RemoveHeader("X-Team".into()),
        Edit::AzureApiVersion(Some("2025-01-01".into())),
        Edit::AzureApiVersion(None),
        Edit::AzureIdentity(Some(true)),
        Edit::AzureIdentity(None),
        Edit::ModelInfo(None),
        Edit::Provider(None),
    ];
    for edit in edits {
        let field = edit.field();
        let err = eff.edit(edit.clone()).expect_err("locked");
        assert_eq!(err.kind(), &ErrorKind::LockedByOrganization, "{edit:?}");
        assert_eq!(err.field(), Some(field.key()), "{edit:?}");
        assert_eq!(err.organization(), Some("Acme"));
        assert!(err.hint().contains("Acme"), "{}", err.hint());
        assert!(err.message().contains(field.label()), "{}", err.message());
        assert_eq!(eff, before, "a refused edit changes nothing: {edit:?}");
    }
}

#[test]
fn invalid_member_values_are_typed_errors_naming_the_field() {
    let mut eff = resolve(None, &MemberSettings::default());
    let cases = [
        (Edit::BaseUrl(Some("not a url".into())), "openAiBaseUrl"),
        (
            Edit::BaseUrl(Some("https://u:p@host/v1".into())),
            "openAiBaseUrl",
        ),
        (
            Edit::SetHeader {
                name: "X Team".into(),
                value: "v".into(),
            },
            "openAiHeaders.X Team",
        ),
        (
            Edit::SetHeader {
                name: "X-Team".into(),
                value: "a\r\nX-Evil: 1".into(),
            },
            "openAiHeaders.X-Team",
        ),
        (
            Edit::AzureApiVersion(Some("2024/08".into())),
            "azureApiVersion",
        ),
        (Edit::Model(Some(" ".into())), "openAiModelId"),
        (
            Edit::ModelInfo(Some(ModelInfo {
                input_price: Some(-1.0),
                ..ModelInfo::new("m")
            })),
            "openAiModelInfo.inputPrice",
        ),
        (
            Edit::ModelInfo(Some(ModelInfo::new("m").context_window(0))),
            "openAiModelInfo.contextWindow",
        ),
    ];
    let before = eff.clone();
    for (edit, field) in cases {
        let err = eff.edit(edit.clone()).expect_err("invalid");
        assert_eq!(err.kind(), &ErrorKind::InvalidConfig, "{edit:?}");
        assert_eq!(err.field(), Some(field), "{edit:?}");
        assert!(err.hint().contains(field), "{}", err.hint());
        assert_eq!(eff, before);
    }
}

#[test]
fn member_edits_apply_when_nothing_is_locked() {
    let mut eff = resolve(None, &MemberSettings::default());
    eff.edit(Edit::BaseUrl(Some(
        "https://r.openai.azure.com/openai".into(),
    )))
    .expect("ok");
    eff.edit(Edit::SetHeader {
        name: "X-Team".into(),
        value: "blue".into(),
    })
    .expect("ok");
    eff.edit(Edit::AzureIdentity(Some(true))).expect("ok");
    eff.edit(Edit::Model(Some("gpt-4o".into()))).expect("ok");
    eff.edit(Edit::ModelInfo(Some(
        ModelInfo::new("ignored").context_window(64_000),
    )))
    .expect("ok");
    eff.edit(Edit::ReasoningEffort(Some(ReasoningEffort::Low)))
        .expect("ok");
    assert_eq!(eff.model_info().value.id, "gpt-4o");
    assert_eq!(eff.model_info().value.context_window, Some(64_000));
    assert!(eff.uses_azure());
    assert_eq!(
        eff.azure_api_version_or_default(),
        AZURE_DEFAULT_API_VERSION
    );
    let saved = MemberSettings::from_json(&eff.member().to_json()).expect("round trip");
    assert_eq!(&saved, eff.member());
    eff.edit(Edit::RemoveHeader("X-Team".into())).expect("ok");
    assert!(eff.headers().value.is_empty());
    assert_eq!(eff.headers().origin, Origin::Default);
}

#[test]
fn the_azure_rule_is_the_originals() {
    let eff = |json: &str| resolve(None, &MemberSettings::from_json(json).expect("valid"));
    assert!(
        eff(r#"{"openAiBaseUrl": "https://x.example/v1", "azureApiVersion": "2024-10-21"}"#)
            .uses_azure()
    );
    assert!(eff(
        r#"{"openAiBaseUrl": "https://res.openai.azure.com/openai", "openAiModelId": "gpt-4o"}"#
    )
    .uses_azure());
    assert!(eff(r#"{"openAiBaseUrl": "https://res.openai.azure.us/openai"}"#).uses_azure());
    assert!(!eff(r#"{"openAiBaseUrl": "https://res.services.ai.azure.com/models", "openAiModelId": "DeepSeek-V3"}"#).uses_azure());
    // An explicit API version wins even for DeepSeek.
    assert!(eff(r#"{"openAiBaseUrl": "https://res.services.ai.azure.com", "openAiModelId": "deepseek-r1", "azureApiVersion": "2024-05-01-preview"}"#).uses_azure());
    assert!(
        !eff(r#"{"openAiBaseUrl": "https://api.openai.com/v1", "openAiModelId": "gpt-4o"}"#)
            .uses_azure()
    );
    assert!(eff(r#"{"apiProvider": "azure"}"#).uses_azure());
    assert!(
        !eff(r#"{"apiProvider": "openai-codex", "azureApiVersion": "2024-10-21"}"#).uses_azure()
    );
    // The organization's API version makes it Azure, whatever the member set.
    let policy = acme(
        r#"{"version": "1", "providerSettings": {"OpenAiCompatible": {"azureApiVersion": "2024-10-21"}}}"#,
    );
    let e = resolve(Some(&policy), &MemberSettings::default());
    assert!(e.uses_azure());
    assert_eq!(e.azure_api_version_or_default(), "2024-10-21");
}

#[test]
fn the_report_shows_locks_origins_models_checks_and_no_secret() {
    let policy = acme(ORG_POLICY);
    let eff = resolve(Some(&policy), &member());
    let store = MemorySecretStore::new();
    store
        .set(
            OPENAI_API_KEY,
            SecretString::from("sk-member-very-secret-abcd"),
        )
        .expect("set");
    let report = eff.report_with_credentials(&store);
    let text = report.to_string();
    let json = report.to_json();
    println!("{text}");

    for secret in ["sk-member-very-secret", "org-gateway-secret-123"] {
        assert!(!text.contains(secret), "secret in the text report");
        assert!(!json.contains(secret), "secret in the JSON report");
        assert!(
            !format!("{report:?}").contains(secret),
            "secret in Debug of the report"
        );
        assert!(
            !format!("{eff:?}").contains(secret),
            "secret in Debug of the settings"
        );
        assert!(
            !format!("{policy:?}").contains(secret),
            "secret in Debug of the policy"
        );
    }
    assert!(text.contains("sk-…abcd"), "{text}");
    assert!(text.contains("Authorization: ••••"), "{text}");
    assert!(text.contains("X-Team: platform"), "{text}");
    assert!(
        text.contains("Settings managed by Acme (org-42), policy version 7"),
        "{text}"
    );
    assert!(text.contains("🔒"), "{text}");
    assert!(text.contains(
        "your base URL is replaced by your organization's (yours: https://mine.example/v1)"
    ));
    assert!(
        text.contains("Allowed providers 🔒: OpenAI Compatible ← in use"),
        "{text}"
    );
    assert!(text.contains("gpt-4o-mini"), "{text}");

    let base = report
        .fields
        .iter()
        .find(|f| f.key == "openAiBaseUrl")
        .expect("field");
    assert!(base.locked);
    assert_eq!(base.origin, Origin::Organization);
    assert_eq!(
        base.replaced_member_value.as_deref(),
        Some("https://mine.example/v1")
    );
    let effort = report
        .fields
        .iter()
        .find(|f| f.key == "reasoningEffort")
        .expect("field");
    assert!(!effort.locked);
    assert!(text
        .lines()
        .any(|l| l.contains("Reasoning effort") && !l.contains('🔒')));

    assert_eq!(report.offered_models.len(), 2);
    assert_eq!(report.allowed_providers.len(), 1);
    let names: Vec<(&str, CheckStatus)> = report
        .checks
        .iter()
        .map(|c| (c.name.as_str(), c.status))
        .collect();
    assert_eq!(
        names,
        [
            ("Provider shows as OpenAI Compatible", CheckStatus::Pass),
            ("Settings survive a save and reload", CheckStatus::Pass),
            ("Credentials travel encrypted", CheckStatus::Pass),
            (
                "The saved settings are the ones in effect",
                CheckStatus::Skipped
            ),
            ("A credential is available", CheckStatus::Pass),
            (
                "The models are offered by the endpoint",
                CheckStatus::Skipped
            ),
        ]
    );
    assert!(report.all_checks_pass());
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(v["organization"]["id"], "org-42");
    assert_eq!(v["fields"][1]["origin"], "organization");
    assert_eq!(v["checks"][0]["status"], "pass");
}

#[test]
fn the_report_fails_the_credential_check_without_key_or_identity() {
    let eff = resolve(None, &MemberSettings::default());
    let report = eff.report_with_credentials(&MemorySecretStore::new());
    let check = report
        .checks
        .iter()
        .find(|c| c.name == "A credential is available")
        .expect("check");
    assert_eq!(check.status, CheckStatus::Fail);
    assert!(check.detail.contains("openAiApiKey"));
    assert!(report
        .to_string()
        .contains("Settings (no organization policy)"));
}

// ---- the property: no sequence of member edits changes a locked field's effective value ----

fn arb_policy() -> impl Strategy<Value = Policy> {
    (
        proptest::option::of(prop_oneof![
            Just("https://llm.acme.example/v1"),
            Just("https://r.openai.azure.com/openai")
        ]),
        proptest::option::of(Just(r#"{"X-Team": "platform"}"#)),
        proptest::option::of(Just("2024-10-21")),
        proptest::option::of(any::<bool>()),
        proptest::option::of(proptest::sample::subsequence(
            vec!["gpt-4o", "gpt-4o-mini", "o3"],
            1..=3,
        )),
        proptest::sample::subsequence(vec!["AwsBedrock", "Anthropic"], 0..=2),
        any::<bool>(),
    )
        .prop_map(
            |(url, headers, version, identity, models, others, with_openai)| {
                let mut block = serde_json::Map::new();
                if let Some(u) = url {
                    block.insert("openAiBaseUrl".into(), u.into());
                }
                if let Some(h) = headers {
                    block.insert(
                        "openAiHeaders".into(),
                        serde_json::from_str(h).expect("json"),
                    );
                }
                if let Some(v) = version {
                    block.insert("azureApiVersion".into(), v.into());
                }
                if let Some(b) = identity {
                    block.insert("azureIdentity".into(), b.into());
                }
                if let Some(ms) = models {
                    let list: Vec<serde_json::Value> =
                        ms.iter().map(|id| serde_json::json!({"id": id})).collect();
                    block.insert("models".into(), list.into());
                }
                let mut ps = serde_json::Map::new();
                if with_openai || others.is_empty() {
                    ps.insert("OpenAiCompatible".into(), block.into());
                }
                for o in others {
                    ps.insert(o.into(), serde_json::json!({}));
                }
                let doc = serde_json::json!({"version": "p", "providerSettings": ps});
                acme(&doc.to_string())
            },
        )
}

fn arb_edit() -> impl Strategy<Value = Edit> {
    let provider = proptest::sample::select(ProviderId::ALL.to_vec());
    prop_oneof![
        proptest::option::of(provider).prop_map(Edit::Provider),
        proptest::option::of(prop_oneof![
            Just("https://mine.example/v1".to_owned()),
            Just("https://other.openai.azure.com/openai".to_owned()),
            Just("bogus".to_owned()),
        ])
        .prop_map(Edit::BaseUrl),
        Just(Edit::Headers(Headers::new())),
        prop_oneof![Just("X-Team"), Just("X-Me"), Just("Bad Name")].prop_map(|n| Edit::SetHeader {
            name: n.into(),
            value: "v".into()
        }),
        Just(Edit::RemoveHeader("X-Team".into())),
        proptest::option::of(prop_oneof![
            Just("2025-01-01".to_owned()),
            Just(String::new())
        ])
        .prop_map(Edit::AzureApiVersion),
        proptest::option::of(any::<bool>()).prop_map(Edit::AzureIdentity),
        proptest::option::of(prop_oneof![
            Just("gpt-4o".to_owned()),
            Just("o3".to_owned()),
            Just("deepseek-r1".to_owned()),
        ])
        .prop_map(Edit::Model),
        proptest::option::of((1u32..200_000).prop_map(|c| ModelInfo::new("m").context_window(c)))
            .prop_map(Edit::ModelInfo),
        proptest::option::of(proptest::sample::select(vec![
            ReasoningEffort::None,
            ReasoningEffort::Low,
            ReasoningEffort::High,
        ]))
        .prop_map(Edit::ReasoningEffort),
    ]
}

fn value_of(e: &EffectiveSettings, f: Field) -> String {
    match f {
        Field::Provider => format!("{:?}", e.provider().value),
        Field::BaseUrl => format!("{:?}", e.base_url().value),
        Field::Headers => format!("{:?}", e.headers().value.iter().collect::<Vec<_>>()),
        Field::AzureApiVersion => format!("{:?}", e.azure_api_version().value),
        Field::AzureIdentity => format!("{:?}", e.azure_identity().value),
        Field::Model => format!("{:?}", e.model_id().value),
        Field::ModelInfo => format!("{:?}", e.model_info().value),
        Field::ReasoningEffort => format!("{:?}", e.reasoning_effort().value),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_sequence_of_member_edits_changes_a_locked_value(
        policy in arb_policy(),
        edits in proptest::collection::vec(arb_edit(), 0..24),
    ) {
        let mut eff = resolve(Some(&policy), &MemberSettings::default());
        // With an allow-list the model info is locked to the organization's entry for the
        // chosen model, so it follows the (allowed) model choice; it is checked below.
        let locked: Vec<(Field, String)> = Field::ALL
            .into_iter()
            .filter(|&f| eff.is_locked(f) && !(f == Field::ModelInfo && eff.offered_models().is_some()))
            .map(|f| (f, value_of(&eff, f)))
            .collect();
        for edit in edits {
            let target_locked = eff.is_locked(edit.field());
            let result = eff.edit(edit.clone());
            if target_locked {
                let err = result.expect_err("an edit of a locked field must be refused");
                prop_assert_eq!(err.field(), Some(edit.field().key()));
            }
            for (f, v) in &locked {
                prop_assert!(eff.is_locked(*f), "{} was unlocked by {:?}", f, edit);
                prop_assert_eq!(&value_of(&eff, *f), v, "{} changed by {:?}", f, edit);
            }
            if let Some(models) = eff.offered_models() {
                let chosen = eff.model_id().value.clone().unwrap_or_default();
                let listed = models.iter().find(|m| m.id == chosen);
                prop_assert!(listed.is_some(), "model outside the list");
                prop_assert!(eff.is_locked(Field::ModelInfo));
                prop_assert_eq!(Some(&eff.model_info().value), listed, "not the organization's info");
            }
            if eff.providers_restricted() {
                prop_assert!(eff.allowed_providers().contains(&eff.provider().value));
            }
        }
    }
}
