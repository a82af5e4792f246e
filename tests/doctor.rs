//! `doctor` against the testkit: each failure is caused on purpose, and the test asserts which
//! check fails first and what its hint says; the healthy case shows every check passing with
//! the end-to-end timings read from the request's span.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cline_provider::doctor::{
    self, check_policy_draft, DoctorOptions, DraftOptions, Report, Status,
};
use cline_provider::http::{HttpConfig, ProxyConfig, RetryPolicy};
use cline_provider::policy::{resolve, ConfigDir, EffectiveSettings, MemberSettings};
use cline_provider::secrets::{MemorySecretStore, SecretStore, OPENAI_API_KEY};
use cline_provider::ConnectOptions;
use cline_provider_testkit::{demo, Reply, TestCertificates, TestServer};
use serde_json::json;

const KEY: &str = "sk-doctor-test-key-0123456789";

fn member(doc: serde_json::Value) -> EffectiveSettings {
    resolve(None, &MemberSettings::from_json(&doc.to_string()).unwrap())
}

fn keyed(key: &str) -> MemorySecretStore {
    let s = MemorySecretStore::new();
    s.set(OPENAI_API_KEY, key.to_owned().into()).unwrap();
    s
}

fn http() -> HttpConfig {
    HttpConfig {
        connect_timeout: Duration::from_secs(2),
        header_timeout: Duration::from_secs(5),
        retry: RetryPolicy::never(),
        proxy: ProxyConfig::Direct,
        ..HttpConfig::default()
    }
}

fn options(secrets: &dyn SecretStore) -> DoctorOptions<'_> {
    let mut o = DoctorOptions::new(secrets);
    o.connect = ConnectOptions {
        http: http(),
        ..ConnectOptions::default()
    };
    o
}

/// The first failed check, which must be `id`, and its hint.
fn first_failure<'r>(report: &'r Report, id: &str) -> &'r str {
    let cause = report
        .first_failure()
        .unwrap_or_else(|| panic!("expected `{id}` to fail:\n{report}"));
    assert_eq!(cause.id, id, "the first failure:\n{report}");
    cause.hint.as_deref().expect("a failure has a hint")
}

fn no_secret(report: &Report, secret: &str) {
    assert!(!report.to_json().contains(secret), "{}", report.to_json());
    assert!(!report.to_string().contains(secret), "{report}");
}

/// The administrator's checks of `draft`, with `key` as their API key.
async fn check_draft(draft: &serde_json::Value, key: &str) -> Report {
    let secrets = keyed(key);
    let mut o = DraftOptions::new(&secrets);
    o.doctor = options(&secrets);
    check_policy_draft(&draft.to_string(), &o).await
}

/// How the check `id` came out (it must have run or been skipped).
fn status(report: &Report, id: &str) -> Status {
    report
        .step(id)
        .unwrap_or_else(|| panic!("no check `{id}`:\n{report}"))
        .status
}

async fn demo_settings(model: &str) -> (TestServer, EffectiveSettings) {
    let server = demo::start_with_pacing(Duration::ZERO).await.unwrap();
    let settings = member(json!({
        "openAiBaseUrl": format!("{}/v1", server.url()),
        "openAiModelId": model,
    }));
    (server, settings)
}

#[tokio::test]
async fn a_healthy_endpoint_passes_every_check_with_timings_from_the_span() {
    let (server, settings) = demo_settings("demo-chat").await;
    let secrets = keyed(KEY);
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigDir::new(dir.path());
    config
        .save_member_settings(settings.member(), &secrets)
        .unwrap();
    let mut o = options(&secrets);
    o.config_dir = Some(&config);
    let report = doctor::run(&settings, &o).await;
    assert!(!report.has_failures(), "{report}");
    for id in [
        "policy",
        "settings.round_trip",
        "settings.writable",
        "settings.saved",
        "network.url",
        "network.dns",
        "network.tcp",
        "network.tls",
        "auth.credential",
        "endpoint.credentials",
        "models.offered.demo-chat",
        "request.stream",
    ] {
        let step = report
            .step(id)
            .unwrap_or_else(|| panic!("{id} ran:\n{report}"));
        assert_eq!(step.status, Status::Ok, "{id}:\n{report}");
    }
    let e2e = &report.step("request.stream").unwrap().evidence;
    assert!(e2e.contains("first token after"), "{e2e}");
    assert!(e2e.contains("tokens/s"), "{e2e}");
    // One listing and one chat reached the endpoint, with the member's key.
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(requests
        .iter()
        .all(|r| r.header("authorization") == Some(&format!("Bearer {KEY}"))));
    no_secret(&report, KEY);
    // The settings directory holds only the settings: the probe is gone.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["steps"][0]["id"], "policy");
    assert_eq!(json["steps"][0]["status"], "ok");
}

