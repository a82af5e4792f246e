//! Each credential of the default Entra ID chain against the testkit's fakes: the client
//! secret credential through an HTTPS authority host, workload identity, App Service managed
//! identity (in a child process, since `azure_identity` reads its variables from the process),
//! the Azure CLI and the Azure Developer CLI as fake programs on `PATH`; the chain's order,
//! `AZURE_TOKEN_CREDENTIALS`, the deadline around managed identity, and the "not signed in"
//! error that lists what every credential said.
//!
//! No test here changes its own process environment: variables go in through
//! `ChainOptions::env`, or into a child process's environment.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use cline_provider_azure::auth::{
    env_from, ChainCredential, ChainOptions, CredentialChain, EntraTokenSource, EnvFn, WithDeadline,
};
use cline_provider_azure::{AzureConfig, AzureProvider, EntraId};
use cline_provider_core::auth::TokenSource;
use cline_provider_core::http::{HttpConfig, ProxyConfig, RetryPolicy};
use cline_provider_core::{ChatRequest, ErrorKind, Message, Provider};
use cline_provider_testkit::{azure, Reply, TestCertificates, TestServer};
use secrecy::ExposeSecret;

const SCOPE: &str = "https://cognitiveservices.azure.com/.default";

fn env_of(pairs: &[(&str, String)]) -> EnvFn {
    env_from(pairs.iter().map(|(k, v)| (*k, v.clone())))
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

/// Options trusting `ca` (the testkit authority written to a file in `dir`).
fn options(env: EnvFn, ca: Option<(&TestCertificates, &Path)>) -> ChainOptions {
    let mut http = http();
    if let Some((certs, dir)) = ca {
        let path = dir.join("ca.pem");
        std::fs::write(&path, certs.ca_pem()).unwrap();
        http.extra_root_certificates = Some(path);
    }
    ChainOptions {
        env,
        http: Some(http),
        ..ChainOptions::default()
    }
}

async fn token_from(chain: CredentialChain) -> cline_provider_core::Result<String> {
    let source = EntraTokenSource::new(Arc::new(chain), SCOPE);
    source
        .fetch_token()
        .await
        .map(|t| t.token.expose_secret().to_owned())
}

/// An HTTPS Entra ID token endpoint for `tenant` handing out `token`, and its certificates.
async fn authority(tenant: &str, token: &str) -> (TestCertificates, TestServer) {
    let certs = TestCertificates::localhost();
    let server = TestServer::start_tls(&certs).await.unwrap();
    server.route(
        "POST",
        &azure::token_path(tenant),
        Reply::json(200, azure::token_response(token, 3600)),
    );
    (certs, server)
}

fn field(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

fn in_an_hour() -> u64 {
    (SystemTime::now() + Duration::from_secs(3600))
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn the_environment_service_principal_comes_first_and_posts_to_the_authority_host() {
    let (certs, authority) = authority("tenant-1", "sp-token").await;
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(&[
        ("AZURE_TENANT_ID", "tenant-1".into()),
        ("AZURE_CLIENT_ID", "app-1".into()),
        ("AZURE_CLIENT_SECRET", "s3cret".into()),
        ("AZURE_AUTHORITY_HOST", authority.url()),
    ]);
    let opts = options(env, Some((&certs, dir.path())));
    // The whole default chain: the environment answers before anything else is tried.
    let chain = CredentialChain::from_options(&opts).unwrap();
    assert_eq!(
        chain.names(),
        ChainCredential::ALL
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
    );

    // Through the provider: the data plane receives the service principal's token.
    let data = TestServer::start().await.unwrap();
    data.route(
        "POST",
        &azure::chat_path("d"),
        Reply::sse(azure::filtered_text_stream("d", &["ok"], None)),
    );
    let provider = AzureProvider::new(
        AzureConfig::new(&data.url())
            .unwrap()
            .entra_id(EntraId {
                chain: opts,
                ..EntraId::default()
            })
            .http(http()),
    )
    .unwrap();
    let reply = provider
        .complete(ChatRequest::new("d").message(Message::user("hi")))
        .await
        .unwrap();
    assert_eq!(reply.text, "ok");
    assert_eq!(
        data.requests()[0].header("authorization"),
        Some("Bearer sp-token")
    );

    let sent = &authority.requests()[0];
    let form = azure::form(sent);
    assert_eq!(
        field(&form, "grant_type").as_deref(),
        Some("client_credentials")
    );
    assert_eq!(field(&form, "client_id").as_deref(), Some("app-1"));
    assert_eq!(field(&form, "client_secret").as_deref(), Some("s3cret"));
    assert_eq!(field(&form, "scope").as_deref(), Some(SCOPE));
    // No instance discovery, no other call.
    assert_eq!(authority.requests().len(), 1);
}

#[tokio::test]
async fn an_untrusted_authority_certificate_fails_at_once_with_the_reason() {
    let certs = TestCertificates::localhost();
    let authority = TestServer::start_tls(&certs).await.unwrap();
    let env = env_of(&[
        ("AZURE_TENANT_ID", "tenant-1".into()),
        ("AZURE_CLIENT_ID", "app-1".into()),
        ("AZURE_CLIENT_SECRET", "s3cret".into()),
        ("AZURE_AUTHORITY_HOST", authority.url()),
        ("AZURE_TOKEN_CREDENTIALS", "EnvironmentCredential".into()),
    ]);
    // The authority is not trusted: no extra root.
    let chain = CredentialChain::from_options(&options(env, None)).unwrap();
    let err = token_from(chain).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::NotSignedIn);
    let msg = err.message().to_ascii_lowercase();
    assert!(
        msg.contains("certificate") || msg.contains("unknownissuer"),
        "{err}"
    );
    assert!(authority.requests().is_empty());
}

#[tokio::test]
async fn workload_identity_sends_the_federated_token_file() {
    let (certs, authority) = authority("tenant-2", "wi-token").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "k8s-service-account-jwt").unwrap();
    let env = env_of(&[
        ("AZURE_TENANT_ID", "tenant-2".into()),
        ("AZURE_CLIENT_ID", "app-2".into()),
        ("AZURE_FEDERATED_TOKEN_FILE", file.display().to_string()),
        ("AZURE_AUTHORITY_HOST", authority.url()),
    ]);
    let chain = CredentialChain::from_options(&options(env, Some((&certs, dir.path())))).unwrap();
    let described = chain.describe();
    assert_eq!(described[0].0, "EnvironmentCredential");
    assert!(described[0]
        .1
        .as_ref()
        .unwrap_err()
        .contains("AZURE_CLIENT_SECRET"));
    assert!(described[1].1.is_ok(), "workload identity is configured");
    assert_eq!(token_from(chain).await.unwrap(), "wi-token");
    let form = azure::form(&authority.requests()[0]);
    assert_eq!(
        field(&form, "client_assertion").as_deref(),
        Some("k8s-service-account-jwt")
    );
    assert_eq!(
        field(&form, "client_assertion_type").as_deref(),
        Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );
    assert_eq!(field(&form, "client_id").as_deref(), Some("app-2"));
}

fn cli_env(dir: &Path, select: &str) -> EnvFn {
    env_of(&[
        ("PATH", format!("{}:/usr/bin:/bin", dir.display())),
        ("HOME", dir.display().to_string()),
        ("AZURE_TOKEN_CREDENTIALS", select.into()),
    ])
}

#[tokio::test]
async fn the_azure_cli_is_asked_with_scope_and_its_token_is_cached() {
    let dir = tempfile::tempdir().unwrap();
    let log = azure::write_fake_clis(dir.path(), Some("cli-token"), in_an_hour());
    let data = TestServer::start().await.unwrap();
    data.route(
        "POST",
        &azure::chat_path("d"),
        Reply::sse(azure::filtered_text_stream("d", &["ok"], None)),
    );
    let provider = AzureProvider::new(
        AzureConfig::new(&data.url())
            .unwrap()
            .entra_id(EntraId {
                chain: options(cli_env(dir.path(), "dev"), None),
                ..EntraId::default()
            })
            .http(http()),
    )
    .unwrap();
    for _ in 0..3 {
        provider
            .complete(ChatRequest::new("d").message(Message::user("hi")))
            .await
            .unwrap();
    }
    for req in data.requests() {
        assert_eq!(req.header("authorization"), Some("Bearer cli-token"));
    }
    let calls = std::fs::read_to_string(log).unwrap();
    assert_eq!(
        calls.lines().collect::<Vec<_>>(),
        [format!(
            "az account get-access-token -o json --scope {SCOPE}"
        )],
        "az runs once, with --scope"
    );
}

#[tokio::test]
async fn the_developer_cli_answers_when_az_is_not_signed_in() {
    let dir = tempfile::tempdir().unwrap();
    // az says "Please run 'az login'"; replace azd with one that works.
    azure::write_fake_clis(dir.path(), None, 0);
    let other = tempfile::tempdir().unwrap();
    azure::write_fake_clis(other.path(), Some("azd-token"), in_an_hour());
    std::fs::copy(other.path().join("azd"), dir.path().join("azd")).unwrap();
    let chain = CredentialChain::from_options(&options(cli_env(dir.path(), "dev"), None)).unwrap();
    let chain = Arc::new(chain);
    let source = EntraTokenSource::new(chain.clone(), SCOPE);
    assert_eq!(
        source.fetch_token().await.unwrap().token.expose_secret(),
        "azd-token"
    );
    assert_eq!(chain.selected(), Some("AzureDeveloperCliCredential"));

    // Sticky: the next call goes straight to azd (the copied azd logs beside its original).
    std::fs::write(dir.path().join("calls.log"), "").unwrap();
    std::fs::write(other.path().join("calls.log"), "").unwrap();
    source.fetch_token().await.unwrap();
    let az_calls = std::fs::read_to_string(dir.path().join("calls.log")).unwrap();
    assert_eq!(az_calls, "", "az is not asked again");
    let calls = std::fs::read_to_string(other.path().join("calls.log")).unwrap();
    assert!(
        calls.starts_with("azd auth token -o json --no-prompt --scope "),
        "{calls}"
    );
    assert_eq!(calls.lines().count(), 1, "{calls}");
}

#[tokio::test]
async fn nobody_signed_in_lists_what_each_credential_said() {
    let dir = tempfile::tempdir().unwrap();
    azure::write_fake_clis(dir.path(), None, 0);
    let data = TestServer::start().await.unwrap();
    let provider = AzureProvider::new(
        AzureConfig::new(&data.url())
            .unwrap()
            .entra_id(EntraId {
                chain: options(cli_env(dir.path(), "dev"), None),
                ..EntraId::default()
            })
            .http(http()),
    )
    .unwrap();
    let err = provider
        .stream(ChatRequest::new("d").message(Message::user("hi")))
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind(), &ErrorKind::NotSignedIn);
    let msg = err.message();
    assert!(msg.contains("AzureCliCredential"), "{msg}");
    assert!(msg.contains("Please run 'az login'"), "{msg}");
    assert!(msg.contains("AzureDeveloperCliCredential"), "{msg}");
    assert!(msg.contains("azd auth login"), "{msg}");
    assert!(err.hint().contains("az login"), "{}", err.hint());
    assert!(err.hint().contains("AZURE_CLIENT_SECRET"), "{}", err.hint());
    assert!(
        data.requests().is_empty(),
        "nothing is sent without a token"
    );
}

