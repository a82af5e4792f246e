//! One [`tracing`] span per model call, named and fielded after OpenTelemetry's GenAI semantic
//! conventions, so that a `tracing-opentelemetry` layer turns it into the span a collector
//! expects (the `otel_export` example shows the wiring).
//!
//! The engine opens the span when a backend hands it a [`GenAiRequest`] with its
//! [`RequestSpec`](crate::http::RequestSpec): once per request, not once per attempt or per
//! event. Retries happen inside it (the engine's retry events are its children); the time to
//! the first output is recorded when the first event is ready; usage, finish reason and the
//! answering model are recorded once, when the stream ends (or, for a whole reply, when it is
//! read). Nothing is traced per event: the stream only notes the few events that describe the
//! reply.
//!
//! | field | meaning |
//! |---|---|
//! | `otel.name` | `{operation} {model}`, the span name the conventions ask for (`chat gpt-4o`) |
//! | `otel.kind` | `client` |
//! | `gen_ai.operation.name` | `chat` |
//! | `gen_ai.provider.name` | `openai` (OpenAI Compatible endpoints and Codex), `azure.ai.openai` (Azure) |
//! | `gen_ai.request.model`, `gen_ai.request.max_tokens`, `gen_ai.request.temperature` | as asked |
//! | `gen_ai.request.streaming` | whether the reply was streamed |
//! | `server.address`, `server.port` | the endpoint |
//! | `gen_ai.response.id`, `gen_ai.response.model` | as the server said |
//! | `gen_ai.response.finish_reasons` | the finish reason (one choice per reply here) |
//! | `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens` | as the server reported |
//! | `gen_ai.response.time_to_first_chunk` | seconds from the request to the first output, streams only (the client metric `gen_ai.client.operation.time_to_first_chunk`, as a span field) |
//! | `cline_provider.output_tokens_per_second` | output tokens over the time from the first output to the end, streams only |
//! | `http.request.resend_count` | how many times the request was sent again (the engine's retries, plus a backend's own resend after renewing a sign-in, [`GenAiRequest::resent`]) |
//! | `error.type`, `otel.status_code`, `otel.status_message` | on failure: the [`ErrorKind`] in snake case ([`error_type`]), `ERROR`, the message (credentials already removed) |
//! | `gen_ai.input.messages`, `gen_ai.output.messages` | the prompt and the reply as JSON, **only** with [`HttpConfig::capture_content`](crate::http::HttpConfig::capture_content) |
//!
//! No header, key, token or URL query is ever recorded; the prompt and the reply only when the
//! application opts in.

mod call;
mod recorder;

use url::Url;

use crate::error::{ErrorKind, TimeoutPhase};
use crate::request::ChatRequest;

pub(crate) use call::{record_resend, GenAiCall};
pub use recorder::{FieldValue, RecordedSpan, SpanRecorder};

/// The `tracing` target of the GenAI spans, for filters (`cline_provider::gen_ai=info`).
pub const TARGET: &str = "cline_provider::gen_ai";

/// The span's name in `tracing` (the OpenTelemetry name is in `otel.name`).
pub const SPAN_NAME: &str = "gen_ai.chat";

/// The field names the span records, for code that reads them (a test, a layer).
pub mod fields {
    /// `gen_ai.operation.name`.
    pub const OPERATION_NAME: &str = "gen_ai.operation.name";
    /// `gen_ai.provider.name`.
    pub const PROVIDER_NAME: &str = "gen_ai.provider.name";
    /// `gen_ai.request.model`.
    pub const REQUEST_MODEL: &str = "gen_ai.request.model";
    /// `gen_ai.response.model`.
    pub const RESPONSE_MODEL: &str = "gen_ai.response.model";
    /// `gen_ai.response.id`.
    pub const RESPONSE_ID: &str = "gen_ai.response.id";
    /// `gen_ai.response.finish_reasons`.
    pub const FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
    /// `gen_ai.usage.input_tokens`.
    pub const INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
    /// `gen_ai.usage.output_tokens`.
    pub const OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
    /// `gen_ai.response.time_to_first_chunk`, in seconds.
    pub const TIME_TO_FIRST_CHUNK: &str = "gen_ai.response.time_to_first_chunk";
    /// `cline_provider.output_tokens_per_second`.
    pub const OUTPUT_TOKENS_PER_SECOND: &str = "cline_provider.output_tokens_per_second";
    /// `http.request.resend_count`.
    pub const RESEND_COUNT: &str = "http.request.resend_count";
    /// `error.type`.
    pub const ERROR_TYPE: &str = "error.type";
    /// `gen_ai.input.messages` (opt-in).
    pub const INPUT_MESSAGES: &str = "gen_ai.input.messages";
    /// `gen_ai.output.messages` (opt-in).
    pub const OUTPUT_MESSAGES: &str = "gen_ai.output.messages";
}

