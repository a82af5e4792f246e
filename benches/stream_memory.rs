//! Memory per in-flight stream: N streams held open at once, each after its first event,
//! against the testkit server (in the same process, as `../shared/perf/run --mem` measures:
//! the server's side of each connection is included).
//!
//! For each provider, in a fresh child process (so memory freed by one cannot serve the
//! next): start the server on its own runtime thread, open and drop a few streams (the
//! client, its pool and every code path exist), read `VmRSS`, open N streams and wait for
//! each one's first event, let the connection tasks settle, read `VmRSS` again, and divide the
//! growth by N. The server sends five text chunks of 200 characters (one TCP segment's worth
//! for chat completions; the Responses API's events are wordier) and then stalls. The Codex
//! column is signed in through a Codex CLI `auth.json` from the fake issuer.
//!
//! `cargo bench --bench stream_memory` (200 streams), or `-- 1000` for another count. The
//! target is under 64 KiB per stream; the output says whether it holds.

use std::time::Duration;

use cline_provider::http::{HttpConfig, ProxyConfig};
use cline_provider::{ChatRequest, EventStream, Message, Provider};
use cline_provider_testkit::oauth::FakeIssuer;
use cline_provider_testkit::responses::{FakeCodexBackend, Turn};
use cline_provider_testkit::{azure, openai, Reply, SseFrame, TestServer};
use futures_util::StreamExt;

const TARGET_KIB: f64 = 64.0;
const CHILD: &str = "CLINE_STREAM_MEMORY_CHILD";
const PROVIDERS: [&str; 3] = ["OpenAI Compatible", "Azure", "OpenAI Codex"];

fn main() {
    // `cargo bench` passes `--bench`; the count is the first plain number.
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    if let Ok(which) = std::env::var(CHILD) {
        child(which.parse().expect("provider index"), n);
        return;
    }
    println!(
        "memory per in-flight stream: {n} streams per provider, each held after its first event; \
         server in the same process; one process per provider"
    );
    println!(
        "{:<20} {:>8} {:>16} {:>8}",
        "provider", "streams", "RSS KiB/stream", "target"
    );
    let exe = std::env::current_exe().expect("current exe");
    for (k, _) in PROVIDERS.iter().enumerate() {
        let out = std::process::Command::new(&exe)
            .arg(n.to_string())
            .env(CHILD, k.to_string())
            .output()
            .expect("spawn the probe");
        assert!(
            out.status.success(),
            "the probe for {} failed: {}",
            PROVIDERS[k],
            String::from_utf8_lossy(&out.stderr)
        );
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
}

/// One frame of about 1,460 bytes: five text chunks, as one TCP segment would carry.
fn first_frame_chunks(model: &str) -> Vec<SseFrame> {
    let word = "x".repeat(200);
    (0..5)
        .map(|_| {
            SseFrame::json(&openai::chunk_with(
                model,
                serde_json::json!({ "content": word }),
                None,
            ))
        })
        .collect()
}

/// Routes `path` to the chat-completions reply that stalls after its first frame.
fn hold_chat_stream(server: &TestServer, path: &str) {
    let frames = first_frame_chunks("m");
    let stalled = frames.len();
    let mut all = frames;
    all.push(SseFrame::done());
    server.route("POST", path, Reply::sse(all).stall_after(stalled));
}

fn child(which: usize, n: usize) {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime");
    let server = server_rt.block_on(TestServer::start()).expect("server");
    let http = HttpConfig {
        proxy: ProxyConfig::Direct,
        idle_timeout: Duration::from_secs(600),
        ..HttpConfig::default()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let provider: Box<dyn Provider> = match which {
        0 => {
            hold_chat_stream(&server, "/v1/chat/completions");
            Box::new(
                cline_provider_openai::OpenAiProvider::new(
                    cline_provider_openai::OpenAiConfig::new(&format!("{}/v1", server.url()))
                        .expect("config")
                        .api_key("sk-bench")
                        .http(http),
                )
                .expect("provider"),
            )
        }
        1 => {
            hold_chat_stream(&server, &azure::chat_path("dep"));
            Box::new(
                cline_provider_azure::AzureProvider::new(
                    cline_provider_azure::AzureConfig::new(&server.url())
                        .expect("config")
                        .api_key("bench-key")
                        .http(http),
                )
                .expect("provider"),
            )
        }
        _ => {
            use cline_provider_codex::{CodexAuth, CodexConfig, CodexProvider};
            let issuer = server_rt.block_on(FakeIssuer::start()).expect("issuer");
            let backend = FakeCodexBackend::on(server.clone());
            let pieces = vec!["x".repeat(200); 5];
            let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
            // created, in_progress, output_item.added, content_part.added, five deltas.
            let turn = Turn::text(&refs).faults(|r| r.stall_after(9));
            backend.answer_with(move |_| turn.clone());
            let codex_home = dir.path().join("codex");
            issuer
                .sign_in_cli(&codex_home, Duration::from_secs(3600))
                .expect("CLI sign-in");
            let config = CodexConfig::new(dir.path().join("home"))
                .issuer(&issuer.url())
                .expect("issuer")
                .base_url(&backend.base_url())
                .expect("base url")
                .codex_home(Some(codex_home));
            std::mem::forget(issuer);
            Box::new(
                CodexProvider::with_client(
                    CodexAuth::new(config).expect("auth"),
                    cline_provider::http::HttpClient::new(http).expect("client"),
                )
                .expect("provider")
                .default_model("gpt-5.4"),
            )
        }
    };

    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let per_stream = client_rt.block_on(async {
        let open = || async {
            let model = if which == 2 { "" } else { "dep" };
            let request = ChatRequest::new(model).message(Message::user("hold"));
            let mut stream: EventStream = provider.stream(request).await.expect("stream");
            stream.next().await.expect("first").expect("event");
            stream
        };
        for _ in 0..3 {
            drop(open().await);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let before = vm_rss_kib();
        let mut held = Vec::with_capacity(n);
        for _ in 0..n {
            held.push(open().await);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let after = vm_rss_kib();
        let per = (after - before) / n as f64;
        // The process exits next; tearing down N connections would only cost time.
        std::mem::forget(held);
        per
    });
    let verdict = if per_stream < TARGET_KIB {
        "< 64 KiB"
    } else {
        "OVER"
    };
    println!(
        "{:<20} {:>8} {:>16.1} {:>8}",
        PROVIDERS[which], n, per_stream, verdict
    );
    std::mem::forget(server);
    std::mem::forget(server_rt);
}

fn vm_rss_kib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}
