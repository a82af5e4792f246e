//! The secret-leak audit: recognizable secrets (API keys, access, refresh and ID tokens, an
//! Azure client secret, the admin API's token, a credential header, a proxy password) are
//! planted everywhere a program can put them, then every way the SDK shows something is
//! searched for them:
//!
//! - the `Debug` of every public type that can hold a secret; which types those are is not
//!   a list kept by hand: [`every_secret_bearing_type_is_audited`] reads the crates' sources
//!   and fails when a type that (transitively) holds a `SecretString`, custom headers or a
//!   proxy setting is missing from the audit;
//! - the `Display`, the hint and the `Debug` of every error the scenarios provoke (servers
//!   that echo the credential back included), and of the warnings and statuses;
//! - the policy report (text and JSON);
//! - every `tracing` line at TRACE level, of every crate, captured by a test subscriber.
//!
//! "Contains a secret" means: holds any 12-character piece of it (a masked `sk-…7f3a` shows
//! seven characters, a leak shows more).

use std::collections::BTreeSet;
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use cline_provider::http::{ConfigWarning, HttpClient, HttpConfig, ProxyConfig, RetryPolicy};
use cline_provider::policy::{
    resolve, CheckContext, ConfigDir, Edit, MemberSettings, Organization, Policy, RemoteConfig,
    RemoteConfigClient,
};
use cline_provider::secrets::{FileSecretStore, MemorySecretStore, SecretStore, OPENAI_API_KEY};
use cline_provider::{connect_with, ChatRequest, ConnectOptions, Message, Provider};
use cline_provider_testkit::{azure, openai, Reply, TestServer};
use futures_util::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

// ---- the planted secrets ----------------------------------------------------------------

const API_KEY: &str = "sk-LEAKapikey-3f9a1c7e5b2d8064";
const AZURE_KEY: &str = "azLEAKazurekey0c1d2e3f4a5b6978";
const AZURE_CLIENT_SECRET: &str = "LEAKclientsecret-7Hq2Wm9Zp4Xv";
const ENTRA_TOKEN: &str = "eyLEAKentratoken.9d8c7b6a5f4e3d2c";
const ADMIN_TOKEN: &str = "LEAKadmintoken-5e6f7a8b9c0d1e2f";
const HEADER_SECRET: &str = "LEAKheadervalue-a1b2c3d4e5f6a7b8";
const PROXY_PASSWORD: &str = "LEAKproxypassword42xyz";

// ---- what was shown ---------------------------------------------------------------------

/// Everything the SDK showed in one test, and the secrets it must not show.
#[derive(Default)]
struct Audit {
    secrets: Vec<String>,
    shown: Vec<(String, String)>,
}

impl Audit {
    fn new() -> Audit {
        let mut audit = Audit::default();
        for s in [
            API_KEY,
            AZURE_KEY,
            AZURE_CLIENT_SECRET,
            ENTRA_TOKEN,
            ADMIN_TOKEN,
            HEADER_SECRET,
            PROXY_PASSWORD,
        ] {
            audit.secret(s);
        }
        audit
    }

    fn secret(&mut self, s: &str) {
        assert!(s.len() >= 12, "too short to search for: {s}");
        self.secrets.push(s.to_owned());
    }

    fn debug(&mut self, type_name: &str, value: &dyn fmt::Debug) {
        audited()
            .lock()
            .expect("audited")
            .insert(type_name.to_owned());
        self.shown
            .push((format!("{type_name}: Debug"), format!("{value:?}")));
        self.shown.push((
            format!("{type_name}: Debug (alternate)"),
            format!("{value:#?}"),
        ));
    }

    fn display(&mut self, what: &str, value: &dyn fmt::Display) {
        self.shown
            .push((format!("{what}: Display"), value.to_string()));
    }

    fn error(&mut self, what: &str, err: &cline_provider::Error) {
        self.display(what, err);
        self.shown.push((format!("{what}: hint"), err.hint()));
        self.shown
            .push((format!("{what}: Debug"), format!("{err:?}")));
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            self.shown
                .push((format!("{what}: cause"), cause.to_string()));
            source = cause.source();
        }
    }

    fn warnings(&mut self, what: &str, warnings: &[ConfigWarning]) {
        for w in warnings {
            self.display(what, w);
            self.shown
                .push((format!("{what}: Debug"), format!("{w:?}")));
        }
    }

    /// Fails on the first secret found, naming where it was shown.
    fn check(&self) {
        assert!(!self.shown.is_empty());
        for (what, text) in &self.shown {
            if let Some(piece) = leaked(&self.secrets, text) {
                panic!("{what} shows a secret ({piece:?}):\n{text}");
            }
        }
        let logs = captured_logs();
        if let Some(piece) = leaked(&self.secrets, &logs) {
            let line = logs.lines().find(|l| l.contains(piece)).unwrap_or_default();
            panic!("a TRACE log line shows a secret ({piece:?}):\n{line}");
        }
    }
}

