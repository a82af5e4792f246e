//! What Entra ID costs a request once a token is cached, and what 1,000 requests pay when
//! they all need the same refresh.
//!
//! - `token_cache/cached_token`: `CachedTokenSource::token()` on a warm cache, polled once
//!   (it completes without waiting): the per-request overhead, no network.
//! - `token_cache/cached_token_and_header`: the same plus the `Authorization: Bearer …`
//!   header value built from it, which is what every request adds.
//! - `token_cache/1000_waiters_one_refresh/<fetch>`: 1,000 tasks on a 2-thread runtime ask
//!   an empty cache at once; the source takes `<fetch>` (0 or 1 ms, standing in for the
//!   token endpoint) and is called once. Time until every task has its token.
//!
//! `cargo bench -p cline-provider-azure --bench token_cache`

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use cline_provider_core::auth::{AccessToken, CachedTokenSource, TokenSource};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use futures_util::FutureExt;
use secrecy::ExposeSecret;

struct Source {
    fetch: Duration,
    calls: AtomicUsize,
}

#[async_trait]
impl TokenSource for Source {
    async fn fetch_token(&self) -> cline_provider_core::Result<AccessToken> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if self.fetch.is_zero() {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(self.fetch).await;
        }
        // About the size of a real Entra ID access token.
        Ok(AccessToken::new(
            "e".repeat(1800),
            Some(SystemTime::now() + Duration::from_secs(3600)),
        ))
    }
}

fn source(fetch: Duration) -> Arc<Source> {
    Arc::new(Source {
        fetch,
        calls: AtomicUsize::new(0),
    })
}

fn cached(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cache = CachedTokenSource::new(source(Duration::ZERO));
    rt.block_on(cache.token()).unwrap();
    let mut group = c.benchmark_group("token_cache");
    group.bench_function("cached_token", |b| {
        b.iter(|| {
            let issued = cache
                .token()
                .now_or_never()
                .expect("a warm cache answers without waiting")
                .unwrap();
            std::hint::black_box(issued);
        })
    });
    group.bench_function("cached_token_and_header", |b| {
        b.iter(|| {
            let issued = cache.token().now_or_never().unwrap().unwrap();
            let mut value = http::HeaderValue::from_str(&format!(
                "Bearer {}",
                issued.token.token.expose_secret()
            ))
            .unwrap();
            value.set_sensitive(true);
            std::hint::black_box(value);
        })
    });
    group.finish();
}

fn waiters(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("token_cache/1000_waiters_one_refresh");
    group.sample_size(30);
    for fetch in [Duration::ZERO, Duration::from_millis(1)] {
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{}ms", fetch.as_millis())),
            &fetch,
            |b, &fetch| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let src = source(fetch);
                        let cache = Arc::new(CachedTokenSource::new(src.clone()));
                        let started = Instant::now();
                        rt.block_on(async {
                            let tasks: Vec<_> = (0..1000)
                                .map(|_| {
                                    let cache = cache.clone();
                                    tokio::spawn(async move { cache.token().await.map(|_| ()) })
                                })
                                .collect();
                            for t in tasks {
                                t.await.unwrap().unwrap();
                            }
                        });
                        total += started.elapsed();
                        assert_eq!(src.calls.load(Ordering::Relaxed), 1, "one refresh");
                    }
                    total
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, cached, waiters);
criterion_main!(benches);
