//! Stream decoding: the Responses API's events to [`StreamEvent`]s.
//!
//! One [`ResponsesDecoder`] per response. Each event's `data` is parsed once, into the
//! borrowing types of [`super::wire`].

use cline_provider_core::http::sse::{SseDecoder, SseEvent};
use cline_provider_core::wire::quote;
use cline_provider_core::wire::JsonStr;
use cline_provider_core::{
    Error, ErrorKind, FinishReason, RateLimits, ReasoningItem, Result, StreamEvent,
};
use serde_json::{json, Value};

use super::failure::{error_event, response_failed};
use super::rate_limits::rate_limits_from_headers;
use super::wire::{OutputItem, ResponsesEvent, TextPart};
use super::PROVIDER_ID;

/// Decodes the events of one Responses API stream.
///
/// | event | what it becomes |
/// |---|---|
/// | `response.output_text.delta`, `response.refusal.delta` | [`StreamEvent::TextDelta`] |
/// | `response.reasoning_summary_text.delta`, `response.reasoning_text.delta` | [`StreamEvent::ReasoningDelta`] (summary parts separated by a blank line) |
/// | `response.output_item.added` with a `function_call` | [`StreamEvent::ToolCallStart`] (its `call_id` and name; calls numbered in order) |
/// | `response.function_call_arguments.delta` | [`StreamEvent::ToolCallArgumentsDelta`] |
/// | `response.output_item.done` with a `function_call` | what the deltas did not bring of the complete arguments (all of them when none streamed) |
/// | `response.output_item.done` with a `message` or `reasoning` whose text did not stream | that text |
/// | `response.output_item.done` with a `reasoning` item | [`StreamEvent::ReasoningItem`]: its summary and encrypted content, to send back next turn |
/// | `response.completed` (or `response.done`) | [`StreamEvent::Usage`] (input, cached input, output and reasoning tokens; [`Billing::Subscription`](cline_provider_core::Billing::Subscription)), [`StreamEvent::Finish`] (`tool_calls` when the reply called tools, else `stop`); the end |
/// | `response.incomplete` | usage, then [`StreamEvent::Finish`] with its reason (`max_output_tokens` is [`FinishReason::Length`]); the end |
/// | `response.failed`, `error` | an `Err` typed by its code (see [`super::failure`]) |
/// | `response.created` | [`StreamEvent::Metadata`]: the response's id and the model that answers |
/// | anything else (`response.in_progress`, `…done` of parts, new types) | nothing |
///
/// The plan-limit headers of the response become a [`StreamEvent::RateLimits`] before the
/// first output. A stream that ends before `response.completed`, `response.incomplete` or
/// `response.failed` is [`ErrorKind::Truncated`] (the engine's rule).
///
/// ```
/// use cline_provider_codex::responses::ResponsesDecoder;
/// use cline_provider_core::http::sse::{SseDecoder, SseEvent};
/// use cline_provider_core::StreamEvent;
/// let mut d = ResponsesDecoder::new();
/// let mut out = Vec::new();
/// let delta = r#"{"type":"response.output_text.delta","item_id":"msg_1","delta":"Hi"}"#;
/// assert!(!d.decode(&SseEvent::new(delta), &mut out).unwrap());
/// let done = r#"{"type":"response.completed","response":{"id":"resp_1","usage":{"input_tokens":3,"output_tokens":1}}}"#;
/// assert!(d.decode(&SseEvent::new(done), &mut out).unwrap());
/// assert_eq!(out[0], StreamEvent::TextDelta { text: "Hi".into() });
/// ```
#[derive(Debug, Default)]
pub struct ResponsesDecoder {
    calls: Vec<Call>,
    /// Items whose text arrived as deltas (their `.done` then adds nothing).
    streamed: Vec<String>,
    /// The reasoning summary part that last streamed: (item id, summary index).
    last_summary: Option<(String, u64)>,
    /// Limits read from the headers, emitted with the first event.
    rate_limits: Option<RateLimits>,
}

#[derive(Debug)]
struct Call {
    item_id: String,
    output_index: Option<u64>,
    index: u32,
    call_id: String,
    name: String,
    started: bool,
    /// The arguments handed out so far.
    arguments: String,
    done: bool,
}

