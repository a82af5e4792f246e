//! Fixtures for the OpenAI chat-completions wire format.
//!
//! Shapes follow `CreateChatCompletionStreamResponse`, `CreateChatCompletionResponse`,
//! `ListModelsResponse` and `ErrorResponse` of the OpenAI OpenAPI description. Every
//! chunk of one stream shares [`ID`] and [`CREATED`], as the real API does.
//!
//! ```
//! use cline_provider_testkit::{openai, Reply};
//!
//! let frames = openai::text_stream("gpt-test", &["Hel", "lo"], "stop", Some((12, 2)));
//! assert_eq!(frames.len(), 5); // 2 pieces, finish, usage, [DONE]
//! let reply = Reply::sse(frames);
//! # let _ = reply;
//! ```

use serde_json::{json, Value};

use crate::reply::Reply;
use crate::server::RecordedRequest;
use crate::sse::SseFrame;

/// The `id` of every fixture completion.
pub const ID: &str = "chatcmpl-testkit";

/// The `created` timestamp of every fixture (2023-11-14T22:13:20Z).
pub const CREATED: u64 = 1_700_000_000;

/// The model name [`chunk`] uses.
pub const DEFAULT_MODEL: &str = "gpt-test";

/// A full `chat.completion.chunk` for [`DEFAULT_MODEL`] carrying `delta` in
/// `choices[0]`, with `finish_reason: null`.
///
/// ```
/// use cline_provider_testkit::openai;
/// use serde_json::json;
///
/// let c = openai::chunk(json!({"content": "Hi"}));
/// assert_eq!(c["object"], "chat.completion.chunk");
/// assert_eq!(c["choices"][0]["delta"]["content"], "Hi");
/// assert!(c["choices"][0]["finish_reason"].is_null());
/// ```
pub fn chunk(delta: Value) -> Value {
    chunk_with(DEFAULT_MODEL, delta, None)
}

/// A `chat.completion.chunk` for `model` with `delta` and an optional finish reason.
pub fn chunk_with(model: &str, delta: Value, finish_reason: Option<&str>) -> Value {
    json!({
        "id": ID,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "system_fingerprint": null,
        "choices": [{
            "index": 0,
            "delta": delta,
            "logprobs": null,
            "finish_reason": finish_reason,
        }],
    })
}

/// The chunk that ends a choice: empty delta, `finish_reason` set (`"stop"`,
/// `"length"`, `"tool_calls"`, `"content_filter"`, or anything a server invents).
pub fn finish_chunk(model: &str, finish_reason: &str) -> Value {
    chunk_with(model, json!({}), Some(finish_reason))
}

/// A `CompletionUsage` object; `total_tokens` is the sum.
///
/// ```
/// use cline_provider_testkit::openai;
/// assert_eq!(openai::usage(10, 5)["total_tokens"], 15);
/// ```
pub fn usage(prompt_tokens: u64, completion_tokens: u64) -> Value {
    json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    })
}

/// The last chunk sent when `stream_options.include_usage` is set: empty `choices`
/// and a `usage` object.
pub fn usage_chunk(model: &str, prompt_tokens: u64, completion_tokens: u64) -> Value {
    usage_chunk_with(model, usage(prompt_tokens, completion_tokens))
}

/// Like [`usage_chunk`] with any usage object (cached or reasoning token details…).
pub fn usage_chunk_with(model: &str, usage: Value) -> Value {
    json!({
        "id": ID,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "system_fingerprint": null,
        "choices": [],
        "usage": usage,
    })
}

/// A streamed text answer: one chunk per piece (the first also carries
/// `role: "assistant"`; with no pieces, one chunk with empty content), then the finish
/// chunk, then the usage chunk when `usage` is `Some((prompt, completion))`, then
/// `data: [DONE]`.
pub fn text_stream(
    model: &str,
    pieces: &[&str],
    finish: &str,
    usage: Option<(u64, u64)>,
) -> Vec<SseFrame> {
    reasoning_text_stream(model, &[], pieces, finish, usage)
}

