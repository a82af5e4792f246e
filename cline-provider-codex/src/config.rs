//! Where "Sign in with OpenAI" talks to, where it keeps its tokens, and where model requests
//! go: [`CodexConfig`].
//!
//! Defaults are the public Codex client (`app_EMoamEEZ73f0CkXaXp7hrann`) at
//! `https://auth.openai.com`, the callback on `127.0.0.1:1455` (falling back to 1457, the two
//! ports OpenAI's redirect allow-list knows), tokens in the SDK's own config directory, and
//! the ChatGPT backend's Codex endpoint `https://chatgpt.com/backend-api/codex` for model
//! requests. Four environment variables move them, read by [`CodexConfig::from_env`]:
//!
//! - `CLINE_CODEX_ISSUER` replaces `https://auth.openai.com` (tests, enterprise proxies);
//! - `CLINE_CODEX_BASE_URL` replaces `https://chatgpt.com/backend-api/codex`;
//! - `CLINE_PROVIDER_HOME` moves the SDK's config and token directory;
//! - `CODEX_HOME` is where the Codex CLI keeps its sign-in (default `~/.codex`).
//!
//! Tokens are identity credentials: the issuer and the model endpoint must be `https://`,
//! except on loopback.
//!
//! ```
//! use cline_provider_codex::CodexConfig;
//!
//! let config = CodexConfig::new("/tmp/cline-provider-example")
//!     .issuer("http://127.0.0.1:8080")
//!     .unwrap()
//!     .originator("my_app");
//! assert_eq!(config.endpoints().token.as_str(), "http://127.0.0.1:8080/oauth/token");
//! assert!(CodexConfig::new("/tmp/x").issuer("http://auth.example.com").is_err());
//! ```

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cline_provider_core::http::{check_endpoint_url, check_plain_http, CredentialKind, HttpConfig};
use cline_provider_core::secrets::SecretStore;
use cline_provider_core::{Error, Result};
use url::Url;

/// OpenAI's issuer.
pub const DEFAULT_ISSUER: &str = "https://auth.openai.com";
/// The public client id of the Codex CLI, which Cline uses too.
pub const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";
/// The callback port OpenAI's redirect allow-list expects first.
pub const DEFAULT_CALLBACK_PORT: u16 = 1455;
/// The second port on that allow-list, used when 1455 stays busy.
pub const FALLBACK_CALLBACK_PORT: u16 = 1457;
/// The scopes Cline asks for; `offline_access` is what brings a refresh token.
pub const SCOPES: &str = "openid profile email offline_access";
/// The `originator` sent when the application sets none (the original product's value).
pub const DEFAULT_ORIGINATOR: &str = "cline";
/// The ChatGPT backend's Codex endpoint: model requests go to `{base}/responses`.
pub const DEFAULT_BASE_URL: &str = "https://chatgpt.com/backend-api/codex";
/// How the sign-in is named in hints when the application names no command of its own.
pub const DEFAULT_LOGIN_COMMAND: &str = "login";

/// The issuer's URLs. All derive from the issuer; each can be replaced on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerEndpoints {
    /// `{issuer}/oauth/authorize`: where the browser signs in.
    pub authorize: Url,
    /// `{issuer}/oauth/token`: code exchange and refresh.
    pub token: Url,
    /// `{issuer}/oauth/revoke`: sign-out.
    pub revoke: Url,
    /// `{issuer}/api/accounts/deviceauth/usercode`: asks for a device code.
    pub device_user_code: Url,
    /// `{issuer}/api/accounts/deviceauth/token`: polled until the person approves.
    pub device_token: Url,
    /// `{issuer}/codex/device`: the page where the person types the device code.
    pub device_verification: Url,
    /// `{issuer}/deviceauth/callback`: the redirect URI of a device-code exchange.
    pub device_redirect: Url,
}

impl IssuerEndpoints {
    /// The endpoints of `issuer` (a path prefix, as behind a proxy, is kept).
    pub fn for_issuer(issuer: &Url) -> IssuerEndpoints {
        let at = |path: &str| {
            let mut url = issuer.clone();
            let base = url.path().trim_end_matches('/').to_owned();
            url.set_path(&format!("{base}{path}"));
            url.set_query(None);
            url.set_fragment(None);
            url
        };
        IssuerEndpoints {
            authorize: at("/oauth/authorize"),
            token: at("/oauth/token"),
            revoke: at("/oauth/revoke"),
            device_user_code: at("/api/accounts/deviceauth/usercode"),
            device_token: at("/api/accounts/deviceauth/token"),
            device_verification: at("/codex/device"),
            device_redirect: at("/deviceauth/callback"),
        }
    }

