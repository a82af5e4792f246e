//! "Sign in with OpenAI": sign-in flows, the token store and the refresh manager behind one
//! handle, [`CodexAuth`].
//!
//! - [`CodexAuth::login_browser`]: authorization code + PKCE through the browser, with a
//!   callback on `127.0.0.1:1455` (module `callback_server`);
//! - [`CodexAuth::login_device`]: a device code for machines without a browser
//!   ([`device`]);
//! - [`CodexAuth::login_manual`]: the person pastes the final redirect URL;
//! - [`CodexAuth::token`]: the bearer token and ChatGPT account id for a request, refreshed
//!   ahead of expiry with exactly one refresh in flight across threads and processes
//!   ([`refresh`]); [`CodexAuth::refresh_after_unauthorized`] after an HTTP 401;
//! - [`CodexAuth::status`] and [`CodexAuth::logout`].
//!
//! Tokens are kept in the SDK's own store or, when the person signed in with the Codex CLI,
//! in the CLI's `auth.json`, used in place ([`token_store`]). Only tokens are stored, never a
//! password: the person types their password on OpenAI's page, never into this SDK.

mod callback_server;
pub mod claims;
pub mod device;
mod issuer;
mod login;
mod pages;
pub mod pkce;
pub mod refresh;
pub mod token_store;

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use cline_provider_core::auth::{CachedTokenSource, IssuedToken};
use cline_provider_core::{ErrorKind, Result};
use secrecy::SecretString;

pub use device::DeviceLogin;
pub use login::{BrowserLogin, ManualLogin};
pub use token_store::{StoreLocation, TokenSet, SHARED_REFRESH_SUPPORTED, TOKEN_KEY};

use refresh::{RefreshManager, Stores};
use token_store::AuthDocument;

use crate::config::{CodexConfig, TokenStorage};

/// The handle to a person's OpenAI sign-in. Cheap to clone; clones share the token cache.
///
/// ```no_run
/// use cline_provider_codex::CodexAuth;
/// use secrecy::ExposeSecret;
///
/// # async fn run() -> cline_provider_core::Result<()> {
/// let auth = CodexAuth::from_env()?;
/// let token = auth.token().await?; // NotSignedIn, with a hint, before any sign-in
/// let _bearer = token.bearer().expose_secret();
/// let _account = token.account_id(); // for the ChatGPT-Account-Id header
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CodexAuth {
    inner: Arc<AuthInner>,
}

pub(crate) struct AuthInner {
    pub(crate) config: CodexConfig,
    pub(crate) manager: Arc<RefreshManager>,
    cache: CachedTokenSource,
}

impl fmt::Debug for AuthInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodexAuth")
            .field("issuer", &self.config.issuer_url().as_str())
            .field("home", &self.config.home)
            .field("codex_home", &self.config.codex_home)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for CodexAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

/// A bearer token for one request, with the account it belongs to.
#[derive(Clone, Debug)]
pub struct CodexToken {
    issued: IssuedToken,
    account_id: Option<String>,
}

impl CodexToken {
    /// The access token for `Authorization: Bearer …`.
    pub fn bearer(&self) -> &SecretString {
        &self.issued.token.token
    }

    /// The ChatGPT account id for the `ChatGPT-Account-Id` header, when known.
    pub fn account_id(&self) -> Option<&str> {
        self.account_id.as_deref()
    }

    /// When the token is due for renewal.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.issued.token.expires_at
    }

    /// The cache's record of this token, with the generation a 401 report needs.
    pub fn issued(&self) -> &IssuedToken {
        &self.issued
    }
}

/// Who is signed in, without secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignInStatus {
    /// Whether a sign-in is stored.
    pub signed_in: bool,
    /// Where it is kept.
    pub location: Option<StoreLocation>,
    /// The person's email.
    pub email: Option<String>,
    /// The ChatGPT plan (`plus`, `pro`, `team`, …).
    pub plan_type: Option<String>,
    /// The ChatGPT account id.
    pub account_id: Option<String>,
    /// When the current access token expires.
    pub access_expires_at: Option<SystemTime>,
    /// When the tokens were last issued.
    pub last_refresh: Option<SystemTime>,
}

impl SignInStatus {
    fn of(location: StoreLocation, tokens: &TokenSet) -> SignInStatus {
        let claims = tokens.claims();
        SignInStatus {
            signed_in: true,
            location: Some(location),
            email: claims.email,
            plan_type: claims.plan_type,
            account_id: tokens.account(),
            access_expires_at: tokens.access_expires_at(),
            last_refresh: tokens.last_refresh,
        }
    }
}

