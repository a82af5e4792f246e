//! Stream decoding: the `data:` payloads of a chat-completions SSE stream to
//! [`StreamEvent`]s.
//!
//! One [`ChatCompletionsDecoder`] per response. It parses each payload once, into the
//! borrowing types of [`crate::wire`], and keeps only what tool calls need across chunks.

use std::borrow::Cow;

use cline_provider_core::http::sse::{SseDecoder, SseEvent};
use cline_provider_core::wire::quote;
use cline_provider_core::{Error, ErrorKind, FinishReason, Result, StreamEvent};

use crate::errors::stream_error;
use crate::fast_chunk::{read_chunk, ChunkPrefix, FastChunk, TextShape};
use crate::wire::{
    ChatCompletionChunk, ChunkDelta, ChunkWithMetadata, DeltaContent, DeltaPart, ToolCallDelta,
};

/// Decodes the events of one chat-completions stream.
///
/// Feed it each SSE event's `data` in order ([`decode_data`](Self::decode_data)); it
/// appends zero or more [`StreamEvent`]s and reports when `[DONE]` arrives.
///
/// - `delta.content` → [`StreamEvent::TextDelta`]; `delta.refusal` likewise.
/// - `delta.reasoning_content` (vLLM, DeepSeek, llama.cpp) or `delta.reasoning`
///   (OpenRouter, Ollama, newer vLLM) → [`StreamEvent::ReasoningDelta`], once per delta even
///   when a server sends both.
/// - `delta.tool_calls` → one [`StreamEvent::ToolCallStart`] per call once its id and name
///   are known, then [`StreamEvent::ToolCallArgumentsDelta`]s. Argument fragments that
///   arrive before the name are held back and sent right after the start. A call whose id
///   never arrives gets `call_<index>` when the choice finishes.
/// - `id` and `model` of the first chunk → one [`StreamEvent::Metadata`].
/// - `usage` → [`StreamEvent::Usage`], DeepSeek's cache fields included.
/// - `finish_reason` → [`StreamEvent::Finish`]; unknown reasons are kept, `eos` and friends
///   mean `stop`, and an empty string is ignored.
/// - `{"error": …}` → an `Err` (rate limit, quota and context errors keep their kind).
/// - `[DONE]` → `Ok(true)`.
///
/// ```
/// use cline_provider_core::StreamEvent;
/// use cline_provider_openai::ChatCompletionsDecoder;
/// let mut d = ChatCompletionsDecoder::new();
/// let mut out = Vec::new();
/// d.decode_data(r#"{"choices":[{"index":0,"delta":{"content":"Hi"}}]}"#, &mut out).unwrap();
/// assert!(d.decode_data("[DONE]", &mut out).unwrap());
/// assert_eq!(out, vec![StreamEvent::TextDelta { text: "Hi".into() }]);
/// ```
#[derive(Debug, Default)]
pub struct ChatCompletionsDecoder {
    calls: Vec<CallState>,
    /// [`StreamEvent::Metadata`] was sent (once per stream, from the first chunk with an id
    /// or model).
    metadata_sent: bool,
    /// What every chunk repeats before its changing part, read once.
    repeated: ChunkPrefix,
    /// The last text-only chunk around its text, for the chunks that differ only there.
    text_shape: TextShape,
    /// Every chunk through serde ([`serde_only`](Self::serde_only)).
    serde_only: bool,
}

#[derive(Debug)]
struct CallState {
    /// The index the server uses for this call.
    wire_index: u32,
    /// The index in our events: calls in order of first appearance.
    index: u32,
    id: String,
    name: String,
    started: bool,
    /// Argument fragments that arrived before the call could start.
    pending: String,
}

