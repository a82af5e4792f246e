//! The offline demo endpoint speaks enough OpenAI to drive the `chat` example.

mod common;

use std::time::Duration;

use cline_provider_testkit::{demo, TestServer};
use common::{client, sse_data, sse_events};
use serde_json::{json, Value};

async fn demo_server() -> TestServer {
    demo::start_with_pacing(Duration::ZERO)
        .await
        .expect("demo starts")
}

async fn chat(server: &TestServer, body: Value) -> reqwest::Response {
    client()
        .post(format!("{}/v1/chat/completions", server.url()))
        .header("authorization", "Bearer demo")
        .json(&body)
        .send()
        .await
        .expect("response")
}

/// Parses an SSE body into JSON chunks, checking the stream ends with exactly one `[DONE]`.
fn chunks(body: &str) -> Vec<Value> {
    let events = sse_events(body);
    let (last, rest) = events.split_last().expect("at least one event");
    assert_eq!(sse_data(last), "[DONE]", "the stream ends with [DONE]");
    rest.iter()
        .map(|event| {
            let data = sse_data(event);
            assert_ne!(data, "[DONE]", "[DONE] only at the end");
            serde_json::from_str(&data).unwrap_or_else(|e| panic!("chunk {data:?}: {e}"))
        })
        .collect()
}

fn delta_text(chunks: &[Value], field: &str) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"][field].as_str())
        .collect()
}

#[tokio::test]
async fn lists_the_demo_models() {
    let server = demo_server().await;
    let response = client()
        .get(format!("{}/v1/models", server.url()))
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 200);
    let list: Value = response.json().await.expect("json");
    assert_eq!(list["object"], "list");
    let ids: Vec<&str> = list["data"]
        .as_array()
        .expect("data array")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, demo::MODELS);
    assert!(list["data"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|m| m["object"] == "model"));
}

#[tokio::test]
async fn streams_reasoning_then_an_answer_quoting_the_user() {
    let server = demo_server().await;
    let response = chat(
        &server,
        json!({
            "model": "demo-reasoner",
            "stream": true,
            "stream_options": {"include_usage": true},
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "an older question"},
                {"role": "assistant", "content": "an older answer"},
                {"role": "user", "content": [{"type": "text", "text": "What is   Rust?"}]}
            ]
        }),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let body = response.text().await.expect("body");
    let chunks = chunks(&body);

    let reasoning = delta_text(&chunks, "reasoning_content");
    let answer = delta_text(&chunks, "content");
    assert!(!reasoning.is_empty());
    assert!(answer.contains("\"What is Rust?\""), "{answer}");
    assert!(!answer.contains("older question"), "{answer}");
    assert!(answer.contains("offline demo endpoint"), "{answer}");
    assert!(
        answer.contains("OPENAI_BASE_URL") && answer.contains("OPENAI_API_KEY"),
        "{answer}"
    );

    let first_answer = chunks
        .iter()
        .position(|c| c["choices"][0]["delta"]["content"].is_string())
        .expect("answer chunks");
    let last_reasoning = chunks
        .iter()
        .rposition(|c| c["choices"][0]["delta"]["reasoning_content"].is_string())
        .expect("reasoning chunks");
    assert!(last_reasoning < first_answer, "reasoning comes first");
    assert!(chunks.len() > 20, "word-sized chunks, got {}", chunks.len());
    assert!(chunks.iter().all(|c| c["model"] == "demo-reasoner"));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");

    let usage_chunk = chunks.last().expect("usage chunk");
    assert_eq!(usage_chunk["choices"], json!([]));
    let usage = &usage_chunk["usage"];
    let prompt = usage["prompt_tokens"].as_u64().expect("prompt tokens");
    let completion = usage["completion_tokens"]
        .as_u64()
        .expect("completion tokens");
    assert!(prompt > 0 && completion > 0);
    assert_eq!(usage["total_tokens"].as_u64(), Some(prompt + completion));
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
}

#[tokio::test]
async fn usage_is_left_out_unless_asked() {
    let server = demo_server().await;
    let body = chat(
        &server,
        json!({"model": "demo-chat", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await
    .text()
    .await
    .expect("body");
    let chunks = chunks(&body);
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));
    assert_eq!(
        chunks.last().map(|c| &c["choices"][0]["finish_reason"]),
        Some(&json!("stop"))
    );
}

#[tokio::test]
async fn answers_with_one_json_completion_when_not_streaming() {
    let server = demo_server().await;
    let response = chat(
        &server,
        json!({"messages": [{"role": "user", "content": "hello there"}]}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let completion: Value = response.json().await.expect("json");
    assert_eq!(completion["object"], "chat.completion");
    assert_eq!(completion["model"], demo::DEFAULT_MODEL);
    let message = &completion["choices"][0]["message"];
    assert_eq!(message["role"], "assistant");
    let text = message["content"].as_str().expect("content");
    assert!(text.contains("\"hello there\""), "{text}");
    assert!(message["reasoning_content"].is_string());
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");
    assert!(completion["usage"]["total_tokens"]
        .as_u64()
        .is_some_and(|t| t > 0));
}

#[tokio::test]
async fn bad_json_gets_an_openai_400() {
    let server = demo_server().await;
    let response = client()
        .post(format!("{}/v1/chat/completions", server.url()))
        .header("content-type", "application/json")
        .body("{\"messages\": [")
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(body["error"]["param"].is_null());
    assert!(body["error"]["code"].is_null());
    let message = body["error"]["message"].as_str().expect("message");
    assert!(message.contains("not valid JSON"), "{message}");
}

#[tokio::test]
async fn missing_messages_get_an_openai_400() {
    let server = demo_server().await;
    let response = chat(&server, json!({"model": "demo-chat", "messages": "hi"})).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["param"], "messages");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("'messages'")));
}