/// The first 12-character piece of a secret that `text` contains.
fn leaked<'a>(secrets: &'a [String], text: &str) -> Option<&'a str> {
    secrets.iter().find_map(|s| {
        let chars: Vec<(usize, char)> = s.char_indices().collect();
        (0..chars.len().saturating_sub(11)).find_map(|i| {
            let start = chars[i].0;
            let end = chars.get(i + 12).map_or(s.len(), |c| c.0);
            let piece = &s[start..end];
            text.contains(piece).then_some(piece)
        })
    })
}

fn audited() -> &'static Mutex<BTreeSet<String>> {
    static AUDITED: OnceLock<Mutex<BTreeSet<String>>> = OnceLock::new();
    AUDITED.get_or_init(Default::default)
}

// ---- TRACE capture ----------------------------------------------------------------------

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture(Arc::default());
        let writer = capture.clone();
        // Every crate, every level, with span fields: what an application at TRACE prints.
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        capture
    })
}

fn captured_logs() -> String {
    String::from_utf8_lossy(&capture().0.lock().expect("capture")).into_owned()
}

// ---- helpers ----------------------------------------------------------------------------

fn http() -> HttpConfig {
    HttpConfig {
        connect_timeout: Duration::from_secs(5),
        header_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(10),
        proxy: ProxyConfig::Direct,
        retry: RetryPolicy {
            max_retries: 1,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            ..RetryPolicy::default()
        },
        ..HttpConfig::default()
    }
}

fn store_with(pairs: &[(&str, &str)]) -> MemorySecretStore {
    let store = MemorySecretStore::new();
    for (k, v) in pairs {
        store.set(k, SecretString::from(*v)).expect("secret");
    }
    store
}

/// Runs a request to its end; returns the error that ended it, if any.
async fn exchange(provider: &dyn Provider, model: &str) -> Option<cline_provider::Error> {
    let request = ChatRequest::new(model).message(Message::user("hello"));
    match provider.stream(request).await {
        Err(e) => Some(e),
        Ok(mut stream) => {
            while let Some(item) = stream.next().await {
                if let Err(e) = item {
                    return Some(e);
                }
            }
            None
        }
    }
}

/// An in-band error that quotes the request's credentials, as a careless gateway's does.
fn echo_in_band(request: &cline_provider_testkit::RecordedRequest) -> Reply {
    let quoted: Vec<String> = request
        .headers
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    Reply::sse(vec![
        cline_provider_testkit::SseFrame::json(&openai::chunk(json!({"content": "partial"}))),
        cline_provider_testkit::SseFrame::json(&json!({"error": {
            "message": format!("upstream failed for {}", quoted.join(" ")),
            "type": "server_error",
        }})),
    ])
}

// ---- the scenarios ----------------------------------------------------------------------