/// A resolver that knows no host: what a misspelt host or a missing VPN looks like.
struct NoSuchHost;

impl reqwest::dns::Resolve for NoSuchHost {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(
            async move { Err::<reqwest::dns::Addrs, _>(format!("no such host: {host}").into()) },
        )
    }
}

#[tokio::test]
async fn a_wrong_host_fails_at_dns_and_skips_what_needs_it() {
    let settings = member(json!({
        "openAiBaseUrl": "http://llm.intranet.example:8000/v1",
        "openAiModelId": "m",
    }));
    let secrets = keyed(KEY);
    let mut o = options(&secrets);
    o.connect.http.dns_resolver = Some(Arc::new(NoSuchHost));
    let report = doctor::run(&settings, &o).await;
    let hint = first_failure(&report, "network.dns");
    assert!(hint.contains("DNS") && hint.contains("VPN"), "{hint}");
    // The application's resolver was asked, as a request would ask it.
    let evidence = &report.step("network.dns").unwrap().evidence;
    assert!(
        evidence.contains("no such host: llm.intranet.example"),
        "{evidence}"
    );
    for id in [
        "network.tcp",
        "network.tls",
        "endpoint.connect",
        "request.stream",
    ] {
        let step = report.step(id).unwrap();
        assert_eq!(step.status, Status::Skipped, "{id}:\n{report}");
        assert_eq!(step.skipped_because.as_deref(), Some("network.dns"));
    }
}

#[tokio::test]
async fn a_refused_port_fails_at_tcp() {
    // A port that was just free: nothing listens there.
    let addr: SocketAddr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let settings = member(json!({
        "openAiBaseUrl": format!("http://{addr}/v1"),
        "openAiModelId": "m",
    }));
    let secrets = keyed(KEY);
    let report = doctor::run(&settings, &options(&secrets)).await;
    let hint = first_failure(&report, "network.tcp");
    assert!(hint.contains("firewall"), "{hint}");
    assert!(report
        .step("network.tcp")
        .unwrap()
        .evidence
        .contains(&addr.port().to_string()));
    assert_eq!(status(&report, "network.dns"), Status::Ok);
}

#[tokio::test]
async fn an_untrusted_certificate_fails_at_tls_and_points_at_the_ca_bundle() {
    let certs = TestCertificates::localhost();
    let server = TestServer::start_tls(&certs).await.unwrap();
    server.route(
        "GET",
        "/v1/models",
        Reply::json(200, json!({"data": [{"id": "m"}]})),
    );
    let settings = member(json!({
        "openAiBaseUrl": format!("{}/v1", server.url()),
        "openAiModelId": "m",
    }));
    let secrets = keyed(KEY);
    let report = doctor::run(&settings, &options(&secrets)).await;
    let hint = first_failure(&report, "network.tls");
    assert!(
        hint.contains("corporate proxy") && hint.contains("SSL_CERT_FILE"),
        "{hint}"
    );
    assert_eq!(status(&report, "network.tcp"), Status::Ok);
    assert!(
        server.requests().is_empty(),
        "nothing was sent over the refused handshake"
    );

    // Trusting the testkit's CA, as SSL_CERT_FILE would, fixes it.
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, certs.ca_pem()).unwrap();
    let mut o = options(&secrets);
    o.connect.http.extra_root_certificates = Some(ca);
    let report = doctor::run(&settings, &o).await;
    assert_eq!(status(&report, "network.tls"), Status::Ok, "{report}");
}

