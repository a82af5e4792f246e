//! No input makes the engine panic: any timeout (`Duration::MAX` is the natural "none"), any
//! backoff, any wait a server asks for. Time is paused, so even a thirty-year wait passes at
//! once; every outcome is fine except a panic.

mod common;

use std::time::Duration;

use cline_provider_core::http::{HttpClient, HttpConfig, RetryPolicy};
use cline_provider_testkit::{Reply, TestServer};
use proptest::prelude::*;

use common::*;

fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::MAX),
        Just(Duration::ZERO),
        Just(Duration::from_nanos(1)),
        (1u64..2_000).prop_map(Duration::from_millis),
        any::<u64>().prop_map(Duration::from_secs),
        (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
    ]
}

fn retry_after() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("18446744073709551615".to_owned())),
        Just(Some("1e300".to_owned())),
        Just(Some("Fri, 31 Dec 9999 23:59:59 GMT".to_owned())),
        (0u64..5).prop_map(|s| Some(s.to_string())),
    ]
}

fn config() -> impl Strategy<Value = HttpConfig> {
    (
        (
            duration(),
            duration(),
            duration(),
            proptest::option::of(duration()),
        ),
        (0u32..3, duration(), duration(), duration(), any::<bool>()),
    )
        .prop_map(
            |((connect, header, idle, total), (retries, base, max, max_after, header_retry))| {
                HttpConfig {
                    connect_timeout: connect,
                    header_timeout: header,
                    idle_timeout: idle,
                    total_timeout: total,
                    retry: RetryPolicy {
                        max_retries: retries,
                        base_delay: base,
                        max_delay: max,
                        max_retry_after: max_after,
                        retry_header_timeout: header_retry,
                    },
                    ..HttpConfig::default()
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_http_config_and_any_server_wait_never_panic(
        config in config(),
        wait in retry_after(),
        per_request in proptest::option::of(duration()),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            // Backoff arithmetic on its own, for every retry number.
            for n in [0, 1, 2, 31, 32, u32::MAX] {
                let full = config.retry.backoff(n);
                let jittered = config.retry.jittered_backoff(n);
                assert!(jittered <= full);
            }
            let Ok(client) = HttpClient::with_env(config, &|_| None) else {
                return; // zero timeouts are refused, as documented
            };
            let server = TestServer::start().await.expect("server");
            let busy = match &wait {
                Some(w) => Reply::status(503).header("retry-after", w),
                None => Reply::status(503),
            };
            server.route("POST", PATH, busy);
            server.route("POST", PATH, Reply::sse(frames(&["a", "b"])));
            let target = url(&server);
            let build = |c: &reqwest::Client| Ok(c.post(&target).body("{}"));
            let spec = cline_provider_core::http::RequestSpec::new(
                &build,
                &cline_provider_core::http::default_error_mapper,
            )
            .with_total_timeout(per_request);
            if let Ok(stream) = client.stream_sse(&spec, &text_decoder).await {
                let _ = drain(stream).await;
            }
        });
    }
}