async fn openai_compatible(audit: &mut Audit) {
    let server = TestServer::start().await.expect("server");
    let base = format!("{}/v1", server.url());

    // The member's settings: an organization header that is a credential, through policy.
    let org = Policy::from_json(
        &json!({"version": "1", "providerSettings": {"OpenAiCompatible": {
            "openAiBaseUrl": base,
            "openAiHeaders": {"x-api-key": HEADER_SECRET, "X-Team": "search"},
        }}})
        .to_string(),
        Organization::new("org-audit").with_name("Audit Corp"),
    )
    .expect("policy");
    audit.debug("Policy", &org);
    audit.debug("RemoteConfig", &org.config);
    audit.debug(
        "OpenAiCompatibleSettings",
        org.config.openai_compatible.as_ref().expect("block"),
    );
    let member = MemberSettings::from_json(r#"{"openAiModelId": "m"}"#).expect("member");
    audit.debug("MemberSettings", &member);
    let edit = || Edit::SetHeader {
        name: "x-api-key".into(),
        value: HEADER_SECRET.into(),
    };
    audit.debug("Edit", &edit());
    // Without a policy the member's own credential header is kept; under it, refused.
    let mut free = resolve(None, &member);
    free.edit(edit()).expect("a member may set a header");
    audit.debug("EffectiveSettings", &free);
    audit.debug("MemberSettings", free.member());
    let mut settings = resolve(Some(&org), &member);
    let err = settings.edit(edit()).expect_err("headers are locked");
    audit.error("locked header edit", &err);
    audit.debug("EffectiveSettings", &settings);
    let store = store_with(&[(OPENAI_API_KEY, API_KEY)]);
    audit.debug("MemorySecretStore", &store);
    let report = settings.report_with_credentials(&store);
    audit.display("report", &report);
    audit.shown.push(("report JSON".into(), report.to_json()));
    audit
        .shown
        .push(("report".into(), settings.report().to_string()));
    audit.debug(
        "Credential",
        &settings.credential(&store).expect("credential"),
    );
    audit.debug(
        "CheckContext",
        &CheckContext {
            secrets: Some(&store),
            ..CheckContext::default()
        },
    );

    // The HTTP settings: a proxy with a password, a default credential header.
    let with_proxy = HttpConfig {
        proxy: ProxyConfig::Url {
            url: url::Url::parse(&format!("http://user:{PROXY_PASSWORD}@127.0.0.1:9"))
                .expect("proxy url"),
            no_proxy: None,
        },
        default_headers: vec![("x-api-key".into(), HEADER_SECRET.into())],
        ..http()
    };
    audit.debug("HttpConfig", &with_proxy);
    audit.debug("ProxyConfig", &with_proxy.proxy);
    audit.debug(
        "HttpClient",
        &HttpClient::new(with_proxy.clone()).expect("client"),
    );
    let options = ConnectOptions {
        http: http(),
        ..ConnectOptions::default()
    };
    audit.debug(
        "ConnectOptions",
        &ConnectOptions {
            http: with_proxy,
            ..ConnectOptions::default()
        },
    );

    let connection = connect_with(&settings, &store, &options).expect("connect");
    audit.debug("Connection", &connection);
    audit.warnings("connection warnings", connection.warnings());
    let provider = connection.into_provider();
    audit.debug("EnforcedProvider", &provider);

    // A 401 that quotes the credentials, an in-band error that does too, a refused request.
    server.route_fn("POST", "/v1/chat/completions", openai::echo_credentials);
    let err = exchange(&provider, "m").await.expect("401");
    audit.error("echoed 401", &err);
    server.route_fn("POST", "/v1/chat/completions", echo_in_band);
    let err = exchange(&provider, "m").await.expect("in-band error");
    audit.error("echoed in-band error", &err);
    audit.secret("LEAKrequestheader-0a9b8c7d");
    let err = provider
        .stream(
            ChatRequest::new("m")
                .message(Message::user("hi"))
                .header("x-api-key", "LEAKrequestheader-0a9b8c7d"),
        )
        .await
        .err()
        .expect("a locked credential header is refused");
    audit.error("locked header", &err);

    // The backend on its own: config, provider, a key in the URL's query, a bad header value.
    let config = cline_provider::openai::OpenAiConfig::new(&base)
        .expect("config")
        .api_key(API_KEY)
        .headers([("x-api-key", HEADER_SECRET)]);
    audit.debug("OpenAiConfig", &config);
    audit.warnings("OpenAiConfig warnings", &config.warnings());
    let bare = cline_provider::openai::OpenAiProvider::new(config).expect("provider");
    audit.debug("OpenAiProvider", &bare);
    server.route_fn("POST", "/v1/chat/completions", openai::echo_credentials);
    let err = exchange(&bare, "m").await.expect("401");
    audit.error("bare 401", &err);
    match cline_provider::openai::OpenAiConfig::new(&format!(
        "http://10.1.2.3/v1?api-key={API_KEY}"
    )) {
        Ok(c) => {
            audit.debug("OpenAiConfig", &c);
            audit.warnings("query key", &c.warnings());
        }
        Err(e) => audit.error("query key", &e),
    }
    let bad = cline_provider::openai::OpenAiConfig::new(&base)
        .expect("config")
        .headers([("x-api-key", format!("{HEADER_SECRET}\n"))]);
    if let Err(e) = cline_provider::openai::OpenAiProvider::new(bad) {
        audit.error("bad header value", &e);
    }
    let err = RemoteConfig::from_json(
        &json!({"version": "1", "providerSettings": {"OpenAiCompatible": {
            "openAiHeaders": {"x-api-key": format!("{HEADER_SECRET}\r\nX-Evil: 1")}
        }}})
        .to_string(),
    )
    .expect_err("a header value with a line break");
    audit.error("policy header value", &err);
    assert!(
        server.requests().len() >= 3,
        "the requests went out: {:?}",
        server.requests().len()
    );
}

async fn azure(audit: &mut Audit) {
    use cline_provider::azure::auth::chain::{ChainOptions, CredentialChain};
    use cline_provider::azure::auth::env_from;
    use cline_provider::azure::{AzureConfig, AzureProvider, EntraId};
    use cline_provider_testkit::TestCertificates;

    let data = TestServer::start().await.expect("data plane");
    data.route_fn("POST", &azure::chat_path("dep"), openai::echo_credentials);

    // api-key.
    let config = AzureConfig::new(&data.url())
        .expect("config")
        .api_key(AZURE_KEY)
        .headers([("x-api-key", HEADER_SECRET)])
        .http(http());
    audit.debug("AzureConfig", &config);
    audit.debug("AzureAuth", &config.auth);
    audit.warnings("AzureConfig warnings", &config.warnings());
    let provider = AzureProvider::new(config).expect("provider");
    audit.debug("AzureProvider", &provider);
    let err = exchange(&provider, "dep").await.expect("401");
    audit.error("Azure echoed 401", &err);

    // Entra ID from a service principal in the environment: an authority that echoes the
    // form it was sent (client secret included) when it refuses, then one that hands out a
    // token the data plane echoes back.
    let certs = TestCertificates::localhost();
    let authority = TestServer::start_tls(&certs).await.expect("authority");
    authority.route_fn("POST", &azure::token_path("tenant-a"), |r| {
        Reply::json(
            401,
            json!({"error": "invalid_client", "error_description": format!("AADSTS7000215: Invalid client secret provided: {}", r.body_text())}),
        )
    });
    let dir = tempfile::tempdir().expect("dir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, certs.ca_pem()).expect("ca");
    let chain = ChainOptions {
        env: env_from([
            ("AZURE_TENANT_ID", "tenant-a".to_owned()),
            ("AZURE_CLIENT_ID", "app-a".to_owned()),
            ("AZURE_CLIENT_SECRET", AZURE_CLIENT_SECRET.to_owned()),
            ("AZURE_AUTHORITY_HOST", authority.url()),
            (
                "AZURE_TOKEN_CREDENTIALS",
                "EnvironmentCredential".to_owned(),
            ),
        ]),
        http: Some(HttpConfig {
            extra_root_certificates: Some(ca.clone()),
            ..http()
        }),
        ..ChainOptions::default()
    };
    audit.debug("ChainOptions", &chain);
    if let Ok(c) = CredentialChain::from_options(&chain) {
        audit.debug("CredentialChain", &c);
    }
    let entra = EntraId {
        chain: chain.clone(),
        ..EntraId::default()
    };
    audit.debug("EntraId", &entra);
    let config = AzureConfig::new(&data.url())
        .expect("config")
        .entra_id(entra)
        .http(http());
    audit.debug("AzureConfig", &config);
    audit.debug("AzureAuth", &config.auth);
    let provider = AzureProvider::new(config).expect("provider");
    audit.debug("AzureProvider", &provider);
    let err = exchange(&provider, "dep").await.expect("no token");
    audit.error("Entra refused", &err);
    assert!(
        authority
            .requests()
            .iter()
            .any(|r| r.body_text().contains(AZURE_CLIENT_SECRET)),
        "the secret went to the authority: {err}\n{:?}",
        authority.requests()
    );

    authority.route(
        "POST",
        &azure::token_path("tenant-a"),
        Reply::json(200, azure::token_response(ENTRA_TOKEN, 3600)),
    );
    let provider = AzureProvider::new(
        AzureConfig::new(&data.url())
            .expect("config")
            .entra_id(EntraId {
                chain,
                ..EntraId::default()
            })
            .http(http()),
    )
    .expect("provider");
    let err = exchange(&provider, "dep")
        .await
        .expect("401 after the token");
    audit.error("Entra token echoed", &err);
    assert!(
        data.requests()
            .iter()
            .any(|r| r.header("authorization") == Some(&format!("Bearer {ENTRA_TOKEN}"))),
        "the token reached the data plane"
    );
}

async fn core_policy_and_stores(audit: &mut Audit) {
    use cline_provider::auth::{AccessToken, CachedTokenSource, TokenSource};

    // Tokens and the single-flight cache.
    struct Fixed;
    #[cline_provider::async_trait]
    impl TokenSource for Fixed {
        async fn fetch_token(&self) -> cline_provider::Result<AccessToken> {
            Ok(AccessToken::new(ENTRA_TOKEN.to_owned(), None))
        }
    }
    let token = AccessToken::new(ENTRA_TOKEN.to_owned(), None);
    audit.debug("AccessToken", &token);
    let cache = CachedTokenSource::new(Arc::new(Fixed));
    let issued = cache.token().await.expect("token");
    audit.debug("IssuedToken", &issued);
    audit.debug("CachedTokenSource", &cache);

    // The admin API client, its refresh outcome against an admin API that echoes the token.
    let admin = TestServer::start().await.expect("admin api");
    admin.route_fn("GET", "/api/v1/users/me/remote-config", |r| {
        Reply::json(
            401,
            json!({"error": format!("bad token {}", r.header("authorization").unwrap_or(""))}),
        )
    });
    let dir = tempfile::tempdir().expect("dir");
    let client = RemoteConfigClient::new(&admin.url(), SecretString::from(ADMIN_TOKEN))
        .expect("client")
        .with_cache_dir(dir.path().join("cache"));
    audit.debug("RemoteConfigClient", &client);
    let outcome = client.refresh().await;
    audit.debug("RefreshOutcome", &outcome);
    if let Some(e) = outcome.error() {
        audit.error("admin API refusal", e);
    }
    assert!(admin
        .requests()
        .iter()
        .any(|r| r.header("authorization") == Some(&format!("Bearer {ADMIN_TOKEN}"))));

    // A managed connection over that client and a file secret store.
    let file_store = Arc::new(FileSecretStore::new(dir.path().join("secrets.json")));
    file_store
        .set(OPENAI_API_KEY, SecretString::from(API_KEY))
        .expect("set");
    audit.debug("FileSecretStore", &*file_store);
    let server = TestServer::start().await.expect("server");
    let config_dir = ConfigDir::new(dir.path().join("config"));
    let member = MemberSettings::from_json(
        &json!({"openAiBaseUrl": format!("{}/v1", server.url()), "openAiModelId": "m",
                "openAiHeaders": {"x-api-key": HEADER_SECRET}})
        .to_string(),
    )
    .expect("member");
    config_dir
        .save_member_settings(&member, &*file_store)
        .expect("save");
    let saved = std::fs::read_to_string(config_dir.member_settings_path()).expect("settings file");
    audit.shown.push(("the settings file".into(), saved));
    let managed = cline_provider::ManagedConnection::open(
        cline_provider::connector(),
        Arc::new(client),
        config_dir,
        file_store,
        ConnectOptions {
            http: http(),
            ..ConnectOptions::default()
        },
    )
    .await
    .expect("managed");
    audit.debug("ManagedConnection", &managed);
    let update = managed.subscribe().borrow().clone();
    audit.debug("SettingsUpdate", &update);
    audit.display("managed report", &managed.report().await);
}

async fn codex_sign_in(audit: &mut Audit) {
    use cline_provider::codex::auth::callback_query::CallbackQuery;
    use cline_provider::codex::auth::pkce::PkceCodes;
    use cline_provider::codex::{CodexAuth, CodexConfig};
    use cline_provider_testkit::oauth::FakeIssuer;

    let issuer = FakeIssuer::start().await.expect("issuer");
    let dir = tempfile::tempdir().expect("dir");
    let config = CodexConfig::new(dir.path().join("home"))
        .issuer(&issuer.url())
        .expect("issuer")
        .codex_home(None)
        .callback_ports(0, None);
    audit.debug("CodexConfig", &config);
    let auth = CodexAuth::new(config).expect("auth");
    audit.debug("CodexAuth", &auth);
    let pkce = PkceCodes::generate().expect("pkce");
    audit.secret(pkce.verifier().expose_secret());
    audit.debug("PkceCodes", &pkce);

    // Browser sign-in: the state and the code travel in URLs.
    let login = auth.login_browser(false).await.expect("browser login");
    audit.debug("BrowserLogin", &login);
    for (k, v) in login.url().query_pairs() {
        if k == "state" {
            audit.secret(&v);
        }
    }
    let url = login.url().clone();
    let waiting = tokio::spawn(login.wait());
    let page = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("browser")
        .get(url)
        .send()
        .await
        .expect("browser");
    audit
        .shown
        .push(("callback page".into(), page.text().await.expect("page")));
    let status = waiting.await.expect("join").expect("signed in");
    audit.debug("SignInStatus", &status);
    audit.display("SignInStatus", &status);

    // Every token the issuer handed out, read back from the store.
    let collect = |audit: &mut Audit| {
        let outer: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join("home").join("codex-auth.json")).expect("store"),
        )
        .expect("json");
        let doc: serde_json::Value = serde_json::from_str(
            outer["openai-codex-oauth-credentials"]
                .as_str()
                .expect("entry"),
        )
        .expect("document");
        for key in ["id_token", "access_token", "refresh_token"] {
            audit.secret(doc["tokens"][key].as_str().expect(key));
        }
    };
    collect(audit);
    let token = auth.token().await.expect("token");
    audit.debug("CodexToken", &token);
    let issued = issuer.issue_tokens(Duration::from_secs(3600));
    for t in [
        &issued.id_token,
        &issued.access_token,
        &issued.refresh_token,
    ] {
        audit.secret(t);
    }
    audit.debug(
        "TokenSet",
        &cline_provider::codex::auth::TokenSet {
            id_token: issued.id_token.clone().into(),
            access_token: issued.access_token.clone().into(),
            refresh_token: issued.refresh_token.clone().into(),
            account_id: Some("acc-test-1".into()),
            last_refresh: None,
        },
    );
    audit.debug("IssuedToken", token.issued());

    // A refresh, a refusal that quotes the refresh token, a dead refresh token.
    let next = auth
        .refresh_after_unauthorized(&token)
        .await
        .expect("refreshed");
    collect(audit);
    issuer.fail_next_refresh(Reply::json(
        400,
        json!({"error": "invalid_request", "error_description": "the token was seen"}),
    ));
    if let Err(e) = auth.refresh_after_unauthorized(&next).await {
        audit.error("refresh refused", &e);
    }
    let status = auth.status().expect("status");
    audit.display("SignInStatus", &status);

    // Manual sign-in: a pasted address with the wrong state, which carries a real code.
    let manual = auth.login_manual().expect("manual");
    audit.debug("ManualLogin", &manual);
    let pasted = format!(
        "http://localhost:1455/auth/callback?code=LEAKauthcode-0123456789&state=not-{}",
        "the-state"
    );
    audit.secret("LEAKauthcode-0123456789");
    let query = CallbackQuery::from_pasted(&pasted).expect("pasted");
    audit.debug("CallbackQuery", &query);
    let err = manual.finish(&pasted).await.expect_err("wrong state");
    audit.error("wrong state", &err);

    // Device sign-in, then sign-out.
    issuer.set_pending_polls(1);
    let device = auth.login_device().await.expect("device");
    audit.debug("DeviceLogin", &device);
    device.wait().await.expect("device sign-in");
    collect(audit);
    let out = auth.logout().await.expect("logout");
    audit.debug("LogoutOutcome", &out);
    for r in issuer.server().requests() {
        for (k, v) in url::form_urlencoded::parse(r.body_text().as_bytes()) {
            if [
                "code",
                "code_verifier",
                "refresh_token",
                "token",
                "device_auth_id",
            ]
            .contains(&&*k)
                && v.len() >= 12
            {
                audit.secret(&v);
            }
        }
    }
    let logs = captured_logs();
    assert!(
        logs.contains("signed in to OpenAI Codex"),
        "TRACE logging was on"
    );
}