/// Like [`text_stream`], preceded by `delta.reasoning_content` chunks (the field
/// DeepSeek, vLLM and others use). The first chunk of all carries `role: "assistant"`.
///
/// ```
/// use cline_provider_testkit::openai;
/// let frames = openai::reasoning_text_stream("m", &["think"], &["answer"], "stop", None);
/// assert!(frames[0].as_wire().contains("\"reasoning_content\":\"think\""));
/// assert_eq!(frames.len(), 4); // reasoning, text, finish, [DONE]
/// ```
pub fn reasoning_text_stream(
    model: &str,
    reasoning: &[&str],
    pieces: &[&str],
    finish: &str,
    usage: Option<(u64, u64)>,
) -> Vec<SseFrame> {
    let mut frames = Vec::with_capacity(reasoning.len() + pieces.len() + 3);
    let deltas = reasoning
        .iter()
        .map(|r| json!({"reasoning_content": r}))
        .chain(pieces.iter().map(|p| json!({"content": p})));
    let mut first = true;
    for mut delta in deltas {
        if std::mem::take(&mut first) {
            delta["role"] = json!("assistant");
        }
        frames.push(SseFrame::json(&chunk_with(model, delta, None)));
    }
    if first {
        let delta = json!({"role": "assistant", "content": ""});
        frames.push(SseFrame::json(&chunk_with(model, delta, None)));
    }
    finish_frames(&mut frames, model, finish, usage);
    frames
}

/// One tool call to stream with [`tool_call_stream`].
#[derive(Debug, Clone, Copy)]
pub struct ToolCall<'a> {
    /// The call id (`"call_1"`).
    pub id: &'a str,
    /// The function name.
    pub name: &'a str,
    /// The arguments JSON text, in the pieces it is streamed in.
    pub arguments: &'a [&'a str],
}

/// The first chunk of tool call `index`: id, type and name, empty arguments.
pub fn tool_call_start_chunk(model: &str, index: usize, id: &str, name: &str) -> Value {
    let delta = json!({
        "tool_calls": [{
            "index": index,
            "id": id,
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }]
    });
    chunk_with(model, delta, None)
}

/// A chunk adding `piece` to the arguments of tool call `index`.
pub fn tool_call_args_chunk(model: &str, index: usize, piece: &str) -> Value {
    let delta = json!({
        "tool_calls": [{"index": index, "function": {"arguments": piece}}]
    });
    chunk_with(model, delta, None)
}

/// Streamed tool calls, one after the other: for each call (with index = its position)
/// a start chunk then one chunk per arguments piece; then the finish chunk
/// (`"tool_calls"`), the usage chunk when asked, and `data: [DONE]`. The first chunk
/// also carries `role: "assistant"` and `content: null`.
///
/// ```
/// use cline_provider_testkit::openai::{self, ToolCall};
/// let frames = openai::tool_call_stream(
///     "m",
///     &[ToolCall { id: "call_1", name: "get_weather", arguments: &["{\"city\":", "\"Paris\"}"] }],
///     None,
/// );
/// assert_eq!(frames.len(), 5); // start, 2 argument pieces, finish, [DONE]
/// ```
pub fn tool_call_stream(
    model: &str,
    calls: &[ToolCall<'_>],
    usage: Option<(u64, u64)>,
) -> Vec<SseFrame> {
    let mut frames = Vec::new();
    for (index, call) in calls.iter().enumerate() {
        let mut start = tool_call_start_chunk(model, index, call.id, call.name);
        if index == 0 {
            start["choices"][0]["delta"]["role"] = json!("assistant");
            start["choices"][0]["delta"]["content"] = Value::Null;
        }
        frames.push(SseFrame::json(&start));
        for piece in call.arguments {
            frames.push(SseFrame::json(&tool_call_args_chunk(model, index, piece)));
        }
    }
    finish_frames(&mut frames, model, "tool_calls", usage);
    frames
}

fn finish_frames(frames: &mut Vec<SseFrame>, model: &str, finish: &str, usage: Option<(u64, u64)>) {
    frames.push(SseFrame::json(&finish_chunk(model, finish)));
    if let Some((prompt, completion)) = usage {
        frames.push(SseFrame::json(&usage_chunk(model, prompt, completion)));
    }
    frames.push(SseFrame::done());
}

/// A non-streaming `chat.completion` with one assistant message.
///
/// ```
/// use cline_provider_testkit::openai;
/// let c = openai::completion("m", "Hello", "stop", (3, 1));
/// assert_eq!(c["choices"][0]["message"]["content"], "Hello");
/// assert_eq!(c["usage"]["total_tokens"], 4);
/// ```
pub fn completion(model: &str, text: &str, finish: &str, usage: (u64, u64)) -> Value {
    json!({
        "id": ID,
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "system_fingerprint": null,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text, "refusal": null},
            "logprobs": null,
            "finish_reason": finish,
        }],
        "usage": self::usage(usage.0, usage.1),
    })
}

