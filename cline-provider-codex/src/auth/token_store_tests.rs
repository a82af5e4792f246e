use super::*;

const CLI_FILE: &str = r#"{
  "auth_mode": "chatgpt",
  "OPENAI_API_KEY": null,
  "tokens": {
    "id_token": "h.e30.s",
    "access_token": "at-secret-1",
    "refresh_token": "rt-secret-1",
    "account_id": "acc_1",
    "oauth_provenance": {"issuer": "https://auth.openai.com", "client_id": "app_x"}
  },
  "last_refresh": "2026-01-02T03:04:05.123456Z",
  "future_field": [1, 2, 3]
}"#;

#[test]
fn a_cli_file_round_trips_with_every_unknown_field_kept() {
    let doc = AuthDocument::parse(CLI_FILE.as_bytes(), "test")
        .expect("parse")
        .expect("chatgpt sign-in");
    assert_eq!(doc.tokens.account_id.as_deref(), Some("acc_1"));
    assert_eq!(doc.tokens.refresh_token.expose_secret(), "rt-secret-1");
    assert_eq!(
        doc.tokens.last_refresh,
        Some(humantime::parse_rfc3339("2026-01-02T03:04:05.123456Z").expect("time"))
    );
    let mut tokens = doc.tokens.clone();
    tokens.access_token = SecretString::from("at-secret-2");
    tokens.refresh_token = SecretString::from("rt-secret-2");
    let written: Value = serde_json::from_slice(&doc.with_tokens(tokens).render()).expect("json");
    assert_eq!(written["future_field"], serde_json::json!([1, 2, 3]));
    assert_eq!(written["auth_mode"], "chatgpt");
    assert!(written["OPENAI_API_KEY"].is_null());
    assert_eq!(
        written["tokens"]["oauth_provenance"]["issuer"],
        "https://auth.openai.com"
    );
    assert_eq!(written["tokens"]["access_token"], "at-secret-2");
    assert_eq!(written["tokens"]["refresh_token"], "rt-secret-2");
    assert_eq!(written["tokens"]["id_token"], "h.e30.s");
    assert_eq!(written["last_refresh"], "2026-01-02T03:04:05.123456Z");
}

#[test]
fn an_api_key_login_is_no_chatgpt_sign_in() {
    let key_only = r#"{"OPENAI_API_KEY": "sk-abc"}"#;
    assert!(AuthDocument::parse(key_only.as_bytes(), "t")
        .expect("parse")
        .is_none());
    let explicit = r#"{"auth_mode": "apikey", "OPENAI_API_KEY": "sk-abc", "tokens": null}"#;
    assert!(AuthDocument::parse(explicit.as_bytes(), "t")
        .expect("parse")
        .is_none());
    let signed_out = r#"{"auth_mode": "chatgpt", "OPENAI_API_KEY": null}"#;
    assert!(AuthDocument::parse(signed_out.as_bytes(), "t")
        .expect("parse")
        .is_none());
}

#[test]
fn a_damaged_document_is_a_typed_error_that_quotes_no_token() {
    for bad in [
        "not json at all rt-secret-9",
        "[\"rt-secret-9\"]",
        r#"{"tokens": "rt-secret-9"}"#,
        r#"{"tokens": {"id_token": "h.e30.s", "access_token": "rt-secret-9"}}"#,
        "{\"tokens\": {\"refresh_token\": \"rt-secret-9",
    ] {
        let err = AuthDocument::parse(bad.as_bytes(), "`auth.json`").expect_err(bad);
        assert_eq!(err.kind(), &ErrorKind::InvalidConfig, "{bad}");
        assert!(!err.message().contains("rt-secret-9"), "{}", err.message());
        assert!(err.hint().contains("sign in again"), "{}", err.hint());
    }
}

#[test]
fn due_at_uses_exp_then_last_refresh_then_now() {
    let mut t = AuthDocument::parse(CLI_FILE.as_bytes(), "t")
        .expect("parse")
        .expect("some")
        .tokens;
    let interval = Duration::from_secs(8 * 24 * 3600);
    let window = Duration::from_secs(300);
    let last = t.last_refresh.expect("last refresh");
    assert_eq!(t.due_at(interval, window), last + interval + window);
    t.last_refresh = None;
    assert_eq!(t.due_at(interval, window), SystemTime::UNIX_EPOCH);
    assert!(!format!("{t:?}").contains("secret"));
}
