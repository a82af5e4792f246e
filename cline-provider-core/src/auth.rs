//! Bearer tokens that expire: the [`TokenSource`] trait and the [`CachedTokenSource`] wrapper
//! that refreshes ahead of expiry with exactly one refresh in flight.
//!
//! Backends that sign requests with short-lived tokens (Entra ID, "Sign in with OpenAI") put
//! their credential behind a `CachedTokenSource`, call [`CachedTokenSource::token`] before each
//! request, and [`CachedTokenSource::refresh_after_unauthorized`] once after a 401, through
//! [`send_renewing_after_401`], the one place that decides when a call is sent again.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use crate::error::{Error, ErrorKind, Result};

mod renewal;

pub use renewal::send_renewing_after_401;

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
    // Bumped on every fetch attempt, successful or not, so callers that waited for a refresh
    // take its outcome instead of starting another.
    attempts: u64,
    last_failure: Option<Failure>,
}

/// What the last failed refresh said, kept so that callers who waited for it share its result
/// and the source is not asked again before the retry interval.
struct Failure {
    at: SystemTime,
    kind: ErrorKind,
    message: String,
    hint: String,
}

impl Failure {
    fn to_error(&self) -> Error {
        Error::new(self.kind.clone(), self.message.clone()).with_hint(self.hint.clone())
    }
}

/// The clock a [`CachedTokenSource`] reads expiry times against.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Caches a [`TokenSource`]'s token, refreshing it `refresh_window` before it expires.
///
/// - **Single flight.** However many callers need a new token at once, one fetch runs.
///   While the current token still works (it is inside the refresh window but not expired),
///   callers keep getting it and nobody waits for the refresh; once it no longer works, they
///   wait for the one fetch and all take its result.
/// - **Failures.** A failed refresh keeps the current token while it still works, and the
///   source is asked again only after the retry interval (3 s by default, as the Azure SDKs'
///   token cycler). With no working token, the error is returned to every caller that waited.
/// - **After a 401**, [`refresh_after_unauthorized`](Self::refresh_after_unauthorized) forces
///   one fetch, unless another caller already replaced the rejected token.
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
///
/// # Cancellation
///
/// Dropping a `token()` future that is running the fetch drops the fetch; the next caller
/// starts a new one.
pub struct CachedTokenSource {
    source: Arc<dyn TokenSource>,
    refresh_window: Duration,
    retry_interval: Duration,
    clock: Clock,
    state: std::sync::Mutex<CacheState>,
    // Held across the fetch: the single flight.
    refresh: Mutex<()>,
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
            .field("retry_interval", &self.retry_interval)
            .finish_non_exhaustive()
    }
}

impl CachedTokenSource {
    /// The default refresh window: two minutes before expiry, as the Azure SDKs do.
    pub const DEFAULT_REFRESH_WINDOW: Duration = Duration::from_secs(120);

    /// The default wait before a failed refresh is tried again (while the old token works).
    pub const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_secs(3);

    /// A token this close to its expiry no longer counts as working: a request sent with it
    /// could arrive after it expired.
    pub const EXPIRY_MARGIN: Duration = Duration::from_secs(1);

    /// Wraps `source` with the default refresh window.
    pub fn new(source: Arc<dyn TokenSource>) -> Self {
        Self::with_refresh_window(source, Self::DEFAULT_REFRESH_WINDOW)
    }

    /// Wraps `source`, refreshing `window` before expiry.
    pub fn with_refresh_window(source: Arc<dyn TokenSource>, window: Duration) -> Self {
        CachedTokenSource {
            source,
            refresh_window: window,
            retry_interval: Self::DEFAULT_RETRY_INTERVAL,
            clock: Arc::new(SystemTime::now),
            state: std::sync::Mutex::new(CacheState {
                current: None,
                generation: 0,
                attempts: 0,
                last_failure: None,
            }),
            refresh: Mutex::new(()),
        }
    }

    /// Sets how long a failed refresh waits before the source is asked again while the old
    /// token still works. Default [`DEFAULT_RETRY_INTERVAL`](Self::DEFAULT_RETRY_INTERVAL).
    pub fn retry_interval(mut self, interval: Duration) -> Self {
        self.retry_interval = interval;
        self
    }