    fn check(&self) -> Result<()> {
        for (field, url) in [
            ("endpoints.authorize", &self.authorize),
            ("endpoints.token", &self.token),
            ("endpoints.revoke", &self.revoke),
            ("endpoints.device_user_code", &self.device_user_code),
            ("endpoints.device_token", &self.device_token),
        ] {
            check_identity_url(url, field)?;
        }
        Ok(())
    }
}

/// Where the SDK keeps its own Codex tokens.
#[derive(Clone, Default)]
pub enum TokenStorage {
    /// `codex-auth.json` in the SDK's directory: JSON, mode `0600`, written atomically.
    #[default]
    File,
    /// The operating system's keyring (service `cline-provider`), behind the `keyring`
    /// feature. The lock file stays in the SDK's directory.
    #[cfg(feature = "keyring")]
    Keyring,
    /// Any secret store the application provides (one entry, under
    /// [`TOKEN_KEY`](crate::auth::TOKEN_KEY)).
    Custom(Arc<dyn SecretStore>),
}

impl fmt::Debug for TokenStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenStorage::File => f.write_str("File"),
            #[cfg(feature = "keyring")]
            TokenStorage::Keyring => f.write_str("Keyring"),
            TokenStorage::Custom(store) => f.debug_tuple("Custom").field(store).finish(),
        }
    }
}

/// Settings of "Sign in with OpenAI". Build with [`CodexConfig::from_env`] or
/// [`CodexConfig::new`], adjust with the setters, check with [`CodexConfig::validate`] (done
/// again by [`CodexAuth::new`](crate::CodexAuth::new)).
#[derive(Debug, Clone)]
pub struct CodexConfig {
    issuer: Url,
    endpoints: IssuerEndpoints,
    /// The OAuth client id. Default [`CLIENT_ID`].
    pub client_id: String,
    /// The `originator` your application identifies itself with on the authorize URL and on
    /// model requests. Default [`DEFAULT_ORIGINATOR`].
    pub originator: String,
    /// The Codex endpoint model requests go to (`{base_url}/responses`, `{base_url}/models`).
    /// Default [`DEFAULT_BASE_URL`], or `CLINE_CODEX_BASE_URL`. Set it with
    /// [`base_url`](CodexConfig::base_url), which checks it.
    pub base_url: Url,
    /// How your application's sign-in is started, for the "not signed in" hint (the chat
    /// example: `cargo run --example codex_login -- login`). Default
    /// [`DEFAULT_LOGIN_COMMAND`].
    pub login_command: String,
    /// The SDK's own config directory: its tokens (`codex-auth.json`) and lock file
    /// (`codex-auth.lock`). Default `$CLINE_PROVIDER_HOME`, else the platform's config
    /// directory (`~/.config/cline-provider` on Linux).
    pub home: PathBuf,
    /// The Codex CLI's directory, whose `auth.json` sign-in is shared in place. `None`
    /// turns sharing off. Default `$CODEX_HOME`, else `~/.codex`.
    pub codex_home: Option<PathBuf>,
    /// Where the SDK's own tokens live. Default [`TokenStorage::File`].
    pub storage: TokenStorage,
    /// The callback port tried first. Default 1455; `0` asks the OS for a free port (tests).
    pub callback_port: u16,
    /// The port tried when `callback_port` stays busy. Default `Some(1457)` when the
    /// callback port is 1455.
    pub fallback_port: Option<u16>,
    /// How long a browser (or manual) sign-in may take. Default 5 minutes.
    pub login_timeout: Duration,
    /// How long a device sign-in may take. Default 15 minutes.
    pub device_timeout: Duration,
    /// Refresh this long before the access token expires. Default 5 minutes.
    pub refresh_window: Duration,
    /// Without an `exp` in the access token, refresh this long after the last refresh.
    /// Default 8 days (the Codex CLI's interval).
    pub refresh_interval: Duration,
    /// The longest wait for another process's lock on the token store. Default 60 s.
    pub lock_timeout: Duration,
    /// The bound on a sign-out's revoke request. Default 10 s.
    pub revoke_timeout: Duration,
    /// The HTTP client's settings for calls to the issuer (proxy, CA bundle, timeouts).
    /// Token calls are never retried (a refresh token is spent by the first attempt), and
    /// wait at most 30 s for an answer.
    pub http: HttpConfig,
}

