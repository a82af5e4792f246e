//! Where tokens live: the SDK's own store, and the Codex CLI's `auth.json` shared in place.
//!
//! Both hold the same JSON document, the one the Codex CLI writes:
//!
//! ```json
//! {"auth_mode": "chatgpt", "OPENAI_API_KEY": null,
//!  "tokens": {"id_token": "…", "access_token": "…", "refresh_token": "…", "account_id": "…"},
//!  "last_refresh": "2026-01-01T12:00:00.000000Z"}
//! ```
//!
//! Fields this SDK does not know (`oauth_provenance`, newer CLI fields) are kept on every
//! write. Only tokens are stored, never a password.
//!
//! - **The SDK's own store** is a [`SecretStore`] entry under [`TOKEN_KEY`]: by default the
//!   file `codex-auth.json` in the SDK's directory (mode `0600`, written atomically), or the OS
//!   keyring behind the `keyring` feature. Refreshes are serialized across processes by an
//!   exclusive lock on `codex-auth.lock` beside it.
//! - **The Codex CLI's sign-in** (`$CODEX_HOME/auth.json`) is used where it is, never copied:
//!   refresh tokens rotate, so a private copy refreshed on its own would kill the CLI's. It is
//!   locked the way the CLI 0.169 locks it (`flock` on `auth.lock`, held across re-read →
//!   refresh → write; `flock` on `auth.json.lock` only around the write), written back in its
//!   format, atomically, with mode `0600`. On platforms other than unix the CLI's locking has
//!   not been observed, so a shared sign-in is used read-only there (see
//!   [`SHARED_REFRESH_SUPPORTED`]).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cline_provider_core::lockfile::FileLock;
use cline_provider_core::secrets::{FileSecretStore, SecretStore};
use cline_provider_core::{Error, ErrorKind, Result};
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use super::claims::{self, IdClaims};
use crate::config::{CodexConfig, TokenStorage};

/// The key of the SDK's sign-in in its [`SecretStore`] (the original product's key).
pub const TOKEN_KEY: &str = "openai-codex-oauth-credentials";

/// Whether this platform refreshes a sign-in shared with the Codex CLI. Where it does not,
/// the CLI's access token is used while it is valid, and then the person is asked to run
/// `codex` (which refreshes it) or to sign in here.
pub const SHARED_REFRESH_SUPPORTED: bool = cfg!(unix);

/// How long the CLI waits for `auth.json.lock` before it gives up on its write.
const CLI_WRITE_LOCK_WAIT: Duration = Duration::from_secs(5);

/// One sign-in's tokens.
#[derive(Clone)]
pub struct TokenSet {
    /// The ID token (a JWT): who signed in.
    pub id_token: SecretString,
    /// The bearer token for API requests.
    pub access_token: SecretString,
    /// The token that buys new access tokens. It rotates: each one works once.
    pub refresh_token: SecretString,
    /// The ChatGPT account id, when known.
    pub account_id: Option<String>,
    /// When the tokens were last issued.
    pub last_refresh: Option<SystemTime>,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("account_id", &self.account_id)
            .field("last_refresh", &self.last_refresh)
            .finish_non_exhaustive()
    }
}

impl TokenSet {
    /// The ID token's claims; empty when it cannot be read.
    pub fn claims(&self) -> IdClaims {
        IdClaims::parse(self.id_token.expose_secret()).unwrap_or_default()
    }

    /// The account id: the stored one, else the ID token's, else the access token's.
    pub fn account(&self) -> Option<String> {
        self.account_id
            .clone()
            .or_else(|| self.claims().account_id)
            .or_else(|| claims::account_id_of_access_token(self.access_token.expose_secret()))
    }

    /// When the access token expires, from its `exp`.
    pub fn access_expires_at(&self) -> Option<SystemTime> {
        claims::expiry(self.access_token.expose_secret())
    }

    /// When the tokens are due for a refresh, before the refresh window: the access token's
    /// `exp`, else `last_refresh + interval`, else now (no way to know, so refresh).
    pub(crate) fn due_at(&self, interval: Duration, window: Duration) -> SystemTime {
        match (self.access_expires_at(), self.last_refresh) {
            (Some(exp), _) => exp,
            // Expressed as an expiry, so that "within the window of expiry" means "8 days on".
            (None, Some(last)) => last + interval + window,
            (None, None) => SystemTime::UNIX_EPOCH,
        }
    }

    pub(crate) fn same_access(&self, token: &str) -> bool {
        self.access_token.expose_secret() == token
    }

    pub(crate) fn same_refresh(&self, other: &TokenSet) -> bool {
        self.refresh_token.expose_secret() == other.refresh_token.expose_secret()
    }
}

/// A stored document: the tokens, plus every field around them that is kept as it was.
#[derive(Clone)]
pub(crate) struct AuthDocument {
    root: Map<String, Value>,
    token_extras: Map<String, Value>,
    pub(crate) tokens: TokenSet,
}

impl fmt::Debug for AuthDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthDocument")
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

