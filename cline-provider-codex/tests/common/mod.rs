//! Shared set-up: a fake issuer, a private directory, a config pointing at both.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use cline_provider_codex::{CodexAuth, CodexConfig};
use cline_provider_testkit::oauth::{FakeIssuer, IssuedTokens};

pub struct Setup {
    pub issuer: FakeIssuer,
    pub dir: tempfile::TempDir,
}

impl Setup {
    pub async fn new() -> Setup {
        Setup {
            issuer: FakeIssuer::start().await.expect("issuer"),
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("sdk-home")
    }

    pub fn codex_home(&self) -> PathBuf {
        self.dir.path().join("codex-home")
    }

    /// Our store only, callback on a free port.
    pub fn config(&self) -> CodexConfig {
        CodexConfig::new(self.home())
            .issuer(&self.issuer.url())
            .expect("loopback issuer")
            .codex_home(None)
            .callback_ports(0, None)
    }

    /// Sharing the Codex CLI's directory too.
    pub fn shared_config(&self) -> CodexConfig {
        self.config().codex_home(Some(self.codex_home()))
    }

    pub fn auth(&self) -> CodexAuth {
        CodexAuth::new(self.config()).expect("auth")
    }

    pub fn token_file(&self) -> PathBuf {
        self.config().token_file()
    }

    /// Stores a sign-in in the SDK's own file, as a login would.
    pub fn seed_own(&self, lifetime: Duration) -> IssuedTokens {
        let tokens = self.issuer.issue_tokens(lifetime);
        write_own(&self.token_file(), &tokens);
        tokens
    }

    /// Writes a Codex CLI `auth.json` with these tokens (plus fields we do not know).
    pub fn seed_cli(&self, lifetime: Duration) -> IssuedTokens {
        let tokens = self.issuer.issue_tokens(lifetime);
        let mut doc = tokens.cli_auth_json();
        doc["tokens"]["oauth_provenance"] = serde_json::json!({"issuer": self.issuer.url()});
        doc["cli_only_field"] = serde_json::json!({"keep": true});
        std::fs::create_dir_all(self.codex_home()).expect("codex home");
        std::fs::write(
            self.codex_home().join("auth.json"),
            serde_json::to_vec_pretty(&doc).expect("json"),
        )
        .expect("write auth.json");
        tokens
    }

    pub fn cli_file(&self) -> serde_json::Value {
        read_json(&self.codex_home().join("auth.json"))
    }

    /// The SDK's own stored document (inside the secrets file).
    pub fn own_file(&self) -> Option<serde_json::Value> {
        let outer = std::fs::read(self.token_file()).ok()?;
        let map: serde_json::Value = serde_json::from_slice(&outer).expect("secrets json");
        let blob = map.get("openai-codex-oauth-credentials")?.as_str()?;
        Some(serde_json::from_str(blob).expect("token document"))
    }
}

pub fn write_own(path: &Path, tokens: &IssuedTokens) {
    let doc = tokens.cli_auth_json();
    let outer = serde_json::json!({ "openai-codex-oauth-credentials": doc.to_string() });
    std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
    std::fs::write(path, outer.to_string()).expect("write");
}

pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// A client that follows the authorize redirect like a browser.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

/// Asks the issuer to authorize without following its redirect: the `Location` the browser
/// would go to (what a person pastes in a manual sign-in).
pub async fn authorize_location(url: &url::Url) -> String {
    let answer = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(url.clone())
        .send()
        .await
        .expect("authorize");
    assert_eq!(answer.status(), 302);
    answer.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned()
}

/// The fake issuer, a signed-in (or not) SDK store, and the fake Codex backend.
pub struct Codex {
    pub setup: Setup,
    pub backend: cline_provider_testkit::responses::FakeCodexBackend,
    pub tokens: Option<IssuedTokens>,
}

impl Codex {
    /// Signed in with tokens valid for an hour.
    pub async fn signed_in() -> Codex {
        let mut codex = Codex::signed_out().await;
        codex.tokens = Some(codex.setup.seed_own(Duration::from_secs(3600)));
        codex
    }

    /// Nobody signed in.
    pub async fn signed_out() -> Codex {
        Codex {
            setup: Setup::new().await,
            backend: cline_provider_testkit::responses::FakeCodexBackend::start()
                .await
                .expect("backend"),
            tokens: None,
        }
    }

    pub fn config(&self) -> CodexConfig {
        self.setup
            .config()
            .base_url(&self.backend.base_url())
            .expect("loopback backend")
    }

    /// Short timeouts, no retries (each test says when it wants them).
    pub fn http() -> cline_provider_core::http::HttpConfig {
        cline_provider_core::http::HttpConfig {
            header_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(5),
            retry: cline_provider_core::http::RetryPolicy::never(),
            ..Default::default()
        }
    }

    pub fn provider(&self) -> cline_provider_codex::CodexProvider {
        self.provider_with(Codex::http())
    }

    pub fn provider_with(
        &self,
        http: cline_provider_core::http::HttpConfig,
    ) -> cline_provider_codex::CodexProvider {
        let auth = CodexAuth::new(self.config()).expect("auth");
        let client =
            cline_provider_core::http::HttpClient::with_env(http, &|_| None).expect("client");
        cline_provider_codex::CodexProvider::with_client(auth, client).expect("provider")
    }

    pub fn access_token(&self) -> &str {
        &self.tokens.as_ref().expect("signed in").access_token
    }
}

/// The events of a reply and the error that ended it, whether `stream` itself failed or the
/// stream did.
pub async fn drain(
    opened: cline_provider_core::Result<cline_provider_core::EventStream>,
) -> (
    Vec<cline_provider_core::StreamEvent>,
    Option<cline_provider_core::Error>,
) {
    use futures_util::StreamExt;
    let mut stream = match opened {
        Ok(s) => s,
        Err(e) => return (Vec::new(), Some(e)),
    };
    let mut events = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(e) => events.push(e),
            Err(e) => return (events, Some(e)),
        }
    }
    (events, None)
}

/// Everything logged, at every level, while a test runs (one per test binary: it installs the
/// global subscriber).
#[derive(Clone, Default)]
pub struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// Sends every log line at TRACE and above into a new capture.
    pub fn install_trace() -> Capture {
        let capture = Capture::default();
        let writer = capture.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        capture
    }

    /// What was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("capture").clone()).expect("utf-8")
    }
}
