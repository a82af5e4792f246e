//! The refresh manager: a [`TokenSource`] over the token stores that never spends a refresh
//! token twice.
//!
//! In one process, core's [`CachedTokenSource`](cline_provider_core::auth::CachedTokenSource)
//! in front of it lets exactly one refresh run while any number of callers wait. Across
//! processes, a refresh goes:
//!
//! 1. read the store (no lock); tokens still good (more than the refresh window before
//!    `exp`, or less than 8 days old without one): use them, no network;
//! 2. take the store's exclusive file lock and read it again: if another process rotated the
//!    tokens meanwhile, use its tokens and skip the refresh;
//! 3. otherwise refresh, write the new tokens (atomically, `0600`), then let go of the lock.
//!
//! After an HTTP 401 the rejected token is compared with the store first (another process
//! may have stored a newer one), and only then refreshed, whatever its `exp` says.
//!
//! Failures: a permanent one (the refresh token is dead) clears the SDK's own stored tokens
//! and answers [`ErrorKind::NotSignedIn`] with a hint to sign in again. For a sign-in shared
//! with the Codex CLI the CLI's file is never cleared: the CLI spends its refresh token
//! before it locks, so it can win a race; the lock is let go, the file read again after a
//! moment, and the CLI's new tokens used if they appeared. A transient failure (network,
//! 5xx) keeps the tokens, and the current access token is used while it stays valid; no new
//! attempt is made for [`TRANSIENT_COOLDOWN`], so a flaky issuer is not hammered.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use cline_provider_core::auth::{AccessToken, TokenSource};
use cline_provider_core::{Error, ErrorKind, Result};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::claims::IdClaims;
use super::issuer::IssuerClient;
use super::token_store::{
    now, AuthDocument, CliStore, OwnStore, Store, TokenSet, SHARED_REFRESH_SUPPORTED,
};
use crate::config::CodexConfig;

/// After a transient refresh failure, how long the current access token is used before the
/// next attempt.
pub const TRANSIENT_COOLDOWN: Duration = Duration::from_secs(30);

/// An access token is still handed out after a transient failure while it has this much
/// life left.
const TRANSIENT_GRACE: Duration = Duration::from_secs(30);

/// How long to wait for a running Codex CLI to write the tokens it won a race for.
const SHARED_REUSE_SETTLE: Duration = Duration::from_millis(500);
const SHARED_REUSE_TRIES: u32 = 4;

/// The stores in the order they are consulted, and the issuer.
#[derive(Debug)]
pub(crate) struct Stores {
    pub(crate) own: Store,
    pub(crate) shared: Option<Store>,
}

impl Stores {
    pub(crate) fn from_config(config: &CodexConfig) -> Result<Stores> {
        Ok(Stores {
            own: Store::Own(OwnStore::from_config(config)?),
            shared: config
                .codex_home
                .clone()
                .map(|dir| Store::Cli(CliStore::new(dir))),
        })
    }

    /// The sign-in in use: the SDK's own, else the Codex CLI's.
    pub(crate) fn active(&self) -> Result<Option<(Store, AuthDocument)>> {
        if let Some(doc) = self.own.load()? {
            return Ok(Some((self.own.clone(), doc)));
        }
        if let Some(shared) = &self.shared {
            if let Some(doc) = shared.load()? {
                return Ok(Some((shared.clone(), doc)));
            }
        }
        Ok(None)
    }
}

/// What is known about a token handed out, kept so that the bearer token and its account id
/// always come from the same sign-in.
#[derive(Clone)]
pub(crate) struct Issued {
    fingerprint: [u8; 32],
    pub(crate) account_id: Option<String>,
}

/// The [`TokenSource`] behind [`CodexAuth`](crate::CodexAuth).
pub(crate) struct RefreshManager {
    pub(crate) stores: Stores,
    pub(crate) issuer: IssuerClient,
    window: Duration,
    interval: Duration,
    lock_timeout: Duration,
    /// How the application starts a sign-in, for the "not signed in" hint.
    login_command: String,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    issued: VecDeque<Issued>,
    cooldown_until: Option<SystemTime>,
    // A shared sign-in whose refresh token we saw rejected: fail fast until the file changes.
    dead_refresh: Option<[u8; 32]>,
}