impl ResponsesDecoder {
    /// A decoder for a new stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes one event's `data`. Returns `Ok(true)` for the terminal event.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Protocol`] for data that is not a JSON event; the typed failure of a
    /// `response.failed` or `error` event.
    pub fn decode_data(
        &mut self,
        event_name: Option<&str>,
        data: &str,
        out: &mut Vec<StreamEvent>,
    ) -> Result<bool> {
        if let Some(limits) = self.rate_limits.take() {
            out.push(StreamEvent::RateLimits(limits));
        }
        let data = data.trim();
        if data.is_empty() || data == "[DONE]" {
            return Ok(false);
        }
        let event: ResponsesEvent<'_> = serde_json::from_str(data).map_err(|e| {
            Error::new(
                ErrorKind::Protocol,
                format!(
                    "the endpoint sent a stream event that is not a Responses API event ({e}); it starts with: {}",
                    quote(data)
                ),
            )
        })?;
        let kind = match (&event.kind, event_name) {
            (Some(k), _) => k.as_str(),
            (None, Some(name)) => name,
            (None, None) => return Ok(false),
        };
        match kind {
            "response.created" => {
                if let Some(response) = event
                    .response
                    .filter(|r| r.id.is_some() || r.model.is_some())
                {
                    out.push(StreamEvent::Metadata {
                        id: response.id.map(JsonStr::into_string),
                        model: response.model.map(JsonStr::into_string),
                    });
                }
            }
            "response.output_text.delta" | "response.refusal.delta" => {
                if let Some(delta) = event.delta.filter(|d| !d.as_str().is_empty()) {
                    self.mark_streamed(event.item_id.as_ref());
                    out.push(StreamEvent::TextDelta {
                        text: delta.into_string(),
                    });
                }
            }
            "response.reasoning_summary_text.delta" => {
                if let Some(delta) = event.delta.filter(|d| !d.as_str().is_empty()) {
                    let item = event.item_id.as_ref().map_or("", JsonStr::as_str);
                    let part = event.summary_index.map_or(0, |c| c.0);
                    let same = self
                        .last_summary
                        .as_ref()
                        .is_some_and(|(i, p)| i == item && *p == part);
                    if !same {
                        if self.last_summary.is_some() {
                            out.push(reasoning("\n\n".to_owned()));
                        }
                        self.last_summary = Some((item.to_owned(), part));
                    }
                    self.mark_streamed(event.item_id.as_ref());
                    out.push(reasoning(delta.into_string()));
                }
            }
            "response.reasoning_text.delta" => {
                if let Some(delta) = event.delta.filter(|d| !d.as_str().is_empty()) {
                    self.mark_streamed(event.item_id.as_ref());
                    out.push(reasoning(delta.into_string()));
                }
            }
            "response.output_item.added" => {
                if let Some(item) = event.item.filter(|i| is(&i.kind, "function_call")) {
                    let slot = self.call_slot(item.id.as_ref(), event.output_index.map(|c| c.0));
                    self.fill_call(slot, &item);
                    self.start_if_ready(slot, out);
                }
            }
            "response.function_call_arguments.delta" | "response.tool_call_arguments.delta" => {
                if let Some(delta) = event.delta.filter(|d| !d.as_str().is_empty()) {
                    let slot =
                        self.call_slot(event.item_id.as_ref(), event.output_index.map(|c| c.0));
                    let call = &mut self.calls[slot];
                    call.arguments.push_str(delta.as_str());
                    if call.started {
                        out.push(StreamEvent::ToolCallArgumentsDelta {
                            index: call.index,
                            delta: delta.into_string(),
                        });
                    }
                }
            }
            "response.function_call_arguments.done" => {
                if let Some(arguments) = event.arguments {
                    let slot =
                        self.call_slot(event.item_id.as_ref(), event.output_index.map(|c| c.0));
                    self.finish_arguments(slot, arguments.as_str(), out);
                }
            }
            "response.output_item.done" => {
                if let Some(item) = event.item {
                    self.item_done(item, event.output_index.map(|c| c.0), out);
                }
            }
            "response.completed" | "response.done" => {
                let response = event.response.unwrap_or_default();
                self.flush_calls(out);
                if let Some(usage) = response.usage {
                    out.push(StreamEvent::Usage(usage.to_usage()));
                }
                let reason = if self.calls.is_empty() {
                    FinishReason::Stop
                } else {
                    FinishReason::ToolCalls
                };
                out.push(StreamEvent::Finish { reason });
                return Ok(true);
            }
            "response.incomplete" => {
                let response = event.response.unwrap_or_default();
                self.flush_calls(out);
                if let Some(usage) = response.usage {
                    out.push(StreamEvent::Usage(usage.to_usage()));
                }
                let reason = response
                    .incomplete_details
                    .and_then(|d| d.reason)
                    .map_or_else(
                        || FinishReason::Other("incomplete".into()),
                        |r| FinishReason::from(r.as_str()),
                    );
                out.push(StreamEvent::Finish { reason });
                return Ok(true);
            }
            "response.failed" => {
                let error = event
                    .response
                    .and_then(|r| r.error)
                    .map(|raw| raw.get().as_bytes());
                return Err(response_failed(error));
            }
            "error" => return Err(error_event(data)),
            _ => {}
        }
        Ok(false)
    }

    fn mark_streamed(&mut self, item_id: Option<&JsonStr<'_>>) {
        if let Some(id) = item_id {
            if !self.streamed.iter().any(|s| s == id.as_str()) {
                self.streamed.push(id.as_str().to_owned());
            }
        }
    }

    fn was_streamed(&self, item_id: Option<&JsonStr<'_>>) -> bool {
        item_id.is_some_and(|id| self.streamed.iter().any(|s| s == id.as_str()))
    }

    /// The call an event belongs to, by item id, else by output index; a new one if none.
    fn call_slot(&mut self, item_id: Option<&JsonStr<'_>>, output_index: Option<u64>) -> usize {
        let id = item_id.map_or("", JsonStr::as_str);
        let found = self.calls.iter().position(|c| {
            (!id.is_empty() && c.item_id == id)
                || (id.is_empty() || c.item_id.is_empty())
                    && output_index.is_some()
                    && c.output_index == output_index
        });
        if let Some(slot) = found {
            let call = &mut self.calls[slot];
            if call.item_id.is_empty() {
                call.item_id = id.to_owned();
            }
            if call.output_index.is_none() {
                call.output_index = output_index;
            }
            return slot;
        }
        let index = u32::try_from(self.calls.len()).unwrap_or(u32::MAX);
        self.calls.push(Call {
            item_id: id.to_owned(),
            output_index,
            index,
            call_id: String::new(),
            name: String::new(),
            started: false,
            arguments: String::new(),
            done: false,
        });
        self.calls.len() - 1
    }

    fn fill_call(&mut self, slot: usize, item: &OutputItem<'_>) {
        let call = &mut self.calls[slot];
        if call.call_id.is_empty() {
            if let Some(id) = item.call_id.as_ref().or(item.id.as_ref()) {
                call.call_id = id.as_str().to_owned();
            }
        }
        if call.name.is_empty() {
            if let Some(name) = &item.name {
                call.name = name.as_str().to_owned();
            }
        }
    }

    /// Starts a call once its id and name are known, with the arguments that came before.
    fn start_if_ready(&mut self, slot: usize, out: &mut Vec<StreamEvent>) {
        let call = &mut self.calls[slot];
        if call.started || call.call_id.is_empty() || call.name.is_empty() {
            return;
        }
        call.started = true;
        out.push(StreamEvent::ToolCallStart {
            index: call.index,
            id: call.call_id.clone(),
            name: call.name.clone(),
        });
        if !call.arguments.is_empty() {
            out.push(StreamEvent::ToolCallArgumentsDelta {
                index: call.index,
                delta: call.arguments.clone(),
            });
        }
    }

    /// Hands out what the deltas did not bring of the complete `arguments`.
    fn finish_arguments(&mut self, slot: usize, arguments: &str, out: &mut Vec<StreamEvent>) {
        let call = &mut self.calls[slot];
        if call.done {
            return;
        }
        if let Some(rest) = arguments.strip_prefix(call.arguments.as_str()) {
            if !rest.is_empty() {
                call.arguments.push_str(rest);
                if call.started {
                    out.push(StreamEvent::ToolCallArgumentsDelta {
                        index: call.index,
                        delta: rest.to_owned(),
                    });
                }
            }
        } else {
            // The deltas and the final text disagree; what was handed out cannot be taken
            // back, so the streamed text stands.
            tracing::warn!(
                call = %call.call_id,
                "the streamed tool-call arguments differ from the final ones; keeping the streamed ones"
            );
        }
        if call.started {
            call.done = true;
        }
    }

    fn item_done(
        &mut self,
        item: OutputItem<'_>,
        output_index: Option<u64>,
        out: &mut Vec<StreamEvent>,
    ) {
        match item.kind.as_ref().map(JsonStr::as_str) {
            Some("function_call") => {
                let slot = self.call_slot(item.id.as_ref(), output_index);
                self.fill_call(slot, &item);
                self.start_if_ready(slot, out);
                let arguments = item.arguments.as_ref().map_or("", JsonStr::as_str);
                self.finish_arguments(slot, arguments, out);
            }
            Some("message") if !self.was_streamed(item.id.as_ref()) => {
                let text = joined(item.content.as_deref(), "");
                if !text.is_empty() {
                    out.push(StreamEvent::TextDelta { text });
                }
            }
            Some("reasoning") => {
                if !self.was_streamed(item.id.as_ref()) {
                    let text = joined(item.summary.as_deref(), "\n\n");
                    let text = if text.is_empty() {
                        joined(item.content.as_deref(), "")
                    } else {
                        text
                    };
                    if !text.is_empty() {
                        out.push(reasoning(text));
                    }
                }
                if let Some(data) = reasoning_data(&item) {
                    out.push(StreamEvent::ReasoningItem(ReasoningItem::new(
                        PROVIDER_ID,
                        data,
                    )));
                }
            }
            _ => {}
        }
    }

    /// At the end, a call still waiting for its name or id starts with what is known.
    fn flush_calls(&mut self, out: &mut Vec<StreamEvent>) {
        for slot in 0..self.calls.len() {
            let call = &mut self.calls[slot];
            if call.started {
                continue;
            }
            if call.call_id.is_empty() {
                call.call_id = if call.item_id.is_empty() {
                    format!("call_{}", call.index)
                } else {
                    call.item_id.clone()
                };
            }
            self.start_if_ready(slot, out);
        }
    }
}