impl ChatCompletionsDecoder {
    /// A decoder for a new stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder that reads every chunk with its serde types, as this crate did before the
    /// in-place reader ([`cline_provider_core::json`]): the same events, at about three
    /// times the cost per chunk. The fast path is tested against it, and `benches/sse.rs`
    /// measures both in the same run.
    ///
    /// ```
    /// use cline_provider_openai::ChatCompletionsDecoder;
    /// let data = r#"{"choices":[{"index":0,"delta":{"content":"Hi"}}]}"#;
    /// let (mut fast, mut slow) = (ChatCompletionsDecoder::new(), ChatCompletionsDecoder::serde_only());
    /// let (mut a, mut b) = (Vec::new(), Vec::new());
    /// fast.decode_data(data, &mut a).unwrap();
    /// slow.decode_data(data, &mut b).unwrap();
    /// assert_eq!(a, b);
    /// ```
    pub fn serde_only() -> Self {
        ChatCompletionsDecoder {
            serde_only: true,
            ..Self::default()
        }
    }

    /// Decodes one event's `data`. Returns `Ok(true)` for the terminal `[DONE]`.
    pub fn decode_data(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> Result<bool> {
        let data = data.trim();
        if data.is_empty() {
            return Ok(false);
        }
        if data == "[DONE]" {
            self.flush_calls(out);
            return Ok(true);
        }
        if self.serde_only {
            return self.decode_with_serde(data, out);
        }
        if self.metadata_sent {
            if let Some(text) = self.text_shape.text(data) {
                if !text.is_empty() {
                    out.push(StreamEvent::TextDelta {
                        text: text.into_owned(),
                    });
                }
                return Ok(false);
            }
        }
        let mut chunk = FastChunk::default();
        let with_metadata = !self.metadata_sent;
        if read_chunk(data, with_metadata, &mut chunk, &mut self.repeated).is_ok() {
            if !with_metadata {
                if let Some(span) = chunk.text_only_span() {
                    self.text_shape.record(data, span);
                }
            }
            self.on_fast_chunk(chunk, out);
            return Ok(false);
        }
        self.decode_with_serde(data, out)
    }

    /// The serde path: every shape the fast reader leaves to it, and the error messages.
    fn decode_with_serde(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> Result<bool> {
        if self.metadata_sent {
            let chunk: ChatCompletionChunk<'_> = parse_chunk(data)?;
            return self.on_chunk(chunk, out);
        }
        let mut chunk: ChunkWithMetadata<'_> = parse_chunk(data)?;
        if chunk.error.is_none() && (chunk.id.0.is_some() || chunk.model.0.is_some()) {
            self.send_metadata(chunk.id.0.take(), chunk.model.0.take(), out);
        }
        self.on_chunk(chunk, out)
    }

    fn send_metadata(
        &mut self,
        id: Option<Cow<'_, str>>,
        model: Option<Cow<'_, str>>,
        out: &mut Vec<StreamEvent>,
    ) {
        self.metadata_sent = true;
        let owned = |s: Option<Cow<'_, str>>| s.filter(|s| !s.is_empty()).map(Cow::into_owned);
        out.push(StreamEvent::Metadata {
            id: owned(id),
            model: owned(model),
        });
    }

    /// A chunk read by [`read_chunk`]: the same events as [`on_chunk`](Self::on_chunk) gives
    /// for the serde types.
    fn on_fast_chunk(&mut self, chunk: FastChunk<'_>, out: &mut Vec<StreamEvent>) {
        if !self.metadata_sent && (chunk.id.is_some() || chunk.model.is_some()) {
            self.send_metadata(chunk.id, chunk.model, out);
        }
        if let Some(choice) = chunk.choice {
            if let Some(mut delta) = choice.delta {
                let calls = delta.tool_calls.take().into_iter().flatten();
                self.on_delta(delta, calls, out);
            }
            self.on_finish(choice.finish_reason.as_deref(), out);
        }
        if let Some(usage) = chunk.usage {
            out.push(StreamEvent::Usage(usage.to_usage()));
        }
    }

    fn on_finish(&mut self, reason: Option<&str>, out: &mut Vec<StreamEvent>) {
        if let Some(reason) = reason.filter(|r| !r.is_empty()) {
            self.flush_calls(out);
            out.push(StreamEvent::Finish {
                reason: finish_reason(reason),
            });
        }
    }

    /// Everything a chunk says besides its id and model.
    fn on_chunk<M>(
        &mut self,
        chunk: ChatCompletionChunk<'_, M>,
        out: &mut Vec<StreamEvent>,
    ) -> Result<bool> {
        if let Some(err) = chunk.error {
            return Err(stream_error(err.get().as_bytes()));
        }
        for choice in chunk.choices.into_iter().flatten() {
            // Only the first choice is read: the SDK never asks for `n > 1`.
            if choice.index.unwrap_or(0) != 0 {
                continue;
            }
            if let Some(mut delta) = choice.delta {
                let calls = delta.tool_calls.take().into_iter().flatten();
                self.on_delta(delta, calls, out);
            }
            self.on_finish(choice.finish_reason.0.as_deref(), out);
        }
        if let Some(usage) = chunk.usage {
            out.push(StreamEvent::Usage(usage.to_usage()));
        }
        Ok(false)
    }

    /// One delta; its tool-call fragments come separately (`delta.tool_calls` is not read).
    fn on_delta<'a>(
        &mut self,
        delta: ChunkDelta<'a>,
        calls: impl Iterator<Item = ToolCallDelta<'a>>,
        out: &mut Vec<StreamEvent>,
    ) {
        // A server that sends both names carries the same text in each.
        if let Some(r) = delta.reasoning_content.or(delta.reasoning) {
            if !r.as_str().is_empty() {
                out.push(StreamEvent::ReasoningDelta {
                    text: r.into_string(),
                });
            }
        }
        match delta.content {
            Some(DeltaContent::Text(t)) if !t.as_str().is_empty() => {
                out.push(StreamEvent::TextDelta {
                    text: t.into_string(),
                });
            }
            Some(DeltaContent::Parts(parts)) => {
                for p in parts {
                    match p {
                        DeltaPart::Thinking(text) => out.push(StreamEvent::ReasoningDelta { text }),
                        DeltaPart::Text(t) if !t.as_str().is_empty() => {
                            out.push(StreamEvent::TextDelta {
                                text: t.into_string(),
                            })
                        }
                        DeltaPart::Text(_) => {}
                    }
                }
            }
            _ => {}
        }
        if let Some(r) = delta.refusal.filter(|r| !r.as_str().is_empty()) {
            out.push(StreamEvent::TextDelta {
                text: r.into_string(),
            });
        }
        for (position, call) in calls.enumerate() {
            self.on_tool_call(position, call, out);
        }
    }

    fn on_tool_call(
        &mut self,
        position: usize,
        delta: ToolCallDelta<'_>,
        out: &mut Vec<StreamEvent>,
    ) {
        let wire_index = delta
            .index
            .unwrap_or_else(|| u32::try_from(position).unwrap_or(u32::MAX));
        let id = delta.id.filter(|s| !s.as_str().is_empty());
        let function = delta.function.unwrap_or_default();
        let name = function.name.filter(|s| !s.as_str().is_empty());
        let args = function.arguments.filter(|s| !s.as_str().is_empty());

        // The current call at this index continues unless the fragment brings a different
        // id: servers that reuse index 0 for parallel calls (or omit the index) still give
        // each call its own id.
        let slot = self
            .calls
            .iter()
            .rposition(|c| c.wire_index == wire_index)
            .filter(|&i| {
                let c = &self.calls[i];
                id.as_ref()
                    .is_none_or(|id| c.id.is_empty() || c.id == id.as_str())
            });
        let slot = match slot {
            Some(i) => i,
            None => {
                let index = u32::try_from(self.calls.len()).unwrap_or(u32::MAX);
                self.calls.push(CallState {
                    wire_index,
                    index,
                    id: String::new(),
                    name: String::new(),
                    started: false,
                    pending: String::new(),
                });
                self.calls.len() - 1
            }
        };
        let call = &mut self.calls[slot];
        if call.id.is_empty() {
            if let Some(id) = id {
                call.id = id.into_string();
            }
        }
        if call.name.is_empty() {
            if let Some(name) = name {
                call.name = name.into_string();
            }
        }
        if call.started {
            if let Some(a) = args {
                out.push(StreamEvent::ToolCallArgumentsDelta {
                    index: call.index,
                    delta: a.into_string(),
                });
            }
            return;
        }
        if let Some(a) = args {
            if call.pending.is_empty() {
                // Moved, not copied: a whole file's contents can arrive in one fragment.
                call.pending = a.into_string();
            } else {
                call.pending.push_str(a.as_str());
            }
        }
        if !call.id.is_empty() && !call.name.is_empty() {
            start_call(call, out);
        }
    }

    /// Starts every call still waiting for its id, when no more fragments can come.
    fn flush_calls(&mut self, out: &mut Vec<StreamEvent>) {
        for call in self.calls.iter_mut().filter(|c| !c.started) {
            if call.name.is_empty() && call.pending.is_empty() {
                continue;
            }
            if call.id.is_empty() {
                call.id = format!("call_{}", call.index);
            }
            start_call(call, out);
        }
    }
}

impl SseDecoder for ChatCompletionsDecoder {
    /// Decodes one event: an event named `error` is an error whatever its data, any other
    /// event is a chunk (or `[DONE]`).
    fn decode(&mut self, event: &SseEvent, out: &mut Vec<StreamEvent>) -> Result<bool> {
        if event.event.as_deref() == Some("error") {
            return Err(error_event(&event.data));
        }
        self.decode_data(&event.data, out)
    }
}

fn start_call(call: &mut CallState, out: &mut Vec<StreamEvent>) {
    call.started = true;
    out.push(StreamEvent::ToolCallStart {
        index: call.index,
        id: call.id.clone(),
        name: call.name.clone(),
    });
    if !call.pending.is_empty() {
        out.push(StreamEvent::ToolCallArgumentsDelta {
            index: call.index,
            delta: std::mem::take(&mut call.pending),
        });
    }
}

/// The error carried by an SSE event that the server named `error` (some gateways send
/// `event: error`), whatever the shape of its data.
pub fn error_event(data: &str) -> Error {
    stream_error(data.as_bytes())
}

/// A finish reason as the SDK names it. Servers built on other APIs leak their own words
/// (`eos`, `eos_token` from text-generation-inference, `end_turn` and `stop_sequence` from
/// Anthropic-backed gateways); they all mean a natural stop. Anything else unknown is kept.
///
/// ```
/// use cline_provider_core::FinishReason;
/// use cline_provider_openai::decode::finish_reason;
/// assert_eq!(finish_reason("eos_token"), FinishReason::Stop);
/// assert_eq!(finish_reason("tool_calls"), FinishReason::ToolCalls);
/// assert_eq!(finish_reason("weird"), FinishReason::Other("weird".into()));
/// ```
pub fn finish_reason(reason: &str) -> FinishReason {
    match reason {
        "eos" | "eos_token" | "end_turn" | "stop_sequence" => FinishReason::Stop,
        "tool_use" => FinishReason::ToolCalls,
        other => FinishReason::from(other),
    }
}

/// One chunk, or a protocol error quoting the start of what arrived.
fn parse_chunk<'a, T: serde::Deserialize<'a>>(data: &'a str) -> Result<T> {
    serde_json::from_str(data).map_err(|e| {
        Error::new(
            ErrorKind::Protocol,
            format!(
                "the endpoint sent a stream event that is not a chat-completions chunk ({e}); it starts with: {}",
                quote(data)
            ),
        )
    })
}

#[cfg(test)]
#[path = "decode_fast_tests.rs"]
mod fast_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use cline_provider_core::{Collector, Usage};