/// Every token in the SDK's Codex store and the Codex CLI's `auth.json` under `dir`.
fn stored_codex_tokens(dir: &Path, audit: &mut Audit) {
    let sdk = dir.join("home").join("codex-auth.json");
    if let Ok(bytes) = std::fs::read(&sdk) {
        let outer: serde_json::Value = serde_json::from_slice(&bytes).expect("store json");
        if let Some(entry) = outer["openai-codex-oauth-credentials"].as_str() {
            let doc: serde_json::Value = serde_json::from_str(entry).expect("document");
            for key in ["id_token", "access_token", "refresh_token"] {
                audit.secret(doc["tokens"][key].as_str().expect(key));
            }
        }
    }
    let cli = dir.join("codex").join("auth.json");
    if let Ok(bytes) = std::fs::read(&cli) {
        let doc: serde_json::Value = serde_json::from_slice(&bytes).expect("auth.json");
        for key in ["id_token", "access_token", "refresh_token"] {
            audit.secret(doc["tokens"][key].as_str().expect(key));
        }
    }
}

/// The Codex provider (Responses API) on a Codex CLI sign-in: a reply, a 401 cured by a
/// refresh, servers that quote the bearer token back (in an HTTP error and in a
/// `response.failed`), the plan's usage limit, a model the plan lacks, a sign-in the endpoint
/// refuses for good.
async fn codex_provider(audit: &mut Audit) {
    use cline_provider::codex::responses::ResponsesDecoder;
    use cline_provider::codex::{CodexAuth, CodexConfig, CodexProvider};
    use cline_provider_testkit::oauth::FakeIssuer;
    use cline_provider_testkit::responses::{FakeCodexBackend, Turn};

    let issuer = FakeIssuer::start().await.expect("issuer");
    let backend = FakeCodexBackend::start().await.expect("backend");
    let dir = tempfile::tempdir().expect("dir");
    let codex_home = dir.path().join("codex");
    let tokens = issuer
        .sign_in_cli(&codex_home, Duration::from_secs(3600))
        .expect("CLI sign-in");
    stored_codex_tokens(dir.path(), audit);
    let config = CodexConfig::new(dir.path().join("home"))
        .issuer(&issuer.url())
        .expect("issuer")
        .base_url(&backend.base_url())
        .expect("base url")
        .codex_home(Some(codex_home));
    let auth = CodexAuth::new(config).expect("auth");
    let provider =
        CodexProvider::with_client(auth.clone(), HttpClient::new(http()).expect("client"))
            .expect("provider")
            .default_model("gpt-5.4");
    audit.debug("CodexProvider", &provider);
    audit.debug("ResponsesDecoder", &ResponsesDecoder::new());

    // Each exchange gets the turn set just before it.
    let next = Arc::new(Mutex::new(Turn::new()));
    let answer = Arc::clone(&next);
    backend.answer_with(move |_| answer.lock().expect("turn").clone());
    let script = |turn: Turn| *next.lock().expect("turn") = turn;
    script(
        Turn::new()
            .reasoning(&["Thinking."])
            .message(&["Hi"])
            .usage(3, 0, 1, 1)
            .plan_limit_headers(12.0, 3.0, 1_900_000_000),
    );
    assert!(
        exchange(&provider, "").await.is_none(),
        "{:?}",
        backend.refusals()
    );

    // A revoked access token: one refresh, then the reply.
    let token = auth.token().await.expect("token");
    backend.reject_token(token.bearer().expose_secret());
    assert!(
        exchange(&provider, "").await.is_none(),
        "{:?}",
        backend.refusals()
    );
    assert_eq!(issuer.refresh_requests(), 1);
    stored_codex_tokens(dir.path(), audit);
    let access = auth
        .token()
        .await
        .expect("token")
        .bearer()
        .expose_secret()
        .to_owned();
    audit.secret(&access);

    // Servers that quote the credentials back.
    script(Turn::http_error(
        400,
        json!({"detail": format!("Bad request from Authorization: Bearer {access} (account {})", tokens.account_id)}),
    ));
    let err = exchange(&provider, "").await.expect("400");
    audit.error("codex echoed 400", &err);
    script(Turn::text(&["partial "]).failed(
        "server_error",
        &format!("upstream failed for Bearer {access}"),
    ));
    let err = exchange(&provider, "").await.expect("in-band failure");
    audit.error("codex echoed response.failed", &err);
    script(Turn::usage_limit("plus", Duration::from_secs(3600)));
    let err = exchange(&provider, "").await.expect("usage limit");
    audit.error("codex usage limit", &err);
    script(Turn::text(&["ok"]));
    let err = exchange(&provider, "gpt-4o")
        .await
        .expect("not on the plan");
    audit.error("codex model not on the plan", &err);
    let models = provider.list_models().await.expect("models");
    audit
        .shown
        .push(("codex model list".into(), format!("{models:?}")));

    // The account is refused for good: the refreshed token is refused too.
    backend.refuse_every_token(true);
    let err = exchange(&provider, "").await.expect("refused");
    audit.error("codex refused sign-in", &err);
    stored_codex_tokens(dir.path(), audit);
    audit.debug("CodexProvider", &provider);
    assert!(backend.responses_requests().len() >= 8);
}

