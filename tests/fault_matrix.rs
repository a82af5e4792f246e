//! Every fault a network or a server can produce, against every provider (OpenAI Compatible,
//! Azure, OpenAI Codex), through `connect()` and the testkit: one table, one cell per
//! (provider, fault). The Codex column runs against the fake ChatGPT backend and the fake
//! issuer, signed in through a Codex CLI `auth.json`.
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
//!
//! One test in its own binary: the Codex cells set the process environment the Codex
//! configuration reads (`CLINE_CODEX_BASE_URL`, `CODEX_HOME`, …).

#![cfg(all(feature = "openai", feature = "azure", feature = "codex"))]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cline_provider::http::{HttpConfig, ProxyConfig, RetryInfo, RetryPolicy};
use cline_provider::policy::{resolve, MemberSettings};
use cline_provider::secrets::{MemorySecretStore, SecretStore, OPENAI_API_KEY};
use cline_provider::{
    connect_with, ChatRequest, ConnectOptions, ErrorKind, Message, Provider, StreamEvent,
    TimeoutPhase,
};
use cline_provider_testkit::oauth::FakeIssuer;
use cline_provider_testkit::responses::{FakeCodexBackend, Turn};
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
/// The model the Codex member settings choose (one of the fake plan's).
const CODEX_MODEL: &str = "gpt-5.4";

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
    Codex,
}

const BACKENDS: [Backend; 3] = [Backend::OpenAiCompatible, Backend::Azure, Backend::Codex];

/// A fault injected into the fault-free reply (the testkit's [`Reply`] faults).
type Inject = Arc<dyn Fn(Reply) -> Reply + Send + Sync>;

/// What the server answers the first request with; every later request gets the fault-free
/// reply.
enum Answer {
    /// The fault-free reply, with `Inject` applied.
    Reply(Inject),
    /// The fault-free reply's first `n` frames, then the body ends.
    Cut(usize),
    /// An HTTP error with this status, as the backend's server words it (`429` carries
    /// `Retry-After`).
    Status(u16),
    /// `401` to this request and every later one.
    AlwaysUnauthorized,
    /// An error inside the stream, after the first two pieces of text or as the first
    /// event; a rate limit, or a server error no wait is known to fix.
    InBand {
        after_two_pieces: bool,
        rate_limit: bool,
    },
}

/// The servers of one run.
struct Servers {
    server: TestServer,
    /// The Codex column's backend and issuer, and the homes of the sign-in.
    codex: Option<(FakeCodexBackend, FakeIssuer, tempfile::TempDir)>,
}

impl Servers {
    async fn start(backend: Backend) -> Servers {
        if backend != Backend::Codex {
            let server = TestServer::start().await.expect("server");
            return Servers {
                server,
                codex: None,
            };
        }
        let issuer = FakeIssuer::start().await.expect("issuer");
        let codex = FakeCodexBackend::start().await.expect("codex backend");
        let dir = tempfile::tempdir().expect("tempdir");
        let codex_home = dir.path().join("codex");
        issuer
            .sign_in_cli(&codex_home, Duration::from_secs(3600))
            .expect("CLI sign-in");
        // Edition 2021: setting the environment is safe; this binary runs this one test.
        std::env::set_var("CLINE_PROVIDER_HOME", dir.path().join("sdk"));
        std::env::set_var("CODEX_HOME", &codex_home);
        std::env::set_var("CLINE_CODEX_ISSUER", issuer.url());
        Servers {
            server: codex.server().clone(),
            codex: Some((codex, issuer, dir)),
        }
    }

    /// The model requests received.
    fn requests(&self, backend: Backend) -> usize {
        match &self.codex {
            Some((codex, _, _)) => codex.responses_requests().len(),
            None => self
                .server
                .requests()
                .iter()
                .filter(|r| r.path == backend.path())
                .count(),
        }
    }

    /// The refresh-token grants the issuer answered (none outside the Codex column).
    fn refreshes(&self) -> usize {
        self.codex
            .as_ref()
            .map_or(0, |(_, issuer, _)| issuer.refresh_requests())
    }
}

