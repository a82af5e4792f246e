//! The collector folds any event sequence into one response.

use cline_provider_core::{
    ChatResponse, Collector, FinishReason, StreamEvent, ToolArguments, Usage,
};
use serde_json::json;

fn collect(events: Vec<StreamEvent>) -> ChatResponse {
    let mut c = Collector::default();
    c.extend(events);
    c.finish()
}

fn start(index: u32, id: &str, name: &str) -> StreamEvent {
    StreamEvent::ToolCallStart {
        index,
        id: id.into(),
        name: name.into(),
    }
}

fn args(index: u32, delta: &str) -> StreamEvent {
    StreamEvent::ToolCallArgumentsDelta {
        index,
        delta: delta.into(),
    }
}

#[test]
fn two_interleaved_tool_calls_usage_last_and_unknown_finish_reason() {
    let usage = Usage {
        input_tokens: 120,
        output_tokens: 40,
        cached_input_tokens: 100,
        cache_write_tokens: 20,
        reasoning_tokens: 8,
        ..Usage::default()
    };
    let response = collect(vec![
        StreamEvent::ReasoningDelta {
            text: "Two lookups ".into(),
        },
        StreamEvent::ReasoningDelta {
            text: "are needed.".into(),
        },
        StreamEvent::TextDelta {
            text: "Checking ".into(),
        },
        start(0, "call_a", "get_weather"),
        args(0, "{\"city\":"),
        start(1, "call_b", "get_time"),
        args(1, "{\"tz\":\"Europe/"),
        args(0, "\"Paris\"}"),
        args(1, "Berlin\"}"),
        StreamEvent::TextDelta {
            text: "both.".into(),
        },
        StreamEvent::Finish {
            reason: FinishReason::from("eos_token"),
        },
        StreamEvent::Usage(usage),
    ]);

    assert_eq!(response.text, "Checking both.");
    assert_eq!(response.reasoning, "Two lookups are needed.");
    assert_eq!(response.tool_calls.len(), 2);
    let a = &response.tool_calls[0];
    assert_eq!(
        (a.index, a.id.as_str(), a.name.as_str()),
        (0, "call_a", "get_weather")
    );
    assert_eq!(a.arguments.value(), Some(&json!({"city": "Paris"})));
    let b = &response.tool_calls[1];
    assert_eq!(
        (b.index, b.id.as_str(), b.name.as_str()),
        (1, "call_b", "get_time")
    );
    assert_eq!(b.arguments.value(), Some(&json!({"tz": "Europe/Berlin"})));
    assert_eq!(response.usage, Some(usage));
    assert_eq!(usage.total_tokens(), 160);
    assert_eq!(
        response.finish_reason,
        Some(FinishReason::Other("eos_token".into()))
    );
}

#[test]
fn invalid_tool_arguments_keep_the_raw_text_and_say_why() {
    let response = collect(vec![start(0, "c1", "run"), args(0, "{\"cmd\": \"ls")]);
    match &response.tool_calls[0].arguments {
        ToolArguments::Invalid { raw, error } => {
            assert_eq!(raw, "{\"cmd\": \"ls");
            assert!(
                error.contains("EOF"),
                "error explains the parse failure: {error}"
            );
        }
        other => panic!("expected invalid arguments, got {other:?}"),
    }
    assert_eq!(response.tool_calls[0].raw_arguments(), "{\"cmd\": \"ls");
}

#[test]
fn a_tool_call_without_arguments_has_an_empty_object() {
    let response = collect(vec![start(3, "c9", "now")]);
    assert_eq!(
        response.tool_calls[0].arguments,
        ToolArguments::Parsed {
            value: json!({}),
            raw: "{}".into()
        }
    );
    assert_eq!(response.tool_calls[0].index, 3);
}

#[test]
fn a_later_usage_replaces_an_earlier_one() {
    let first = Usage {
        input_tokens: 5,
        ..Usage::default()
    };
    let last = Usage {
        input_tokens: 5,
        output_tokens: 9,
        ..Usage::default()
    };
    let response = collect(vec![StreamEvent::Usage(first), StreamEvent::Usage(last)]);
    assert_eq!(response.usage, Some(last));
}

#[test]
fn an_empty_stream_is_an_empty_response() {
    let response = collect(Vec::new());
    assert_eq!(response, ChatResponse::default());
}

#[test]
fn finish_reasons_are_lenient() {
    for (wire, expected) in [
        ("stop", FinishReason::Stop),
        ("length", FinishReason::Length),
        ("tool_calls", FinishReason::ToolCalls),
        ("function_call", FinishReason::ToolCalls),
        ("content_filter", FinishReason::ContentFilter),
        ("eos", FinishReason::Other("eos".into())),
        ("", FinishReason::Other(String::new())),
    ] {
        assert_eq!(FinishReason::from(wire), expected, "{wire}");
    }
    // Serde goes through the same lenient path, so an unknown reason never fails decoding.
    let r: FinishReason = serde_json::from_str("\"eos_token\"").unwrap();
    assert_eq!(r.as_str(), "eos_token");
    assert_eq!(
        serde_json::to_string(&FinishReason::ToolCalls).unwrap(),
        "\"tool_calls\""
    );
}
