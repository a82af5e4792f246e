//! 1,000 concurrent streams in one process, a third each through OpenAI Compatible, Azure and
//! OpenAI Codex (one provider each, so one connection pool and, for Codex, one sign-in shared
//! by every stream), 5% of them hit by a fault. Every stream ends with its full text or with
//! the typed error its fault calls for, and none hangs.
//!
//! Time is paused: stalls, idle timeouts and backoffs pass as soon as everything waits, so a
//! stream that hung would run the virtual clock past the guard at the end and fail the test,
//! without any wall-clock limit.

#![cfg(all(feature = "openai", feature = "azure", feature = "codex"))]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cline_provider::http::{HttpConfig, ProxyConfig, RetryPolicy};
use cline_provider::policy::{resolve, MemberSettings};
use cline_provider::secrets::{MemorySecretStore, SecretStore, OPENAI_API_KEY};
use cline_provider::{
    connect_with, ChatRequest, ConnectOptions, ErrorKind, Message, Provider, StreamEvent,
    TimeoutPhase,
};
use cline_provider_testkit::oauth::FakeIssuer;
use cline_provider_testkit::responses::{FakeCodexBackend, Turn};
use cline_provider_testkit::{azure, openai, RecordedRequest, Reply, SseFrame, TestServer};
use futures_util::StreamExt;
use serde_json::{json, Value};

const STREAMS: usize = 1_000;
/// One stream in this many gets a fault: 5%.
const FAULT_EVERY: usize = 20;
const PIECES: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Fault {
    /// Retried: the stream still completes.
    ResetBeforeHeaders,
    /// Retried: the stream still completes.
    Unavailable,
    ResetMidStream,
    StallMidStream,
    MalformedEvent,
}

const FAULTS: [Fault; 5] = [
    Fault::ResetBeforeHeaders,
    Fault::Unavailable,
    Fault::ResetMidStream,
    Fault::StallMidStream,
    Fault::MalformedEvent,
];

fn fault_of(n: usize) -> Option<Fault> {
    n.is_multiple_of(FAULT_EVERY)
        .then(|| FAULTS[(n / FAULT_EVERY) % FAULTS.len()])
}

/// What stream `n` must end with: `None` for its full text, else the error kind.
fn expected(n: usize) -> Option<ErrorKind> {
    match fault_of(n)? {
        Fault::ResetBeforeHeaders | Fault::Unavailable => None,
        Fault::ResetMidStream => Some(ErrorKind::Truncated),
        Fault::StallMidStream => Some(ErrorKind::Timeout(TimeoutPhase::Idle)),
        Fault::MalformedEvent => Some(ErrorKind::Protocol),
    }
}