// ---- coverage: every public type that can hold a secret ----------------------------------

/// Types that (transitively) hold one of these are secret-bearing.
const SEEDS: [&str; 5] = [
    "SecretString",
    "SecretBox",
    "Secret",
    "Headers",
    "ProxyConfig",
];

/// One `struct`/`enum` of the sources: its file, name, visibility, and the type names its
/// fields and variants mention.
struct Item {
    file: String,
    name: String,
    public: bool,
    mentions: BTreeSet<String>,
}

fn items(dir: &Path, out: &mut Vec<Item>) {
    for entry in std::fs::read_dir(dir).expect("source dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            items(&path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("source");
        let lines: Vec<&str> = text
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect();
        let mut i = 0;
        while i < lines.len() {
            let line = lines[i];
            let (public, rest) = match line.strip_prefix("pub ") {
                Some(rest) => (true, rest),
                None => (false, line.strip_prefix("pub(crate) ").unwrap_or(line)),
            };
            let (is_enum, rest) = match (rest.strip_prefix("struct "), rest.strip_prefix("enum ")) {
                (Some(r), _) => (false, r),
                (_, Some(r)) => (true, r),
                _ => {
                    i += 1;
                    continue;
                }
            };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let mut body = String::from(&rest[name.len()..]);
            if !(line.trim_end().ends_with(';')) {
                while i + 1 < lines.len() && lines[i] != "}" && !lines[i].trim_end().ends_with(");")
                {
                    i += 1;
                    let l = lines[i];
                    // A variant's own name is no type it holds.
                    let l = if is_enum {
                        l.trim_start()
                            .trim_start_matches(|c: char| c.is_alphanumeric() || c == '_')
                    } else {
                        l
                    };
                    body.push_str(l);
                    body.push('\n');
                }
            }
            let mentions = body
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with(|c: char| c.is_ascii_uppercase()))
                .map(str::to_owned)
                .collect();
            out.push(Item {
                file: path.display().to_string(),
                name,
                public,
                mentions,
            });
            i += 1;
        }
    }
}

