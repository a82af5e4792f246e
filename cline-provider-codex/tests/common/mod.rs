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
