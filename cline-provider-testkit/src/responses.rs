//! A fake ChatGPT Codex backend (`chatgpt.com/backend-api/codex`): the Responses API as the
//! Codex endpoint serves it to a signed-in ChatGPT subscriber, on a [`TestServer`].
//!
//! It refuses what the real one refuses, so a test fails when the SDK sends it:
//!
//! - `POST /backend-api/codex/responses` needs `Authorization: Bearer <access token>` (a JWT
//!   of [`FakeIssuer`](crate::oauth::FakeIssuer), not expired, not
//!   [rejected](FakeCodexBackend::reject_token)), `ChatGPT-Account-Id` matching the token's
//!   account, `originator`, a UUID `session_id`, a `User-Agent`, `Accept: text/event-stream`
//!   and `Content-Type: application/json` (401 or 400 otherwise);
//! - the body must have `store: false`, `stream: true`, `instructions`, an `input` array with
//!   no `system`/`developer` messages and no item `id`s (nothing is stored), reasoning items
//!   whose `encrypted_content` this backend issued, tool results that answer a call earlier
//!   in `input`; `max_output_tokens` and `temperature` are refused; a model outside the plan
//!   gets the real "not supported when using Codex with a ChatGPT account" 400;
//! - every refusal is kept ([`refusals`](FakeCodexBackend::refusals)) so a failing test says
//!   why.
//!
//! Accepted requests are answered by the next scripted [`Turn`] (the last one repeats; with
//! none, a short text answer), streamed as the real endpoint streams: `response.created`,
//! `response.in_progress`, then per output item `response.output_item.added`, its parts and
//! deltas and `…done` events, `response.output_item.done`, and finally `response.completed`
//! with usage (or `response.incomplete`, `response.failed`). Every event is
//! `event: <type>` + `data: <json>` with a `sequence_number`. Reasoning items carry an
//! encrypted content minted for the turn.
//!
//! `GET /backend-api/codex/models` lists the plan's models with the same sign-in checks.
//!
//! ```
//! use cline_provider_testkit::responses::{FakeCodexBackend, Turn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let backend = FakeCodexBackend::start().await?;
//! backend.push(Turn::new().reasoning(&["Adding."]).message(&["2 + 2 ", "= 4"]).usage(20, 0, 8, 4));
//! assert!(backend.base_url().ends_with("/backend-api/codex"));
//! # Ok(())
//! # }
//! ```

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{json, Value};

use crate::{RecordedRequest, Reply, SseFrame, TestServer};

#[path = "responses_checks.rs"]
mod checks;
#[path = "responses_events.rs"]
mod events;

/// Where the Codex routes live on the server.
pub const BASE_PATH: &str = "/backend-api/codex";

/// The models a plan offers unless a test sets others.
pub const PLAN_MODELS: &[&str] = &["gpt-5.5", "gpt-5.4", "gpt-5.1-codex-mini"];

/// One output item of a scripted reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A reasoning item: its summary parts, streamed as summary deltas, and an encrypted
    /// content minted for it.
    Reasoning {
        /// The summary parts; each is streamed in word-sized deltas.
        summary: Vec<String>,
    },
    /// An assistant message streamed in these pieces.
    Message {
        /// The text deltas.
        pieces: Vec<String>,
    },
    /// A function call whose arguments stream in these pieces.
    FunctionCall {
        /// The call id (`call_…`).
        call_id: String,
        /// The function name.
        name: String,
        /// The argument deltas; joined they are the arguments.
        arguments: Vec<String>,
    },
}

/// How a scripted reply ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// `response.completed` with usage.
    Completed,
    /// `response.incomplete` with this reason (`max_output_tokens`, `content_filter`).
    Incomplete(String),
    /// `response.failed` with `error: {code, message}`.
    Failed {
        /// The code (`context_length_exceeded`, `rate_limit_exceeded`, …).
        code: String,
        /// The message.
        message: String,
    },
    /// No terminal event: the body ends after this many events (a cut connection).
    CutAfter(usize),
}

/// One scripted answer of [`FakeCodexBackend`]: an event stream, or an HTTP error.
#[derive(Debug, Clone)]
pub struct Turn {
    items: Vec<Item>,
    end: End,
    usage: [u64; 4],
    headers: Vec<(String, String)>,
    http: Option<(u16, Value)>,
}