impl fmt::Display for SignInStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.signed_in {
            return f.write_str("Not signed in to OpenAI Codex.");
        }
        write!(
            f,
            "Signed in to OpenAI Codex as {}",
            self.email.as_deref().unwrap_or("(unknown email)")
        )?;
        if let Some(plan) = &self.plan_type {
            write!(f, " (plan: {plan})")?;
        }
        if let Some(account) = &self.account_id {
            write!(f, "\n  account:  {account}")?;
        }
        if let Some(exp) = self.access_expires_at {
            let when = humantime::format_rfc3339_seconds(exp);
            match exp.duration_since(SystemTime::now()) {
                Ok(left) => write!(
                    f,
                    "\n  token:    valid until {when} ({} min left)",
                    left.as_secs() / 60
                )?,
                Err(_) => write!(f, "\n  token:    expired at {when} (refreshed on next use)")?,
            }
        }
        if let Some(location) = &self.location {
            write!(f, "\n  stored:   {location}")?;
        }
        Ok(())
    }
}

/// What [`CodexAuth::logout`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutOutcome {
    /// Whether the SDK's own tokens were removed (`false`: there were none).
    pub removed: bool,
    /// Whether the issuer confirmed the revocation (`None`: nothing to revoke).
    pub revoked: Option<bool>,
    /// A sign-in of the Codex CLI that stays in use: signing out here leaves it alone; run
    /// `codex logout` to end it.
    pub still_signed_in_via: Option<StoreLocation>,
}

impl CodexAuth {
    /// A handle over `config` (checked with [`CodexConfig::validate`]).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`] naming the field; [`ErrorKind::Io`] when the keyring
    /// storage was chosen and no keyring is available.
    pub fn new(config: CodexConfig) -> Result<CodexAuth> {
        config.validate()?;
        let manager = Arc::new(RefreshManager::new(&config, Stores::from_config(&config)?)?);
        let cache = CachedTokenSource::with_refresh_window(
            Arc::clone(&manager) as Arc<dyn cline_provider_core::auth::TokenSource>,
            manager.refresh_window(),
        );
        Ok(CodexAuth {
            inner: Arc::new(AuthInner {
                config,
                manager,
                cache,
            }),
        })
    }

    /// A handle over [`CodexConfig::from_env`].
    ///
    /// # Errors
    ///
    /// As for [`CodexConfig::from_env`] and [`CodexAuth::new`].
    pub fn from_env() -> Result<CodexAuth> {
        CodexAuth::new(CodexConfig::from_env()?)
    }

    /// The settings.
    pub fn config(&self) -> &CodexConfig {
        &self.inner.config
    }

    /// A token for the next request: the cached one, or one refreshed ahead of expiry (one
    /// refresh at a time across every thread and process sharing the store).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotSignedIn`] with a hint when no sign-in is stored (without touching the
    /// network) or the sign-in ended; a transient kind (`Unreachable`, `Server`, …) when a
    /// refresh was needed, failed, and the current token has expired.
    pub async fn token(&self) -> Result<CodexToken> {
        let issued = self.inner.cache.token().await?;
        Ok(self.wrap(issued))
    }

    /// The server rejected `rejected` with HTTP 401: reload the store (another process may
    /// hold newer tokens), else refresh, and return the token to retry once with. When the
    /// retry is rejected too, the sign-in is over: report [`ErrorKind::NotSignedIn`].
    ///
    /// Concurrent callers that saw the same rejected token share one refresh.
    ///
    /// # Errors
    ///
    /// As for [`CodexAuth::token`].
    pub async fn refresh_after_unauthorized(&self, rejected: &CodexToken) -> Result<CodexToken> {
        let issued = self
            .inner
            .cache
            .refresh_after_unauthorized(&rejected.issued)
            .await?;
        Ok(self.wrap(issued))
    }

    /// The error to report when the retry after [`refresh_after_unauthorized`] is rejected
    /// too (HTTP `status`): the sign-in is over. The stored tokens are kept (the issuer still
    /// accepted them); the person is asked to sign in again.
    ///
    /// [`refresh_after_unauthorized`]: CodexAuth::refresh_after_unauthorized
    ///
    /// ```
    /// # fn main() -> cline_provider_core::Result<()> {
    /// let auth = cline_provider_codex::CodexAuth::new(cline_provider_codex::CodexConfig::new("/tmp/x"))?;
    /// let err = auth.rejected_after_refresh(401);
    /// assert_eq!(err.kind(), &cline_provider_core::ErrorKind::NotSignedIn);
    /// # Ok(()) }
    /// ```
    pub fn rejected_after_refresh(&self, status: u16) -> cline_provider_core::Error {
        cline_provider_core::Error::new(
            ErrorKind::NotSignedIn,
            format!(
                "OpenAI rejected the sign-in (HTTP {status}) even after reloading and \
                 refreshing it"
            ),
        )
        .with_status(status)
        .with_hint(format!(
            "You are signed out of OpenAI Codex. Sign in again (`{cmd}`, or `{cmd} --device`); \
             if it keeps happening, check that your ChatGPT plan includes Codex.",
            cmd = self.inner.config.login_command
        ))
    }