#[tokio::test]
async fn default_pacing_still_streams_a_complete_answer() {
    let server = demo::start().await.expect("demo starts");
    let body = chat(
        &server,
        json!({"stream": true, "messages": [{"role": "user", "content": "paced"}]}),
    )
    .await
    .text()
    .await
    .expect("body");
    let chunks = chunks(&body);
    assert!(delta_text(&chunks, "content").contains("\"paced\""));
}

#[tokio::test]
async fn other_paths_are_404() {
    let server = demo_server().await;
    let response = client()
        .post(format!("{}/chat/completions", server.url()))
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 404);
}

fn weather_tool() -> Value {
    json!({"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}})
}

fn clock_tool() -> Value {
    json!({"type": "function", "function": {"name": "clock", "parameters": {
        "type": "object", "properties": {"offset": {"type": "integer"}}, "required": ["offset"]}}})
}

#[tokio::test]
async fn with_tools_it_calls_each_once_then_reports_what_they_said() {
    let server = demo_server().await;
    let user = json!({"role": "user", "content": "Weather in Paris, clock at +2?"});
    let tools = json!([weather_tool(), clock_tool()]);

    // Turn 1 (streamed): the first tool, arguments from the schema and the user's words.
    let body = chat(
        &server,
        json!({"model": "demo-chat", "stream": true, "messages": [user], "tools": tools}),
    )
    .await
    .text()
    .await
    .expect("body");
    let turn1 = chunks(&body);
    let args: String = turn1
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert_eq!(
        turn1[0]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"],
        "get_weather"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&args).expect("json"),
        json!({"city": "Paris"})
    );
    assert!(turn1
        .iter()
        .any(|c| c["choices"][0]["finish_reason"] == "tool_calls"));

    // Turn 2 (not streamed): the other tool.
    let assistant1 = json!({"role": "assistant", "content": null, "tool_calls": [
        {"id": "call_demo_1", "type": "function", "function": {"name": "get_weather", "arguments": args}}]});
    let result1 = json!({"role": "tool", "tool_call_id": "call_demo_1", "content": "rain"});
    let reply: Value = chat(
        &server,
        json!({"model": "demo-chat", "messages": [user, assistant1, result1], "tools": tools}),
    )
    .await
    .json()
    .await
    .expect("json");
    let call = &reply["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "clock");
    assert_eq!(
        serde_json::from_str::<Value>(call["function"]["arguments"].as_str().unwrap()).unwrap(),
        json!({"offset": 2})
    );

    // Turn 3: every tool answered, so the demo answers with their results.
    let assistant2 = json!({"role": "assistant", "content": null, "tool_calls": [
        {"id": "call_demo_2", "type": "function", "function": {"name": "clock", "arguments": "{\"offset\":2}"}}]});
    let result2 = json!({"role": "tool", "tool_call_id": "call_demo_2", "content": "14:00"});
    let reply: Value = chat(&server, json!({"model": "demo-chat", "messages": [user, assistant1, result1, assistant2, result2], "tools": tools}))
        .await
        .json()
        .await
        .expect("json");
    let text = reply["choices"][0]["message"]["content"]
        .as_str()
        .expect("text");
    assert!(text.contains("get_weather said \"rain\""), "{text}");
    assert!(text.contains("clock said \"14:00\""), "{text}");
    assert_eq!(reply["choices"][0]["finish_reason"], "stop");

    // `tool_choice: "none"` means an ordinary answer.
    let reply: Value = chat(
        &server,
        json!({"model": "demo-chat", "messages": [user], "tools": tools, "tool_choice": "none"}),
    )
    .await
    .json()
    .await
    .expect("json");
    assert!(reply["choices"][0]["message"]["tool_calls"].is_null());
}

#[tokio::test]
async fn the_rejected_demo_key_gets_a_401_like_a_real_endpoint() {
    let server = demo_server().await;
    let response = client()
        .post(format!("{}/v1/chat/completions", server.url()))
        .header(
            "authorization",
            format!("Bearer {}", demo::REJECTED_API_KEY),
        )
        .json(&json!({"model": "demo-chat", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "invalid_api_key");
}
