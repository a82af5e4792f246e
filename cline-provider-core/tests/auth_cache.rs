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