    fn run(datas: &[&str]) -> Result<(Vec<StreamEvent>, bool)> {
        let mut d = ChatCompletionsDecoder::new();
        let mut out = Vec::new();
        let mut done = false;
        for data in datas {
            done = d.decode_data(data, &mut out)?;
        }
        Ok((out, done))
    }

    fn text(s: &str) -> StreamEvent {
        StreamEvent::TextDelta { text: s.into() }
    }

    #[test]
    fn text_finish_usage_done() {
        let (events, done) = run(&[
            r#"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}"#,
            r#"{"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":"lo\n"},"finish_reason":null}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}"#,
            "[DONE]",
        ])
        .unwrap();
        assert!(done);
        assert_eq!(
            events,
            vec![
                StreamEvent::Metadata {
                    id: Some("c".into()),
                    model: None
                },
                text("Hel"),
                text("lo\n"),
                StreamEvent::Finish {
                    reason: FinishReason::Stop
                },
                StreamEvent::Usage(Usage {
                    input_tokens: 9,
                    output_tokens: 2,
                    ..Usage::default()
                }),
            ]
        );
    }

    #[test]
    fn reasoning_fields_either_name_once() {
        let (events, _) = run(&[
            r#"{"choices":[{"delta":{"reasoning_content":"a","content":null}}]}"#,
            r#"{"choices":[{"delta":{"reasoning":"b"}}]}"#,
            r#"{"choices":[{"delta":{"reasoning":"c","reasoning_content":"c"}}]}"#,
        ])
        .unwrap();
        let r = |s: &str| StreamEvent::ReasoningDelta { text: s.into() };
        assert_eq!(events, vec![r("a"), r("b"), r("c")]);
    }