    fn wrap(&self, issued: IssuedToken) -> CodexToken {
        let account_id = self.inner.manager.account_for(&issued.token.token);
        CodexToken { issued, account_id }
    }

    /// Who is signed in, read from the store without refreshing anything.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`] naming the file when the stored sign-in is damaged;
    /// [`ErrorKind::Io`] when it cannot be read.
    pub fn status(&self) -> Result<SignInStatus> {
        Ok(match self.inner.manager.stores.active()? {
            Some((store, doc)) => SignInStatus::of(store.location(), &doc.tokens),
            None => SignInStatus::default(),
        })
    }

    /// Starts a browser sign-in: binds the callback port and, when `open_browser` is true,
    /// opens the authorize URL with the system's browser (the `webbrowser` crate, which on
    /// Linux honours `BROWSER` first, as terminal tools do).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] (field `callback_port`) when both callback ports stay busy.
    pub async fn login_browser(&self, open_browser: bool) -> Result<BrowserLogin> {
        BrowserLogin::start(Arc::clone(&self.inner), open_browser).await
    }

    /// Starts a sign-in finished by pasting the final redirect URL.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] only if the OS has no randomness for PKCE.
    pub fn login_manual(&self) -> Result<ManualLogin> {
        ManualLogin::start(Arc::clone(&self.inner))
    }

    /// Starts a device-code sign-in: asks the issuer for a code to show.
    ///
    /// # Errors
    ///
    /// Network errors, or the issuer's refusal (a 404 means the issuer offers no device
    /// codes).
    pub async fn login_device(&self) -> Result<DeviceLogin> {
        DeviceLogin::start(Arc::clone(&self.inner)).await
    }

    /// Signs out: removes the SDK's own stored tokens (under the store's lock, so no refresh
    /// in another process writes them back), then revokes the refresh token at the issuer,
    /// best effort and bounded by the revoke timeout. Signing out when not signed in is not
    /// an error. A sign-in of the Codex CLI is left alone and reported in the outcome.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the stored tokens cannot be removed. A failed revocation is not
    /// an error (it is logged, and `revoked` is `Some(false)`).
    pub async fn logout(&self) -> Result<LogoutOutcome> {
        let inner = &self.inner;
        let own = &inner.manager.stores.own;
        let lock = own.lock(inner.config.lock_timeout).await?;
        let previous = inner.load_own_clearing_damaged()?;
        if previous.is_some() {
            own.delete()?;
        }
        drop(lock);
        inner.cache.clear().await;
        inner.manager.reset();
        let revoked = match &previous {
            Some(doc) => Some(
                match inner.manager.issuer.revoke(&doc.tokens.refresh_token).await {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::warn!(error = %e, "revoking the refresh token failed; it was removed here anyway");
                        false
                    }
                },
            ),
            None => None,
        };
        let still_signed_in_via = match &inner.manager.stores.shared {
            Some(shared) => match shared.load() {
                Ok(Some(_)) => Some(shared.location()),
                _ => None,
            },
            None => None,
        };
        Ok(LogoutOutcome {
            removed: previous.is_some(),
            revoked,
            still_signed_in_via,
        })
    }
}

impl AuthInner {
    /// The SDK's own stored sign-in; a damaged one is removed (only sign-in and sign-out call
    /// this, both of which replace whatever was there). Call under the store's lock.
    fn load_own_clearing_damaged(&self) -> Result<Option<AuthDocument>> {
        let own = &self.manager.stores.own;
        match own.load() {
            Ok(doc) => Ok(doc),
            Err(e) if e.kind() == &ErrorKind::InvalidConfig => {
                tracing::warn!(error = %e, "removing a damaged Codex token store");
                match self.config.storage {
                    // The secrets file itself may be what is damaged: remove it whole.
                    TokenStorage::File => {
                        cline_provider_core::fs::remove_if_exists(&self.config.token_file())?
                    }
                    _ => own.delete()?,
                }
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Stores the tokens of a fresh sign-in in the SDK's own store, under its lock, and
    /// revokes the sign-in they replace (best effort).
    pub(crate) async fn persist(&self, tokens: TokenSet) -> Result<SignInStatus> {
        let own = &self.manager.stores.own;
        let lock = own.lock(self.config.lock_timeout).await?;
        let previous = self.load_own_clearing_damaged()?;
        own.save(&AuthDocument::new(tokens.clone())).await?;
        drop(lock);
        self.cache.clear().await;
        self.manager.reset();
        if let Some(old) = previous.filter(|old| !old.tokens.same_refresh(&tokens)) {
            let manager = Arc::clone(&self.manager);
            tokio::spawn(async move {
                if let Err(e) = manager.issuer.revoke(&old.tokens.refresh_token).await {
                    tracing::debug!(error = %e, "revoking the replaced sign-in failed");
                }
            });
        }
        tracing::info!("signed in to OpenAI Codex");
        Ok(SignInStatus::of(own.location(), &tokens))
    }
}
