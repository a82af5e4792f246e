//! The request built from a multi-turn history (instructions from system and developer
//! messages, user text and images, assistant reasoning, text and parallel tool calls, tool
//! results with and without images), as the fake Codex endpoint received it, compared field by
//! field with the body the Responses API expects.

mod common;

use cline_provider_core::{
    ChatRequest, Collector, ImageSource, Message, Provider, Role, Tool, ToolChoice,
};
use cline_provider_testkit::responses::Turn;
use common::{drain, Codex};
use serde_json::{json, Value};

const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

/// Every field of `want` equals the same field of `got`, and `got` has no other field; a
/// failure names the path.
fn same_fields(path: &str, got: &Value, want: &Value) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for (k, wv) in w {
                let gv = g
                    .get(k)
                    .unwrap_or_else(|| panic!("{path}.{k} is missing; the request has {got}"));
                same_fields(&format!("{path}.{k}"), gv, wv);
            }
            for k in g.keys() {
                assert!(
                    w.contains_key(k),
                    "{path}.{k} was sent but not expected: {}",
                    g[k]
                );
            }
        }
        (Value::Array(g), Value::Array(w)) => {
            assert_eq!(
                g.len(),
                w.len(),
                "{path} has {} items, expected {}: {got}",
                g.len(),
                w.len()
            );
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                same_fields(&format!("{path}[{i}]"), gv, wv);
            }
        }
        _ => assert_eq!(got, want, "{path}"),
    }
}

#[tokio::test]
async fn a_multi_turn_history_with_images_and_tool_results_becomes_the_expected_input() {
    let codex = Codex::signed_in().await;
    codex.backend.push(
        Turn::new()
            .reasoning(&["Look up both."])
            .function_call("call_a", "lookup", &["{\"q\":\"a\"}"])
            .function_call("call_b", "lookup", &["{\"q\":\"b\"}"])
            .usage(100, 0, 20, 10),
    );
    codex.backend.push(Turn::text(&["Done."]));
    let provider = codex
        .provider()
        .session_id("0196f6a0-1111-7000-8000-00000000abcd");
    let lookup = Tool::function(
        "lookup",
        "Looks something up",
        json!({"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"], "additionalProperties": false}),
    );
    let mut strict = lookup.clone();
    strict.name = "strict_lookup".into();
    strict.strict = Some(true);

    let first = ChatRequest::new("gpt-5.5")
        .message(Message::system("You are a careful assistant."))
        .message(
            Message::user("What is in this picture?").with_image(ImageSource::Base64 {
                media_type: "image/png".into(),
                data: PNG.into(),
            }),
        )
        .tool(lookup.clone());
    let (events, err) = drain(provider.stream(first.clone()).await).await;
    assert!(err.is_none(), "{err:?} {:?}", codex.backend.refusals());
    let mut c = Collector::default();
    c.extend(events);
    let reply = c.finish();
    assert_eq!(reply.tool_calls.len(), 2);

    let calls = reply
        .tool_calls
        .iter()
        .map(|t| cline_provider_core::ToolCall {
            id: t.id.clone(),
            name: t.name.clone(),
            arguments: t.raw_arguments().to_string(),
        })
        .collect();
    let mut second = first
        .message(Message::assistant_tool_calls("", calls).with_reasoning(reply.reasoning_items))
        .message(Message::tool_result("call_a", "a is 1"))
        .message(
            Message::tool_result("call_b", "b is in the chart").with_image(ImageSource::Url {
                url: "https://example.com/chart.png".into(),
            }),
        )
        .message(Message::developer("Answer in one word."))
        .message(Message::assistant("Reading."))
        .message(Message::user("Thanks. Summary?"))
        .tool(strict);
    second.tool_choice = Some(ToolChoice::Function("lookup".into()));
    // A reasoning item of another provider never reaches this one.
    second.messages[6] =
        second.messages[6]
            .clone()
            .with_reasoning(vec![cline_provider_core::ReasoningItem::new(
                "azure",
                json!({"encrypted_content": "not-ours"}),
            )]);
    assert_eq!(second.messages[6].role, Role::Assistant);
    let (_, err) = drain(provider.stream(second).await).await;
    assert!(err.is_none(), "{err:?} {:?}", codex.backend.refusals());

    let issued = codex.backend.issued_encrypted_contents();
    let got = codex.backend.responses_requests()[1]
        .json()
        .expect("json body");
    let want = json!({
        "model": "gpt-5.5",
        "instructions": "You are a careful assistant.\n\nAnswer in one word.",
        "input": [
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "What is in this picture?"},
                {"type": "input_image", "image_url": format!("data:image/png;base64,{PNG}"), "detail": "auto"},
            ]},
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Look up both."}], "encrypted_content": issued[0]},
            {"type": "function_call", "call_id": "call_a", "name": "lookup", "arguments": "{\"q\":\"a\"}"},
            {"type": "function_call", "call_id": "call_b", "name": "lookup", "arguments": "{\"q\":\"b\"}"},
            {"type": "function_call_output", "call_id": "call_a", "output": "a is 1"},
            {"type": "function_call_output", "call_id": "call_b", "output": [
                {"type": "input_text", "text": "b is in the chart"},
                {"type": "input_image", "image_url": "https://example.com/chart.png", "detail": "auto"},
            ]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Reading."}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Thanks. Summary?"}]},
        ],
        "tools": [
            {"type": "function", "name": "lookup", "description": "Looks something up", "parameters": lookup.parameters, "strict": false},
            {"type": "function", "name": "strict_lookup", "description": "Looks something up", "parameters": lookup.parameters, "strict": true},
        ],
        "tool_choice": {"type": "function", "name": "lookup"},
        "parallel_tool_calls": true,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "include": ["reasoning.encrypted_content"],
        "store": false,
        "stream": true,
        "prompt_cache_key": "0196f6a0-1111-7000-8000-00000000abcd",
    });
    same_fields("body", &got, &want);
}
