//! 1,000 concurrent streams in one process through one provider, 5% of them hit by a fault.
//! Every stream ends with its full text or with the typed error its fault calls for, and
//! none hangs.
//!
//! Time is paused: stalls, idle timeouts and backoffs pass as soon as everything waits, so a
//! stream that hung would run the virtual clock past the guard at the end and fail the test,
//! without any wall-clock limit.

#![cfg(feature = "openai")]

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
use cline_provider_testkit::{openai, RecordedRequest, Reply, TestServer};
use futures_util::StreamExt;
use serde_json::json;

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
    (n % FAULT_EVERY == 0).then(|| FAULTS[(n / FAULT_EVERY) % FAULTS.len()])
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

/// The server's side: the stream number is the prompt; a faulty stream's first attempt gets
/// its fault, a retry gets the reply.
fn reply(attempts: &Mutex<HashMap<usize, usize>>, request: &RecordedRequest) -> Reply {
    let n: usize = request
        .json()
        .and_then(|b| b["messages"][0]["content"].as_str()?.parse().ok())
        .expect("the prompt is the stream number");
    let attempt = {
        let mut attempts = attempts.lock().expect("attempts");
        let a = attempts.entry(n).or_default();
        *a += 1;
        *a
    };
    let owned = pieces(n);
    let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
    let ok = Reply::sse(openai::text_stream("m", &refs, "stop", Some((3, 8))));
    match (fault_of(n), attempt) {
        (Some(Fault::ResetBeforeHeaders), 1) => ok.reset_before_headers(),
        (Some(Fault::Unavailable), 1) => {
            openai::error_reply(503, "overloaded", "server_error", None)
        }
        (Some(Fault::ResetMidStream), _) => ok.reset_after_bytes(300),
        (Some(Fault::StallMidStream), _) => ok.stall_after(3),
        (Some(Fault::MalformedEvent), _) => ok.malformed_at(3),
        _ => ok,
    }
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

#[tokio::test(start_paused = true)]
async fn a_thousand_concurrent_streams_with_five_percent_faults() {
    let server = TestServer::start().await.expect("server");
    let attempts = Arc::new(Mutex::new(HashMap::new()));
    let seen = Arc::clone(&attempts);
    server.route_fn("POST", "/v1/chat/completions", move |r| reply(&seen, r));

    let secrets = MemorySecretStore::new();
    secrets
        .set(OPENAI_API_KEY, "sk-load".to_owned().into())
        .expect("secret");
    let member = MemberSettings::from_json(
        &json!({"openAiBaseUrl": format!("{}/v1", server.url()), "openAiModelId": "m"}).to_string(),
    )
    .expect("member");
    let options = ConnectOptions {
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
    };
    let provider: Arc<dyn Provider> = Arc::new(
        connect_with(&resolve(None, &member), &secrets, &options)
            .expect("connect")
            .into_provider(),
    );

    let all = futures_util::future::join_all((0..STREAMS).map(|n| {
        let provider = Arc::clone(&provider);
        async move { (n, one(provider, n).await) }
    }));
    // Virtual time: only reached if streams stopped making progress and nothing timed out.
    let ended = tokio::time::timeout(Duration::from_secs(600), all)
        .await
        .expect("some streams hung");

    let mut tally: HashMap<String, usize> = HashMap::new();
    for (n, end) in &ended {
        match (end, expected(*n)) {
            (Ended::Text(text), None) => {
                assert_eq!(*text, pieces(*n).concat(), "stream {n}: incomplete text");
                *tally.entry("full text".into()).or_default() += 1;
            }
            (Ended::Failed(e), Some(kind)) => {
                assert_eq!(e.kind(), &kind, "stream {n} ({:?}): {e}", fault_of(*n));
                assert!(!e.is_retryable(), "stream {n}: {e}");
                *tally.entry(format!("{kind:?}")).or_default() += 1;
            }
            (end, want) => panic!(
                "stream {n} ({:?}) ended with {end:?}, expected {}",
                fault_of(*n),
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
    println!("{STREAMS} streams, {faulty} with a fault: {tally:?}");
}