/// What a backend tells the engine about one model call, so that the engine can open its span.
///
/// ```
/// use cline_provider_core::telemetry::GenAiRequest;
/// use cline_provider_core::{ChatRequest, Message};
/// let request = ChatRequest::new("gpt-4o").message(Message::user("Hi"));
/// let url = url::Url::parse("https://llm.example.com/v1/chat/completions").unwrap();
/// let call = GenAiRequest::chat("openai", &request).server(&url);
/// assert_eq!(call.provider, "openai");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct GenAiRequest<'a> {
    /// `gen_ai.provider.name`: `openai` for OpenAI, OpenAI Compatible endpoints and Codex,
    /// `azure.ai.openai` for Azure OpenAI.
    pub provider: &'static str,
    /// The request as the backend sends it (model filled in).
    pub request: &'a ChatRequest,
    /// The endpoint, for `server.address` and `server.port`.
    pub server: Option<&'a Url>,
    /// How many times the backend itself already sent this call (once more after a 401 with
    /// a renewed sign-in): counted in `http.request.resend_count` with the engine's retries.
    /// Default 0.
    pub resends: u32,
}

impl<'a> GenAiRequest<'a> {
    /// A `chat` call of `request` to `provider`.
    pub fn chat(provider: &'static str, request: &'a ChatRequest) -> Self {
        GenAiRequest {
            provider,
            request,
            server: None,
            resends: 0,
        }
    }

    /// This call was already sent `resends` times by the backend (see
    /// [`resends`](GenAiRequest::resends)).
    pub fn resent(mut self, resends: u32) -> Self {
        self.resends = resends;
        self
    }

    /// The endpoint the call goes to.
    pub fn server(mut self, url: &'a Url) -> Self {
        self.server = Some(url);
        self
    }
}

/// `error.type` for an error kind: the kind in snake case (`invalid_api_key`, `timeout`).
pub fn error_type(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidApiKey => "invalid_api_key",
        ErrorKind::AccessDenied => "access_denied",
        ErrorKind::Unreachable => "unreachable",
        ErrorKind::DnsFailure => "dns_failure",
        ErrorKind::TlsCertificate => "tls_certificate",
        ErrorKind::Redirected => "redirected",
        ErrorKind::Timeout(TimeoutPhase::Connect) => "timeout.connect",
        ErrorKind::Timeout(TimeoutPhase::Headers) => "timeout.headers",
        ErrorKind::Timeout(TimeoutPhase::Idle) => "timeout.idle",
        ErrorKind::Timeout(TimeoutPhase::Total) => "timeout.total",
        ErrorKind::ModelNotFound => "model_not_found",
        ErrorKind::LockedByOrganization => "locked_by_organization",
        ErrorKind::NotSignedIn => "not_signed_in",
        ErrorKind::RateLimited => "rate_limited",
        ErrorKind::QuotaExhausted => "quota_exhausted",
        ErrorKind::ContextWindowExceeded => "context_window_exceeded",
        ErrorKind::InvalidConfig => "invalid_config",
        ErrorKind::BadRequest => "bad_request",
        ErrorKind::Server => "server",
        ErrorKind::StreamError => "stream_error",
        ErrorKind::Truncated => "truncated",
        ErrorKind::EventTooLarge => "event_too_large",
        ErrorKind::Protocol => "protocol",
        ErrorKind::Cancelled => "cancelled",
        ErrorKind::InvalidToolArguments => "invalid_tool_arguments",
        ErrorKind::Io => "io",
        ErrorKind::ContentFiltered => "content_filtered",
        ErrorKind::SubscriptionLimit => "subscription_limit",
    }
}