#[tokio::test]
async fn a_bad_key_fails_at_the_endpoints_credentials_check() {
    let (server, settings) = demo_settings("demo-chat").await;
    let secrets = keyed(demo::REJECTED_API_KEY);
    let report = doctor::run(&settings, &options(&secrets)).await;
    let hint = first_failure(&report, "endpoint.credentials");
    assert!(hint.contains("API key"), "{hint}");
    // The demo endpoint, like many gateways, lists models for anyone and checks the key on
    // the chat: the chat's refusal is the credentials' failure, with the key the member set.
    let sent: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(sent, ["/v1/models", "/v1/chat/completions"], "{report}");
    assert_eq!(
        server.requests()[1].header("authorization"),
        Some(format!("Bearer {}", demo::REJECTED_API_KEY).as_str())
    );
    assert!(
        report
            .step("endpoint.credentials")
            .unwrap()
            .evidence
            .contains("the chat request was refused"),
        "{report}"
    );
    assert_eq!(status(&report, "auth.credential"), Status::Ok);
    assert_eq!(
        report
            .step("request.stream")
            .unwrap()
            .skipped_because
            .as_deref(),
        Some("endpoint.credentials")
    );
    no_secret(&report, demo::REJECTED_API_KEY);
}

#[tokio::test]
async fn no_key_at_all_fails_at_the_credential_check_before_any_request() {
    let (server, settings) = demo_settings("demo-chat").await;
    let secrets = MemorySecretStore::new();
    let report = doctor::run(&settings, &options(&secrets)).await;
    let hint = first_failure(&report, "auth.credential");
    assert!(hint.contains("API key"), "{hint}");
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[tokio::test]
async fn a_model_the_endpoint_does_not_offer_fails_at_the_model_check() {
    let (server, settings) = demo_settings("gpt-nope").await;
    let secrets = keyed(KEY);
    let report = doctor::run(&settings, &options(&secrets)).await;
    let hint = first_failure(&report, "models.offered.gpt-nope");
    assert!(
        hint.contains("demo-chat") && hint.contains("demo-reasoner"),
        "{hint}"
    );
    assert_eq!(status(&report, "endpoint.credentials"), Status::Ok);
    assert_eq!(status(&report, "request.stream"), Status::Skipped);
    assert_eq!(server.requests().len(), 1, "only the listing was sent");
}

#[tokio::test]
async fn an_unwritable_settings_directory_fails_the_persistence_check() {
    let (_server, settings) = demo_settings("demo-chat").await;
    let secrets = keyed(KEY);
    let dir = tempfile::tempdir().unwrap();
    // A directory inside a regular file cannot be created, whoever runs the test (root too).
    let blocker = dir.path().join("not-a-directory");
    std::fs::write(&blocker, b"x").unwrap();
    let config = ConfigDir::new(blocker.join("cline-provider"));
    let mut o = options(&secrets);
    o.config_dir = Some(&config);
    let report = doctor::run(&settings, &o).await;
    let hint = first_failure(&report, "settings.writable");
    assert!(
        hint.contains("cannot be saved") && hint.contains("not-a-directory"),
        "{hint}"
    );
    assert_eq!(
        report
            .step("settings.saved")
            .unwrap()
            .skipped_because
            .as_deref(),
        Some("settings.writable")
    );
    // The connection checks do not depend on the settings directory.
    assert_eq!(status(&report, "request.stream"), Status::Ok, "{report}");
}

#[tokio::test]
async fn a_draft_whose_model_the_endpoint_does_not_offer_fails_that_model() {
    let server = demo::start_with_pacing(Duration::ZERO).await.unwrap();
    let draft = json!({
        "version": "draft-1",
        "providerSettings": {"OpenAiCompatible": {
            "openAiBaseUrl": format!("{}/v1", server.url()),
            "openAiHeaders": {"X-Team": "platform"},
            "models": [{"id": "demo-chat"}, {"id": "ghost-model"}]
        }}
    });
    let report = check_draft(&draft, KEY).await;
    let hint = first_failure(&report, "draft.model.ghost-model");
    assert!(
        hint.contains("ghost-model") && hint.contains("demo-chat"),
        "{hint}"
    );
    assert_eq!(status(&report, "draft.model.demo-chat"), Status::Ok);
    assert_eq!(status(&report, "verify.models_available"), Status::Failed);
    for id in [
        "draft.json",
        "draft.headers",
        "draft.schema",
        "verify.provider",
        "verify.only_provider",
        "verify.settings_persist",
        "network.tls",
    ] {
        assert_eq!(status(&report, id), Status::Ok, "{id}:\n{report}");
    }
    // The endpoint was asked with the administrator's key and the draft's header.
    let listing = &server.requests()[0];
    assert_eq!(listing.header("x-team"), Some("platform"));
    no_secret(&report, KEY);
}

#[tokio::test]
async fn a_draft_with_a_malformed_header_fails_the_header_check_naming_it() {
    let draft = json!({
        "version": "draft-2",
        "providerSettings": {"OpenAiCompatible": {
            "openAiBaseUrl": "https://llm.acme.example/v1",
            "openAiHeaders": {"X-Team": "platform", "X-Injected": "a\r\nHost: evil"}
        }}
    });
    let secrets = MemorySecretStore::new();
    let report = check_policy_draft(&draft.to_string(), &DraftOptions::new(&secrets)).await;
    let hint = first_failure(&report, "draft.headers");
    assert!(hint.contains("X-Injected"), "{hint}");
    let evidence = &report.step("draft.headers").unwrap().evidence;
    assert!(
        evidence.contains("providerSettings.OpenAiCompatible.openAiHeaders.X-Injected"),
        "{evidence}"
    );
    assert_eq!(
        report
            .step("draft.schema")
            .unwrap()
            .skipped_because
            .as_deref(),
        Some("draft.headers")
    );
    assert_eq!(
        report.steps.len(),
        3,
        "nothing is tried on a draft that does not parse"
    );
}

#[tokio::test]
async fn a_draft_with_a_type_error_names_the_json_path() {
    let draft =
        r#"{"version": "3", "providerSettings": {"OpenAiCompatible": {"azureIdentity": "yes"}}}"#;
    let secrets = MemorySecretStore::new();
    let report = check_policy_draft(draft, &DraftOptions::new(&secrets)).await;
    first_failure(&report, "draft.schema");
    assert!(report
        .step("draft.schema")
        .unwrap()
        .evidence
        .contains("providerSettings.OpenAiCompatible.azureIdentity"));
    let report = check_policy_draft("{\"version\": ", &DraftOptions::new(&secrets)).await;
    let hint = first_failure(&report, "draft.json");
    assert!(hint.contains("line 1"), "{hint}");
}

#[cfg(feature = "azure")]
mod azure_identity {
    use super::*;
    use base64::Engine as _;
    use cline_provider_testkit::azure;

    fn jwt(claims: serde_json::Value) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(
            "{}.{}.sig",
            b64(r#"{"alg":"RS256"}"#),
            b64(&claims.to_string())
        )
    }

    #[tokio::test]
    async fn a_403_without_the_role_fails_the_role_check_naming_the_role() {
        // The Entra ID authority, over HTTPS as azure_identity requires.
        let certs = TestCertificates::localhost();
        let authority = TestServer::start_tls(&certs).await.unwrap();
        let token = jwt(json!({
            "tid": "tenant-contoso",
            "appid": "app-doctor",
            "aud": "https://cognitiveservices.azure.com",
        }));
        authority.route(
            "POST",
            &azure::token_path("tenant-contoso"),
            Reply::json(200, azure::token_response(&token, 3600)),
        );
        // The resource: it knows the token, but the identity holds no role.
        let resource = TestServer::start().await.unwrap();
        resource.route(
            "POST",
            &azure::chat_path("gpt-4o"),
            azure::permission_denied(),
        );

        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, certs.ca_pem()).unwrap();
        let settings = member(json!({
            "openAiBaseUrl": format!("{}/openai", resource.url()),
            "azureApiVersion": "2024-10-21",
            "azureIdentity": true,
            "openAiModelId": "gpt-4o",
        }));
        let secrets = MemorySecretStore::new();
        let mut o = options(&secrets);
        o.connect.http.extra_root_certificates = Some(ca);
        let env = [
            (
                "AZURE_TOKEN_CREDENTIALS",
                "EnvironmentCredential".to_owned(),
            ),
            ("AZURE_TENANT_ID", "tenant-contoso".to_owned()),
            ("AZURE_CLIENT_ID", "app-doctor".to_owned()),
            ("AZURE_CLIENT_SECRET", "client-secret-value".to_owned()),
            ("AZURE_AUTHORITY_HOST", authority.url()),
        ];
        o.env = Some(Arc::new(move |name: &str| {
            env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
        }));
        let report = doctor::run(&settings, &o).await;

        let identity = report.step("auth.azure_identity").unwrap();
        assert_eq!(identity.status, Status::Ok, "{report}");
        for needle in [
            "EnvironmentCredential",
            "tenant-contoso",
            "app-doctor",
            "https://cognitiveservices.azure.com/.default",
        ] {
            assert!(
                identity.evidence.contains(needle),
                "{needle}: {}",
                identity.evidence
            );
        }
        let hint = first_failure(&report, "auth.azure_role");
        assert!(hint.contains("Cognitive Services OpenAI User"), "{hint}");
        assert_eq!(status(&report, "endpoint.credentials"), Status::Ok);
        assert_eq!(status(&report, "request.stream"), Status::Skipped);
        // The resource saw the chain's token, once.
        let sent = resource.requests();
        assert_eq!(sent.len(), 1);
        assert_eq!(
            sent[0].header("authorization"),
            Some(format!("Bearer {token}").as_str())
        );
        no_secret(&report, &token);
        no_secret(&report, "client-secret-value");
    }
}