#[test]
fn azure_token_credentials_narrows_the_chain() {
    let names = |v: &str| {
        CredentialChain::from_options(&options(
            env_of(&[("AZURE_TOKEN_CREDENTIALS", v.into())]),
            None,
        ))
        .map(|c| c.names().into_iter().map(str::to_owned).collect::<Vec<_>>())
    };
    assert_eq!(
        names("prod").unwrap(),
        [
            "EnvironmentCredential",
            "WorkloadIdentityCredential",
            "ManagedIdentityCredential"
        ]
    );
    assert_eq!(
        names("DEV").unwrap(),
        ["AzureCliCredential", "AzureDeveloperCliCredential"]
    );
    assert_eq!(
        names("WorkloadIdentityCredential").unwrap(),
        ["WorkloadIdentityCredential"]
    );
    assert_eq!(names("").unwrap().len(), 5);
    let err = names("AzurePowerShellCredential").unwrap_err();
    assert_eq!(err.field(), Some("AZURE_TOKEN_CREDENTIALS"));
    assert!(err.message().contains("not in this one"), "{err}");
    // A bad value stops the provider from being built, with the field named.
    let err = AzureProvider::new(
        AzureConfig::new("https://a.openai.azure.com")
            .unwrap()
            .entra_id(EntraId {
                chain: options(env_of(&[("AZURE_TOKEN_CREDENTIALS", "bogus".into())]), None),
                ..EntraId::default()
            }),
    )
    .unwrap_err();
    assert_eq!(err.field(), Some("AZURE_TOKEN_CREDENTIALS"));
}

