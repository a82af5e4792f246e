//! Every fault a network or a server can produce, against every provider, through `connect()`
//! and the testkit: one table, one cell per (provider, fault).
//!
//! Each cell asserts
//! - the outcome: the typed error (kind, and whether output had been delivered) or the
//!   successful retry with the full reply;
//! - no duplicated event: the events delivered are exactly the fault-free run's events, or
//!   a prefix of them when the stream failed after output (a retry after output would repeat
//!   them);
//! - the request count and the retries the engine announced;
//! - that the call returned within its configured timeouts: time is paused (tokio's clock
//!   only moves when every task waits, straight to the next timer), so the virtual time a
//!   cell took is exactly the waits the engine and the server scripted, and is compared with
//!   the configured limits; a hang would run the clock to the server's own 60 s stall limit
//!   and fail the cell.

#![cfg(all(feature = "openai", feature = "azure"))]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cline_provider::http::{HttpConfig, ProxyConfig, RetryInfo, RetryPolicy};
use cline_provider::policy::{resolve, MemberSettings};
use cline_provider::secrets::{MemorySecretStore, SecretStore, OPENAI_API_KEY};
use cline_provider::{
    connect_with, ChatRequest, ConnectOptions, ErrorKind, Message, Provider, StreamEvent,
    TimeoutPhase,
};
use cline_provider_testkit::{azure, openai, Reply, SseFrame, TestServer, STALL_LIMIT};
use futures_util::StreamExt;
use serde_json::json;
use tokio::time::Instant;

const CONNECT: Duration = Duration::from_secs(5);
const HEADERS: Duration = Duration::from_secs(10);
const IDLE: Duration = Duration::from_secs(10);
const TOTAL: Duration = Duration::from_secs(50);
const MAX_RETRIES: u32 = 2;
const MAX_BACKOFF: Duration = Duration::from_millis(400);
const RETRY_AFTER: Duration = Duration::from_secs(3);
const MAX_EVENT: usize = 16 * 1024;
const PIECES: [&str; 4] = ["The ", "quick ", "brown ", "fox"];

fn http() -> HttpConfig {
    HttpConfig {
        connect_timeout: CONNECT,
        header_timeout: HEADERS,
        idle_timeout: IDLE,
        total_timeout: Some(TOTAL),
        max_event_bytes: MAX_EVENT,
        proxy: ProxyConfig::Direct,
        retry: RetryPolicy {
            max_retries: MAX_RETRIES,
            base_delay: Duration::from_millis(100),
            max_delay: MAX_BACKOFF,
            max_retry_after: Duration::from_secs(30),
            retry_header_timeout: false,
        },
        ..HttpConfig::default()
    }
}

/// The most a cell may take: every wait the engine may make, with one header wait, one idle
/// wait and the server's `Retry-After` at most once each, plus all backoffs.
fn budget() -> Duration {
    CONNECT + HEADERS + IDLE + RETRY_AFTER + MAX_BACKOFF * MAX_RETRIES
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    OpenAiCompatible,
    Azure,
}

const BACKENDS: [Backend; 2] = [Backend::OpenAiCompatible, Backend::Azure];

impl Backend {
    fn path(self) -> String {
        match self {
            Backend::OpenAiCompatible => "/v1/chat/completions".to_owned(),
            Backend::Azure => azure::chat_path("dep"),
        }
    }

    /// The reply as this backend streams it, with its terminal event.
    fn frames(self) -> Vec<SseFrame> {
        match self {
            Backend::OpenAiCompatible => openai::text_stream("m", &PIECES, "stop", Some((5, 4))),
            Backend::Azure => azure::filtered_text_stream("dep", &PIECES, Some((5, 4))),
        }
    }

    /// The frames up to and including the second text piece: cut or fault after these.
    fn after_two_pieces(self) -> usize {
        match self {
            // role+"The ", "quick "
            Backend::OpenAiCompatible => 2,
            // prompt filter, role, "The ", "quick "
            Backend::Azure => 4,
        }
    }

    /// An in-band error as this backend's server sends it mid-stream.
    fn in_band_error(self) -> SseFrame {
        SseFrame::json(&json!({"error": {
            "message": "The server had an error while processing your request.",
            "type": "server_error",
            "code": "server_error"
        }}))
    }

    fn settings(self, base: &str) -> MemberSettings {
        let doc = match self {
            Backend::OpenAiCompatible => json!({
                "openAiBaseUrl": format!("{base}/v1"),
                "openAiModelId": "m",
            }),
            Backend::Azure => json!({
                "openAiBaseUrl": base,
                "azureApiVersion": "2024-10-21",
                "openAiModelId": "dep",
            }),
        };
        MemberSettings::from_json(&doc.to_string()).expect("member settings")
    }