#[cfg(feature = "codex")]
mod codex_sign_in {
    use super::*;
    use cline_provider::codex::CodexConfig;
    use cline_provider_testkit::oauth::{FakeIssuer, IssuedTokens};
    use cline_provider_testkit::responses::{FakeCodexBackend, Turn};

    /// The fake issuer, the fake Codex backend, and the SDK's own sign-in store (empty, or
    /// with a sign-in).
    struct Codex {
        issuer: FakeIssuer,
        backend: FakeCodexBackend,
        config: CodexConfig,
        _dir: tempfile::TempDir,
    }

    async fn signed_out() -> Codex {
        let issuer = FakeIssuer::start().await.unwrap();
        let backend = FakeCodexBackend::start().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = CodexConfig::new(dir.path().join("home"))
            .issuer(&issuer.url())
            .unwrap()
            .base_url(&backend.base_url())
            .unwrap()
            .codex_home(None)
            .login_command("cargo run --example codex_login -- login");
        Codex {
            issuer,
            backend,
            config,
            _dir: dir,
        }
    }

    /// Signed in, with an access token valid for `lifetime`, stored as a sign-in stores it.
    async fn signed_in(lifetime: Duration) -> (Codex, IssuedTokens) {
        let codex = signed_out().await;
        let tokens = codex.issuer.issue_tokens(lifetime);
        let outer = json!({"openai-codex-oauth-credentials": tokens.cli_auth_json().to_string()});
        let file = codex.config.token_file();
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, outer.to_string()).unwrap();
        (codex, tokens)
    }

    async fn run_codex(codex: &Codex, settings: serde_json::Value) -> Report {
        let settings = member(settings);
        let secrets = MemorySecretStore::new();
        let mut o = options(&secrets);
        o.codex = Some(codex.config.clone());
        doctor::run(&settings, &o).await
    }

    fn no_token(report: &Report, tokens: &IssuedTokens) {
        no_secret(report, &tokens.access_token);
        no_secret(report, &tokens.refresh_token);
    }

    #[tokio::test]
    async fn a_codex_sign_in_passes_every_check_through_the_codex_backend_with_timings_from_the_span(
    ) {
        let (codex, tokens) = signed_in(Duration::from_secs(3600)).await;
        codex
            .backend
            .push(Turn::text(&["O", "K"]).usage(11, 0, 2, 0));
        // No model chosen: the plan's default is the one checked and asked.
        let report = run_codex(&codex, json!({"apiProvider": "openai-codex"})).await;
        assert!(!report.has_failures(), "{report}");
        for id in [
            "network.url",
            "network.dns",
            "network.tcp",
            "network.tls",
            "network.encrypted",
            "auth.codex_sign_in",
            "auth.codex_token",
            "endpoint.connect",
            "endpoint.credentials",
            "models.offered.gpt-5.5",
            "request.stream",
        ] {
            let step = report
                .step(id)
                .unwrap_or_else(|| panic!("{id} ran:\n{report}"));
            assert_eq!(step.status, Status::Ok, "{id}:\n{report}");
        }
        // The network checks went to the Codex endpoint.
        let port = codex.backend.server().addr().port().to_string();
        assert!(
            report.step("network.tcp").unwrap().evidence.contains(&port),
            "{report}"
        );
        let credentials = &report.step("endpoint.credentials").unwrap().evidence;
        assert!(credentials.contains("(3 models)"), "{credentials}");
        let e2e = &report.step("request.stream").unwrap().evidence;
        assert!(e2e.starts_with("gpt-5.5 replied \"OK\""), "{e2e}");
        assert!(e2e.contains("first token after"), "{e2e}");
        assert!(e2e.contains("tokens/s (2 output tokens)"), "{e2e}");
        // One listing and one request reached the backend, both with the sign-in; no refresh.
        let bearer = format!("Bearer {}", tokens.access_token);
        let sent = codex.backend.server().requests();
        let paths: Vec<(&str, &str)> = sent
            .iter()
            .map(|r| (r.method.as_str(), r.path.as_str()))
            .collect();
        assert_eq!(
            paths,
            [
                ("GET", "/backend-api/codex/models"),
                ("POST", "/backend-api/codex/responses")
            ]
        );
        assert!(sent
            .iter()
            .all(|r| r.header("authorization") == Some(bearer.as_str())));
        assert!(
            codex.backend.refusals().is_empty(),
            "{:?}",
            codex.backend.refusals()
        );
        assert_eq!(codex.issuer.refresh_requests(), 0);
        no_token(&report, &tokens);
    }

    #[tokio::test]
    async fn a_codex_endpoint_that_refuses_the_sign_in_fails_the_credentials_check() {
        let (codex, tokens) = signed_in(Duration::from_secs(3600)).await;
        // The account itself is refused: a renewed token is no better.
        codex.backend.refuse_every_token(true);
        let report = run_codex(&codex, json!({"apiProvider": "openai-codex"})).await;
        assert_eq!(status(&report, "auth.codex_token"), Status::Ok, "{report}");
        let hint = first_failure(&report, "endpoint.credentials");
        assert!(hint.contains("Sign in again"), "{hint}");
        assert_eq!(
            report
                .step("request.stream")
                .unwrap()
                .skipped_because
                .as_deref(),
            Some("endpoint.credentials"),
            "{report}"
        );
        // The listing was refused, the sign-in renewed once and refused again; no request.
        assert_eq!(codex.issuer.refresh_requests(), 1);
        assert!(codex.backend.responses_requests().is_empty());
        no_token(&report, &tokens);
    }

    #[tokio::test]
    async fn a_codex_endpoint_without_a_listing_is_proven_by_the_request() {
        let (codex, tokens) = signed_in(Duration::from_secs(3600)).await;
        codex.backend.set_listing(false);
        codex.backend.push(Turn::text(&["OK"]).usage(5, 0, 1, 0));
        let report = run_codex(&codex, json!({"apiProvider": "openai-codex"})).await;
        assert!(!report.has_failures(), "{report}");
        let credentials = report.step("endpoint.credentials").unwrap();
        assert_eq!(credentials.status, Status::Warning, "{report}");
        assert!(
            credentials
                .hint
                .as_deref()
                .unwrap()
                .contains("request below"),
            "{report}"
        );
        assert_eq!(status(&report, "request.stream"), Status::Ok, "{report}");
        assert_eq!(codex.backend.responses_requests().len(), 1);
        no_token(&report, &tokens);
    }

    #[tokio::test]
    async fn a_model_outside_the_plan_fails_the_model_check_naming_the_plans_models() {
        let (codex, tokens) = signed_in(Duration::from_secs(3600)).await;
        codex
            .backend
            .set_plan_models(&["gpt-5.5", "gpt-5.1-codex-mini"]);
        let report = run_codex(
            &codex,
            json!({"apiProvider": "openai-codex", "openAiModelId": "gpt-5.4"}),
        )
        .await;
        let hint = first_failure(&report, "models.offered.gpt-5.4");
        assert!(hint.contains("gpt-5.5, gpt-5.1-codex-mini"), "{hint}");
        assert_eq!(
            status(&report, "endpoint.credentials"),
            Status::Ok,
            "{report}"
        );
        assert_eq!(status(&report, "request.stream"), Status::Skipped);
        assert!(codex.backend.responses_requests().is_empty());
        no_token(&report, &tokens);
    }

    #[tokio::test]
    async fn an_expired_sign_in_that_cannot_be_renewed_fails_the_token_check() {
        // A sign-in whose access token has expired and whose refresh token the issuer no
        // longer takes.
        let (codex, tokens) = signed_in(Duration::ZERO).await;
        let (issuer, backend) = (&codex.issuer, &codex.backend);
        issuer.fail_next_refresh(Reply::json(
            400,
            json!({"error": "invalid_grant", "error_description": "Refresh token expired"}),
        ));

        let report = run_codex(&codex, json!({"apiProvider": "openai-codex"})).await;
        let step = report.step("auth.codex_sign_in").unwrap();
        assert_eq!(step.status, Status::Ok, "{report}");
        assert!(
            step.evidence.contains("ada@example.com"),
            "{}",
            step.evidence
        );
        assert!(step.evidence.contains("expired"), "{}", step.evidence);
        let hint = first_failure(&report, "auth.codex_token");
        assert!(hint.contains("Sign in again"), "{hint}");
        assert!(report
            .step("auth.codex_token")
            .unwrap()
            .evidence
            .contains("Refresh token expired"));
        assert_eq!(issuer.refresh_requests(), 1);
        assert!(backend.server().requests().is_empty(), "nothing was sent");
        no_token(&report, &tokens);
    }

    #[tokio::test]
    async fn nobody_signed_in_fails_the_sign_in_check_with_how_to_sign_in() {
        let codex = signed_out().await;
        let report = run_codex(&codex, json!({"apiProvider": "openai-codex"})).await;
        let hint = first_failure(&report, "auth.codex_sign_in");
        assert!(
            hint.contains("`cargo run --example codex_login -- login --device`"),
            "{hint}"
        );
        assert_eq!(codex.issuer.refresh_requests(), 0);
        assert!(
            codex.backend.server().requests().is_empty(),
            "nothing was sent"
        );
    }
}