    #[test]
    fn tool_calls_by_index_interleaved() {
        let (events, _) = run(&[
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":""}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"g","arguments":"{\"y\""}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\":1}"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"function":{"arguments":":2}"}}]}}]}"#,
            r#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#,
        ])
        .unwrap();
        let mut c = Collector::default();
        c.extend(events.clone());
        let resp = c.finish();
        assert_eq!(resp.tool_calls.len(), 2);
        assert_eq!(resp.tool_calls[0].id, "call_a");
        assert_eq!(resp.tool_calls[0].raw_arguments(), r#"{"x":1}"#);
        assert_eq!(resp.tool_calls[1].name, "g");
        assert_eq!(resp.tool_calls[1].raw_arguments(), r#"{"y":2}"#);
        assert_eq!(resp.finish_reason, Some(FinishReason::ToolCalls));
        // Exactly one start per call.
        let starts = events
            .iter()
            .filter(|e| matches!(e, StreamEvent::ToolCallStart { .. }))
            .count();
        assert_eq!(starts, 2);
    }

    #[test]
    fn arguments_before_name_are_held_back() {
        let (events, _) = run(&[
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\""}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"x","function":{"name":"f","arguments":":1"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"}"}}]}}]}"#,
        ])
        .unwrap();
        assert_eq!(
            events,
            vec![
                StreamEvent::ToolCallStart {
                    index: 0,
                    id: "x".into(),
                    name: "f".into()
                },
                StreamEvent::ToolCallArgumentsDelta {
                    index: 0,
                    delta: "{\"a\":1".into()
                },
                StreamEvent::ToolCallArgumentsDelta {
                    index: 0,
                    delta: "}".into()
                },
            ]
        );
    }

    #[test]
    fn missing_id_gets_one_when_the_choice_finishes() {
        let (events, done) = run(&[
            r#"{"choices":[{"delta":{"tool_calls":[{"function":{"name":"f","arguments":"{}"}}]}}]}"#,
            "[DONE]",
        ])
        .unwrap();
        assert!(done);
        assert_eq!(
            events,
            vec![
                StreamEvent::ToolCallStart {
                    index: 0,
                    id: "call_0".into(),
                    name: "f".into()
                },
                StreamEvent::ToolCallArgumentsDelta {
                    index: 0,
                    delta: "{}".into()
                },
            ]
        );
    }

    #[test]
    fn whole_calls_without_index_are_separate_calls() {
        // Servers that send each complete call in its own chunk, without an index.
        let (events, _) = run(&[
            r#"{"choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{\"n\":1}"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"id":"b","function":{"name":"f","arguments":"{\"n\":2}"}}]}}]}"#,
        ])
        .unwrap();
        let mut c = Collector::default();
        c.extend(events);
        let calls = c.finish().tool_calls;
        assert_eq!(calls.len(), 2);
        assert_eq!((calls[0].id.as_str(), calls[1].id.as_str()), ("a", "b"));
        assert_eq!(calls[1].raw_arguments(), r#"{"n":2}"#);
    }

    #[test]
    fn repeated_id_and_name_do_not_restart() {
        let (events, _) = run(&[
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"}"}}]}}]}"#,
        ])
        .unwrap();
        assert_eq!(events.len(), 3);
    }

    #[test]
    fn other_choices_are_ignored() {
        let (events, _) = run(&[r#"{"choices":[{"index":1,"delta":{"content":"no"}},{"index":0,"delta":{"content":"yes"}}]}"#]).unwrap();
        assert_eq!(events, vec![text("yes")]);
    }

    #[test]
    fn lenient_finish_reasons() {
        let (events, _) = run(&[
            r#"{"choices":[{"delta":{},"finish_reason":""}]}"#,
            r#"{"choices":[{"delta":{},"finish_reason":"eos_token"}]}"#,
            r#"{"choices":[{"delta":{},"finish_reason":"made_up"}]}"#,
            r#"{"choices":[{"delta":{},"finish_reason":7}]}"#,
        ])
        .unwrap();
        assert_eq!(
            events,
            vec![
                StreamEvent::Finish {
                    reason: FinishReason::Stop
                },
                StreamEvent::Finish {
                    reason: FinishReason::Other("made_up".into())
                },
            ]
        );
    }

    #[test]
    fn in_band_error_is_typed() {
        let err = run(&[
            r#"{"choices":[{"delta":{"content":"par"}}]}"#,
            r#"{"id":"x","object":"chat.completion.chunk","error":{"code":"server_error","message":"Provider disconnected"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}"#,
        ])
        .unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::StreamError);
        assert!(err.message().contains("Provider disconnected"));
        assert!(!err.hint().is_empty());
    }

    #[test]
    fn error_event_of_any_shape() {
        let mut d = ChatCompletionsDecoder::new();
        let mut out = Vec::new();
        let event = SseEvent::named(
            "error",
            r#"{"error":{"message":"quota","type":"insufficient_quota"}}"#,
        );
        let e = d.decode(&event, &mut out).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::QuotaExhausted);
        assert!(out.is_empty());
        // Unnamed events are chunks.
        assert!(d.decode(&SseEvent::new("[DONE]"), &mut out).unwrap());
        let e = error_event("upstream went away");
        assert_eq!(e.kind(), &ErrorKind::StreamError);
        assert!(e.message().contains("upstream went away"));
    }

    #[test]
    fn bad_payloads_are_protocol_errors_not_panics() {
        for bad in [
            "{",
            "<html>",
            "not json",
            "[1,2",
            r#"{"choices":{"x":1}}"#,
            r#"{"choices":[{"delta":{"content":5}}]}"#,
        ] {
            let err = run(&[bad]).unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::Protocol, "{bad}");
            assert!(err.hint().contains("OpenAI-compatible"));
        }
        let long = format!("{{{}", "x".repeat(5000));
        let err = run(&[&long]).unwrap_err();
        assert!(err.message().len() < 500);
    }

    #[test]
    fn blank_and_nulls_are_fine() {
        let (events, done) = run(&[
            "",
            "  ",
            r#"{"choices":null,"usage":null,"error":null}"#,
            r#"{"choices":[{"delta":null,"finish_reason":null}]}"#,
            r#"{"choices":[{"delta":{"content":null,"tool_calls":null,"reasoning":null}}]}"#,
        ])
        .unwrap();
        assert!(events.is_empty());
        assert!(!done);
    }

    #[test]
    fn refusal_is_text() {
        let (events, _) =
            run(&[r#"{"choices":[{"delta":{"refusal":"I can't help with that."}}]}"#]).unwrap();
        assert_eq!(events, vec![text("I can't help with that.")]);
    }
}
