//! Reading the organization's document: the original schema, and every bad input as a typed
//! error naming the JSON path.

use std::path::PathBuf;

use cline_provider_core::policy::{Organization, Policy, PolicySource, ProviderId, RemoteConfig};
use cline_provider_core::ErrorKind;

const FULL: &str = r#"{
  "version": "v3",
  "telemetryEnabled": false,
  "globalRules": [{"alwaysEnabled": true, "name": "Rule", "contents": "Be nice."}],
  "providerSettings": {
    "OpenAiCompatible": {
      "models": [
        {"id": "gpt-4o", "temperature": 0.2, "maxTokens": 4096, "contextWindow": 128000,
         "inputPrice": 2.5, "outputPrice": 10, "supportsImages": true},
        {"id": "DeepSeek-R1", "maxTokens": -1, "isR1FormatRequired": true}
      ],
      "openAiBaseUrl": "https://llm.acme.example/v1",
      "openAiHeaders": {"X-Team": "platform", "X-Gateway-Key": "gw-secret-value"},
      "azureApiVersion": "2024-10-21",
      "azureIdentity": true,
      "futureKey": {"anything": 1}
    },
    "AwsBedrock": {"awsRegion": "us-east-1"}
  }
}"#;

fn bad(doc: &str) -> cline_provider_core::Error {
    match RemoteConfig::from_json(doc) {
        Ok(cfg) => panic!("expected an error, parsed {cfg:?}"),
        Err(e) => e,
    }
}

fn openai(inner: &str) -> String {
    format!(r#"{{"version": "1", "providerSettings": {{"OpenAiCompatible": {inner}}}}}"#)
}

#[test]
fn reads_every_field_of_the_openai_compatible_block() {
    let cfg = RemoteConfig::from_json(FULL).expect("valid document");
    assert_eq!(cfg.version, "v3");
    let o = cfg
        .openai_compatible
        .as_ref()
        .expect("OpenAiCompatible block");
    assert_eq!(
        o.base_url.as_ref().map(|u| u.as_str()),
        Some("https://llm.acme.example/v1")
    );
    let headers = o.headers.as_ref().expect("headers");
    assert_eq!(headers.get("X-Team"), Some("platform"));
    assert_eq!(headers.get("X-Gateway-Key"), Some("gw-secret-value"));
    assert_eq!(o.azure_api_version.as_deref(), Some("2024-10-21"));
    assert_eq!(o.azure_identity, Some(true));

    let models = o.models.as_ref().expect("models");
    assert_eq!(models.len(), 2);
    let m = &models[0];
    assert_eq!(m.id, "gpt-4o");
    assert_eq!(m.temperature, Some(0.2));
    assert_eq!(m.max_output_tokens, Some(4096));
    assert_eq!(m.context_window, Some(128_000));
    assert_eq!(m.input_price, Some(2.5));
    assert_eq!(m.output_price, Some(10.0));
    assert_eq!(m.supports_images, Some(true));
    // -1 is the original's "no limit".
    assert_eq!(models[1].max_output_tokens, None);
    assert_eq!(models[1].r1_format, Some(true));
    assert_eq!(
        o.model("DeepSeek-R1").map(|m| m.id.as_str()),
        Some("DeepSeek-R1")
    );

    // Unknown keys are kept raw and ignored.
    assert!(o.extra.contains_key("futureKey"));
    assert_eq!(
        cfg.policy_field("telemetryEnabled"),
        Some(&serde_json::json!(false))
    );
    assert!(cfg.policy_field("globalRules").is_some());
    // Other providers' blocks are kept and count as configured providers.
    assert_eq!(
        cfg.configured_providers(),
        vec![ProviderId::OpenAiCompatible, ProviderId::AwsBedrock]
    );
    assert_eq!(
        cfg.other_providers.get(&ProviderId::AwsBedrock),
        Some(&serde_json::json!({"awsRegion": "us-east-1"}))
    );
}

#[test]
fn raw_fields_show_only_their_keys_in_debug() {
    let cfg = RemoteConfig::from_json(
        r#"{"version": "1", "remoteMCPServers": [{"name": "m", "url": "https://mcp.example", "headers": {"Authorization": "Bearer mcp-secret-42"}}],
            "providerSettings": {"Vertex": {"vertexProjectId": "p", "token": "vertex-secret-43"}}}"#,
    )
    .expect("valid");
    let dbg = format!("{cfg:?}");
    assert!(
        !dbg.contains("mcp-secret-42") && !dbg.contains("vertex-secret-43"),
        "{dbg}"
    );
    assert!(
        dbg.contains("remoteMCPServers") && dbg.contains("Vertex"),
        "{dbg}"
    );
}