impl Default for Turn {
    fn default() -> Self {
        Turn::new()
    }
}

impl Turn {
    /// A reply with no output yet, ending with `response.completed`.
    pub fn new() -> Turn {
        Turn {
            items: Vec::new(),
            end: End::Completed,
            usage: [0; 4],
            headers: Vec::new(),
            http: None,
        }
    }

    /// A text answer in these pieces.
    pub fn text(pieces: &[&str]) -> Turn {
        Turn::new().message(pieces)
    }

    /// Adds a reasoning item with these summary parts.
    pub fn reasoning(mut self, summary: &[&str]) -> Turn {
        self.items.push(Item::Reasoning {
            summary: summary.iter().map(|s| (*s).to_owned()).collect(),
        });
        self
    }

    /// Adds an assistant message streamed in these pieces.
    pub fn message(mut self, pieces: &[&str]) -> Turn {
        self.items.push(Item::Message {
            pieces: pieces.iter().map(|s| (*s).to_owned()).collect(),
        });
        self
    }

    /// Adds a function call whose arguments stream in these pieces.
    pub fn function_call(mut self, call_id: &str, name: &str, arguments: &[&str]) -> Turn {
        self.items.push(Item::FunctionCall {
            call_id: call_id.to_owned(),
            name: name.to_owned(),
            arguments: arguments.iter().map(|s| (*s).to_owned()).collect(),
        });
        self
    }

    /// Sets the usage the terminal event reports: input (of which `cached` from the cache),
    /// output (of which `reasoning`).
    pub fn usage(mut self, input: u64, cached: u64, output: u64, reasoning: u64) -> Turn {
        self.usage = [input, cached, output, reasoning];
        self
    }

    /// Ends with `response.incomplete` and `reason`.
    pub fn incomplete(mut self, reason: &str) -> Turn {
        self.end = End::Incomplete(reason.to_owned());
        self
    }

    /// Ends with `response.failed` carrying `code` and `message`.
    pub fn failed(mut self, code: &str, message: &str) -> Turn {
        self.end = End::Failed {
            code: code.to_owned(),
            message: message.to_owned(),
        };
        self
    }

    /// Ends the body after the first `events` events, without a terminal event.
    pub fn cut_after(mut self, events: usize) -> Turn {
        self.end = End::CutAfter(events);
        self
    }

    /// Adds a response header (the plan-limit headers, `x-request-id`, …).
    pub fn header(mut self, name: &str, value: &str) -> Turn {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The plan's usage-limit headers the real endpoint sends: the primary (5 h) and
    /// secondary (weekly) windows' used percent, length and reset time (Unix seconds).
    pub fn plan_limit_headers(
        self,
        primary_used: f64,
        secondary_used: f64,
        resets_at: u64,
    ) -> Turn {
        self.header("x-codex-primary-used-percent", &primary_used.to_string())
            .header("x-codex-primary-window-minutes", "300")
            .header("x-codex-primary-reset-at", &resets_at.to_string())
            .header(
                "x-codex-secondary-used-percent",
                &secondary_used.to_string(),
            )
            .header("x-codex-secondary-window-minutes", "10080")
            .header("x-codex-plan-type", "plus")
    }

    /// An HTTP error instead of a stream.
    pub fn http_error(status: u16, body: Value) -> Turn {
        Turn {
            http: Some((status, body)),
            ..Turn::new()
        }
    }

    /// The plan's usage limit is reached: `429` with the body the endpoint sends
    /// (`usage_limit_reached`, the plan, `resets_at` in Unix seconds and `resets_in_seconds`).
    pub fn usage_limit(plan: &str, resets_in: Duration) -> Turn {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Turn::http_error(
            429,
            json!({"error": {
                "type": "usage_limit_reached",
                "message": "The usage limit has been reached",
                "plan_type": plan,
                "resets_at": (now + resets_in).as_secs(),
                "resets_in_seconds": resets_in.as_secs(),
            }}),
        )
    }

    /// The events this turn streams, with `response_id` and the encrypted contents given for
    /// its reasoning items (in order). The same turn always renders the same frames.
    pub fn frames(&self, response_id: &str, model: &str, encrypted: &[String]) -> Vec<SseFrame> {
        events::render(self, response_id, model, encrypted)
    }

    fn reasoning_items(&self) -> usize {
        self.items
            .iter()
            .filter(|i| matches!(i, Item::Reasoning { .. }))
            .count()
    }
}

/// The fake backend. Cloning shares it.
#[derive(Clone)]
pub struct FakeCodexBackend {
    server: TestServer,
    state: Arc<Mutex<State>>,
}

struct State {
    turns: VecDeque<Turn>,
    plan_models: Vec<String>,
    rejected: Vec<String>,
    refuse_all: bool,
    encrypted: Vec<String>,
    refusals: Vec<String>,
    responses: u64,
    listing: bool,
    answer: Option<Answer>,
}

type Answer = Arc<dyn Fn(&Value) -> Turn + Send + Sync>;

impl std::fmt::Debug for FakeCodexBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeCodexBackend")
            .field("url", &self.base_url())
            .finish_non_exhaustive()
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeCodexBackend {
    /// Starts the backend on `127.0.0.1:0`.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    pub async fn start() -> std::io::Result<FakeCodexBackend> {
        let server = TestServer::start().await?;
        let backend = FakeCodexBackend::on(server);
        Ok(backend)
    }