/// An OpenAI error body: `{"error":{"message","type","param":null,"code"}}`.
///
/// `code` takes a `&str` or an `Option<&str>` (`None` sends `"code": null`).
///
/// ```
/// use cline_provider_testkit::openai;
/// let e = openai::error_body("Incorrect API key provided", "invalid_request_error", "invalid_api_key");
/// assert_eq!(e["error"]["code"], "invalid_api_key");
/// assert!(e["error"]["param"].is_null());
/// let e = openai::error_body("Overloaded", "server_error", None);
/// assert!(e["error"]["code"].is_null());
/// ```
pub fn error_body<'a>(message: &str, kind: &str, code: impl Into<Option<&'a str>>) -> Value {
    json!({
        "error": {
            "message": message,
            "type": kind,
            "param": null,
            "code": code.into(),
        }
    })
}

/// A JSON error reply with status `status` and an [`error_body`].
pub fn error_reply<'a>(
    status: u16,
    message: &str,
    kind: &str,
    code: impl Into<Option<&'a str>>,
) -> Reply {
    Reply::json(status, error_body(message, kind, code))
}

/// A `401 invalid_api_key` whose message quotes the credentials the request carried, as
/// careless gateways do: the `Authorization`, `api-key` and `x-api-key` headers and a
/// `subscription-key` or `api-key` query parameter. For proving that a client scrubs what the
/// server echoes: use it with [`TestServer::route_fn`](crate::TestServer::route_fn).
///
/// ```
/// use cline_provider_testkit::{openai, RecordedRequest};
/// let req = RecordedRequest {
///     method: "POST".into(),
///     path: "/v1/chat/completions".into(),
///     query: None,
///     headers: vec![("authorization".into(), "Bearer sk-echo".into())],
///     body: Default::default(),
/// };
/// let reply = openai::echo_credentials(&req);
/// # let _ = reply;
/// ```
pub fn echo_credentials(request: &RecordedRequest) -> Reply {
    let mut seen: Vec<String> = ["authorization", "api-key", "x-api-key"]
        .iter()
        .filter_map(|h| request.header(h).map(|v| format!("{h}: {v}")))
        .collect();
    for pair in request.query.as_deref().unwrap_or("").split('&') {
        if let Some((k, v)) = pair.split_once('=') {
            if k == "subscription-key" || k == "api-key" {
                seen.push(format!("{k}={v}"));
            }
        }
    }
    let message = if seen.is_empty() {
        "No credentials were provided.".to_owned()
    } else {
        format!("Incorrect API key provided: {}.", seen.join(", "))
    };
    error_reply(401, &message, "invalid_request_error", "invalid_api_key")
}