impl AuthDocument {
    /// A new document for a fresh sign-in.
    pub(crate) fn new(tokens: TokenSet) -> AuthDocument {
        let mut root = Map::new();
        root.insert("auth_mode".into(), Value::from("chatgpt"));
        root.insert("OPENAI_API_KEY".into(), Value::Null);
        AuthDocument {
            root,
            token_extras: Map::new(),
            tokens,
        }
    }

    /// This document with new tokens, every other field kept.
    pub(crate) fn with_tokens(&self, tokens: TokenSet) -> AuthDocument {
        AuthDocument {
            root: self.root.clone(),
            token_extras: self.token_extras.clone(),
            tokens,
        }
    }

    /// Reads a document. `Ok(None)` when it holds no ChatGPT sign-in (an API-key login).
    /// `what` names the store in errors.
    pub(crate) fn parse(bytes: &[u8], what: &str) -> Result<Option<AuthDocument>> {
        let damaged = |why: String| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!("the Codex sign-in in {what} is damaged: {why}"),
            )
            .with_field(what.to_owned())
            .with_hint(format!(
                "The stored sign-in cannot be read. Remove {what} and sign in again (with \
                 `login`, or `codex login` for the Codex CLI's file)."
            ))
        };
        let mut root = match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(damaged("it is not a JSON object".into())),
            // Only the position: serde's message could quote a token.
            Err(e) => {
                return Err(damaged(format!(
                    "not JSON (line {}, column {})",
                    e.line(),
                    e.column()
                )))
            }
        };
        let mode = root.get("auth_mode").and_then(Value::as_str);
        let has_key = root
            .get("OPENAI_API_KEY")
            .and_then(Value::as_str)
            .is_some_and(|k| !k.is_empty());
        let chatgpt = match mode {
            Some(m) => m.eq_ignore_ascii_case("chatgpt"),
            None => !has_key,
        };
        let Some(tokens) = root.remove("tokens") else {
            return Ok(None);
        };
        if !chatgpt || tokens.is_null() {
            return Ok(None);
        }
        let Value::Object(mut token_map) = tokens else {
            return Err(damaged("`tokens` is not an object".into()));
        };
        let mut take = |name: &str| -> Result<SecretString> {
            match token_map.remove(name) {
                Some(Value::String(s)) if !s.is_empty() => Ok(SecretString::from(s)),
                _ => Err(damaged(format!("`tokens.{name}` is missing"))),
            }
        };
        let id_token = take("id_token")?;
        let access_token = take("access_token")?;
        let refresh_token = take("refresh_token")?;
        let account_id = match token_map.remove("account_id") {
            Some(Value::String(s)) if !s.is_empty() => Some(s),
            _ => None,
        };
        let last_refresh = root
            .get("last_refresh")
            .and_then(Value::as_str)
            .and_then(|s| humantime::parse_rfc3339_weak(s).ok());
        Ok(Some(AuthDocument {
            root,
            token_extras: token_map,
            tokens: TokenSet {
                id_token,
                access_token,
                refresh_token,
                account_id,
                last_refresh,
            },
        }))
    }

    /// The document as the CLI writes it: pretty JSON.
    pub(crate) fn render(&self) -> Vec<u8> {
        let mut tokens = self.token_extras.clone();
        let t = &self.tokens;
        tokens.insert("id_token".into(), t.id_token.expose_secret().into());
        tokens.insert("access_token".into(), t.access_token.expose_secret().into());
        tokens.insert(
            "refresh_token".into(),
            t.refresh_token.expose_secret().into(),
        );
        match &t.account_id {
            Some(id) => tokens.insert("account_id".into(), id.clone().into()),
            None => tokens.remove("account_id"),
        };
        let mut root = self.root.clone();
        root.insert("tokens".into(), Value::Object(tokens));
        if let Some(at) = t.last_refresh {
            root.insert(
                "last_refresh".into(),
                humantime::format_rfc3339_micros(at).to_string().into(),
            );
        }
        let mut bytes =
            serde_json::to_vec_pretty(&Value::Object(root)).expect("a JSON map always serializes");
        bytes.push(b'\n');
        bytes
    }
}

/// Where a sign-in is kept, for status lines: no secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// The SDK's token file.
    File(PathBuf),
    /// The operating system's keyring.
    Keyring,
    /// A secret store the application provided.
    Custom,
    /// The Codex CLI's `auth.json`, shared in place.
    CodexCli(PathBuf),
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::File(p) => write!(f, "{}", p.display()),
            StoreLocation::Keyring => f.write_str("the operating system's keyring"),
            StoreLocation::Custom => f.write_str("the application's secret store"),
            StoreLocation::CodexCli(p) => write!(f, "the Codex CLI's sign-in ({})", p.display()),
        }
    }
}

/// The SDK's own store: one secret-store entry plus a lock file.
#[derive(Debug, Clone)]
pub(crate) struct OwnStore {
    secrets: Arc<dyn SecretStore>,
    lock_path: PathBuf,
    location: StoreLocation,
}