fn pieces(n: usize) -> Vec<String> {
    (0..PIECES).map(|i| format!("s{n}p{i} ")).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Backend {
    OpenAiCompatible,
    Azure,
    Codex,
}

const BACKENDS: [Backend; 3] = [Backend::OpenAiCompatible, Backend::Azure, Backend::Codex];

/// The provider stream `n` goes through.
fn backend_of(n: usize) -> Backend {
    BACKENDS[n % BACKENDS.len()]
}

impl Backend {
    /// Stream `n`'s reply as this backend streams it.
    fn frames(self, n: usize) -> Vec<SseFrame> {
        let owned = pieces(n);
        let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
        match self {
            Backend::OpenAiCompatible => openai::text_stream("m", &refs, "stop", Some((3, 8))),
            Backend::Azure => azure::filtered_text_stream("dep", &refs, Some((3, 8))),
            // Every response id has the same length (`resp_0001`…), so the byte counts hold.
            Backend::Codex => codex_turn(n).frames("resp_0000", "gpt-5.4", &[]),
        }
    }

    /// The frames that carry the first three pieces of text: faults strike after these.
    fn after_three_pieces(self) -> usize {
        match self {
            Backend::OpenAiCompatible => 3,
            // prompt filter, role
            Backend::Azure => 2 + 3,
            // created, in_progress, output_item.added, content_part.added
            Backend::Codex => 4 + 3,
        }
    }

    /// `ok` with stream `n`'s fault for this attempt, or `None` for a 503.
    fn inject(self, n: usize, attempt: usize, ok: Reply) -> Option<Reply> {
        let cut = self.after_three_pieces();
        Some(match (fault_of(n), attempt) {
            (Some(Fault::ResetBeforeHeaders), 1) => ok.reset_before_headers(),
            (Some(Fault::Unavailable), 1) => return None,
            (Some(Fault::ResetMidStream), _) => {
                let wire: usize = self.frames(n)[..cut]
                    .iter()
                    .map(|f| f.as_wire().len())
                    .sum();
                ok.reset_after_bytes(wire + 5)
            }
            (Some(Fault::StallMidStream), _) => ok.stall_after(cut),
            (Some(Fault::MalformedEvent), _) => ok.malformed_at(cut),
            _ => ok,
        })
    }
}

fn codex_turn(n: usize) -> Turn {
    let owned = pieces(n);
    let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
    Turn::text(&refs).usage(3, 0, 8, 0)
}

/// Counts an attempt of stream `n`; returns which attempt this is (1 for the first).
fn attempt(attempts: &Mutex<HashMap<usize, usize>>, n: usize) -> usize {
    let mut attempts = attempts.lock().expect("attempts");
    let a = attempts.entry(n).or_default();
    *a += 1;
    *a
}

/// The chat-completions servers' side (OpenAI Compatible and Azure): the stream number is
/// the prompt; a faulty stream's first attempt gets its fault, a retry gets the reply.
fn reply(
    backend: Backend,
    attempts: &Mutex<HashMap<usize, usize>>,
    request: &RecordedRequest,
) -> Reply {
    let n: usize = request
        .json()
        .and_then(|b| b["messages"][0]["content"].as_str()?.parse().ok())
        .expect("the prompt is the stream number");
    let ok = Reply::sse(backend.frames(n));
    backend
        .inject(n, attempt(attempts, n), ok)
        .unwrap_or_else(|| openai::error_reply(503, "overloaded", "server_error", None))
}

/// The Codex backend's side, the same way, from the Responses API request's `input`.
fn codex_answer(attempts: &Mutex<HashMap<usize, usize>>, body: &Value) -> Turn {
    let n: usize = body["input"][0]["content"][0]["text"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("the prompt is the stream number");
    let attempt = attempt(attempts, n);
    if Backend::Codex
        .inject(n, attempt, Reply::status(200))
        .is_none()
    {
        return Turn::http_error(
            503,
            json!({"error": {"message": "overloaded", "type": "server_error", "code": null}}),
        );
    }
    codex_turn(n).faults(move |ok| {
        Backend::Codex
            .inject(n, attempt, ok)
            .expect("a 503 is answered above")
    })
}

#[derive(Debug)]
enum Ended {
    Text(String),
    Failed(cline_provider::Error),
}

async fn one(provider: Arc<dyn Provider>, n: usize) -> Ended {
    let request = ChatRequest::new("").message(Message::user(n.to_string()));
    let mut stream = match provider.stream(request).await {
        Ok(s) => s,
        Err(e) => return Ended::Failed(e),
    };
    let mut text = String::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(StreamEvent::TextDelta { text: t }) => text.push_str(&t),
            Ok(_) => {}
            Err(e) => return Ended::Failed(e),
        }
    }
    Ended::Text(text)
}

/// The HTTP settings every provider gets.
fn options() -> ConnectOptions {
    ConnectOptions {
        http: HttpConfig {
            connect_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(20),
            total_timeout: Some(Duration::from_secs(120)),
            proxy: ProxyConfig::Direct,
            retry: RetryPolicy {
                max_retries: 2,
                base_delay: Duration::from_millis(50),
                max_delay: Duration::from_millis(200),
                ..RetryPolicy::default()
            },
            ..HttpConfig::default()
        },
        ..ConnectOptions::default()
    }
}

fn connect(member: Value) -> Arc<dyn Provider> {
    let secrets = MemorySecretStore::new();
    secrets
        .set(OPENAI_API_KEY, "sk-load".to_owned().into())
        .expect("secret");
    let member = MemberSettings::from_json(&member.to_string()).expect("member");
    Arc::new(
        connect_with(&resolve(None, &member), &secrets, &options())
            .expect("connect")
            .into_provider(),
    )
}