impl CodexConfig {
    /// Defaults, with the SDK's files in `home` and Codex CLI sharing off.
    pub fn new(home: impl Into<PathBuf>) -> CodexConfig {
        let issuer = Url::parse(DEFAULT_ISSUER).expect("the default issuer is a valid URL");
        let endpoints = IssuerEndpoints::for_issuer(&issuer);
        CodexConfig {
            issuer,
            endpoints,
            client_id: CLIENT_ID.to_owned(),
            originator: DEFAULT_ORIGINATOR.to_owned(),
            base_url: Url::parse(DEFAULT_BASE_URL).expect("the default endpoint is a valid URL"),
            login_command: DEFAULT_LOGIN_COMMAND.to_owned(),
            home: home.into(),
            codex_home: None,
            storage: TokenStorage::File,
            callback_port: DEFAULT_CALLBACK_PORT,
            fallback_port: Some(FALLBACK_CALLBACK_PORT),
            login_timeout: Duration::from_secs(5 * 60),
            device_timeout: Duration::from_secs(15 * 60),
            refresh_window: Duration::from_secs(5 * 60),
            refresh_interval: Duration::from_secs(8 * 24 * 3600),
            lock_timeout: Duration::from_secs(60),
            revoke_timeout: Duration::from_secs(10),
            http: HttpConfig {
                header_timeout: Duration::from_secs(30),
                total_timeout: Some(Duration::from_secs(30)),
                ..HttpConfig::default()
            },
        }
    }

    /// Defaults moved by `CLINE_CODEX_ISSUER`, `CLINE_CODEX_BASE_URL`, `CLINE_PROVIDER_HOME`
    /// and `CODEX_HOME`, with Codex CLI sharing on.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`](cline_provider_core::ErrorKind::InvalidConfig) naming the
    /// variable when `CLINE_CODEX_ISSUER` or `CLINE_CODEX_BASE_URL` is not a usable URL, or
    /// when no home directory can be found and `CLINE_PROVIDER_HOME` is not set.
    pub fn from_env() -> Result<CodexConfig> {
        CodexConfig::with_env(&|name| std::env::var(name).ok())
    }