    fn connect(self, base: &str, retries: Arc<Mutex<Vec<RetryInfo>>>) -> Box<dyn Provider> {
        let secrets = MemorySecretStore::new();
        secrets
            .set(OPENAI_API_KEY, "sk-fault-matrix".to_owned().into())
            .expect("secret");
        let options = ConnectOptions {
            http: http(),
            require_https: false,
            on_retry: Some(Arc::new(move |info: &RetryInfo| {
                retries.lock().expect("retries").push(info.clone());
            })),
        };
        let settings = resolve(None, &self.settings(base));
        Box::new(
            connect_with(&settings, &secrets, &options)
                .expect("connect")
                .into_provider(),
        )
    }
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    RefusedConnection,
    ResetBeforeHeaders,
    StallBeforeHeaders,
    ResetMidStream,
    StallMidStream,
    Status(u16),
    RateLimitedWithRetryAfter,
    MalformedEvent,
    OversizedEvent,
    MissingTerminalEvent,
    InBandError,
    InBandRateLimitFirst,
    InBandErrorFirst,
}

const FAULTS: [Fault; 15] = [
    Fault::RefusedConnection,
    Fault::ResetBeforeHeaders,
    Fault::StallBeforeHeaders,
    Fault::ResetMidStream,
    Fault::StallMidStream,
    Fault::Status(401),
    Fault::Status(403),
    Fault::Status(404),
    Fault::RateLimitedWithRetryAfter,
    Fault::Status(500),
    Fault::Status(503),
    Fault::MalformedEvent,
    Fault::OversizedEvent,
    Fault::MissingTerminalEvent,
    Fault::InBandError,
];

/// Two more rows: an in-band error as the very first event. A rate limit is retried like a
/// 429; an error no wait is known to fix comes back from `stream()` itself.
const EXTRA: [Fault; 2] = [Fault::InBandRateLimitFirst, Fault::InBandErrorFirst];

