//! A bad admin API never unlocks members: an answer without `data` (`{}`, `{"success": true}`),
//! a captive portal's HTML page with status 200, an empty body, or a discovery that names no
//! organization is a failed fetch, and the policy in effect and its cache file stay. Only the
//! explicit answers clear them. The admin API is the testkit's server on 127.0.0.1.

use cline_provider_core::policy::{
    ClearReason, PolicyCache, PolicySource, RefreshOutcome, RemoteConfigClient,
};
use cline_provider_core::ErrorKind;
use cline_provider_testkit::{Reply, TestServer};
use serde_json::json;

const DISCOVERY: &str = "/api/v1/users/me/remote-config";
const ORG: &str = "org-acme";
const ORG_PATH: &str = "/api/v1/organizations/org-acme/remote-config";

fn doc() -> String {
    json!({"version": "v1", "providerSettings": {"OpenAiCompatible": {
        "openAiBaseUrl": "https://llm.acme.example/v1",
        "models": [{"id": "gpt-4o"}]
    }}})
    .to_string()
}

fn discovery(value: Option<String>) -> Reply {
    Reply::json(
        200,
        json!({"success": true, "data": {
            "organizationId": ORG,
            "value": value,
            "organizations": [{"organizationId": ORG, "name": "Acme"}]
        }}),
    )
}

fn org_answer() -> Reply {
    Reply::json(
        200,
        json!({"success": true, "error": "", "data": {"enabled": true, "value": doc()}}),
    )
}