/// A model list: `{"object":"list","data":[{"id","object":"model","created","owned_by"}]}`.
///
/// ```
/// use cline_provider_testkit::openai;
/// let list = openai::models(&["a", "b"]);
/// assert_eq!(list["data"][1]["id"], "b");
/// ```
pub fn models(ids: &[&str]) -> Value {
    let data: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({
                "id": id,
                "object": "model",
                "created": CREATED,
                "owned_by": "testkit",
            })
        })
        .collect();
    json!({"object": "list", "data": data})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(frame: &SseFrame) -> Value {
        let wire = frame.as_wire();
        let data = wire
            .strip_prefix("data: ")
            .and_then(|rest| rest.strip_suffix("\n\n"))
            .unwrap_or_else(|| panic!("not a single data event: {wire:?}"));
        serde_json::from_str(data).unwrap_or_else(|e| panic!("bad JSON {data:?}: {e}"))
    }

    #[test]
    fn chunks_follow_the_stream_response_shape() {
        let c = chunk_with("m", json!({"content": "x"}), Some("length"));
        for key in ["id", "object", "created", "model", "choices"] {
            assert!(c.get(key).is_some(), "missing {key}");
        }
        let choice = &c["choices"][0];
        assert_eq!(choice["index"], 0);
        assert_eq!(choice["finish_reason"], "length");
        assert_eq!(choice["delta"]["content"], "x");
    }

    #[test]
    fn text_stream_layout() {
        let frames = text_stream("m", &["a", "b"], "stop", Some((7, 2)));
        assert_eq!(frames.len(), 5);
        let first = parse(&frames[0]);
        assert_eq!(
            first["choices"][0]["delta"],
            json!({"role": "assistant", "content": "a"})
        );
        assert_eq!(
            parse(&frames[1])["choices"][0]["delta"],
            json!({"content": "b"})
        );
        assert_eq!(parse(&frames[2])["choices"][0]["finish_reason"], "stop");
        let usage = parse(&frames[3]);
        assert_eq!(usage["choices"], json!([]));
        assert_eq!(
            usage["usage"],
            json!({"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9})
        );
        assert_eq!(frames[4], SseFrame::done());
    }

    #[test]
    fn empty_text_stream_still_opens_the_message() {
        let frames = text_stream("m", &[], "stop", None);
        assert_eq!(frames.len(), 3);
        assert_eq!(
            parse(&frames[0])["choices"][0]["delta"],
            json!({"role": "assistant", "content": ""})
        );
    }

    #[test]
    fn tool_calls_are_indexed_in_order() {
        let calls = [
            ToolCall {
                id: "call_a",
                name: "f",
                arguments: &["{}"],
            },
            ToolCall {
                id: "call_b",
                name: "g",
                arguments: &["{\"x\"", ":1}"],
            },
        ];
        let frames = tool_call_stream("m", &calls, Some((1, 1)));
        assert_eq!(frames.len(), 2 + 3 + 3);
        let start_b = parse(&frames[2]);
        let call = &start_b["choices"][0]["delta"]["tool_calls"][0];
        assert_eq!(call["index"], 1);
        assert_eq!(call["id"], "call_b");
        assert_eq!(call["function"]["name"], "g");
        let args: String = frames[3..5]
            .iter()
            .map(|f| {
                parse(f)["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(args, "{\"x\":1}");
        assert_eq!(
            parse(&frames[5])["choices"][0]["finish_reason"],
            "tool_calls"
        );
        assert!(parse(&frames[0])["choices"][0]["delta"]["content"].is_null());
    }

    #[test]
    fn error_body_shape() {
        let e = error_body("m", "t", Some("c"));
        assert_eq!(
            e,
            json!({"error": {"message": "m", "type": "t", "param": null, "code": "c"}})
        );
    }

    #[test]
    fn models_shape() {
        let list = models(&["x"]);
        assert_eq!(
            list,
            json!({"object": "list", "data": [{"id": "x", "object": "model", "created": CREATED, "owned_by": "testkit"}]})
        );
    }
}