#[tokio::test(start_paused = true)]
async fn a_thousand_concurrent_streams_with_five_percent_faults() {
    // One server plays all three: chat completions, Azure's deployment route and the Codex
    // backend; the issuer signs the Codex member in.
    let server = TestServer::start().await.expect("server");
    let attempts = Arc::new(Mutex::new(HashMap::new()));
    for (backend, path) in [
        (Backend::OpenAiCompatible, "/v1/chat/completions".to_owned()),
        (Backend::Azure, azure::chat_path("dep")),
    ] {
        let seen = Arc::clone(&attempts);
        server.route_fn("POST", &path, move |r| reply(backend, &seen, r));
    }
    let codex = FakeCodexBackend::on(server.clone());
    let seen = Arc::clone(&attempts);
    codex.answer_with(move |body| codex_answer(&seen, body));
    let issuer = FakeIssuer::start().await.expect("issuer");
    let dir = tempfile::tempdir().expect("tempdir");
    let codex_home = dir.path().join("codex");
    issuer
        .sign_in_cli(&codex_home, Duration::from_secs(3600))
        .expect("CLI sign-in");
    // Edition 2021: setting the environment is safe; this binary runs this one test.
    std::env::set_var("CLINE_PROVIDER_HOME", dir.path().join("sdk"));
    std::env::set_var("CODEX_HOME", &codex_home);
    std::env::set_var("CLINE_CODEX_ISSUER", issuer.url());
    std::env::set_var("CLINE_CODEX_BASE_URL", codex.base_url());

    let providers: HashMap<Backend, Arc<dyn Provider>> = HashMap::from([
        (
            Backend::OpenAiCompatible,
            connect(json!({"openAiBaseUrl": format!("{}/v1", server.url()), "openAiModelId": "m"})),
        ),
        (
            Backend::Azure,
            connect(json!({
                "openAiBaseUrl": server.url(),
                "azureApiVersion": "2024-10-21",
                "openAiModelId": "dep",
            })),
        ),
        (
            Backend::Codex,
            connect(json!({"apiProvider": "openai-codex", "openAiModelId": "gpt-5.4"})),
        ),
    ]);

    let all = futures_util::future::join_all((0..STREAMS).map(|n| {
        let provider = Arc::clone(&providers[&backend_of(n)]);
        async move { (n, one(provider, n).await) }
    }));
    // Virtual time: only reached if streams stopped making progress and nothing timed out.
    let ended = tokio::time::timeout(Duration::from_secs(600), all)
        .await
        .expect("some streams hung");

    let mut tally: HashMap<String, usize> = HashMap::new();
    let mut per_backend: HashMap<(Backend, bool), usize> = HashMap::new();
    for (n, end) in &ended {
        match (end, expected(*n)) {
            (Ended::Text(text), None) => {
                assert_eq!(*text, pieces(*n).concat(), "stream {n}: incomplete text");
                *tally.entry("full text".into()).or_default() += 1;
                *per_backend.entry((backend_of(*n), true)).or_default() += 1;
            }
            (Ended::Failed(e), Some(kind)) => {
                assert_eq!(e.kind(), &kind, "stream {n} ({:?}): {e}", fault_of(*n));
                assert!(!e.is_retryable(), "stream {n}: {e}");
                *tally.entry(format!("{kind:?}")).or_default() += 1;
                *per_backend.entry((backend_of(*n), false)).or_default() += 1;
            }
            (end, want) => panic!(
                "stream {n} ({:?} through {:?}) ended with {end:?}, expected {}",
                fault_of(*n),
                backend_of(*n),
                want.map_or("its full text".to_owned(), |k| format!("{k:?}"))
            ),
        }
    }
    let faulty = (0..STREAMS).filter(|n| fault_of(*n).is_some()).count();
    assert_eq!(
        faulty,
        STREAMS / FAULT_EVERY,
        "5% of the streams get a fault"
    );
    let failed: usize = (0..STREAMS).filter(|n| expected(*n).is_some()).count();
    assert_eq!(tally["full text"], STREAMS - failed, "{tally:?}");
    // Every provider carried its share, faults included.
    for backend in BACKENDS {
        for completed in [true, false] {
            assert!(
                per_backend.get(&(backend, completed)).copied().unwrap_or(0) > 0,
                "{backend:?} {}: {per_backend:?}",
                if completed {
                    "completed none"
                } else {
                    "failed none"
                }
            );
        }
    }
    // One sign-in served every Codex stream: the token was read once, never refreshed.
    assert_eq!(issuer.refresh_requests(), 0);
    assert!(codex.refusals().is_empty(), "{:?}", codex.refusals());
    // Every retryable fault was retried exactly once; nothing else was sent twice.
    let attempts = attempts.lock().expect("attempts");
    for n in 0..STREAMS {
        let want = match fault_of(n) {
            Some(Fault::ResetBeforeHeaders | Fault::Unavailable) => 2,
            _ => 1,
        };
        assert_eq!(
            attempts.get(&n),
            Some(&want),
            "stream {n} ({:?})",
            fault_of(n)
        );
    }
    println!("{STREAMS} streams, {faulty} with a fault: {tally:?}; by provider (completed?): {per_backend:?}");
}