#[test]
fn a_document_without_provider_settings_configures_nothing() {
    let cfg =
        RemoteConfig::from_json(r#"{"version": "1", "yoloModeAllowed": false}"#).expect("valid");
    assert!(cfg.openai_compatible.is_none());
    assert!(cfg.configured_providers().is_empty());
    assert_eq!(
        cfg.policy_field("yoloModeAllowed"),
        Some(&serde_json::json!(false))
    );
}

#[test]
fn null_counts_as_absent_and_empty_api_version_as_unset() {
    let cfg = RemoteConfig::from_json(&openai(
        r#"{"openAiBaseUrl": null, "azureApiVersion": "", "azureIdentity": null}"#,
    ))
    .expect("valid");
    let o = cfg.openai_compatible.expect("block");
    assert!(o.base_url.is_none() && o.azure_api_version.is_none() && o.azure_identity.is_none());
}

#[test]
fn malformed_json_is_an_invalid_config_error_at_the_root() {
    let e = bad(r#"{"version": "1", "providerSettings": {"#);
    assert_eq!(e.kind(), &ErrorKind::InvalidConfig);
    assert_eq!(e.field(), Some("$"));
    assert!(e.message().contains("line 1"), "{}", e.message());
    assert!(e.hint().contains("not valid JSON"), "{}", e.hint());

    let e = bad("[1, 2]");
    assert_eq!(e.field(), Some("$"));
    assert!(
        e.message().contains("expected an object"),
        "{}",
        e.message()
    );
}

#[test]
fn a_missing_or_wrongly_typed_version_is_refused() {
    let e = bad(r#"{"providerSettings": {}}"#);
    assert_eq!(e.field(), Some("version"));
    let e = bad(r#"{"version": 3}"#);
    assert_eq!(e.field(), Some("version"));
    assert!(
        e.message().contains("expected a string, found a number"),
        "{}",
        e.message()
    );
}

#[test]
fn every_wrong_type_names_its_json_path() {
    let cases = [
        (
            r#"{"version": "1", "providerSettings": []}"#.to_owned(),
            "providerSettings",
        ),
        (
            r#"{"version": "1", "providerSettings": {"OpenAiCompatible": "yes"}}"#.to_owned(),
            "providerSettings.OpenAiCompatible",
        ),
        (
            openai(r#"{"azureIdentity": "true"}"#),
            "providerSettings.OpenAiCompatible.azureIdentity",
        ),
        (
            openai(r#"{"openAiBaseUrl": 42}"#),
            "providerSettings.OpenAiCompatible.openAiBaseUrl",
        ),
        (
            openai(r#"{"azureApiVersion": true}"#),
            "providerSettings.OpenAiCompatible.azureApiVersion",
        ),
        (
            openai(r#"{"openAiHeaders": ["X"]}"#),
            "providerSettings.OpenAiCompatible.openAiHeaders",
        ),
        (
            openai(r#"{"openAiHeaders": {"X-Team": 7}}"#),
            "providerSettings.OpenAiCompatible.openAiHeaders.X-Team",
        ),
        (
            openai(r#"{"models": {"id": "a"}}"#),
            "providerSettings.OpenAiCompatible.models",
        ),
        (
            openai(r#"{"models": ["gpt-4o"]}"#),
            "providerSettings.OpenAiCompatible.models[0]",
        ),
        (
            openai(r#"{"models": [{"id": "a"}, {"id": 5}]}"#),
            "providerSettings.OpenAiCompatible.models[1].id",
        ),
        (
            openai(r#"{"models": [{"id": "a", "maxTokens": "4096"}]}"#),
            "providerSettings.OpenAiCompatible.models[0].maxTokens",
        ),
        (
            openai(r#"{"models": [{"id": "a", "contextWindow": 1.5}]}"#),
            "providerSettings.OpenAiCompatible.models[0].contextWindow",
        ),
        (
            openai(r#"{"models": [{"id": "a", "contextWindow": 0}]}"#),
            "providerSettings.OpenAiCompatible.models[0].contextWindow",
        ),
        (
            openai(r#"{"models": [{"id": "a", "supportsImages": 1}]}"#),
            "providerSettings.OpenAiCompatible.models[0].supportsImages",
        ),
        (
            openai(r#"{"models": [{"id": "a", "inputPrice": -1}]}"#),
            "providerSettings.OpenAiCompatible.models[0].inputPrice",
        ),
        (
            openai(r#"{"models": [{"id": "a", "temperature": "hot"}]}"#),
            "providerSettings.OpenAiCompatible.models[0].temperature",
        ),
        (
            openai(r#"{"models": [{"temperature": 1}]}"#),
            "providerSettings.OpenAiCompatible.models[0].id",
        ),
        (
            openai(r#"{"models": [{"id": "  "}]}"#),
            "providerSettings.OpenAiCompatible.models[0].id",
        ),
        (
            r#"{"version": "1", "providerSettings": {"AwsBedrock": "us-east-1"}}"#.to_owned(),
            "providerSettings.AwsBedrock",
        ),
    ];
    for (doc, path) in cases {
        let e = bad(&doc);
        assert_eq!(e.kind(), &ErrorKind::InvalidConfig, "{doc}");
        assert_eq!(e.field(), Some(path), "{doc}: {}", e.message());
        assert!(
            e.hint().contains(path),
            "hint should name the path: {}",
            e.hint()
        );
    }
}

#[test]
fn an_invalid_base_url_is_refused() {
    let path = "providerSettings.OpenAiCompatible.openAiBaseUrl";
    for url in [
        "not a url",
        "",
        "ftp://llm.example.com",
        "https://user:pass@llm.example.com/v1",
        "https://llm.example.com/v1?key=1",
        "file:///etc/passwd",
    ] {
        let e = bad(&openai(&format!(r#"{{"openAiBaseUrl": "{url}"}}"#)));
        assert_eq!(e.kind(), &ErrorKind::InvalidConfig, "{url}");
        assert_eq!(e.field(), Some(path), "{url}");
    }
}

#[test]
fn a_header_name_with_spaces_is_refused() {
    let e = bad(&openai(r#"{"openAiHeaders": {"X Team": "blue"}}"#));
    assert_eq!(e.kind(), &ErrorKind::InvalidConfig);
    assert_eq!(
        e.field(),
        Some("providerSettings.OpenAiCompatible.openAiHeaders.X Team")
    );
    assert!(e.message().contains("no spaces"), "{}", e.message());
}

#[test]
fn a_header_value_with_cr_or_lf_is_refused() {
    for value in [r"blue\r\nX-Evil: 1", r"blue\nmore", r"a\u0000b"] {
        let e = bad(&openai(&format!(
            r#"{{"openAiHeaders": {{"X-Team": "{value}"}}}}"#
        )));
        assert_eq!(e.kind(), &ErrorKind::InvalidConfig, "{value}");
        assert_eq!(
            e.field(),
            Some("providerSettings.OpenAiCompatible.openAiHeaders.X-Team")
        );
        assert!(e.message().contains("CR/LF"), "{}", e.message());
    }
}

#[test]
fn an_empty_model_list_is_refused() {
    let e = bad(&openai(r#"{"models": []}"#));
    assert_eq!(e.kind(), &ErrorKind::InvalidConfig);
    assert_eq!(e.field(), Some("providerSettings.OpenAiCompatible.models"));
    assert!(e.message().contains("empty"), "{}", e.message());
}

#[test]
fn a_model_listed_twice_is_refused() {
    let e = bad(&openai(
        r#"{"models": [{"id": "a"}, {"id": "b"}, {"id": "a"}]}"#,
    ));
    assert_eq!(
        e.field(),
        Some("providerSettings.OpenAiCompatible.models[2].id")
    );
}

#[test]
fn an_unknown_provider_block_is_refused() {
    let e = bad(r#"{"version": "1", "providerSettings": {"OpenAICompatible": {}}}"#);
    assert_eq!(e.kind(), &ErrorKind::InvalidConfig);
    assert_eq!(e.field(), Some("providerSettings.OpenAICompatible"));
    assert!(
        e.message().contains("OpenAiCompatible"),
        "lists the known blocks: {}",
        e.message()
    );
}

#[test]
fn an_invalid_azure_api_version_is_refused() {
    let e = bad(&openai(r#"{"azureApiVersion": "2024 08 01"}"#));
    assert_eq!(
        e.field(),
        Some("providerSettings.OpenAiCompatible.azureApiVersion")
    );
}

#[test]
fn a_policy_file_names_the_file_and_the_json_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("policy.json");
    std::fs::write(&path, openai(r#"{"azureIdentity": "on"}"#)).expect("write");
    let e = Policy::from_file(&path, Organization::new("org")).expect_err("invalid");
    assert_eq!(
        e.field(),
        Some("providerSettings.OpenAiCompatible.azureIdentity")
    );
    assert!(e.message().contains("policy.json"), "{}", e.message());

    std::fs::write(&path, FULL).expect("write");
    let p = Policy::from_file(&path, Organization::new("org")).expect("valid");
    assert_eq!(p.source, PolicySource::File(path.clone()));

    let missing = Policy::from_file(&dir.path().join("nope.json"), Organization::new("org"))
        .expect_err("missing file");
    assert_eq!(missing.kind(), &ErrorKind::Io);
}

#[test]
fn a_policy_from_a_string_is_inline() {
    let p = Policy::from_json(FULL, Organization::new("org-1").with_name("Acme")).expect("valid");
    assert_eq!(p.source, PolicySource::Inline);
    assert_eq!(p.organization.to_string(), "Acme (org-1)");
}

/// The original product's own fixtures, read from `shared/` beside the workspace. Those
/// `shared/specs/remote-config/` ships are required under CI; the discovery answer is not
/// shipped there, so it is read only when present.
fn fixture(name: &str) -> Option<serde_json::Value> {
    let path: PathBuf = cline_provider_testkit::shared::dir()
        .join("specs")
        .join("remote-config")
        .join(name);
    let shipped = name != "user-remote-config-discovery.json";
    let found = if shipped {
        cline_provider_testkit::shared::present(&path, "a remote-config fixture")
    } else {
        path.exists()
    };
    if !found {
        return None;
    }
    let text = std::fs::read_to_string(&path).expect("fixture is readable");
    Some(serde_json::from_str(&text).expect("fixture is JSON"))
}

#[test]
fn the_original_fixtures_parse() {
    if let Some(doc) = fixture("user-remote-config-discovery.json") {
        let value = doc["value"].as_str().expect("value string");
        let cfg = RemoteConfig::from_json(value).expect("discovery value is a valid document");
        assert_eq!(cfg.version, "contract-v1");
        assert!(cfg.configured_providers().is_empty());
        assert!(cfg.policy_field("globalRules").is_some());
        assert!(cfg.policy_field("allowedMCPServers").is_some());
    }
    if let Some(doc) = fixture("organization-remote-config-response.json") {
        let value = doc["data"]["value"].as_str().expect("value string");
        let cfg = RemoteConfig::from_json(value).expect("organization value is a valid document");
        assert_eq!(cfg.version, "contract-v2");
        assert!(cfg.policy_field("remoteMCPServers").is_some());
    }
}
