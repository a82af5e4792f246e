//! [`GenAiCall`]: the open span of one model call, and the stream wrapper that records the
//! end of its reply.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use serde_json::json;
use tokio::time::Instant;
use tracing::field::Empty;
use tracing::Span;
use url::Url;

use super::{error_type, fields, GenAiRequest, SPAN_NAME, TARGET};
use crate::error::{Error, Result};
use crate::stream::{ChatResponse, FinishReason, StreamEvent, Usage};

/// The open span of one call and what has been learnt about its reply.
pub(crate) struct GenAiCall {
    span: Span,
    started: Instant,
    first_output: Option<Instant>,
    usage: Option<Usage>,
    finish: Option<FinishReason>,
    capture: bool,
    reply: String,
    ended: bool,
}

impl GenAiCall {
    /// Opens the span of `call` (streamed or not); with `capture`, the prompt goes in it.
    pub(crate) fn start(call: &GenAiRequest<'_>, streaming: bool, capture: bool) -> GenAiCall {
        let request = call.request;
        let model = request.model.as_str();
        let span = tracing::info_span!(
            target: TARGET,
            SPAN_NAME,
            otel.name = %format_args!("chat {model}"),
            otel.kind = "client",
            otel.status_code = Empty,
            otel.status_message = Empty,
            gen_ai.operation.name = "chat",
            gen_ai.provider.name = call.provider,
            gen_ai.request.model = model,
            gen_ai.request.max_tokens = request.max_output_tokens.map(i64::from),
            gen_ai.request.temperature = request.temperature,
            gen_ai.request.streaming = streaming,
            server.address = call.server.and_then(Url::host_str),
            server.port = call.server.and_then(Url::port_or_known_default).map(i64::from),
            gen_ai.response.id = Empty,
            gen_ai.response.model = Empty,
            gen_ai.response.finish_reasons = Empty,
            gen_ai.usage.input_tokens = Empty,
            gen_ai.usage.output_tokens = Empty,
            gen_ai.response.time_to_first_chunk = Empty,
            cline_provider.output_tokens_per_second = Empty,
            http.request.resend_count = Empty,
            error.type = Empty,
            gen_ai.input.messages = Empty,
            gen_ai.output.messages = Empty,
        );
        if call.resends > 0 {
            record_resend(&span, call.resends);
        }
        if capture && !span.is_disabled() {
            let messages = serde_json::to_string(&request.messages).unwrap_or_default();
            span.record(fields::INPUT_MESSAGES, messages.as_str());
        }
        GenAiCall {
            span,
            started: Instant::now(),
            first_output: None,
            usage: None,
            finish: None,
            capture,
            reply: String::new(),
            ended: false,
        }
    }

    /// The span, for instrumenting the attempts.
    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// The first output is ready now.
    pub(crate) fn first_output(&mut self) {
        let now = Instant::now();
        self.first_output = Some(now);
        self.span.record(
            fields::TIME_TO_FIRST_CHUNK,
            now.duration_since(self.started).as_secs_f64(),
        );
    }

    /// Notes what `event` says about the reply. No tracing call: this runs per event.
    fn observe(&mut self, event: &StreamEvent) {
        match event {
            StreamEvent::Usage(usage) => self.usage = Some(*usage),
            StreamEvent::Finish { reason } => self.finish = Some(reason.clone()),
            StreamEvent::Metadata { id, model } => {
                if let Some(id) = id {
                    self.span.record(fields::RESPONSE_ID, id.as_str());
                }
                if let Some(model) = model {
                    self.span.record(fields::RESPONSE_MODEL, model.as_str());
                }
            }
            StreamEvent::TextDelta { text } if self.capture => self.reply.push_str(text),
            _ => {}
        }
    }

    /// Records a whole reply read at once, and closes the span.
    pub(crate) fn finish_with(mut self, reply: &ChatResponse) {
        if let Some(id) = &reply.id {
            self.span.record(fields::RESPONSE_ID, id.as_str());
        }
        if let Some(model) = &reply.model {
            self.span.record(fields::RESPONSE_MODEL, model.as_str());
        }
        self.usage = reply.usage;
        self.finish = reply.finish_reason.clone();
        if self.capture {
            self.reply = reply.text.clone();
        }
        self.end(None);
    }

    /// Records the outcome once: usage, finish reason, speed, and the error if any.
    pub(crate) fn end(&mut self, error: Option<&Error>) {
        if self.ended {
            return;
        }
        self.ended = true;
        let span = &self.span;
        if let Some(usage) = self.usage {
            span.record(fields::INPUT_TOKENS, int(usage.input_tokens));
            span.record(fields::OUTPUT_TOKENS, int(usage.output_tokens));
            if let Some(first) = self.first_output {
                let generating = Instant::now().duration_since(first).as_secs_f64();
                if generating > 0.0 && usage.output_tokens > 0 {
                    span.record(
                        fields::OUTPUT_TOKENS_PER_SECOND,
                        usage.output_tokens as f64 / generating,
                    );
                }
            }
        }
        if let Some(reason) = &self.finish {
            span.record(fields::FINISH_REASONS, reason.as_str());
        }
        if self.capture {
            let output = json!([{
                "role": "assistant",
                "parts": [{"type": "text", "content": self.reply}],
                "finish_reason": self.finish.as_ref().map(FinishReason::as_str),
            }]);
            span.record(fields::OUTPUT_MESSAGES, output.to_string().as_str());
        }
        if let Some(err) = error {
            span.record(fields::ERROR_TYPE, error_type(err.kind()));
            span.record("otel.status_code", "ERROR");
            span.record("otel.status_message", err.message());
        }
    }

    /// Records that the call ended with `err` before any output, and closes the span.
    pub(crate) fn fail(mut self, err: &Error) {
        self.end(Some(err));
    }

    /// Wraps the stream so that the end of the reply is recorded (and the span closed) when it
    /// ends, fails or is dropped.
    pub(crate) fn traced<S>(self, inner: S) -> Traced<S> {
        Traced { inner, call: self }
    }
}

/// Records how many times a request was sent again, in the span that is current (the call's,
/// when the engine traces one; a disabled span records nothing).
pub(crate) fn record_resend(span: &Span, retries: u32) {
    span.record(fields::RESEND_COUNT, i64::from(retries));
}

/// Counts as signed integers: OpenTelemetry's attributes have no unsigned type, and
/// `tracing-opentelemetry` records a `u64` as text.
fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A stream that tells its [`GenAiCall`] about the reply.
pub(crate) struct Traced<S> {
    inner: S,
    call: GenAiCall,
}

impl<S> Stream for Traced<S>
where
    S: Stream<Item = Result<StreamEvent>> + Unpin,
{
    type Item = Result<StreamEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_next(cx);
        match &polled {
            Poll::Ready(Some(Ok(event))) => this.call.observe(event),
            Poll::Ready(Some(Err(err))) => this.call.end(Some(err)),
            Poll::Ready(None) => this.call.end(None),
            Poll::Pending => {}
        }
        polled
    }
}

impl<S> Drop for Traced<S> {
    fn drop(&mut self) {
        // A reply the caller stopped reading: what was seen is still worth recording.
        self.call.end(None);
    }
}