impl Backend {
    fn path(self) -> String {
        match self {
            Backend::OpenAiCompatible => "/v1/chat/completions".to_owned(),
            Backend::Azure => azure::chat_path("dep"),
            Backend::Codex => format!("{}/responses", cline_provider_testkit::responses::BASE_PATH),
        }
    }

    /// The Codex reply: the same text, as the Responses API streams it.
    fn turn(pieces: &[&str]) -> Turn {
        Turn::text(pieces).usage(5, 0, 4, 0)
    }

    /// The reply as this backend streams it, with its terminal event.
    fn frames(self) -> Vec<SseFrame> {
        match self {
            Backend::OpenAiCompatible => openai::text_stream("m", &PIECES, "stop", Some((5, 4))),
            Backend::Azure => azure::filtered_text_stream("dep", &PIECES, Some((5, 4))),
            // The first response of a fresh backend is `resp_0001`.
            Backend::Codex => Backend::turn(&PIECES).frames("resp_0001", CODEX_MODEL, &[]),
        }
    }

    /// How many of the reply's events its terminal event brings: none where the last chunk
    /// carries the finish and usage (`[DONE]` brings nothing), the usage and the finish where
    /// `response.completed` carries them.
    fn terminal_events(self) -> usize {
        match self {
            Backend::OpenAiCompatible | Backend::Azure => 0,
            Backend::Codex => 2,
        }
    }

    /// The frames up to and including the second text piece: cut or fault after these.
    fn after_two_pieces(self) -> usize {
        match self {
            // role+"The ", "quick "
            Backend::OpenAiCompatible => 2,
            // prompt filter, role, "The ", "quick "
            Backend::Azure => 4,
            // created, in_progress, output_item.added, content_part.added, "The ", "quick "
            Backend::Codex => 6,
        }
    }

    /// An in-band error as this backend's server sends it mid-stream.
    fn in_band_error(rate_limit: bool) -> SseFrame {
        SseFrame::json(&if rate_limit {
            json!({"error": {
                "message": "Rate limit reached for requests",
                "type": "requests",
                "code": "rate_limit_exceeded"
            }})
        } else {
            json!({"error": {
                "message": "The server had an error while processing your request.",
                "type": "server_error",
                "code": "server_error"
            }})
        })
    }

    /// An HTTP error as this backend's server words it.
    fn error_reply(self, status: u16) -> Reply {
        match (self, status) {
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
        }
    }

    /// An HTTP error as the ChatGPT backend words it.
    fn codex_error(status: u16) -> Turn {
        let body = match status {
            401 => json!({"error": {
                "message": "Provided authentication token is expired. Please try signing in again.",
                "type": "invalid_request_error",
                "code": "token_expired"
            }}),
            403 => json!({"detail": "You do not have access to this workspace."}),
            404 => json!({"detail": "Not Found"}),
            429 => json!({"error": {
                "message": "Rate limit reached for requests. Please try again later.",
                "type": "rate_limit_exceeded",
                "code": "rate_limit_exceeded"
            }}),
            s => json!({"error": {
                "message": format!("The server had an error ({s})."),
                "type": "server_error",
                "code": null
            }}),
        };
        Turn::http_error(status, body)
    }