impl SseDecoder for ResponsesDecoder {
    fn decode(&mut self, event: &SseEvent, out: &mut Vec<StreamEvent>) -> Result<bool> {
        self.decode_data(event.event.as_deref(), &event.data, out)
    }

    fn on_response_headers(&mut self, headers: &http::HeaderMap) {
        self.rate_limits = rate_limits_from_headers(headers);
    }
}

fn is(kind: &Option<JsonStr<'_>>, want: &str) -> bool {
    kind.as_ref().is_some_and(|k| k.as_str() == want)
}

fn reasoning(text: String) -> StreamEvent {
    StreamEvent::ReasoningDelta { text }
}

/// The text of `parts` (`output_text`, `refusal`, `summary_text`, `reasoning_text`) joined.
fn joined(parts: Option<&[TextPart<'_>]>, separator: &str) -> String {
    let texts: Vec<&str> = parts
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.text.as_ref().or(p.refusal.as_ref()))
        .map(JsonStr::as_str)
        .filter(|t| !t.is_empty())
        .collect();
    texts.join(separator)
}

/// What the next request needs of a reasoning item: its summary and encrypted content (and
/// its id, for the record; it is never sent back). `None` when there is nothing to carry.
fn reasoning_data(item: &OutputItem<'_>) -> Option<Value> {
    let summary: Vec<Value> = item
        .summary
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.text.as_ref())
        .map(|t| json!({"type": "summary_text", "text": t.as_str()}))
        .collect();
    let encrypted = item.encrypted_content.as_ref().map(JsonStr::as_str);
    if encrypted.is_none() && summary.is_empty() {
        return None;
    }
    let mut data = json!({"type": "reasoning", "summary": summary});
    if let Some(id) = &item.id {
        data["id"] = json!(id.as_str());
    }
    if let Some(e) = encrypted {
        data["encrypted_content"] = json!(e);
    }
    Some(data)
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