    /// Adds the Codex routes to an existing `server` (the offline demo serves the fake
    /// issuer and the backend from one server).
    pub fn on(server: TestServer) -> FakeCodexBackend {
        let state = Arc::new(Mutex::new(State {
            turns: VecDeque::new(),
            plan_models: PLAN_MODELS.iter().map(|m| (*m).to_owned()).collect(),
            rejected: Vec::new(),
            refuse_all: false,
            encrypted: Vec::new(),
            refusals: Vec::new(),
            responses: 0,
            listing: true,
            answer: None,
        }));
        let s = Arc::clone(&state);
        server.route_fn("POST", &format!("{BASE_PATH}/responses"), move |r| {
            respond(&s, r)
        });
        let s = Arc::clone(&state);
        server.route_fn("GET", &format!("{BASE_PATH}/models"), move |r| {
            listing(&s, r)
        });
        FakeCodexBackend { server, state }
    }

    /// `http://127.0.0.1:PORT/backend-api/codex`, for `CLINE_CODEX_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("{}{BASE_PATH}", self.server.url())
    }

    /// The server, for its recorded requests.
    pub fn server(&self) -> &TestServer {
        &self.server
    }

    /// Queues the answer to the next accepted request (the last queued one repeats).
    pub fn push(&self, turn: Turn) {
        lock(&self.state).turns.push_back(turn);
    }

    /// Answers every accepted request that no queued turn answers with `answer(body)` (the
    /// request's JSON body), instead of the default short text.
    pub fn answer_with(&self, answer: impl Fn(&Value) -> Turn + Send + Sync + 'static) {
        lock(&self.state).answer = Some(Arc::new(answer));
    }

    /// Sets the models the plan offers (default [`PLAN_MODELS`]).
    pub fn set_plan_models(&self, models: &[&str]) {
        lock(&self.state).plan_models = models.iter().map(|m| (*m).to_owned()).collect();
    }

    /// Whether `GET …/models` answers (default yes; no: `404`, as older endpoints do).
    pub fn set_listing(&self, answers: bool) {
        lock(&self.state).listing = answers;
    }

    /// Refuses `access_token` with `401` from now on, as when OpenAI revoked it.
    pub fn reject_token(&self, access_token: &str) {
        lock(&self.state).rejected.push(access_token.to_owned());
    }

    /// Refuses every token with `401` while `on` (the account itself is refused, so a
    /// refreshed token is no better).
    pub fn refuse_every_token(&self, on: bool) {
        lock(&self.state).refuse_all = on;
    }

    /// The encrypted reasoning contents minted so far, in order.
    pub fn issued_encrypted_contents(&self) -> Vec<String> {
        lock(&self.state).encrypted.clone()
    }

    /// Why requests were refused, in order (empty when every request was accepted).
    pub fn refusals(&self) -> Vec<String> {
        lock(&self.state).refusals.clone()
    }

    /// The `POST …/responses` requests received, accepted or not.
    pub fn responses_requests(&self) -> Vec<RecordedRequest> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == format!("{BASE_PATH}/responses"))
            .collect()
    }
}