    /// Reads expiry against `clock` instead of the system clock (for tests and benches).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        // The state is plain data, consistent after every statement: a panic elsewhere
        // cannot leave it half-written.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn works(&self, token: &AccessToken, now: SystemTime) -> bool {
        !token.expires_within(Self::EXPIRY_MARGIN, now)
    }

    /// The current token if it still works.
    fn working(&self) -> Option<IssuedToken> {
        let state = self.lock();
        let now = (self.clock)();
        state
            .current
            .as_ref()
            .filter(|t| self.works(t, now))
            .map(|t| IssuedToken {
                token: t.clone(),
                generation: state.generation,
            })
    }

    /// A token that is valid for at least the refresh window, fetching one if needed (or,
    /// while a refresh runs or has just failed, the current one if it still works).
    ///
    /// # Errors
    ///
    /// The source's error when no working token is left.
    pub async fn token(&self) -> Result<IssuedToken> {
        let seen_attempt = {
            let state = self.lock();
            let now = (self.clock)();
            if let Some(current) = &state.current {
                let issued = || IssuedToken {
                    token: current.clone(),
                    generation: state.generation,
                };
                if !current.expires_within(self.refresh_window, now) {
                    return Ok(issued());
                }
                let failed_recently = state
                    .last_failure
                    .as_ref()
                    .is_some_and(|f| now < f.at + self.retry_interval);
                if failed_recently && self.works(current, now) {
                    return Ok(issued());
                }
            }
            state.attempts
        };
        let guard = match self.refresh.try_lock() {
            Ok(guard) => guard,
            Err(_) => {
                // A refresh is running: no need to wait while the current token works.
                if let Some(working) = self.working() {
                    return Ok(working);
                }
                self.refresh.lock().await
            }
        };
        {
            let state = self.lock();
            if state.attempts != seen_attempt {
                // A refresh finished while we waited: take its outcome.
                let now = (self.clock)();
                if let Some(current) = state.current.as_ref().filter(|t| self.works(t, now)) {
                    return Ok(IssuedToken {
                        token: current.clone(),
                        generation: state.generation,
                    });
                }
                if let Some(failure) = &state.last_failure {
                    return Err(failure.to_error());
                }
            }
        }
        let result = self.fetch(None).await;
        drop(guard);
        match result {
            Ok(issued) => Ok(issued),
            Err(err) => match self.working() {
                Some(working) => {
                    tracing::warn!(
                        kind = ?err.kind(),
                        "refreshing the bearer token failed; the current one still works and is \
                         kept: {err}"
                    );
                    Ok(working)
                }
                None => Err(err),
            },
        }
    }

    /// The server rejected `rejected` (HTTP 401): fetch a new token, unless another caller
    /// already replaced it, in which case the newer token is returned without a second fetch.
    ///
    /// # Errors
    ///
    /// The source's error: the rejected token is never handed out again.
    pub async fn refresh_after_unauthorized(&self, rejected: &IssuedToken) -> Result<IssuedToken> {
        let replaced = || {
            let state = self.lock();
            let now = (self.clock)();
            (state.generation != rejected.generation)
                .then_some(state.current.as_ref())
                .flatten()
                .filter(|t| self.works(t, now))
                .map(|t| IssuedToken {
                    token: t.clone(),
                    generation: state.generation,
                })
        };
        if let Some(newer) = replaced() {
            return Ok(newer);
        }
        let _guard = self.refresh.lock().await;
        if let Some(newer) = replaced() {
            return Ok(newer);
        }
        self.fetch(Some(&rejected.token)).await
    }

    /// Forgets the cached token (sign-out).
    pub async fn clear(&self) {
        let _guard = self.refresh.lock().await;
        let mut state = self.lock();
        state.current = None;
        state.last_failure = None;
    }

    /// One fetch (after a 401 when `rejected` is given); the caller holds the refresh lock.
    async fn fetch(&self, rejected: Option<&AccessToken>) -> Result<IssuedToken> {
        let result = match rejected {
            Some(rejected) => self.source.fetch_token_after_unauthorized(rejected).await,
            None => self.source.fetch_token().await,
        };
        let mut state = self.lock();
        state.attempts += 1;
        match result {
            Ok(token) => {
                tracing::debug!(
                    expires_at = ?token.expires_at,
                    "fetched a new bearer token ({} bytes)",
                    token.token.expose_secret().len()
                );
                state.generation += 1;
                state.current = Some(token.clone());
                state.last_failure = None;
                Ok(IssuedToken {
                    token,
                    generation: state.generation,
                })
            }
            Err(err) => {
                state.last_failure = Some(Failure {
                    at: (self.clock)(),
                    kind: err.kind().clone(),
                    message: err.message().to_owned(),
                    hint: err.hint(),
                });
                Err(err)
            }
        }
    }
}

/// The claims of a JWT (its middle part), read **without checking the signature**: for showing
/// who a token belongs to (tenant, account, expiry), never for granting anything; the server
/// checks the token itself. Tokens that are not JWTs (opaque tokens) are common and fine.
///
/// # Errors
///
/// Why the text is not a JWT (`"it does not have three parts"`, `"its payload is not
/// base64url"`, …). The reason never quotes the token.
///
/// ```
/// use base64::Engine as _;
/// use cline_provider_core::auth::jwt_claims;
/// let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
/// let jwt = format!("{}.{}.sig", b64(r#"{"alg":"RS256"}"#), b64(r#"{"tid":"t-1"}"#));
/// assert_eq!(jwt_claims(&jwt).unwrap()["tid"], "t-1");
/// assert!(jwt_claims("opaque-token").is_err());
/// ```
pub fn jwt_claims(
    jwt: &str,
) -> std::result::Result<serde_json::Map<String, serde_json::Value>, &'static str> {
    use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine as _;

    let mut parts = jwt.split('.');
    let (Some(header), Some(body), Some(_sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("it does not have three parts");
    };
    if header.is_empty() || body.is_empty() {
        return Err("a part is empty");
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(body)
        .or_else(|_| URL_SAFE.decode(body))
        .map_err(|_| "its payload is not base64url")?;
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        _ => Err("its payload is not a JSON object"),
    }
}