    /// [`CodexConfig::from_env`] reading variables through `env` (for tests).
    pub fn with_env(env: &dyn Fn(&str) -> Option<String>) -> Result<CodexConfig> {
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let home = match get("CLINE_PROVIDER_HOME") {
            Some(dir) => PathBuf::from(dir),
            None => directories::ProjectDirs::from("bot", "cline", "cline-provider")
                .map(|d| d.config_dir().to_path_buf())
                .ok_or_else(|| {
                    Error::invalid_config(
                        "CLINE_PROVIDER_HOME",
                        "no home directory was found; set CLINE_PROVIDER_HOME to a directory \
                         for the SDK's files",
                    )
                })?,
        };
        let codex_home = get("CODEX_HOME")
            .map(PathBuf::from)
            .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().join(".codex")));
        let mut config = CodexConfig::new(home);
        config.codex_home = codex_home;
        if let Some(issuer) = get("CLINE_CODEX_ISSUER") {
            config.set_issuer(checked_issuer(issuer.trim(), "CLINE_CODEX_ISSUER")?);
        }
        if let Some(base) = get("CLINE_CODEX_BASE_URL") {
            config.base_url = checked_base_url(base.trim(), "CLINE_CODEX_BASE_URL")?;
        }
        Ok(config)
    }

    /// Replaces the Codex endpoint model requests go to (a trailing slash, or a pasted
    /// `…/responses` URL, is fine).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`](cline_provider_core::ErrorKind::InvalidConfig) (field
    /// `base_url`) for a URL that does not parse, carries a user name, or is plain `http://`
    /// to a host other than loopback (the sign-in's token would travel unencrypted).
    ///
    /// ```
    /// use cline_provider_codex::CodexConfig;
    /// let c = CodexConfig::new("/tmp/x").base_url("http://127.0.0.1:8080/backend-api/codex/responses")?;
    /// assert_eq!(c.base_url.as_str(), "http://127.0.0.1:8080/backend-api/codex");
    /// assert!(CodexConfig::new("/tmp/x").base_url("http://codex.corp.example").is_err());
    /// # Ok::<(), cline_provider_core::Error>(())
    /// ```
    pub fn base_url(mut self, base_url: &str) -> Result<CodexConfig> {
        self.base_url = checked_base_url(base_url, "base_url")?;
        Ok(self)
    }

    /// Sets how the application's sign-in is started, for hints.
    pub fn login_command(mut self, command: impl Into<String>) -> CodexConfig {
        self.login_command = command.into();
        self
    }

    /// `{base_url}/{path}`.
    pub fn endpoint(&self, path: &str) -> Url {
        let mut url = self.base_url.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}/{path}"));
        url
    }

    /// Replaces the issuer, and every endpoint with it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`](cline_provider_core::ErrorKind::InvalidConfig) (field
    /// `issuer`) for a URL that does not parse, carries a user name, or is plain `http://` to
    /// a host other than loopback.
    pub fn issuer(mut self, issuer: &str) -> Result<CodexConfig> {
        self.set_issuer(checked_issuer(issuer, "issuer")?);
        Ok(self)
    }

    fn set_issuer(&mut self, url: Url) {
        self.endpoints = IssuerEndpoints::for_issuer(&url);
        self.issuer = url;
    }

    /// Sets the `originator`.
    pub fn originator(mut self, originator: impl Into<String>) -> CodexConfig {
        self.originator = originator.into();
        self
    }

    /// Sets (or, with `None`, turns off) the Codex CLI directory to share.
    pub fn codex_home(mut self, dir: Option<PathBuf>) -> CodexConfig {
        self.codex_home = dir;
        self
    }

    /// Sets where the SDK keeps its own tokens.
    pub fn storage(mut self, storage: TokenStorage) -> CodexConfig {
        self.storage = storage;
        self
    }

    /// Sets the callback ports: `preferred` first, then `fallback`.
    pub fn callback_ports(mut self, preferred: u16, fallback: Option<u16>) -> CodexConfig {
        self.callback_port = preferred;
        self.fallback_port = fallback;
        self
    }

    /// Replaces single endpoints (after [`issuer`](CodexConfig::issuer)).
    pub fn endpoints_with(mut self, edit: impl FnOnce(&mut IssuerEndpoints)) -> CodexConfig {
        edit(&mut self.endpoints);
        self
    }

    /// The issuer.
    pub fn issuer_url(&self) -> &Url {
        &self.issuer
    }

    /// The issuer's endpoints.
    pub fn endpoints(&self) -> &IssuerEndpoints {
        &self.endpoints
    }

    /// The file of [`TokenStorage::File`].
    pub fn token_file(&self) -> PathBuf {
        self.home.join("codex-auth.json")
    }

    /// The lock file that serializes refreshes of the SDK's own sign-in across processes.
    pub fn lock_file(&self) -> PathBuf {
        self.home.join("codex-auth.lock")
    }

    /// The Codex CLI's `auth.json`, when sharing is on.
    pub fn codex_auth_file(&self) -> Option<PathBuf> {
        self.codex_home.as_deref().map(|d| d.join("auth.json"))
    }

    /// Checks every URL and duration.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`](cline_provider_core::ErrorKind::InvalidConfig) naming the
    /// field.
    pub fn validate(&self) -> Result<()> {
        check_identity_url(&self.issuer, "issuer")?;
        check_identity_url(&self.base_url, "base_url")?;
        self.endpoints.check()?;
        if self.client_id.trim().is_empty() {
            return Err(Error::invalid_config("client_id", "the client id is empty"));
        }
        if self.originator.is_empty()
            || !self
                .originator
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        {
            return Err(Error::invalid_config(
                "originator",
                "use letters, digits, `_`, `-` or `.` only",
            ));
        }
        for (field, d) in [
            ("login_timeout", self.login_timeout),
            ("device_timeout", self.device_timeout),
            ("lock_timeout", self.lock_timeout),
            ("revoke_timeout", self.revoke_timeout),
        ] {
            if d.is_zero() {
                return Err(Error::invalid_config(field, "must be longer than zero"));
            }
        }
        Ok(())
    }
}

fn checked_issuer(issuer: &str, field: &str) -> Result<Url> {
    let url = Url::parse(issuer)
        .map_err(|e| Error::invalid_config(field, format!("`{issuer}` is not a URL: {e}")))?;
    check_identity_url(&url, field)?;
    Ok(url)
}

fn checked_base_url(base: &str, field: &str) -> Result<Url> {
    let mut url = Url::parse(base)
        .map_err(|e| Error::invalid_config(field, format!("`{base}` is not a URL: {e}")))?;
    check_identity_url(&url, field)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid_config(
            field,
            "the Codex endpoint takes no query or fragment",
        ));
    }
    // A pasted request URL names the endpoint too.
    let path = url.path().trim_end_matches('/');
    let path = path.strip_suffix("/responses").unwrap_or(path).to_owned();
    url.set_path(&path);
    Ok(url)
}

