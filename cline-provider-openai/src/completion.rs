//! A whole reply: the `chat.completion` JSON of a request sent with `stream: false`, read into
//! the same [`ChatResponse`] a collected stream gives.
//!
//! The document is turned into the events a stream would have carried and folded by the same
//! [`Collector`], so both paths agree by construction: text, reasoning (`reasoning_content` or
//! `reasoning`), tool calls (arguments as the model wrote them; an object, as Ollama sends
//! them, is written out as JSON), finish reason, usage, id, model and cost.

use cline_provider_core::{
    ChatResponse, Collector, Error, ErrorKind, ModelInfo, Result, StreamEvent,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::decode::finish_reason;
use crate::errors::stream_error;
use crate::wire::{LenientStr, WireUsage};

/// `chat.completion`, with what servers add.
#[derive(Debug, Deserialize)]
struct Completion<'a> {
    #[serde(borrow, default)]
    id: LenientStr<'a>,
    #[serde(borrow, default)]
    model: LenientStr<'a>,
    #[serde(default)]
    choices: Option<Vec<Choice>>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    message: Option<ChoiceMessage>,
    #[serde(default)]
    finish_reason: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<Value>,
    #[serde(default)]
    reasoning_content: Option<String>,
    #[serde(default)]
    reasoning: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

#[derive(Debug, Deserialize)]
struct WireToolCall {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<WireFunction>,
}

#[derive(Debug, Deserialize)]
struct WireFunction {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<Value>,
}

/// Reads a `chat.completion` body into a [`ChatResponse`], priced with `prices`.
///
/// # Errors
///
/// A body that is an error document (`{"error": …}` with a 200) is typed like an in-band
/// error; anything that is not a completion is [`ErrorKind::Protocol`].
///
/// ```
/// use cline_provider_openai::completion::parse_completion;
/// let body = br#"{"id":"chatcmpl-1","model":"m-2024","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#;
/// let reply = parse_completion(body, None).unwrap();
/// assert_eq!((reply.text.as_str(), reply.model.as_deref()), ("Hi", Some("m-2024")));
/// ```
pub fn parse_completion(body: &[u8], prices: Option<ModelInfo>) -> Result<ChatResponse> {
    let completion: Completion<'_> = serde_json::from_slice(body).map_err(|e| {
        Error::new(
            ErrorKind::Protocol,
            format!("the reply is not a chat.completion JSON document ({e})"),
        )
    })?;
    if let Some(err) = completion.error {
        return Err(stream_error(err.get().as_bytes()));
    }
    let Some(choices) = completion.choices else {
        return Err(Error::new(
            ErrorKind::Protocol,
            "the reply is not a chat.completion JSON document (it has no `choices`)",
        ));
    };
    let mut events = Vec::new();
    events.push(StreamEvent::Metadata {
        id: completion.id.0.map(|s| s.into_owned()),
        model: completion.model.0.map(|s| s.into_owned()),
    });
    // Only the first choice is read: the SDK never asks for `n > 1`.
    if let Some(choice) = choices.into_iter().find(|c| c.index.unwrap_or(0) == 0) {
        let message = choice.message.unwrap_or_default();
        if let Some(r) = message
            .reasoning_content
            .or(message.reasoning)
            .filter(|r| !r.is_empty())
        {
            events.push(StreamEvent::ReasoningDelta { text: r });
        }
        let text = content_text(message.content.as_ref());
        if !text.is_empty() {
            events.push(StreamEvent::TextDelta { text });
        }
        if let Some(r) = message.refusal.filter(|r| !r.is_empty()) {
            events.push(StreamEvent::TextDelta { text: r });
        }
        for (position, call) in message.tool_calls.into_iter().flatten().enumerate() {
            let index = u32::try_from(position).unwrap_or(u32::MAX);
            let function = call.function.unwrap_or(WireFunction {
                name: None,
                arguments: None,
            });
            events.push(StreamEvent::ToolCallStart {
                index,
                id: call
                    .id
                    .filter(|id| !id.is_empty())
                    .unwrap_or_else(|| format!("call_{index}")),
                name: function.name.unwrap_or_default(),
            });
            let arguments = match function.arguments {
                Some(Value::String(s)) => s,
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            if !arguments.is_empty() {
                events.push(StreamEvent::ToolCallArgumentsDelta {
                    index,
                    delta: arguments,
                });
            }
        }
        if let Some(Value::String(reason)) = choice.finish_reason {
            if !reason.is_empty() {
                events.push(StreamEvent::Finish {
                    reason: finish_reason(&reason),
                });
            }
        }
    }
    if let Some(usage) = completion.usage {
        events.push(StreamEvent::Usage(usage.to_usage()));
    }
    let mut collector = Collector::priced(prices);
    collector.extend(events);
    Ok(collector.finish())
}

/// `content` as a string, or the text parts of an array of parts.
fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter(|p| {
                p.get("type")
                    .and_then(Value::as_str)
                    .is_none_or(|t| t == "text")
            })
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cline_provider_core::FinishReason;

    #[test]
    fn tool_calls_keep_their_raw_arguments() {
        let body = br#"{"id":"c","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,
            "tool_calls":[{"id":"call_9","type":"function","function":{"name":"f","arguments":"{ \"b\": 1, \"a\": 2 }"}},
                          {"type":"function","function":{"name":"g","arguments":{"x":1}}}]},"finish_reason":"tool_calls"}]}"#;
        let r = parse_completion(body, None).unwrap();
        assert_eq!(r.finish_reason, Some(FinishReason::ToolCalls));
        assert_eq!(r.tool_calls[0].raw_arguments(), "{ \"b\": 1, \"a\": 2 }");
        assert_eq!(r.tool_calls[1].id, "call_1");
        assert_eq!(r.tool_calls[1].raw_arguments(), r#"{"x":1}"#);
    }

    #[test]
    fn reasoning_usage_and_cost() {
        let body = br#"{"choices":[{"message":{"content":"ok","reasoning_content":"hm"},"finish_reason":"stop"}],
            "usage":{"prompt_tokens":1000000,"completion_tokens":1000000}}"#;
        let mut prices = ModelInfo::new("m");
        prices.input_price = Some(1.0);
        prices.output_price = Some(2.0);
        let r = parse_completion(body, Some(prices)).unwrap();
        assert_eq!((r.reasoning.as_str(), r.text.as_str()), ("hm", "ok"));
        assert_eq!(r.cost, Some(3.0));
    }

    #[test]
    fn errors_and_non_completions() {
        let e = parse_completion(
            br#"{"error":{"message":"slow down","code":"rate_limit_exceeded"}}"#,
            None,
        )
        .unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::RateLimited);
        for bad in [&b"{}"[..], b"[]", b"<html>", b"{\"data\":[]}"] {
            assert_eq!(
                parse_completion(bad, None).unwrap_err().kind(),
                &ErrorKind::Protocol
            );
        }
    }
}