/// The public types of the SDK's crates that hold a secret, directly or through another type.
fn secret_bearing_public_types() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = Vec::new();
    for krate in [
        "cline-provider-core",
        "cline-provider-openai",
        "cline-provider-azure",
        "cline-provider-codex",
    ] {
        items(&root.join(krate).join("src"), &mut all);
    }
    assert!(all.len() > 100, "read {} types", all.len());
    let mut bearing: Vec<bool> = vec![false; all.len()];
    // A name resolves to the type of that name in the same file, else to any type of it.
    let resolve = |file: &str, name: &str| -> Option<usize> {
        all.iter()
            .position(|t| t.file == file && t.name == name)
            .or_else(|| all.iter().position(|t| t.name == name))
    };
    loop {
        let mut changed = false;
        for (i, item) in all.iter().enumerate() {
            if bearing[i] {
                continue;
            }
            let holds = item.mentions.iter().any(|m| {
                SEEDS.contains(&m.as_str())
                    || resolve(&item.file, m).is_some_and(|j| j != i && bearing[j])
            });
            if holds {
                bearing[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    all.iter()
        .zip(bearing)
        .filter(|(item, b)| *b && item.public)
        .map(|(item, _)| item.name.clone())
        .collect()
}

/// Types with no `Debug` to show, or that only live inside a call: the reason each is safe.
const NOT_SHOWN: [(&str, &str); 1] = [(
    "RequestSpec",
    "borrows the backend's request factory for one call; it has no Debug and is never stored",
)];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_is_shown_anywhere() {
    capture();
    let mut audit = Audit::new();
    openai_compatible(&mut audit).await;
    azure(&mut audit).await;
    core_policy_and_stores(&mut audit).await;
    codex_sign_in(&mut audit).await;
    codex_provider(&mut audit).await;
    audit.check();

    let wanted = secret_bearing_public_types();
    let audited = audited().lock().expect("audited").clone();
    let missing: Vec<&String> = wanted
        .iter()
        .filter(|t| !audited.contains(*t) && !NOT_SHOWN.iter().any(|(n, _)| n == t))
        .collect();
    assert!(
        missing.is_empty(),
        "public types that can hold a secret but are not audited: {missing:?}"
    );
}

/// The scan that decides which types must be audited finds the ones known to hold secrets,
/// through any number of wrappers, and not the ones that hold none.
#[test]
fn the_type_scan_finds_secret_holders_through_wrappers() {
    let found = secret_bearing_public_types();
    for holder in [
        "OpenAiConfig",      // an api key
        "TokenSet",          // three tokens
        "EffectiveSettings", // member settings, holding custom headers
        "ManagedConnection", // an Arc of a private inner state holding the secret store
        "CodexAuth",         // an Arc of a private inner with a token cache
        "HttpConfig",        // a proxy with credentials
    ] {
        assert!(found.contains(holder), "{holder} not found in {found:?}");
    }
    for plain in [
        "Usage",
        "ModelInfo",
        "FinishReason",
        "StreamEvent",
        "TimeoutPhase",
    ] {
        assert!(!found.contains(plain), "{plain} holds no secret");
    }
    assert!(found.len() >= 30, "{found:?}");
}
