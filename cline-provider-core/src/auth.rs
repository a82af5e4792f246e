//! Bearer tokens that expire: the [`TokenSource`] trait and the [`CachedTokenSource`] wrapper
//! that refreshes ahead of expiry with exactly one refresh in flight.
//!
//! Backends that sign requests with short-lived tokens (Entra ID, "Sign in with OpenAI") put
//! their credential behind a `CachedTokenSource`, call [`CachedTokenSource::token`] before each
//! request, and [`CachedTokenSource::refresh_after_unauthorized`] once after a 401.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use crate::error::Result;

/// A bearer token and when it stops working.
#[derive(Clone)]
pub struct AccessToken {
    /// The token itself; never printed.
    pub token: SecretString,
    /// When the token expires, if known. `None` means "until the server says otherwise".
    pub expires_at: Option<SystemTime>,
}

impl AccessToken {
    /// A token valid until `expires_at`.
    pub fn new(token: impl Into<SecretString>, expires_at: Option<SystemTime>) -> Self {
        AccessToken {
            token: token.into(),
            expires_at,
        }
    }

    /// Whether the token expires within `window` of `now` (or already has).
    pub fn expires_within(&self, window: Duration, now: SystemTime) -> bool {
        match self.expires_at {
            Some(at) => at <= now + window,
            None => false,
        }
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Something that can fetch a fresh bearer token: an Entra ID credential, an OAuth refresh.
///
/// Object-safe, so a backend can hold `Arc<dyn TokenSource>`.
#[async_trait]
pub trait TokenSource: Send + Sync {
    /// Fetches a new token. Called only by the cache, one call at a time.
    async fn fetch_token(&self) -> Result<AccessToken>;

    /// Fetches a new token because the server rejected `rejected` (HTTP 401). Called by
    /// [`CachedTokenSource::refresh_after_unauthorized`], one call at a time.
    ///
    /// The default is [`fetch_token`](TokenSource::fetch_token). A source whose credential
    /// can still look valid after a rejection (a stored OAuth token with hours left) overrides
    /// it to force a refresh, or to pick up a token another process already stored.
    async fn fetch_token_after_unauthorized(&self, rejected: &AccessToken) -> Result<AccessToken> {
        let _ = rejected;
        self.fetch_token().await
    }
}

struct CacheState {
    current: Option<AccessToken>,
    // Bumped on every successful fetch, so a caller that saw a 401 with generation N can tell
    // whether someone else already replaced that token.
    generation: u64,
}

/// Caches a [`TokenSource`]'s token, refreshing it `refresh_window` before it expires.
///
/// Any number of concurrent callers wait on one refresh: the lock is held across the fetch
/// on purpose, since a second fetch would only spend another round trip (or, for rotating
/// refresh tokens, invalidate the first).
///
/// ```
/// # use std::time::{Duration, SystemTime};
/// # use async_trait::async_trait;
/// use cline_provider_core::auth::{AccessToken, CachedTokenSource, TokenSource};
/// use secrecy::ExposeSecret;
///
/// struct Fixed;
/// #[async_trait]
/// impl TokenSource for Fixed {
///     async fn fetch_token(&self) -> cline_provider_core::Result<AccessToken> {
///         Ok(AccessToken::new("t0k3n", Some(SystemTime::now() + Duration::from_secs(3600))))
///     }
/// }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let cache = CachedTokenSource::new(std::sync::Arc::new(Fixed));
/// let token = cache.token().await.unwrap();
/// assert_eq!(token.token.token.expose_secret(), "t0k3n");
/// # });
/// ```
pub struct CachedTokenSource {
    source: Arc<dyn TokenSource>,
    refresh_window: Duration,
    state: Mutex<CacheState>,
}

/// A token handed out by [`CachedTokenSource::token`], with the generation needed to report
/// it as rejected.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The token.
    pub token: AccessToken,
    /// Which fetch produced it.
    pub generation: u64,
}

impl fmt::Debug for CachedTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedTokenSource")
            .field("refresh_window", &self.refresh_window)
            .finish_non_exhaustive()
    }
}

impl CachedTokenSource {
    /// The default refresh window: two minutes before expiry, as the Azure SDKs do.
    pub const DEFAULT_REFRESH_WINDOW: Duration = Duration::from_secs(120);

    /// Wraps `source` with the default refresh window.
    pub fn new(source: Arc<dyn TokenSource>) -> Self {
        Self::with_refresh_window(source, Self::DEFAULT_REFRESH_WINDOW)
    }

    /// Wraps `source`, refreshing `window` before expiry.
    pub fn with_refresh_window(source: Arc<dyn TokenSource>, window: Duration) -> Self {
        CachedTokenSource {
            source,
            refresh_window: window,
            state: Mutex::new(CacheState {
                current: None,
                generation: 0,
            }),
        }
    }

    /// A token that is valid for at least the refresh window, fetching one if needed.
    pub async fn token(&self) -> Result<IssuedToken> {
        let mut state = self.state.lock().await;
        if let Some(current) = &state.current {
            if !current.expires_within(self.refresh_window, SystemTime::now()) {
                return Ok(IssuedToken {
                    token: current.clone(),
                    generation: state.generation,
                });
            }
        }
        self.fetch_locked(&mut state).await
    }

    /// The server rejected `rejected` (HTTP 401): fetch a new token, unless another caller
    /// already replaced it, in which case the newer token is returned without a second fetch.
    pub async fn refresh_after_unauthorized(&self, rejected: &IssuedToken) -> Result<IssuedToken> {
        let mut state = self.state.lock().await;
        if state.generation != rejected.generation {
            if let Some(current) = &state.current {
                return Ok(IssuedToken {
                    token: current.clone(),
                    generation: state.generation,
                });
            }
        }
        let token = self
            .source
            .fetch_token_after_unauthorized(&rejected.token)
            .await?;
        Ok(Self::store_locked(&mut state, token))
    }

    /// Forgets the cached token (sign-out).
    pub async fn clear(&self) {
        self.state.lock().await.current = None;
    }

    async fn fetch_locked(&self, state: &mut CacheState) -> Result<IssuedToken> {
        let token = self.source.fetch_token().await?;
        Ok(Self::store_locked(state, token))
    }

    fn store_locked(state: &mut CacheState, token: AccessToken) -> IssuedToken {
        tracing::debug!(
            expires_at = ?token.expires_at,
            "fetched a new bearer token ({} bytes)",
            token.token.expose_secret().len()
        );
        state.generation += 1;
        state.current = Some(token.clone());
        IssuedToken {
            token,
            generation: state.generation,
        }
    }
}