#[cfg(feature = "azure")]
#[tokio::test]
async fn an_azure_draft_checks_each_deployment_and_the_api_version() {
    let server = TestServer::start().await.unwrap();
    demo::install_azure(&server, Duration::ZERO);
    let draft = json!({
        "version": "draft-azure",
        "providerSettings": {"OpenAiCompatible": {
            "openAiBaseUrl": format!("{}/openai", server.url()),
            "azureApiVersion": "2024-10-21",
            "models": [{"id": "demo-chat"}, {"id": "gpt-4o-missing"}]
        }}
    });
    let report = check_draft(&draft, "azure-admin-key").await;
    let hint = first_failure(&report, "draft.model.gpt-4o-missing");
    assert!(hint.contains("gpt-4o-missing"), "{hint}");
    assert_eq!(
        status(&report, "draft.model.demo-chat"),
        Status::Ok,
        "{report}"
    );
    assert_eq!(status(&report, "draft.api_version"), Status::Ok, "{report}");
    let chats: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/chat/completions"))
        .collect();
    assert_eq!(chats.len(), 2, "one request per deployment");
    assert!(chats.iter().all(|r| r
        .query
        .as_deref()
        .unwrap_or("")
        .contains("api-version=2024-10-21")));
    assert!(chats
        .iter()
        .all(|r| r.header("api-key") == Some("azure-admin-key")));
    no_secret(&report, "azure-admin-key");
}