#[derive(Debug)]
struct Hangs;

#[async_trait]
impl TokenCredential for Hangs {
    async fn get_token(
        &self,
        _: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        std::future::pending().await
    }
}

#[derive(Debug, Default)]
struct Records(Mutex<Vec<String>>);

#[async_trait]
impl TokenCredential for Records {
    async fn get_token(
        &self,
        scopes: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.0
            .lock()
            .unwrap()
            .extend(scopes.iter().map(|s| s.to_string()));
        Ok(AccessToken::new(
            "recorded",
            (SystemTime::now() + Duration::from_secs(3600)).into(),
        ))
    }
}

#[tokio::test(start_paused = true)]
async fn a_silent_managed_identity_is_given_up_after_its_deadline() {
    let started = tokio::time::Instant::now();
    let chain = CredentialChain::from_credentials([
        (
            "ManagedIdentityCredential".to_owned(),
            Arc::new(WithDeadline::new(
                Arc::new(Hangs),
                Duration::from_secs(2),
                "no IMDS here",
            )) as Arc<dyn TokenCredential>,
        ),
        (
            "Fallback".to_owned(),
            Arc::new(Records::default()) as Arc<dyn TokenCredential>,
        ),
    ]);
    assert_eq!(token_from(chain).await.unwrap(), "recorded");
    assert_eq!(started.elapsed(), Duration::from_secs(2));
}

