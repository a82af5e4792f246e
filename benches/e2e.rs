//! End to end: a 10,000-chunk chat-completions reply streamed over loopback HTTP from the
//! testkit server through `Provider::stream` (engine framing, decoder, event stream).
//!
//! Two measurements of the same work:
//! - `e2e/wall`: wall-clock time per reply; criterion's throughput line gives events/s.
//! - `e2e/client_cpu`: CPU time of the client thread only (the server runs on its own
//!   runtime thread), read from `/proc/thread-self/schedstat`; divided by 10,000 it is the
//!   CPU cost per event. Skipped where that file does not exist.
//!
//! Before and after in the same run: `e2e/client_cpu, serde-only decoder (before)` streams
//! the same reply through the same engine and connection pool with the decoder reading every
//! chunk through serde, as it did before the in-place reader
//! (`ChatCompletionsDecoder::serde_only`).
//!
//! `cargo bench --bench e2e`

use std::time::Duration;

use bytes::Bytes;
use cline_provider_core::http::sse::SseDecoder;
use cline_provider_core::http::{default_error_mapper, RequestSpec};
use cline_provider_core::{ChatRequest, EventStream, Message, Provider, StreamEvent};
use cline_provider_openai::convert::{build_body_bytes, BodyOptions};
use cline_provider_openai::{ChatCompletionsDecoder, OpenAiConfig, OpenAiProvider};
use cline_provider_testkit::{openai, Reply, SseFrame, TestServer};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_util::StreamExt;

const CHUNKS: usize = 10_000;
const MODEL: &str = "bench-model";

struct Setup {
    // Both are kept alive for the whole bench: the server's tasks run on `_server_rt`.
    _server_rt: tokio::runtime::Runtime,
    _server: TestServer,
    client_rt: tokio::runtime::Runtime,
    provider: OpenAiProvider,
    chat_url: String,
}

fn setup() -> Setup {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime");
    let server = server_rt
        .block_on(TestServer::start())
        .expect("test server");
    let mut frames: Vec<SseFrame> = (0..CHUNKS)
        .map(|i| {
            // About the size of a real token chunk, with a varying word.
            let word = format!(" word{}", i % 97);
            SseFrame::json(&openai::chunk_with(
                MODEL,
                serde_json::json!({"content": word}),
                None,
            ))
        })
        .collect();
    frames.push(SseFrame::json(&openai::finish_chunk(MODEL, "stop")));
    frames.push(SseFrame::json(&openai::usage_chunk(
        MODEL,
        20,
        CHUNKS as u64,
    )));
    frames.push(SseFrame::done());
    server.route("POST", "/v1/chat/completions", Reply::sse(frames));

    let config = OpenAiConfig::new(&format!("{}/v1", server.url()))
        .expect("config")
        .api_key("bench-key");
    let provider = OpenAiProvider::new(config).expect("provider");
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    Setup {
        chat_url: format!("{}/v1/chat/completions", server.url()),
        _server_rt: server_rt,
        _server: server,
        client_rt,
        provider,
    }
}

async fn one_reply(provider: &OpenAiProvider) -> usize {
    let request = ChatRequest::new(MODEL).message(Message::user("Write a lot."));
    let stream = provider.stream(request).await.expect("stream starts");
    count_texts(stream).await
}

/// Reads a reply to its end; its text events, checked to be [`CHUNKS`].
async fn count_texts(mut stream: EventStream) -> usize {
    let mut events = 0;
    while let Some(event) = stream.next().await {
        if let StreamEvent::TextDelta { .. } = event.expect("event") {
            events += 1;
        }
    }
    assert_eq!(events, CHUNKS);
    events
}

/// The same reply through the provider's engine and pool, decoded with serde only.
async fn one_reply_serde_only(s: &Setup) -> usize {
    let request = ChatRequest::new(MODEL).message(Message::user("Write a lot."));
    let body =
        Bytes::from(build_body_bytes(&request, None, &BodyOptions::default()).expect("a body"));
    let build = |c: &reqwest::Client| {
        Ok(c.post(&s.chat_url)
            .bearer_auth("bench-key")
            .header("content-type", "application/json")
            .header("accept", "text/event-stream")
            .body(body.clone()))
    };
    let spec = RequestSpec::new(&build, &default_error_mapper);
    let new_decoder = || -> Box<dyn SseDecoder> { Box::new(ChatCompletionsDecoder::serde_only()) };
    let stream = s
        .provider
        .client()
        .stream_sse(&spec, &new_decoder)
        .await
        .expect("stream starts");
    count_texts(stream).await
}

/// CPU time this thread has used, in nanoseconds.
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

fn bench(c: &mut Criterion) {
    let s = setup();
    // Warm the connection pool so the first sample does not pay for the TCP handshake.
    s.client_rt.block_on(one_reply(&s.provider));

    let mut group = c.benchmark_group("e2e");
    group.throughput(Throughput::Elements(CHUNKS as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));

    group.bench_function("wall", |b| {
        b.iter(|| s.client_rt.block_on(one_reply(&s.provider)))
    });

    if thread_cpu_ns().is_some_and(|n| n > 0) {
        group.bench_function("client_cpu", |b| {
            b.iter_custom(|iters| {
                let before = thread_cpu_ns().unwrap_or(0);
                for _ in 0..iters {
                    s.client_rt.block_on(one_reply(&s.provider));
                }
                let after = thread_cpu_ns().unwrap_or(before);
                Duration::from_nanos(after.saturating_sub(before))
            })
        });
        group.bench_function("client_cpu, serde-only decoder (before)", |b| {
            b.iter_custom(|iters| {
                let before = thread_cpu_ns().unwrap_or(0);
                for _ in 0..iters {
                    s.client_rt.block_on(one_reply_serde_only(&s));
                }
                let after = thread_cpu_ns().unwrap_or(before);
                Duration::from_nanos(after.saturating_sub(before))
            })
        });
    } else {
        eprintln!("note: /proc/thread-self/schedstat is unavailable; e2e/client_cpu is skipped");
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