/// The offline demo's answer to `body` (a request's JSON): a short reasoning summary, then a
/// reply that quotes the last user text and says plainly that no real model answered.
///
/// ```
/// let turn = cline_provider_testkit::responses::demo_answer(&serde_json::json!({
///     "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Say hello"}]}]
/// }));
/// let frames = turn.frames("resp_1", "gpt-5.5", &["enc".into()]);
/// assert!(frames.iter().any(|f| f.as_wire().contains("Say hello")));
/// ```
pub fn demo_answer(body: &Value) -> Turn {
    let said = body["input"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .rev()
                .find(|i| i["role"] == "user")
                .and_then(|i| {
                    i["content"]
                        .as_array()?
                        .iter()
                        .find_map(|c| c["text"].as_str())
                })
        })
        .unwrap_or("(no user message)");
    let said: String = said.chars().take(160).collect();
    let answer = format!(
        "Hello from the offline demo of the Codex endpoint! No real model is answering and no \
         ChatGPT account is used: a fake sign-in and a fake endpoint run inside this program. \
         You said: \"{said}\". To use your own ChatGPT subscription, sign in with `cargo run \
         --example codex_login -- login`, then run this again without --offline."
    );
    let pieces: Vec<&str> = answer.split_inclusive(' ').collect();
    let input_tokens = body.to_string().len() as u64 / 4;
    Turn::new()
        .reasoning(&[&format!(
            "The user wrote \"{said}\". No real model is connected, so I say so."
        )])
        .message(&pieces)
        .usage(input_tokens, 0, pieces.len() as u64, 12)
}

fn refuse(state: &Mutex<State>, status: u16, body: Value) -> Reply {
    lock(state).refusals.push(format!("{status} {body}"));
    Reply::json(status, body)
}

fn respond(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let (rejected, refuse_all, plan, known) = {
        let s = lock(state);
        (
            s.rejected.clone(),
            s.refuse_all,
            s.plan_models.clone(),
            s.encrypted.clone(),
        )
    };
    if let Err((status, body)) = checks::sign_in(r, &rejected, refuse_all) {
        return refuse(state, status, body);
    }
    let body = match checks::request(r, &plan, &known) {
        Ok(body) => body,
        Err((status, body)) => return refuse(state, status, body),
    };
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    let mut s = lock(state);
    let turn = match (s.turns.len(), &s.answer) {
        (0, Some(answer)) => answer(&body),
        (0, None) => Turn::text(&["Hello", " from", " the", " fake", " Codex", " backend."])
            .usage(12, 0, 6, 0),
        (1, _) => s.turns[0].clone(),
        _ => s.turns.pop_front().unwrap_or_default(),
    };
    s.responses += 1;
    let response_id = format!("resp_{:04}", s.responses);
    if let Some((status, body)) = &turn.http {
        let mut reply = Reply::json(*status, body.clone());
        for (name, value) in &turn.headers {
            reply = reply.header(name, value);
        }
        return reply;
    }
    let encrypted: Vec<String> = (0..turn.reasoning_items())
        .map(|i| {
            format!(
                "gAAAAB-fake-{}-{i}-{:016x}",
                s.responses,
                s.responses.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i as u64
            )
        })
        .collect();
    s.encrypted.extend(encrypted.iter().cloned());
    drop(s);
    let mut reply = Reply::sse(turn.frames(&response_id, &model, &encrypted));
    for (name, value) in &turn.headers {
        reply = reply.header(name, value);
    }
    reply
}

fn listing(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let (rejected, refuse_all, plan, answers) = {
        let s = lock(state);
        (
            s.rejected.clone(),
            s.refuse_all,
            s.plan_models.clone(),
            s.listing,
        )
    };
    if let Err((status, body)) = checks::sign_in(r, &rejected, refuse_all) {
        return refuse(state, status, body);
    }
    if !answers {
        return Reply::json(404, json!({"detail": "Not Found"}));
    }
    let models: Vec<Value> = plan
        .iter()
        .enumerate()
        .map(|(i, slug)| {
            json!({
                "slug": slug,
                "display_name": slug,
                "visibility": "list",
                "supported_in_api": true,
                "priority": i,
                "input_modalities": ["text", "image"],
            })
        })
        .collect();
    Reply::json(200, json!({ "models": models }))
}