/// Answers that say nothing about the policy, at either endpoint.
fn bad_answers() -> Vec<(&'static str, Reply)> {
    vec![
        ("{}", Reply::json(200, json!({}))),
        (r#"{"success": true}"#, Reply::json(200, json!({"success": true}))),
        (
            "a captive portal's HTML page with status 200",
            Reply::bytes(
                200,
                "text/html",
                "<!doctype html><html><body><form action=/login>Sign in to the guest Wi-Fi</form></body></html>",
            ),
        ),
        ("an empty body", Reply::bytes(200, "application/json", "")),
    ]
}

/// Answers only discovery can get wrong.
fn bad_discoveries() -> Vec<(&'static str, Reply)> {
    let mut all = bad_answers();
    all.push((
        "data with neither an organization nor a list",
        Reply::json(200, json!({"success": true, "data": {}})),
    ));
    all.push((
        "a value without an organization",
        Reply::json(200, json!({"success": true, "data": {"value": doc()}})),
    ));
    all.push((
        "the data object without its envelope",
        Reply::json(200, json!({"organizationId": ORG, "value": doc()})),
    ));
    all
}

fn client(server: &TestServer, cache: &std::path::Path) -> RemoteConfigClient {
    RemoteConfigClient::new(&server.url(), "member-token".to_owned().into())
        .expect("client")
        .with_cache_dir(cache)
}

/// Serves `reply` at `path` from now on, whatever was queued there.
fn replace(server: &TestServer, path: &str, reply: Reply) {
    server.route_fn("GET", path, move |_| reply.clone());
}

fn cache_file(cache: &std::path::Path) -> std::path::PathBuf {
    PolicyCache::new(cache).path_for(ORG)
}

/// Applies the good policy, then serves `bad` at `bad_path` and checks that nothing changed:
/// the running client keeps its policy, the cache file keeps its bytes, and a client that
/// starts now (say, after a restart) still enforces the cached copy.
async fn assert_kept(what: &str, good: &[(&str, Reply)], bad_path: &str, bad: Reply) {
    let server = TestServer::start().await.expect("server");
    for (path, reply) in good {
        server.route("GET", path, reply.clone());
    }
    let cache = tempfile::tempdir().expect("tempdir");
    let running = client(&server, cache.path());
    let applied = running.refresh().await;
    let first = applied
        .policy()
        .cloned()
        .unwrap_or_else(|| panic!("{what}: {applied:?}"));
    let cached = std::fs::read(cache_file(cache.path())).expect("cache written");

    // From now on every answer at `bad_path` is the bad one.
    replace(&server, bad_path, bad);
    let outcome = running.refresh().await;
    let RefreshOutcome::Kept { policy, error } = &outcome else {
        panic!("{what}: expected the policy kept, got {outcome:?}");
    };
    assert_eq!(policy.as_ref(), Some(&first), "{what}");
    assert_eq!(error.kind(), &ErrorKind::Protocol, "{what}: {error}");
    assert!(!error.hint().is_empty());
    assert_eq!(running.current(), Some(first.clone()), "{what}");
    assert_eq!(
        std::fs::read(cache_file(cache.path())).ok(),
        Some(cached.clone()),
        "{what}: the cache file changed"
    );

    let restarted = client(&server, cache.path());
    let outcome = restarted.refresh().await;
    let RefreshOutcome::FromCache { policy, .. } = &outcome else {
        panic!("{what}: expected the cached copy after a restart, got {outcome:?}");
    };
    assert!(matches!(policy.source, PolicySource::Cache(_)), "{what}");
    assert_eq!(policy.config, first.config, "{what}");
    assert_eq!(
        std::fs::read(cache_file(cache.path())).ok(),
        Some(cached),
        "{what}: the cache file changed after the restart"
    );
}

#[tokio::test]
async fn a_bad_discovery_answer_keeps_the_policy_and_its_cache() {
    for (what, bad) in bad_discoveries() {
        assert_kept(what, &[(DISCOVERY, discovery(Some(doc())))], DISCOVERY, bad).await;
    }
}

#[tokio::test]
async fn a_bad_organization_answer_keeps_the_policy_and_its_cache() {
    for (what, bad) in bad_answers() {
        assert_kept(
            what,
            &[(DISCOVERY, discovery(None)), (ORG_PATH, org_answer())],
            ORG_PATH,
            bad,
        )
        .await;
    }
}

/// The explicit answers, by contrast, clear the policy and delete its cache.
#[tokio::test]
async fn only_an_explicit_answer_clears_the_policy_and_its_cache() {
    type Case = (&'static str, &'static str, Reply, fn(&ClearReason) -> bool);
    let cases: Vec<Case> = vec![
        (
            "discovery data: null",
            DISCOVERY,
            Reply::json(200, json!({"success": true, "data": null})),
            |r| *r == ClearReason::NoOrganization,
        ),
        (
            "discovery lists no organization (the member left)",
            DISCOVERY,
            Reply::json(
                200,
                json!({"success": true, "data": {"organizationId": null, "organizations": []}}),
            ),
            |r| *r == ClearReason::NoOrganization,
        ),
        (
            "organization data: null",
            ORG_PATH,
            Reply::json(200, json!({"success": true, "data": null})),
            |r| matches!(r, ClearReason::NotConfigured { organization } if organization.id == ORG),
        ),
        (
            "organization enabled: false",
            ORG_PATH,
            Reply::json(
                200,
                json!({"success": true, "data": {"enabled": false, "value": doc()}}),
            ),
            |r| matches!(r, ClearReason::Disabled { organization } if organization.id == ORG),
        ),
    ];
    for (what, path, answer, expected) in cases {
        let server = TestServer::start().await.expect("server");
        server.route("GET", DISCOVERY, discovery(None));
        server.route("GET", ORG_PATH, org_answer());
        let cache = tempfile::tempdir().expect("tempdir");
        let client = client(&server, cache.path());
        assert!(client.refresh().await.policy().is_some(), "{what}");
        assert!(cache_file(cache.path()).exists());

        replace(&server, path, answer);
        let outcome = client.refresh().await;
        let RefreshOutcome::Cleared { reason } = &outcome else {
            panic!("{what}: expected Cleared, got {outcome:?}");
        };
        assert!(expected(reason), "{what}: {reason:?}");
        assert!(client.current().is_none(), "{what}");
        assert!(!cache_file(cache.path()).exists(), "{what}: cache kept");
    }
}

/// A document the admin API sends with a header that would change the request's meaning
/// (`Host`) is refused like any invalid document: the policy in effect and its cache stay.
#[tokio::test]
async fn a_document_with_a_forbidden_header_keeps_the_policy_and_its_cache() {
    let server = TestServer::start().await.expect("server");
    server.route("GET", DISCOVERY, discovery(None));
    server.route("GET", ORG_PATH, org_answer());
    let cache = tempfile::tempdir().expect("tempdir");
    let client = client(&server, cache.path());
    let first = client.refresh().await.policy().cloned().expect("applied");
    let cached = std::fs::read(cache_file(cache.path())).expect("cache written");

    let evil = json!({"version": "v2", "providerSettings": {"OpenAiCompatible": {
        "openAiBaseUrl": "https://llm.acme.example/v1",
        "openAiHeaders": {"Host": "evil.example"}
    }}});
    replace(
        &server,
        ORG_PATH,
        Reply::json(
            200,
            json!({"success": true, "data": {"enabled": true, "value": evil.to_string()}}),
        ),
    );
    let outcome = client.refresh().await;
    let RefreshOutcome::Kept { policy, error } = &outcome else {
        panic!("expected the policy kept, got {outcome:?}");
    };
    assert_eq!(policy.as_ref(), Some(&first));
    assert_eq!(error.kind(), &ErrorKind::InvalidConfig);
    assert_eq!(
        error.field(),
        Some("providerSettings.OpenAiCompatible.openAiHeaders.Host")
    );
    assert_eq!(std::fs::read(cache_file(cache.path())).ok(), Some(cached));
}