#[tokio::test]
async fn the_scope_follows_the_host_and_can_be_overridden() {
    assert_eq!(
        AzureConfig::new("https://a.openai.azure.us")
            .unwrap()
            .scope(),
        "https://cognitiveservices.azure.us/.default"
    );
    let data = TestServer::start().await.unwrap();
    data.route(
        "POST",
        &azure::chat_path("d"),
        Reply::sse(azure::filtered_text_stream("d", &["ok"], None)),
    );
    let rec = Arc::new(Records::default());
    let provider = AzureProvider::new(
        AzureConfig::new(&data.url())
            .unwrap()
            .entra_id(EntraId {
                credential: Some(rec.clone()),
                scope: Some("api://my-gateway/.default".into()),
                ..EntraId::default()
            })
            .http(http()),
    )
    .unwrap();
    provider
        .complete(ChatRequest::new("d").message(Message::user("x")))
        .await
        .unwrap();
    assert_eq!(*rec.0.lock().unwrap(), ["api://my-gateway/.default"]);
}

// ---- App Service managed identity, in a child process -----------------------------------

/// Runs this test binary again, as `child_process_entry` alone, with `vars` in its
/// environment.
async fn run_child(mode: &str, vars: &[(&str, String)]) -> std::process::Output {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = tokio::process::Command::new(exe);
    cmd.args([
        "--exact",
        "child_process_entry",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("CLINE_AZURE_CHILD", mode)
    .env_remove("AZURE_TOKEN_CREDENTIALS");
    for name in [
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_FEDERATED_TOKEN_FILE",
        "MSI_ENDPOINT",
        "IDENTITY_SERVER_THUMBPRINT",
        "IMDS_ENDPOINT",
    ] {
        cmd.env_remove(name);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().await.unwrap()
}

#[tokio::test]
async fn app_service_managed_identity_answers_inside_the_default_chain() {
    let identity = TestServer::start().await.unwrap();
    identity.route(
        "GET",
        "/msi/token",
        Reply::json(
            200,
            azure::app_service_token(
                "mi-token",
                in_an_hour(),
                "https://cognitiveservices.azure.com",
            ),
        ),
    );
    let out = run_child(
        "app_service",
        &[
            ("IDENTITY_ENDPOINT", format!("{}/msi/token", identity.url())),
            ("IDENTITY_HEADER", "identity-header-secret".into()),
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("CHILD-OK token=mi-token via=ManagedIdentityCredential"),
        "{stdout}"
    );
    let req = &identity.requests()[0];
    assert_eq!(
        req.header("x-identity-header"),
        Some("identity-header-secret")
    );
    let q = azure::query(req);
    assert_eq!(field(&q, "api-version").as_deref(), Some("2019-08-01"));
    assert_eq!(
        field(&q, "resource").as_deref(),
        Some("https://cognitiveservices.azure.com")
    );
}

#[tokio::test]
async fn the_whole_default_chain_gives_up_within_seconds_and_lists_all_five() {
    let identity = TestServer::start().await.unwrap();
    // The managed-identity endpoint never answers in time.
    identity.route(
        "GET",
        "/msi/token",
        Reply::json(200, azure::app_service_token("late", in_an_hour(), "x"))
            .delay_headers(Duration::from_secs(30)),
    );
    let dir = tempfile::tempdir().unwrap();
    azure::write_fake_clis(dir.path(), None, 0);
    let out = run_child(
        "nothing",
        &[
            ("IDENTITY_ENDPOINT", format!("{}/msi/token", identity.url())),
            ("IDENTITY_HEADER", "h".into()),
            ("PATH", format!("{}:/usr/bin:/bin", dir.path().display())),
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ChainCredential::ALL {
        assert!(stdout.contains(name.name()), "{name} missing:\n{stdout}");
    }
    assert!(stdout.contains("no answer within 1s"), "{stdout}");
    assert!(stdout.contains("Please run 'az login'"), "{stdout}");
}

/// The child's side of the tests above, run only by them (hence ignored).
#[tokio::test]
#[ignore = "run in a child process by the managed-identity tests"]
async fn child_process_entry() {
    let mode = std::env::var("CLINE_AZURE_CHILD").expect("started by run_child");
    let opts = ChainOptions {
        managed_identity_timeout: Duration::from_secs(1),
        http: Some(http()),
        ..ChainOptions::default()
    };
    let chain = Arc::new(CredentialChain::from_options(&opts).unwrap());
    let source = EntraTokenSource::new(chain.clone(), SCOPE);
    match (mode.as_str(), source.fetch_token().await) {
        ("app_service", Ok(t)) => println!(
            "CHILD-OK token={} via={}",
            t.token.expose_secret(),
            chain.selected().unwrap_or("?")
        ),
        ("nothing", Err(e)) => {
            assert_eq!(e.kind(), &ErrorKind::NotSignedIn);
            println!("CHILD-ERR {}", e.message());
        }
        (mode, other) => panic!("{mode}: unexpected {other:?}"),
    }
}

#[tokio::test]
async fn ssl_cert_file_from_the_chain_environment_is_trusted_for_the_authority() {
    let (certs, authority) = authority("tenant-3", "via-ssl-cert-file").await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("corp-root.pem");
    std::fs::write(&ca, certs.ca_pem()).unwrap();
    let env = env_of(&[
        ("AZURE_TENANT_ID", "tenant-3".into()),
        ("AZURE_CLIENT_ID", "app-3".into()),
        ("AZURE_CLIENT_SECRET", "s".into()),
        ("AZURE_AUTHORITY_HOST", authority.url()),
        ("SSL_CERT_FILE", ca.display().to_string()),
    ]);
    let chain = CredentialChain::from_options(&options(env, None)).unwrap();
    assert_eq!(token_from(chain).await.unwrap(), "via-ssl-cert-file");
}

#[test]
fn a_plain_http_authority_host_is_not_used() {
    let env = env_of(&[
        ("AZURE_TENANT_ID", "tenant-1".into()),
        ("AZURE_CLIENT_ID", "app-1".into()),
        ("AZURE_CLIENT_SECRET", "s".into()),
        ("AZURE_AUTHORITY_HOST", "http://127.0.0.1:9".into()),
    ]);
    let chain = CredentialChain::from_options(&options(env, None)).unwrap();
    let (name, state) = &chain.describe()[0];
    assert_eq!(name, "EnvironmentCredential");
    let why = state.as_ref().unwrap_err();
    assert!(why.contains("HTTPS"), "{why}");
}