    /// Scripts `first`, then the fault-free reply, on `servers` (nothing is scripted for a
    /// refused connection: the request goes to a port where nothing listens).
    fn serve(self, servers: &Servers, first: Answer) {
        let with_retry_after =
            |status: u16| (status == 429).then(|| RETRY_AFTER.as_secs().to_string());
        if let Some((codex, _, _)) = &servers.codex {
            let turn = match first {
                Answer::Reply(inject) => Backend::turn(&PIECES).faults(move |r| inject(r)),
                Answer::Cut(n) => Backend::turn(&PIECES).cut_after(n),
                Answer::Status(status) => match with_retry_after(status) {
                    Some(wait) => Backend::codex_error(status).header("retry-after", &wait),
                    None => Backend::codex_error(status),
                },
                Answer::AlwaysUnauthorized => {
                    codex.refuse_every_token(true);
                    Backend::turn(&PIECES)
                }
                Answer::InBand {
                    after_two_pieces,
                    rate_limit,
                } => {
                    let (code, message) = if rate_limit {
                        (
                            "rate_limit_exceeded",
                            "Rate limit reached for requests. Please try again in 20ms.",
                        )
                    } else {
                        (
                            "server_error",
                            "The server had an error while processing your request.",
                        )
                    };
                    let pieces: &[&str] = if after_two_pieces { &PIECES[..2] } else { &[] };
                    Turn::text(pieces).failed(code, message)
                }
            };
            codex.push(turn);
            codex.push(Backend::turn(&PIECES));
            return;
        }
        let path = self.path();
        let ok = || Reply::sse(self.frames());
        let cut = self.after_two_pieces();
        let reply = match first {
            Answer::Reply(inject) => inject(ok()),
            Answer::Cut(n) => Reply::sse(self.frames()[..n].to_vec()),
            Answer::Status(status) => match with_retry_after(status) {
                Some(wait) => self.error_reply(status).header("retry-after", &wait),
                None => self.error_reply(status),
            },
            Answer::AlwaysUnauthorized => {
                server_route_twice(&servers.server, &path, self.error_reply(401));
                return;
            }
            Answer::InBand {
                after_two_pieces,
                rate_limit,
            } => {
                let mut frames = if after_two_pieces {
                    self.frames()[..cut].to_vec()
                } else {
                    Vec::new()
                };
                frames.push(Backend::in_band_error(rate_limit));
                Reply::sse(frames)
            }
        };
        servers.server.route("POST", &path, reply);
        servers.server.route("POST", &path, ok());
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
            Backend::Codex => json!({
                "apiProvider": "openai-codex",
                "openAiModelId": CODEX_MODEL,
            }),
        };
        MemberSettings::from_json(&doc.to_string()).expect("member settings")
    }

    fn connect(self, base: &str, retries: Arc<Mutex<Vec<RetryInfo>>>) -> Box<dyn Provider> {
        if self == Backend::Codex {
            std::env::set_var(
                "CLINE_CODEX_BASE_URL",
                format!("{base}{}", cline_provider_testkit::responses::BASE_PATH),
            );
        }
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

/// The same reply to this request and every later one.
fn server_route_twice(server: &TestServer, path: &str, reply: Reply) {
    server.route("POST", path, reply.clone());
    server.route("POST", path, reply);
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
    AlwaysUnauthorized,
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

/// Three more rows: an in-band error as the very first event (a rate limit is retried like a
/// 429; an error no wait is known to fix comes back from `stream()` itself), and a 401 that
/// a refreshed sign-in does not cure.
const EXTRA: [Fault; 3] = [
    Fault::InBandRateLimitFirst,
    Fault::InBandErrorFirst,
    Fault::AlwaysUnauthorized,
];

/// What a cell must end with.
#[derive(Debug, Clone, PartialEq)]
enum Expect {
    /// The whole reply, after `retries` announced retries, in `requests` requests.
    Reply { retries: usize, requests: usize },
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
    /// Every event but the terminal event's was delivered.
    Whole,
}

impl Fault {
    /// The first answer that plays this fault on `backend` (`None`: nothing listens).
    fn answer(self, backend: Backend) -> Option<Answer> {
        let cut = backend.after_two_pieces();
        let inject = |f: Inject| Some(Answer::Reply(f));
        match self {
            Fault::RefusedConnection => None,
            Fault::ResetBeforeHeaders => inject(Arc::new(|r| r.reset_before_headers())),
            Fault::StallBeforeHeaders => inject(Arc::new(|r| r.delay_headers(STALL_LIMIT))),
            Fault::ResetMidStream => {
                let wire: usize = backend.frames()[..cut]
                    .iter()
                    .map(|f| f.as_wire().len())
                    .sum();
                // A few bytes into the next frame: a cut event is never delivered.
                inject(Arc::new(move |r| r.reset_after_bytes(wire + 5)))
            }
            Fault::StallMidStream => inject(Arc::new(move |r| r.stall_after(cut))),
            Fault::Status(s) => Some(Answer::Status(s)),
            Fault::RateLimitedWithRetryAfter => Some(Answer::Status(429)),
            Fault::MalformedEvent => inject(Arc::new(move |r| r.malformed_at(cut))),
            Fault::OversizedEvent => inject(Arc::new(move |r| r.oversized_at(cut, MAX_EVENT + 1))),
            Fault::MissingTerminalEvent => Some(Answer::Cut(backend.frames().len() - 1)),
            Fault::InBandError => Some(Answer::InBand {
                after_two_pieces: true,
                rate_limit: false,
            }),
            Fault::InBandRateLimitFirst => Some(Answer::InBand {
                after_two_pieces: false,
                rate_limit: true,
            }),
            Fault::InBandErrorFirst => Some(Answer::InBand {
                after_two_pieces: false,
                rate_limit: false,
            }),
            Fault::AlwaysUnauthorized => Some(Answer::AlwaysUnauthorized),
        }
    }

    fn expect(self, backend: Backend) -> Expect {
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
        let codex = backend == Backend::Codex;
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
            | Fault::InBandRateLimitFirst => Expect::Reply {
                retries: 1,
                requests: 2,
            },
            // A header timeout is not sent again: the server may be generating (and billing).
            Fault::StallBeforeHeaders => {
                error(ErrorKind::Timeout(TimeoutPhase::Headers), Prefix::None, 0)
            }
            Fault::ResetMidStream => error(ErrorKind::Truncated, Prefix::TwoPieces, 0),
            Fault::MissingTerminalEvent => error(ErrorKind::Truncated, Prefix::Whole, 0),
            Fault::StallMidStream => {
                error(ErrorKind::Timeout(TimeoutPhase::Idle), Prefix::TwoPieces, 0)
            }
            // The sign-in is refreshed once and the request sent again (not an engine retry).
            Fault::Status(401) if codex => Expect::Reply {
                retries: 0,
                requests: 2,
            },
            Fault::Status(401) => error(ErrorKind::InvalidApiKey, Prefix::None, 0),
            Fault::AlwaysUnauthorized if codex => Expect::Error {
                kind: ErrorKind::NotSignedIn,
                prefix: Prefix::None,
                retries: 0,
                requests: 2,
            },
            Fault::AlwaysUnauthorized => error(ErrorKind::InvalidApiKey, Prefix::None, 0),
            Fault::Status(403) => error(ErrorKind::AccessDenied, Prefix::None, 0),
            Fault::Status(404) => error(ErrorKind::ModelNotFound, Prefix::None, 0),
            Fault::Status(other) => unreachable!("no expectation for status {other}"),
            Fault::MalformedEvent => error(ErrorKind::Protocol, Prefix::TwoPieces, 0),
            Fault::OversizedEvent => error(ErrorKind::EventTooLarge, Prefix::TwoPieces, 0),
            Fault::InBandError => error(ErrorKind::StreamError, Prefix::TwoPieces, 0),
            Fault::InBandErrorFirst => error(ErrorKind::StreamError, Prefix::None, 0),
        }
    }

    /// The refresh-token grants the cell makes: one for each 401 a Codex sign-in meets.
    fn refreshes(self, backend: Backend) -> usize {
        match (backend, self) {
            (Backend::Codex, Fault::Status(401) | Fault::AlwaysUnauthorized) => 1,
            _ => 0,
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
    refreshes: usize,
    retries: Vec<RetryInfo>,
}

/// Runs one request against fresh servers whose first answer is `first` (`None`: the
/// request goes to a port where nothing listens).
async fn run(backend: Backend, first: Option<Answer>) -> Run {
    let servers = Servers::start(backend).await;
    let base = match &first {
        None => {
            // A port that was just free: nothing listens there.
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            let addr = listener.local_addr().expect("addr");
            drop(listener);
            format!("http://{addr}")
        }
        Some(_) => servers.server.url(),
    };
    if let Some(first) = first {
        backend.serve(&servers, first);
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
        refreshes: 0,
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
    run.requests = servers.requests(backend);
    run.refreshes = servers.refreshes();
    run.retries = retries.lock().expect("retries").clone();
    run
}

/// The events a fault-free run delivers.
struct Clean {
    backend: Backend,
    /// The whole reply.
    all: Vec<StreamEvent>,
    /// What the first [`Backend::after_two_pieces`] frames alone give (the body cut after
    /// them): the output a stream failing after them has delivered.
    two_pieces: Vec<StreamEvent>,
}

impl Clean {
    async fn of(backend: Backend) -> Clean {
        let whole = run(backend, Some(Answer::Reply(Arc::new(|r| r)))).await;
        assert!(
            whole.refused.is_none() && whole.error.is_none() && whole.requests == 1,
            "{backend:?}: the fault-free run failed: {whole:#?}"
        );
        let text: String = whole
            .events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::TextDelta { text } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(text, PIECES.concat(), "{backend:?}");
        let part = run(backend, Some(Answer::Cut(backend.after_two_pieces()))).await;
        assert!(
            part.refused.is_none()
                && part.error.as_ref().map(|e| e.kind()) == Some(&ErrorKind::Truncated),
            "{backend:?}: the cut run did not end as truncated: {part:#?}"
        );
        let clean = Clean {
            backend,
            all: whole.events,
            two_pieces: part.events,
        };
        assert!(
            !clean.two_pieces.is_empty() && clean.two_pieces.len() < clean.all.len(),
            "{backend:?}: the first two pieces are some of the reply"
        );
        assert_eq!(clean.two_pieces[..], clean.all[..clean.two_pieces.len()]);
        let terminal = &clean.all[clean.all.len() - backend.terminal_events()..];
        assert!(
            terminal
                .iter()
                .all(|e| matches!(e, StreamEvent::Usage(_) | StreamEvent::Finish { .. })),
            "{backend:?}: the terminal event brings the usage and the finish: {terminal:?}"
        );
        clean
    }

    fn prefix(&self, prefix: Prefix) -> &[StreamEvent] {
        match prefix {
            Prefix::None => &[],
            Prefix::TwoPieces => &self.two_pieces,
            Prefix::Whole => &self.all[..self.all.len() - self.backend.terminal_events()],
        }
    }
}

/// The events with each response's own id left out: a request sent again is answered by a new
/// response (`resp_0002`), the same reply otherwise.
fn same_reply(events: &[StreamEvent]) -> Vec<StreamEvent> {
    events
        .iter()
        .map(|e| match e {
            StreamEvent::Metadata { model, .. } => StreamEvent::Metadata {
                id: None,
                model: model.clone(),
            },
            other => other.clone(),
        })
        .collect()
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
    if run.refreshes != fault.refreshes(backend) {
        return fail(format!(
            "expected {} sign-in refreshes",
            fault.refreshes(backend)
        ));
    }
    match expect {
        Expect::Reply { retries, requests } => {
            if let Some(e) = run.refused.as_ref().or(run.error.as_ref()) {
                return fail(format!("expected the full reply, got {:?}: {e}", e.kind()));
            }
            if same_reply(&run.events) != same_reply(&clean.all) {
                return fail("the events differ from the fault-free run's".into());
            }
            if run.retries.len() != retries || run.requests != requests {
                return fail(format!(
                    "expected {retries} retries and {requests} requests"
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
            if same_reply(&run.events) != same_reply(delivered) {
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
    // A model the plan offers, refused with a bare 404: the address is wrong, not the plan.
    if let (Backend::Codex, Fault::Status(404)) = (backend, fault) {
        let hint = run.refused.as_ref().map(|e| e.hint()).unwrap_or_default();
        if !hint.contains("/backend-api/codex") || hint.contains("not available on your") {
            return fail(format!("the hint does not point at the address: {hint}"));
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
        let clean = Clean::of(backend).await;
        for fault in FAULTS.into_iter().chain(EXTRA) {
            cells += 1;
            let run = run(backend, fault.answer(backend)).await;
            if let Err(why) = check(backend, fault, &clean, &run) {
                failures.push(why);
            }
        }
    }
    assert_eq!(cells, BACKENDS.len() * (FAULTS.len() + EXTRA.len()));
    assert_eq!(cells, 54);
    assert!(
        failures.is_empty(),
        "{} of {cells} cells failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