impl RefreshManager {
    pub(crate) fn new(config: &CodexConfig, stores: Stores) -> Result<RefreshManager> {
        Ok(RefreshManager {
            stores,
            issuer: IssuerClient::new(config)?,
            window: config.refresh_window,
            interval: config.refresh_interval,
            lock_timeout: config.lock_timeout,
            login_command: config.login_command.clone(),
            state: Mutex::new(State::default()),
        })
    }

    pub(crate) fn refresh_window(&self) -> Duration {
        self.window
    }

    /// The account id of a token this manager handed out.
    pub(crate) fn account_for(&self, token: &SecretString) -> Option<String> {
        let fp = fingerprint(token.expose_secret());
        self.lock_state()
            .issued
            .iter()
            .find(|i| i.fingerprint == fp)
            .and_then(|i| i.account_id.clone())
    }

    /// Forgets what it handed out (sign-in, sign-out).
    pub(crate) fn reset(&self) {
        *self.lock_state() = State::default();
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn issue(&self, tokens: &TokenSet) -> AccessToken {
        let mut state = self.lock_state();
        state.issued.push_front(Issued {
            fingerprint: fingerprint(tokens.access_token.expose_secret()),
            account_id: tokens.account(),
        });
        state.issued.truncate(8);
        AccessToken::new(
            tokens.access_token.expose_secret().to_owned(),
            Some(tokens.due_at(self.interval, self.window)),
        )
    }

    fn needs_refresh(&self, tokens: &TokenSet, at: SystemTime) -> bool {
        tokens.due_at(self.interval, self.window) <= at + self.window
    }

    async fn obtain(&self, rejected: Option<&AccessToken>) -> Result<AccessToken> {
        let Some((store, doc)) = self.stores.active()? else {
            return Err(not_signed_in(&self.login_command));
        };
        let stale = |tokens: &TokenSet| match rejected {
            Some(r) => tokens.same_access(r.token.expose_secret()),
            None => self.needs_refresh(tokens, SystemTime::now()),
        };
        if !stale(&doc.tokens) {
            return Ok(self.issue(&doc.tokens));
        }
        if rejected.is_none() && self.cooling_down() && has_life(&doc.tokens, TRANSIENT_GRACE) {
            return Ok(self.issue(&doc.tokens));
        }
        if store.is_shared() {
            if !SHARED_REFRESH_SUPPORTED {
                return self.shared_read_only(&doc.tokens, rejected.is_some());
            }
            if self.lock_state().dead_refresh
                == Some(fingerprint(doc.tokens.refresh_token.expose_secret()))
            {
                return Err(shared_signed_out(&store));
            }
        }

        let lock = store.lock(self.lock_timeout).await?;
        // Read again under the lock: another process may have refreshed while we waited.
        let Some(doc) = store.load()? else {
            return Err(not_signed_in(&self.login_command));
        };
        if !stale(&doc.tokens) {
            tracing::debug!(
                "another process already refreshed the Codex sign-in; using its tokens"
            );
            return Ok(self.issue(&doc.tokens));
        }
        tracing::debug!(shared = store.is_shared(), "refreshing the Codex sign-in");
        match self.issuer.refresh(&doc.tokens.refresh_token).await {
            Ok(fresh) => {
                let tokens = merge(&doc.tokens, fresh);
                store.save(&doc.with_tokens(tokens.clone())).await?;
                drop(lock);
                self.lock_state().cooldown_until = None;
                Ok(self.issue(&tokens))
            }
            Err(e) if e.kind() == &ErrorKind::NotSignedIn => {
                if store.is_shared() {
                    drop(lock);
                    self.after_shared_rejection(&store, &doc.tokens, e).await
                } else {
                    // Still under the lock, so these are the tokens the issuer just refused.
                    store.delete()?;
                    drop(lock);
                    self.reset();
                    tracing::warn!(
                        code = e.code(),
                        "the Codex sign-in ended; stored tokens removed"
                    );
                    Err(e)
                }
            }
            Err(e) => {
                drop(lock);
                self.lock_state().cooldown_until = Some(SystemTime::now() + TRANSIENT_COOLDOWN);
                if rejected.is_none() && has_life(&doc.tokens, Duration::ZERO) {
                    tracing::warn!(error = %e, "refreshing the Codex sign-in failed; using the current token while it lasts");
                    Ok(self.issue(&doc.tokens))
                } else {
                    Err(e)
                }
            }
        }
    }

    /// The issuer refused the CLI's refresh token. A running CLI may have spent it first and
    /// be about to write its new tokens: wait for them rather than give up.
    async fn after_shared_rejection(
        &self,
        store: &Store,
        refused: &TokenSet,
        err: Error,
    ) -> Result<AccessToken> {
        for _ in 0..SHARED_REUSE_TRIES {
            tokio::time::sleep(SHARED_REUSE_SETTLE).await;
            if let Some(doc) = store.load()? {
                if !doc.tokens.same_refresh(refused) {
                    tracing::info!(
                        "the Codex CLI refreshed the shared sign-in first; using its new tokens"
                    );
                    return Ok(self.issue(&doc.tokens));
                }
            }
        }
        self.lock_state().dead_refresh = Some(fingerprint(refused.refresh_token.expose_secret()));
        Err(Error::new(
            ErrorKind::NotSignedIn,
            format!(
                "the Codex CLI's sign-in can no longer be refreshed: {}",
                err.message()
            ),
        )
        .with_status(err.status().unwrap_or(401))
        .with_code(err.code().unwrap_or("refresh_token_invalid").to_owned())
        .with_hint(shared_hint(store)))
    }

    fn shared_read_only(&self, tokens: &TokenSet, rejected: bool) -> Result<AccessToken> {
        if !rejected && has_life(tokens, Duration::ZERO) {
            return Ok(self.issue(tokens));
        }
        Err(Error::new(
            ErrorKind::NotSignedIn,
            "the Codex CLI's access token has expired, and this platform does not refresh a \
             sign-in shared with the Codex CLI",
        )
        .with_hint(
            "Run `codex` once (it refreshes its own sign-in), or sign in here with `login` to \
             keep a sign-in of this SDK's own.",
        ))
    }

    fn cooling_down(&self) -> bool {
        self.lock_state()
            .cooldown_until
            .is_some_and(|until| SystemTime::now() < until)
    }
}

#[async_trait]
impl TokenSource for RefreshManager {
    async fn fetch_token(&self) -> Result<AccessToken> {
        self.obtain(None).await
    }