#[tokio::test]
async fn a_policy_from_the_cache_is_a_warning_that_says_how_old_and_what_is_locked() {
    use cline_provider::policy::{Organization, Policy, PolicySource};

    let server = demo::start_with_pacing(Duration::ZERO).await.unwrap();
    let doc = json!({
        "version": "7",
        "providerSettings": {"OpenAiCompatible": {
            "openAiBaseUrl": format!("{}/v1", server.url()),
            "openAiHeaders": {"X-Api-Key": "org-header-secret-123"},
            "models": [{"id": "demo-chat"}]
        }}
    });
    let dir = tempfile::tempdir().unwrap();
    let cached = dir.path().join("org-acme.json");
    std::fs::write(&cached, doc.to_string()).unwrap();
    let three_hours_ago = std::time::SystemTime::now() - Duration::from_secs(3 * 3600 + 60);
    std::fs::File::options()
        .write(true)
        .open(&cached)
        .unwrap()
        .set_modified(three_hours_ago)
        .unwrap();
    let mut policy = Policy::from_json(
        &doc.to_string(),
        Organization::new("org-acme").with_name("Acme"),
    )
    .unwrap();
    policy.source = PolicySource::Cache(cached);
    let member = MemberSettings::from_json(r#"{"openAiModelId": "demo-chat"}"#).unwrap();
    let settings = resolve(Some(&policy), &member);
    let secrets = keyed(KEY);
    let report = doctor::run(&settings, &options(&secrets)).await;

    let step = report.step("policy").unwrap();
    assert_eq!(step.status, Status::Warning, "{report}");
    for needle in ["Acme", "version 7", "3 h old", "Base URL", "Custom headers"] {
        assert!(
            step.evidence.contains(needle),
            "{needle}: {}",
            step.evidence
        );
    }
    assert!(
        step.hint.as_deref().unwrap().contains("admin API"),
        "{step:?}"
    );
    // A stale copy still works: nothing failed, and the organization's header was sent.
    assert!(!report.has_failures(), "{report}");
    assert!(server
        .requests()
        .iter()
        .all(|r| r.header("x-api-key") == Some("org-header-secret-123")));
    no_secret(&report, "org-header-secret-123");
    no_secret(&report, KEY);
}

#[tokio::test]
async fn a_policy_without_openai_compatible_fails_the_provider_check_first() {
    use cline_provider::policy::{Organization, Policy};

    let doc =
        json!({"version": "1", "providerSettings": {"AwsBedrock": {"awsRegion": "eu-west-1"}}});
    let policy = Policy::from_json(&doc.to_string(), Organization::new("org-1")).unwrap();
    let settings = resolve(Some(&policy), &MemberSettings::default());
    let secrets = keyed(KEY);
    let report = doctor::run(&settings, &options(&secrets)).await;
    let hint = first_failure(&report, "policy.provider");
    assert!(hint.contains("providerSettings.OpenAiCompatible"), "{hint}");
    assert_eq!(
        report
            .step("endpoint.connect")
            .unwrap()
            .skipped_because
            .as_deref(),
        Some("policy.provider"),
        "{report}"
    );
}

#[tokio::test]
async fn a_draft_that_leaves_members_another_provider_fails_the_only_provider_check() {
    let server = demo::start_with_pacing(Duration::ZERO).await.unwrap();
    let draft = json!({
        "version": "draft-2",
        "providerSettings": {
            "OpenAiCompatible": {"openAiBaseUrl": format!("{}/v1", server.url())},
            "Anthropic": {}
        }
    });
    let report = check_draft(&draft, KEY).await;
    let hint = first_failure(&report, "verify.only_provider");
    assert!(hint.contains("Remove the other provider blocks"), "{hint}");
    assert!(
        report
            .step("verify.only_provider")
            .unwrap()
            .evidence
            .contains("Anthropic"),
        "{report}"
    );
    assert_eq!(status(&report, "verify.provider"), Status::Ok);
}

#[tokio::test]
async fn a_draft_without_openai_compatible_fails_the_shows_as_openai_compatible_check() {
    let draft = json!({"version": "draft-3", "providerSettings": {"AwsBedrock": {"awsRegion": "eu-west-1"}}});
    let report = check_draft(&draft, KEY).await;
    let hint = first_failure(&report, "verify.provider");
    assert!(hint.contains("providerSettings.OpenAiCompatible"), "{hint}");
    assert_eq!(
        status(&report, "verify.only_provider"),
        Status::Failed,
        "{report}"
    );
}

#[tokio::test]
async fn a_key_the_model_listing_refuses_fails_the_credentials_check_before_any_chat() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "GET",
        "/v1/models",
        Reply::json(
            401,
            cline_provider_testkit::openai::error_body(
                "Incorrect API key provided.",
                "invalid_request_error",
                Some("invalid_api_key"),
            ),
        ),
    );
    let settings = member(json!({
        "openAiBaseUrl": format!("{}/v1", server.url()),
        "openAiModelId": "gpt-4o",
    }));
    let secrets = keyed(KEY);
    let report = doctor::run(&settings, &options(&secrets)).await;
    let hint = first_failure(&report, "endpoint.credentials");
    assert!(hint.contains("API key"), "{hint}");
    let sent: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(sent, ["/v1/models"], "no chat after the refusal:\n{report}");
    assert_eq!(
        report
            .step("request.stream")
            .unwrap()
            .skipped_because
            .as_deref(),
        Some("endpoint.credentials")
    );
    no_secret(&report, KEY);
}