/// What a cell must end with.
#[derive(Debug, Clone, PartialEq)]
enum Expect {
    /// The whole reply, after `retries` announced retries.
    Reply { retries: usize },
    /// An error of `kind`; `prefix` events of the fault-free run were delivered first.
    Error {
        kind: ErrorKind,
        prefix: Prefix,
        retries: usize,
        requests: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Prefix {
    /// Nothing was delivered: `stream()` itself returned the error.
    None,
    /// The events of the first [`Backend::after_two_pieces`] frames were delivered.
    TwoPieces,
    /// Every event was delivered; only the terminal event was missing.
    Whole,
}

impl Fault {
    /// Scripts the fault on `server` (nothing for a refused connection: the request goes to
    /// a port where nothing listens).
    fn script(self, backend: Backend, server: &TestServer) {
        let path = backend.path();
        let ok = || Reply::sse(backend.frames());
        let cut = backend.after_two_pieces();
        let error = |status: u16| match (backend, status) {
            (Backend::Azure, 401) => azure::unauthorized(false),
            (Backend::Azure, 403) => azure::permission_denied(),
            (Backend::Azure, 404) => azure::deployment_not_found(),
            (_, 401) => openai::error_reply(
                401,
                "Incorrect API key provided.",
                "invalid_request_error",
                "invalid_api_key",
            ),
            (_, 403) => openai::error_reply(
                403,
                "You are not allowed to use this model.",
                "permission_error",
                None,
            ),
            (_, 404) => openai::error_reply(
                404,
                "The model `m` does not exist or you do not have access to it.",
                "invalid_request_error",
                "model_not_found",
            ),
            (_, s) => openai::error_reply(s, "The server is overloaded.", "server_error", None),
        };
        let reply = match self {
            Fault::RefusedConnection => return,
            Fault::ResetBeforeHeaders => ok().reset_before_headers(),
            Fault::StallBeforeHeaders => ok().delay_headers(STALL_LIMIT),
            Fault::ResetMidStream => {
                let wire: usize = backend.frames()[..cut]
                    .iter()
                    .map(|f| f.as_wire().len())
                    .sum();
                // A few bytes into the next frame: a cut event is never delivered.
                ok().reset_after_bytes(wire + 5)
            }
            Fault::StallMidStream => ok().stall_after(cut),
            Fault::Status(s) => error(s),
            Fault::RateLimitedWithRetryAfter => {
                error(429).header("retry-after", &RETRY_AFTER.as_secs().to_string())
            }
            Fault::MalformedEvent => ok().malformed_at(cut),
            Fault::OversizedEvent => ok().oversized_at(cut, MAX_EVENT + 1),
            Fault::MissingTerminalEvent => {
                let mut frames = backend.frames();
                frames.pop();
                Reply::sse(frames)
            }
            Fault::InBandError => {
                let mut frames = backend.frames()[..cut].to_vec();
                frames.push(backend.in_band_error());
                Reply::sse(frames)
            }
            Fault::InBandRateLimitFirst => Reply::sse(vec![SseFrame::json(&json!({"error": {
                "message": "Rate limit reached for requests",
                "type": "requests",
                "code": "rate_limit_exceeded"
            }}))]),
            Fault::InBandErrorFirst => Reply::sse(vec![backend.in_band_error()]),
        };
        server.route("POST", &path, reply);
        // What the next attempt gets, if the engine retries.
        server.route("POST", &path, ok());
    }

    fn expect(self, _backend: Backend) -> Expect {
        let error = |kind: ErrorKind, prefix: Prefix, retries: usize| Expect::Error {
            kind,
            prefix,
            retries,
            requests: if prefix == Prefix::None && retries > 0 {
                retries + 1
            } else {
                1
            },
        };
        match self {
            Fault::RefusedConnection => Expect::Error {
                kind: ErrorKind::Unreachable,
                prefix: Prefix::None,
                retries: MAX_RETRIES as usize,
                requests: 0,
            },
            Fault::ResetBeforeHeaders
            | Fault::Status(500)
            | Fault::Status(503)
            | Fault::RateLimitedWithRetryAfter
            | Fault::InBandRateLimitFirst => Expect::Reply { retries: 1 },
            // A header timeout is not sent again: the server may be generating (and billing).
            Fault::StallBeforeHeaders => {
                error(ErrorKind::Timeout(TimeoutPhase::Headers), Prefix::None, 0)
            }
            Fault::ResetMidStream => error(ErrorKind::Truncated, Prefix::TwoPieces, 0),
            Fault::MissingTerminalEvent => error(ErrorKind::Truncated, Prefix::Whole, 0),
            Fault::StallMidStream => {
                error(ErrorKind::Timeout(TimeoutPhase::Idle), Prefix::TwoPieces, 0)
            }
            Fault::Status(401) => error(ErrorKind::InvalidApiKey, Prefix::None, 0),
            Fault::Status(403) => error(ErrorKind::AccessDenied, Prefix::None, 0),
            Fault::Status(404) => error(ErrorKind::ModelNotFound, Prefix::None, 0),
            Fault::Status(other) => unreachable!("no expectation for status {other}"),
            Fault::MalformedEvent => error(ErrorKind::Protocol, Prefix::TwoPieces, 0),
            Fault::OversizedEvent => error(ErrorKind::EventTooLarge, Prefix::TwoPieces, 0),
            Fault::InBandError => error(ErrorKind::StreamError, Prefix::TwoPieces, 0),
            Fault::InBandErrorFirst => error(ErrorKind::StreamError, Prefix::None, 0),
        }
    }
}

/// What one run delivered.
#[derive(Debug)]
struct Run {
    /// `stream()` itself failed.
    refused: Option<cline_provider::Error>,
    events: Vec<StreamEvent>,
    /// The error that ended the stream.
    error: Option<cline_provider::Error>,
    elapsed: Duration,
    requests: usize,
    retries: Vec<RetryInfo>,
}

/// Runs one request against a fresh server scripted with `fault`, or serving `frames`.
async fn run(backend: Backend, fault: Option<Fault>, frames: Option<Vec<SseFrame>>) -> Run {
    let server = TestServer::start().await.expect("server");
    let base = match fault {
        Some(Fault::RefusedConnection) => {
            // A port that was just free: nothing listens there.
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            let addr = listener.local_addr().expect("addr");
            drop(listener);
            format!("http://{addr}")
        }
        _ => server.url(),
    };
    match fault {
        Some(f) => f.script(backend, &server),
        None => server.route(
            "POST",
            &backend.path(),
            Reply::sse(frames.unwrap_or_else(|| backend.frames())),
        ),
    }
    let retries = Arc::new(Mutex::new(Vec::new()));
    let provider = backend.connect(&base, Arc::clone(&retries));
    let request = ChatRequest::new("").message(Message::user("Say something"));
    let started = Instant::now();
    let mut run = Run {
        refused: None,
        events: Vec::new(),
        error: None,
        elapsed: Duration::ZERO,
        requests: 0,
        retries: Vec::new(),
    };
    match provider.stream(request).await {
        Err(e) => run.refused = Some(e),
        Ok(mut stream) => {
            while let Some(item) = stream.next().await {
                match item {
                    Ok(event) => run.events.push(event),
                    Err(e) => {
                        run.error = Some(e);
                        break;
                    }
                }
            }
            // A stream that ended must stay ended.
            assert!(
                stream.next().await.is_none(),
                "the stream went on after its end"
            );
        }
    }
    run.elapsed = started.elapsed();
    run.requests = server
        .requests()
        .iter()
        .filter(|r| r.path == backend.path())
        .count();
    run.retries = retries.lock().expect("retries").clone();
    run
}

/// The events a fault-free run delivers.
struct Clean {
    /// The whole reply.
    all: Vec<StreamEvent>,
    /// What the first [`Backend::after_two_pieces`] frames alone give (served with their
    /// terminal event): the output a stream cut after them has delivered.
    two_pieces: Vec<StreamEvent>,
}

impl Clean {
    fn prefix(&self, prefix: Prefix) -> &[StreamEvent] {
        match prefix {
            Prefix::None => &[],
            Prefix::TwoPieces => &self.two_pieces,
            Prefix::Whole => &self.all,
        }
    }
}

fn check(backend: Backend, fault: Fault, clean: &Clean, run: &Run) -> Result<(), String> {
    let expect = fault.expect(backend);
    let fail = |why: String| Err(format!("{backend:?} × {fault:?}: {why}\n  run: {run:#?}"));
    if run.elapsed > budget() {
        return fail(format!(
            "took {:?}, beyond every configured limit ({:?})",
            run.elapsed,
            budget()
        ));
    }
    match expect {
        Expect::Reply { retries } => {
            if let Some(e) = run.refused.as_ref().or(run.error.as_ref()) {
                return fail(format!("expected the full reply, got {:?}: {e}", e.kind()));
            }
            if run.events != clean.all {
                return fail("the events differ from the fault-free run's".into());
            }
            if run.retries.len() != retries || run.requests != retries + 1 {
                return fail(format!(
                    "expected {retries} retries and {} requests",
                    retries + 1
                ));
            }
        }
        Expect::Error {
            kind,
            prefix,
            retries,
            requests,
        } => {
            let err = match (prefix, &run.refused, &run.error) {
                (Prefix::None, Some(e), _) => e,
                (Prefix::TwoPieces | Prefix::Whole, None, Some(e)) => e,
                _ => {
                    return fail(format!(
                        "expected {kind:?} {}",
                        match prefix {
                            Prefix::None => "from stream() itself",
                            Prefix::TwoPieces => "after two pieces of text",
                            Prefix::Whole => "after the whole reply",
                        }
                    ))
                }
            };
            let delivered = clean.prefix(prefix);
            if err.kind() != &kind {
                return fail(format!("expected {kind:?}, got {:?}: {err}", err.kind()));
            }
            if err.is_after_output() != (prefix != Prefix::None) {
                return fail("after_output does not say whether output was delivered".into());
            }
            if err.is_after_output() && err.is_retryable() {
                return fail("an error after output must not be retryable".into());
            }
            if err.hint().trim().is_empty() {
                return fail("no hint".into());
            }
            if run.events != delivered {
                return fail("the delivered events are not the fault-free run's prefix".into());
            }
            if run.retries.len() != retries || run.requests != requests {
                return fail(format!(
                    "expected {retries} retries and {requests} requests"
                ));
            }
        }
    }
    // Fault-specific timing: the waits the engine must have made, and no more.
    let at_least = match fault {
        Fault::StallBeforeHeaders => Some(HEADERS),
        Fault::StallMidStream => Some(IDLE),
        Fault::RateLimitedWithRetryAfter => Some(RETRY_AFTER),
        _ => None,
    };
    if let Some(wait) = at_least {
        if run.elapsed < wait || run.elapsed > wait + MAX_BACKOFF * MAX_RETRIES {
            return fail(format!("took {:?}; the wait is {wait:?}", run.elapsed));
        }
    }
    if let Fault::RateLimitedWithRetryAfter = fault {
        if run.retries.first().map(|r| r.wait) != Some(RETRY_AFTER) {
            return fail("the server's Retry-After was not the wait".into());
        }
    }
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn every_fault_against_every_provider() {
    let mut failures = Vec::new();
    let mut cells = 0;
    for backend in BACKENDS {
        let whole = run(backend, None, None).await;
        let mut first = backend.frames()[..backend.after_two_pieces()].to_vec();
        first.push(SseFrame::done());
        let part = run(backend, None, Some(first)).await;
        for clean in [&whole, &part] {
            assert!(
                clean.refused.is_none() && clean.error.is_none(),
                "{backend:?}: a fault-free run failed: {clean:#?}"
            );
        }
        let text: String = whole
            .events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::TextDelta { text } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(text, PIECES.concat(), "{backend:?}");
        let clean = Clean {
            all: whole.events,
            two_pieces: part.events,
        };
        assert!(clean.two_pieces.len() < clean.all.len());
        for fault in FAULTS.into_iter().chain(EXTRA) {
            cells += 1;
            let run = run(backend, Some(fault), None).await;
            if let Err(why) = check(backend, fault, &clean, &run) {
                failures.push(why);
            }
        }
    }
    assert_eq!(cells, BACKENDS.len() * (FAULTS.len() + EXTRA.len()));
    assert!(
        failures.is_empty(),
        "{} of {cells} cells failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
