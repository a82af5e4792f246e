//! The token cache refreshes ahead of expiry, single-flight, and once after a 401.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use cline_provider_core::auth::{AccessToken, CachedTokenSource, TokenSource};
use cline_provider_core::{Error, ErrorKind, Result};
use secrecy::ExposeSecret;

struct Counting {
    calls: AtomicUsize,
    lifetime: Duration,
    delay: Duration,
    fail: bool,
}

impl Counting {
    fn new(lifetime: Duration) -> Arc<Self> {
        Arc::new(Counting {
            calls: AtomicUsize::new(0),
            lifetime,
            delay: Duration::from_millis(0),
            fail: false,
        })
    }
}

#[async_trait]
impl TokenSource for Counting {
    async fn fetch_token(&self) -> Result<AccessToken> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(self.delay).await;
        if self.fail {
            return Err(Error::new(ErrorKind::NotSignedIn, "refresh token revoked"));
        }
        Ok(AccessToken::new(
            format!("token-{n}"),
            Some(SystemTime::now() + self.lifetime),
        ))
    }
}

#[tokio::test]
async fn a_fresh_token_is_reused() {
    let src = Counting::new(Duration::from_secs(3600));
    let cache = CachedTokenSource::new(src.clone());
    let a = cache.token().await.unwrap();
    let b = cache.token().await.unwrap();
    assert_eq!(a.token.token.expose_secret(), "token-1");
    assert_eq!(b.token.token.expose_secret(), "token-1");
    assert_eq!(src.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_token_inside_the_refresh_window_is_replaced() {
    // Lives 60 s, but the default window is 120 s: every call must refresh.
    let src = Counting::new(Duration::from_secs(60));
    let cache = CachedTokenSource::new(src.clone());
    cache.token().await.unwrap();
    let b = cache.token().await.unwrap();
    assert_eq!(b.token.token.expose_secret(), "token-2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_refresh() {
    let src = Arc::new(Counting {
        calls: AtomicUsize::new(0),
        lifetime: Duration::from_secs(3600),
        delay: Duration::from_millis(50),
        fail: false,
    });
    let cache = Arc::new(CachedTokenSource::new(src.clone()));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let cache = cache.clone();
        tasks.push(tokio::spawn(async move { cache.token().await.unwrap() }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().token.token.expose_secret(), "token-1");
    }
    assert_eq!(src.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_401_forces_exactly_one_refresh() {
    let src = Counting::new(Duration::from_secs(3600));
    let cache = CachedTokenSource::new(src.clone());
    let rejected = cache.token().await.unwrap();
    // Two requests saw the same token rejected; only the first refreshes.
    let first = cache.refresh_after_unauthorized(&rejected).await.unwrap();
    let second = cache.refresh_after_unauthorized(&rejected).await.unwrap();
    assert_eq!(first.token.token.expose_secret(), "token-2");
    assert_eq!(second.token.token.expose_secret(), "token-2");
    assert_eq!(src.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failed_fetch_is_a_typed_error_and_clear_forgets() {
    let src = Arc::new(Counting {
        calls: AtomicUsize::new(0),
        lifetime: Duration::from_secs(3600),
        delay: Duration::from_millis(0),
        fail: true,
    });
    let cache = CachedTokenSource::new(src);
    let err = cache.token().await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::NotSignedIn);

    let ok = Counting::new(Duration::from_secs(3600));
    let cache = CachedTokenSource::new(ok.clone());
    cache.token().await.unwrap();
    cache.clear().await;
    cache.token().await.unwrap();
    assert_eq!(ok.calls.load(Ordering::SeqCst), 2);
}

#[test]
fn tokens_never_print() {
    let t = AccessToken::new("super-secret-value", None);
    let shown = format!("{t:?}");
    assert!(!shown.contains("super-secret-value"), "{shown}");
    assert!(shown.contains("redacted"));
}

/// A clock the test moves by hand, and a source whose tokens live a fixed time on it.
#[derive(Clone)]
struct ManualClock {
    base: SystemTime,
    offset_secs: Arc<std::sync::atomic::AtomicU64>,
}

impl ManualClock {
    fn new() -> Self {
        ManualClock {
            base: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            offset_secs: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        }
    }
    fn now(&self) -> SystemTime {
        self.base + Duration::from_secs(self.offset_secs.load(Ordering::SeqCst))
    }
    fn advance(&self, secs: u64) {
        self.offset_secs.fetch_add(secs, Ordering::SeqCst);
    }
    fn as_clock(&self) -> cline_provider_core::auth::Clock {
        let me = self.clone();
        Arc::new(move || me.now())
    }
}

struct OnClock {
    clock: ManualClock,
    calls: AtomicUsize,
    lifetime: Duration,
    /// Calls from this number on fail.
    fail_from: usize,
    delay: Duration,
}

#[async_trait]
impl TokenSource for OnClock {
    async fn fetch_token(&self) -> Result<AccessToken> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(self.delay).await;
        if n >= self.fail_from {
            return Err(
                Error::new(ErrorKind::Unreachable, "the token endpoint is down")
                    .with_hint("check the network"),
            );
        }
        Ok(AccessToken::new(
            format!("token-{n}"),
            Some(self.clock.now() + self.lifetime),
        ))
    }
}

fn on_clock(clock: &ManualClock, lifetime_secs: u64, fail_from: usize) -> Arc<OnClock> {
    Arc::new(OnClock {
        clock: clock.clone(),
        calls: AtomicUsize::new(0),
        lifetime: Duration::from_secs(lifetime_secs),
        fail_from,
        delay: Duration::from_millis(20),
    })
}

async fn thousand_callers(cache: &Arc<CachedTokenSource>) -> Vec<Result<String>> {
    let mut tasks = Vec::new();
    for _ in 0..1000 {
        let cache = cache.clone();
        tasks.push(tokio::spawn(async move {
            cache
                .token()
                .await
                .map(|t| t.token.token.expose_secret().to_owned())
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_callers_fetch_once_and_refresh_once_near_expiry() {
    let clock = ManualClock::new();
    let src = on_clock(&clock, 3600, usize::MAX);
    let cache = Arc::new(CachedTokenSource::new(src.clone()).clock(clock.as_clock()));

    let first = thousand_callers(&cache).await;
    assert!(first.iter().all(|t| t.as_deref().ok() == Some("token-1")));
    assert_eq!(src.calls.load(Ordering::SeqCst), 1);

    // 100 s before expiry: inside the 120 s refresh window, but the token still works.
    clock.advance(3500);
    let second = thousand_callers(&cache).await;
    assert_eq!(src.calls.load(Ordering::SeqCst), 2, "exactly one refresh");
    for t in &second {
        let t = t.as_deref().unwrap();
        assert!(t == "token-1" || t == "token-2", "{t}");
    }
    // Afterwards everyone has the new token, with no further fetch.
    let third = thousand_callers(&cache).await;
    assert!(third.iter().all(|t| t.as_deref().ok() == Some("token-2")));
    assert_eq!(src.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_makes_every_caller_wait_for_the_one_refresh() {
    let clock = ManualClock::new();
    let src = on_clock(&clock, 600, usize::MAX);
    let cache = Arc::new(CachedTokenSource::new(src.clone()).clock(clock.as_clock()));
    cache.token().await.unwrap();
    clock.advance(601);
    let all = thousand_callers(&cache).await;
    assert!(all.iter().all(|t| t.as_deref().ok() == Some("token-2")));
    assert_eq!(src.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_working_token_and_retries_after_the_interval() {
    let clock = ManualClock::new();
    // The first fetch works, every later one fails.
    let src = on_clock(&clock, 600, 2);
    let cache = CachedTokenSource::new(src.clone()).clock(clock.as_clock());
    assert_eq!(
        cache.token().await.unwrap().token.token.expose_secret(),
        "token-1"
    );

    clock.advance(550); // 50 s left: inside the window
    let t = cache.token().await.unwrap();
    assert_eq!(t.token.token.expose_secret(), "token-1", "old token kept");
    assert_eq!(src.calls.load(Ordering::SeqCst), 2);

    // Within the retry interval the source is left alone.
    clock.advance(1);
    cache.token().await.unwrap();
    assert_eq!(src.calls.load(Ordering::SeqCst), 2);

    // After it, one more try (which fails again, and the token is still kept).
    clock.advance(3);
    assert_eq!(
        cache.token().await.unwrap().token.token.expose_secret(),
        "token-1"
    );
    assert_eq!(src.calls.load(Ordering::SeqCst), 3);

    // Once the token has expired, the failure reaches the caller, hint included.
    clock.advance(60);
    let err = cache.token().await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Unreachable);
    assert_eq!(err.hint(), "check the network");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_share_a_failed_refresh_instead_of_repeating_it() {
    let clock = ManualClock::new();
    let src = on_clock(&clock, 600, 1);
    let cache = Arc::new(CachedTokenSource::new(src.clone()).clock(clock.as_clock()));
    let all = thousand_callers(&cache).await;
    assert!(all.iter().all(|r| r.is_err()));
    assert_eq!(
        src.calls.load(Ordering::SeqCst),
        1,
        "one attempt for everyone"
    );
}

/// A stored credential that still looks valid after a 401: only the override knows to refresh.
struct StoredButRejected {
    plain: AtomicUsize,
    after_401: AtomicUsize,
}

#[async_trait]
impl TokenSource for StoredButRejected {
    async fn fetch_token(&self) -> Result<AccessToken> {
        self.plain.fetch_add(1, Ordering::SeqCst);
        Ok(AccessToken::new(
            "stored",
            Some(SystemTime::now() + Duration::from_secs(3600)),
        ))
    }

    async fn fetch_token_after_unauthorized(&self, rejected: &AccessToken) -> Result<AccessToken> {
        assert_eq!(rejected.token.expose_secret(), "stored");
        self.after_401.fetch_add(1, Ordering::SeqCst);
        Ok(AccessToken::new(
            "forced",
            Some(SystemTime::now() + Duration::from_secs(3600)),
        ))
    }
}

#[tokio::test]
async fn a_401_goes_to_the_sources_after_unauthorized_fetch() {
    let src = Arc::new(StoredButRejected {
        plain: AtomicUsize::new(0),
        after_401: AtomicUsize::new(0),
    });
    let cache = CachedTokenSource::new(src.clone());
    let first = cache.token().await.unwrap();
    let second = cache.refresh_after_unauthorized(&first).await.unwrap();
    assert_eq!(second.token.token.expose_secret(), "forced");
    // A second caller that saw the same rejected token gets the new one without a fetch.
    let third = cache.refresh_after_unauthorized(&first).await.unwrap();
    assert_eq!(third.token.token.expose_secret(), "forced");
    assert_eq!(src.plain.load(Ordering::SeqCst), 1);
    assert_eq!(src.after_401.load(Ordering::SeqCst), 1);
}