    async fn fetch_token_after_unauthorized(&self, rejected: &AccessToken) -> Result<AccessToken> {
        self.obtain(Some(rejected)).await
    }
}

/// New tokens over old: what the issuer left out is kept (Cline keeps the refresh token and
/// the account when a refresh answer lacks them).
fn merge(old: &TokenSet, fresh: super::issuer::Refreshed) -> TokenSet {
    let id_token = fresh.id_token.unwrap_or_else(|| old.id_token.clone());
    let account_id = IdClaims::parse(id_token.expose_secret())
        .ok()
        .and_then(|c| c.account_id)
        .or_else(|| old.account_id.clone());
    TokenSet {
        id_token,
        access_token: fresh.access_token,
        refresh_token: fresh
            .refresh_token
            .unwrap_or_else(|| old.refresh_token.clone()),
        account_id,
        last_refresh: Some(now()),
    }
}

fn has_life(tokens: &TokenSet, margin: Duration) -> bool {
    tokens
        .access_expires_at()
        .is_some_and(|exp| exp > SystemTime::now() + margin)
}

fn fingerprint(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub(crate) fn not_signed_in(login_command: &str) -> Error {
    Error::new(ErrorKind::NotSignedIn, "not signed in to OpenAI Codex").with_hint(format!(
        "Sign in with OpenAI first: `{login_command}` (browser), or `{login_command} --device` \
         on a machine without a browser. A sign-in of the Codex CLI (`codex login`) is used too."
    ))
}

fn shared_hint(store: &Store) -> String {
    format!(
        "The sign-in shared with the Codex CLI ({}) has ended, and it was left as it is. Run \
         `codex login` to sign the CLI in again, or sign in here with `login`.",
        store.location()
    )
}

fn shared_signed_out(store: &Store) -> Error {
    Error::new(
        ErrorKind::NotSignedIn,
        "the Codex CLI's sign-in was refused by the issuer and has not changed since",
    )
    .with_hint(shared_hint(store))
}