/// Identity tokens never cross a network unencrypted: `https://`, or loopback (core's
/// plain-HTTP rule for identity tokens).
fn check_identity_url(url: &Url, field: &str) -> Result<()> {
    check_endpoint_url(url, field)?;
    check_plain_http(url, field, CredentialKind::IdentityToken, false)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_environment_moves_issuer_and_directories() {
        let config = CodexConfig::with_env(&env(&[
            ("CLINE_CODEX_ISSUER", "http://127.0.0.1:9999/proxy/"),
            ("CLINE_PROVIDER_HOME", "/tmp/sdk-home"),
            ("CODEX_HOME", "/tmp/codex-home"),
        ]))
        .expect("config");
        assert_eq!(
            config.endpoints().token.as_str(),
            "http://127.0.0.1:9999/proxy/oauth/token"
        );
        assert_eq!(
            config.endpoints().device_verification.as_str(),
            "http://127.0.0.1:9999/proxy/codex/device"
        );
        assert_eq!(
            config.token_file(),
            Path::new("/tmp/sdk-home/codex-auth.json")
        );
        assert_eq!(
            config.codex_auth_file().as_deref(),
            Some(Path::new("/tmp/codex-home/auth.json"))
        );
    }

    #[test]
    fn defaults_are_openais() {
        let config =
            CodexConfig::with_env(&env(&[("CLINE_PROVIDER_HOME", "/tmp/h")])).expect("config");
        assert_eq!(config.issuer_url().as_str(), "https://auth.openai.com/");
        assert_eq!(
            config.endpoints().authorize.as_str(),
            "https://auth.openai.com/oauth/authorize"
        );
        assert_eq!(
            config.endpoints().revoke.as_str(),
            "https://auth.openai.com/oauth/revoke"
        );
        assert_eq!(config.client_id, CLIENT_ID);
        assert_eq!(config.callback_port, 1455);
        assert_eq!(config.fallback_port, Some(1457));
        config.validate().expect("valid");
    }

    #[test]
    fn a_plain_http_issuer_is_refused_and_names_the_variable() {
        let err = CodexConfig::with_env(&env(&[
            ("CLINE_PROVIDER_HOME", "/tmp/h"),
            ("CLINE_CODEX_ISSUER", "http://auth.corp.example"),
        ]))
        .expect_err("plain http");
        assert_eq!(err.field(), Some("CLINE_CODEX_ISSUER"));
        let err = CodexConfig::new("/tmp/h")
            .endpoints_with(|e| e.token = Url::parse("http://10.0.0.1/token").expect("url"))
            .validate()
            .expect_err("plain http token endpoint");
        assert_eq!(err.field(), Some("endpoints.token"));
    }

    #[test]
    fn the_codex_endpoint_defaults_and_moves_with_the_environment() {
        let config =
            CodexConfig::with_env(&env(&[("CLINE_PROVIDER_HOME", "/tmp/h")])).expect("config");
        assert_eq!(
            config.endpoint("responses").as_str(),
            "https://chatgpt.com/backend-api/codex/responses"
        );
        let config = CodexConfig::with_env(&env(&[
            ("CLINE_PROVIDER_HOME", "/tmp/h"),
            (
                "CLINE_CODEX_BASE_URL",
                "http://127.0.0.1:4000/backend-api/codex/",
            ),
        ]))
        .expect("config");
        assert_eq!(
            config.endpoint("models").as_str(),
            "http://127.0.0.1:4000/backend-api/codex/models"
        );
        let err = CodexConfig::with_env(&env(&[
            ("CLINE_PROVIDER_HOME", "/tmp/h"),
            ("CLINE_CODEX_BASE_URL", "http://codex.corp.example/api"),
        ]))
        .expect_err("a sign-in token over plain HTTP");
        assert_eq!(err.field(), Some("CLINE_CODEX_BASE_URL"));
        assert!(err.message().contains("over plain HTTP"), "{err}");
        let err = CodexConfig::new("/tmp/h")
            .base_url("https://x.example/codex?key=1")
            .expect_err("query");
        assert_eq!(err.field(), Some("base_url"));
    }

    #[test]
    fn an_originator_with_spaces_is_refused() {
        let err = CodexConfig::new("/tmp/h")
            .originator("my app")
            .validate()
            .expect_err("spaces");
        assert_eq!(err.field(), Some("originator"));
    }
}