/// The Codex CLI's directory.
#[derive(Debug, Clone)]
pub(crate) struct CliStore {
    dir: PathBuf,
}

/// Either store.
#[derive(Debug, Clone)]
pub(crate) enum Store {
    Own(OwnStore),
    Cli(CliStore),
}

impl OwnStore {
    pub(crate) fn from_config(config: &CodexConfig) -> Result<OwnStore> {
        let (secrets, location): (Arc<dyn SecretStore>, _) = match &config.storage {
            TokenStorage::File => {
                let path = config.token_file();
                (
                    Arc::new(FileSecretStore::new(&path)),
                    StoreLocation::File(path),
                )
            }
            #[cfg(feature = "keyring")]
            TokenStorage::Keyring => (
                Arc::new(cline_provider_core::secrets::KeyringSecretStore::new(
                    cline_provider_core::secrets::KeyringSecretStore::DEFAULT_SERVICE,
                )?),
                StoreLocation::Keyring,
            ),
            TokenStorage::Custom(store) => (Arc::clone(store), StoreLocation::Custom),
        };
        Ok(OwnStore {
            secrets,
            lock_path: config.lock_file(),
            location,
        })
    }
}

impl CliStore {
    pub(crate) fn new(dir: PathBuf) -> CliStore {
        CliStore { dir }
    }

    pub(crate) fn auth_file(&self) -> PathBuf {
        self.dir.join("auth.json")
    }
}

impl Store {
    pub(crate) fn location(&self) -> StoreLocation {
        match self {
            Store::Own(s) => s.location.clone(),
            Store::Cli(s) => StoreLocation::CodexCli(s.auth_file()),
        }
    }

    pub(crate) fn is_shared(&self) -> bool {
        matches!(self, Store::Cli(_))
    }

    fn what(&self) -> String {
        match self {
            Store::Own(s) => match &s.location {
                StoreLocation::File(p) => format!("`{}`", p.display()),
                other => other.to_string(),
            },
            Store::Cli(s) => format!("`{}`", s.auth_file().display()),
        }
    }

    /// Reads the stored sign-in, without a lock (every write is atomic, so a read never sees
    /// half a file).
    pub(crate) fn load(&self) -> Result<Option<AuthDocument>> {
        let what = self.what();
        match self {
            Store::Own(s) => match s.secrets.get(TOKEN_KEY)? {
                Some(blob) => AuthDocument::parse(blob.expose_secret().as_bytes(), &what),
                None => Ok(None),
            },
            Store::Cli(s) => {
                let Some(mut bytes) = cline_provider_core::fs::read_optional(&s.auth_file())?
                else {
                    return Ok(None);
                };
                let parsed = AuthDocument::parse(&bytes, &what);
                bytes.zeroize();
                parsed
            }
        }
    }

    /// Writes the document. For the CLI's file, call only while holding [`Store::lock`]: it
    /// takes `auth.json.lock` around the write itself, as the CLI does.
    pub(crate) async fn save(&self, doc: &AuthDocument) -> Result<()> {
        let mut bytes = doc.render();
        let result = match self {
            Store::Own(s) => {
                let text =
                    String::from_utf8(std::mem::take(&mut bytes)).expect("serde_json writes UTF-8");
                s.secrets.set(TOKEN_KEY, SecretString::from(text))
            }
            Store::Cli(s) => {
                let write_lock = s.dir.join("auth.json.lock");
                let guard = match FileLock::acquire(&write_lock, CLI_WRITE_LOCK_WAIT).await {
                    Ok(guard) => Some(guard),
                    Err(e) => {
                        // The refresh token is already spent: keeping the new tokens matters
                        // more than the write lock, and the rename is atomic regardless.
                        tracing::warn!(error = %e, "writing the Codex CLI's auth.json without its write lock");
                        None
                    }
                };
                let written = cline_provider_core::fs::write_atomic(&s.auth_file(), &bytes);
                drop(guard);
                written
            }
        };
        bytes.zeroize();
        result
    }

    /// Removes the stored sign-in (the SDK's own only; the CLI's file is never removed).
    pub(crate) fn delete(&self) -> Result<()> {
        match self {
            Store::Own(s) => s.secrets.delete(TOKEN_KEY),
            Store::Cli(_) => Ok(()),
        }
    }

    /// The cross-process refresh lock: `codex-auth.lock`, or the CLI's `auth.lock`.
    pub(crate) async fn lock(&self, wait: Duration) -> Result<FileLock> {
        let path = match self {
            Store::Own(s) => s.lock_path.clone(),
            Store::Cli(s) => s.dir.join("auth.lock"),
        };
        FileLock::acquire(&path, wait).await
    }
}

/// The time now, to the microsecond the stored format keeps.
pub(crate) fn now() -> SystemTime {
    let d = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    SystemTime::UNIX_EPOCH + Duration::from_micros(d.as_micros() as u64)
}

#[cfg(test)]
#[path = "token_store_tests.rs"]
mod tests;
