//! The offline demo endpoint: what the `chat` example talks to when nothing is configured.
//!
//! An OpenAI-compatible server on `127.0.0.1` (base URL `{url}/v1`) that lists a few
//! demo models and answers every chat by quoting the last user message and explaining
//! how to reach a real endpoint. It streams a short reasoning part, then the answer in
//! word-sized chunks, then usage (when `stream_options.include_usage` is true) and
//! `[DONE]`; without `stream: true` it returns one `chat.completion` object.
//!
//! **Tools.** When the request offers tools (and `tool_choice` is not `"none"`), the demo
//! calls each of them once, one per turn in the order offered, with arguments made from the
//! tool's JSON Schema and the user's words (a string parameter gets the last capitalised word
//! of the message, so "weather in Paris" calls `{"city": "Paris"}`; a number gets the first
//! number). Once every tool has answered, it replies with what the tools said.
//!
//! **Keys.** Any API key, or none, is accepted, except [`REJECTED_API_KEY`], which gets the
//! `401 invalid_api_key` a real endpoint sends for a wrong key.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let server = cline_provider_testkit::demo::start().await?;
//! let base_url = format!("{}/v1", server.url());
//! assert!(base_url.ends_with("/v1"));
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use serde_json::{json, Value};

use crate::openai;
use crate::reply::Reply;
use crate::server::{RecordedRequest, TestServer};

/// The model ids `GET /v1/models` lists.
pub const MODELS: &[&str] = &["demo-chat", "demo-reasoner"];

/// The model answered for when the request names none.
pub const DEFAULT_MODEL: &str = "demo-chat";

/// The pause between streamed chunks used by [`start`], so the answer visibly streams.
pub const DEFAULT_PACING: Duration = Duration::from_millis(10);

/// The one API key the demo refuses, with OpenAI's `401 invalid_api_key`: for trying what a
/// wrong key looks like.
pub const REJECTED_API_KEY: &str = "sk-demo-rejected";

/// Longest part of the user's message quoted back, in characters.
const QUOTE_LIMIT: usize = 160;

/// Starts the demo endpoint with [`DEFAULT_PACING`] between chunks.
pub async fn start() -> std::io::Result<TestServer> {
    start_with_pacing(DEFAULT_PACING).await
}

/// Starts the demo endpoint with `pacing` between streamed chunks (`Duration::ZERO`
/// sends them back to back, for tests).
pub async fn start_with_pacing(pacing: Duration) -> std::io::Result<TestServer> {
    let server = TestServer::start().await?;
    install(&server, pacing);
    Ok(server)
}

/// Adds the demo routes (`GET /v1/models`, `POST /v1/chat/completions`) to `server`.
pub fn install(server: &TestServer, pacing: Duration) {
    server.route("GET", "/v1/models", Reply::json(200, model_list()));
    server.route_fn("POST", "/v1/chat/completions", move |request| {
        chat_reply(request, pacing, OPENAI_HOW_TO)
    });
}

/// Starts the demo endpoint's Azure route ([`install_azure`]) with [`DEFAULT_PACING`].
pub async fn start_azure() -> std::io::Result<TestServer> {
    let server = TestServer::start().await?;
    install_azure(&server, DEFAULT_PACING);
    Ok(server)
}

/// Adds the demo as an Azure OpenAI resource (endpoint `{url}/openai`): one deployment per
/// demo model at `/openai/deployments/{model}/chat/completions`, and the v1 model list. Like
/// Azure, it answers 401 without an `api-key` (or bearer token) and 404 without an
/// `api-version`.
pub fn install_azure(server: &TestServer, pacing: Duration) {
    server.route("GET", "/openai/v1/models", Reply::json(200, model_list()));
    for model in MODELS {
        server.route_fn("POST", &crate::azure::chat_path(model), move |request| {
            let signed = request.header("api-key").is_some_and(|k| !k.is_empty())
                || request
                    .header("authorization")
                    .is_some_and(|a| a.starts_with("Bearer "));
            if !signed {
                return crate::azure::unauthorized(false);
            }
            if !request
                .query
                .as_deref()
                .unwrap_or("")
                .contains("api-version=")
            {
                return Reply::json(
                    404,
                    crate::azure::error_body("404", "Resource not found (no api-version)"),
                );
            }
            chat_reply(request, pacing, AZURE_HOW_TO)
        });
    }
}

const OPENAI_HOW_TO: &str = "To talk to a real model, set OPENAI_BASE_URL (for example \
     https://api.openai.com/v1) and OPENAI_API_KEY, then run the example again.";

const AZURE_HOW_TO: &str = "To talk to your Azure resource, set AZURE_OPENAI_ENDPOINT (for \
     example https://my-resource.openai.azure.com) and CLINE_MODEL (the deployment), plus \
     AZURE_OPENAI_API_KEY, or nothing more to sign in with Microsoft Entra ID (az login), then \
     run the example again.";

fn model_list() -> Value {
    let data: Vec<Value> = MODELS
        .iter()
        .map(|id| {
            json!({
                "id": id,
                "object": "model",
                "created": openai::CREATED,
                "owned_by": "cline-provider-demo",
            })
        })
        .collect();
    json!({"object": "list", "data": data})
}

fn bad_request(message: String, param: Option<&str>) -> Reply {
    let mut body = openai::error_body(&message, "invalid_request_error", None);
    body["error"]["param"] = json!(param);
    Reply::json(400, body)
}

fn chat_reply(request: &RecordedRequest, pacing: Duration, how_to: &str) -> Reply {
    if request.header("authorization") == Some(&format!("Bearer {REJECTED_API_KEY}")) {
        return openai::error_reply(
            401,
            "Incorrect API key provided. You can find your API key in your account settings.",
            "invalid_request_error",
            "invalid_api_key",
        );
    }
    let body: Value = match serde_json::from_slice(&request.body) {
        Ok(body) => body,
        Err(error) => {
            return bad_request(
                format!("The request body is not valid JSON ({error})."),
                None,
            )
        }
    };
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return bad_request(
            "'messages' is required and must be an array of chat messages.".to_owned(),
            Some("messages"),
        );
    };
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_MODEL);
    let stream = body.get("stream").and_then(Value::as_bool) == Some(true);
    let include_usage = body
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        == Some(true);

    let user_text = last_user_text(messages).unwrap_or_default();
    if let Some(reply) = tool_turn(&body, messages, &user_text, model, stream, pacing) {
        return reply;
    }
    let quote = if user_text.is_empty() {
        "(no user message)".to_owned()
    } else {
        quote(&user_text)
    };
    let reasoning = format!(
        "The user wrote \"{quote}\". No real model is connected, so I will say so and explain how to reach one."
    );
    let answer = format!(
        "Hello from the offline demo endpoint of cline-provider! No real model is answering: \
         this small server runs inside the example itself. You said: \"{quote}\". {how_to}"
    );
    let prompt_tokens = messages
        .iter()
        .map(|m| 4 + estimate_tokens(&message_text(m)))
        .sum::<u64>();
    let reasoning_tokens = estimate_tokens(&reasoning);
    let completion_tokens = reasoning_tokens + estimate_tokens(&answer);

    if !stream {
        let mut completion =
            openai::completion(model, &answer, "stop", (prompt_tokens, completion_tokens));
        completion["choices"][0]["message"]["reasoning_content"] = json!(reasoning);
        completion["usage"]["completion_tokens_details"] =
            json!({"reasoning_tokens": reasoning_tokens});
        return Reply::json(200, completion);
    }

    let reasoning_pieces: Vec<&str> = reasoning.split_inclusive(' ').collect();
    let answer_pieces: Vec<&str> = answer.split_inclusive(' ').collect();
    let mut frames =
        openai::reasoning_text_stream(model, &reasoning_pieces, &answer_pieces, "stop", None);
    if include_usage {
        let mut usage = openai::usage(prompt_tokens, completion_tokens);
        usage["completion_tokens_details"] = json!({"reasoning_tokens": reasoning_tokens});
        let usage_frame = crate::SseFrame::json(&openai::usage_chunk_with(model, usage));
        // Usage goes just before the final [DONE].
        let at = frames.len().saturating_sub(1);
        frames.insert(at, usage_frame);
    }
    let reply = Reply::sse(frames);
    if pacing.is_zero() {
        reply
    } else {
        reply.event_interval(pacing)
    }
}

/// The demo's tool behaviour: the next tool call, or the answer once every tool has answered.
/// `None` when the request offers no tools (or forbids calling them).
fn tool_turn(
    body: &Value,
    messages: &[Value],
    user_text: &str,
    model: &str,
    stream: bool,
    pacing: Duration,
) -> Option<Reply> {
    let tools = body.get("tools").and_then(Value::as_array)?;
    if tools.is_empty() || body.get("tool_choice").and_then(Value::as_str) == Some("none") {
        return None;
    }
    let called: Vec<&str> = messages
        .iter()
        .filter_map(|m| m.get("tool_calls").and_then(Value::as_array))
        .flatten()
        .filter_map(|c| c.pointer("/function/name").and_then(Value::as_str))
        .collect();
    let next = tools.iter().filter_map(|t| t.get("function")).find(|f| {
        f.get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| !called.contains(&n))
    });
    if let Some(function) = next {
        let name = function
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("tool");
        let arguments = arguments_for(function.get("parameters"), user_text).to_string();
        let id = format!("call_demo_{}", called.len() + 1);
        if !stream {
            let mut completion = openai::completion(model, "", "tool_calls", (10, 10));
            completion["choices"][0]["message"]["content"] = Value::Null;
            completion["choices"][0]["message"]["tool_calls"] = json!([{
                "id": id, "type": "function",
                "function": {"name": name, "arguments": arguments},
            }]);
            return Some(Reply::json(200, completion));
        }
        // The arguments arrive in two pieces, as real servers split them.
        let cut = arguments
            .char_indices()
            .nth(arguments.chars().count() / 2)
            .map_or(0, |(i, _)| i);
        let pieces = [&arguments[..cut], &arguments[cut..]];
        let frames = openai::tool_call_stream(
            model,
            &[openai::ToolCall {
                id: &id,
                name,
                arguments: &pieces,
            }],
            Some((10, 10)),
        );
        return Some(paced(Reply::sse(frames), pacing));
    }
    // Every tool answered: report what they said.
    let results: Vec<String> = messages
        .iter()
        .filter(|m| m.get("role").and_then(Value::as_str) == Some("tool"))
        .map(|m| {
            let call_id = m.get("tool_call_id").and_then(Value::as_str).unwrap_or("");
            let name = messages
                .iter()
                .filter_map(|a| a.get("tool_calls").and_then(Value::as_array))
                .flatten()
                .find(|c| c.get("id").and_then(Value::as_str) == Some(call_id))
                .and_then(|c| c.pointer("/function/name").and_then(Value::as_str))
                .unwrap_or("a tool");
            format!("{name} said \"{}\"", quote(&message_text(m)))
        })
        .collect();
    let answer = if results.is_empty() {
        "I called no tool this time.".to_owned()
    } else {
        format!(
            "Here is what the tools told me: {}. (This is the offline demo endpoint: a real model would answer in its own words.)",
            results.join("; ")
        )
    };
    if !stream {
        return Some(Reply::json(
            200,
            openai::completion(model, &answer, "stop", (20, estimate_tokens(&answer))),
        ));
    }
    let pieces: Vec<&str> = answer.split_inclusive(' ').collect();
    let frames = openai::text_stream(model, &pieces, "stop", Some((20, estimate_tokens(&answer))));
    Some(paced(Reply::sse(frames), pacing))
}

fn paced(reply: Reply, pacing: Duration) -> Reply {
    if pacing.is_zero() {
        reply
    } else {
        reply.event_interval(pacing)
    }
}

/// Arguments that satisfy `schema` well enough for a demo: every required property (all of
/// them when none is marked required) gets a value of its type taken from the user's words.
fn arguments_for(schema: Option<&Value>, user_text: &str) -> Value {
    let Some(props) = schema
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
    else {
        return json!({});
    };
    let required: Vec<&str> = schema
        .and_then(|s| s.get("required"))
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let words: Vec<&str> = user_text
        .split(|c: char| !c.is_alphanumeric() && c != '-' && c != '.')
        .map(|w| w.trim_matches('.'))
        .filter(|w| !w.is_empty())
        .collect();
    let proper = words
        .iter()
        .skip(1)
        .rev()
        .find(|w| w.chars().next().is_some_and(char::is_uppercase))
        .or(words.last())
        .copied()
        .unwrap_or("demo");
    let number = words.iter().find_map(|w| w.parse::<f64>().ok());
    let mut out = serde_json::Map::new();
    for (name, prop) in props {
        if !required.is_empty() && !required.contains(&name.as_str()) {
            continue;
        }
        let value = if let Some(first) = prop
            .get("enum")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
        {
            first.clone()
        } else {
            match prop.get("type").and_then(Value::as_str) {
                Some("integer") => json!(number.map_or(1, |n| n as i64)),
                Some("number") => json!(number.unwrap_or(1.0)),
                Some("boolean") => json!(true),
                Some("array") => json!([]),
                Some("object") => json!({}),
                _ => json!(proper),
            }
        };
        out.insert(name.clone(), value);
    }
    Value::Object(out)
}

fn last_user_text(messages: &[Value]) -> Option<String> {
    messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .map(message_text)
}

/// The text of a message whose `content` is a string or an array of parts
/// (`{"type":"text","text":…}`; other parts such as images are skipped).
fn message_text(message: &Value) -> String {
    match message.get("content") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// The message on one line, cut to [`QUOTE_LIMIT`] characters.
fn quote(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut chars = one_line.chars();
    let mut quoted: String = chars.by_ref().take(QUOTE_LIMIT).collect();
    if chars.next().is_some() {
        quoted.push('…');
    }
    quoted
}

/// About four characters per token, the usual rule of thumb for English text.
fn estimate_tokens(text: &str) -> u64 {
    let chars = text.chars().count() as u64;
    chars.div_ceil(4).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_is_one_line_and_bounded() {
        assert_eq!(quote("  hello\n  world "), "hello world");
        let long = "é".repeat(QUOTE_LIMIT + 5);
        let quoted = quote(&long);
        assert_eq!(quoted.chars().count(), QUOTE_LIMIT + 1);
        assert!(quoted.ends_with('…'));
    }

    #[test]
    fn content_parts_are_joined() {
        let message = json!({"role": "user", "content": [
            {"type": "text", "text": "look"},
            {"type": "image_url", "image_url": {"url": "data:,"}},
            {"type": "text", "text": "here"}
        ]});
        assert_eq!(message_text(&message), "look here");
        assert_eq!(message_text(&json!({"role": "user"})), "");
    }

    #[test]
    fn last_user_message_wins() {
        let messages = [
            json!({"role": "user", "content": "first"}),
            json!({"role": "assistant", "content": "reply"}),
            json!({"role": "user", "content": "second"}),
            json!({"role": "tool", "content": "result"}),
        ];
        assert_eq!(last_user_text(&messages).as_deref(), Some("second"));
        assert_eq!(last_user_text(&[]), None);
    }

    #[test]
    fn tool_arguments_come_from_the_schema_and_the_words() {
        let schema = json!({"type": "object", "properties": {
            "city": {"type": "string"}, "days": {"type": "integer"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "verbose": {"type": "boolean"}
        }, "required": ["city", "days", "unit"]});
        let args = arguments_for(Some(&schema), "What is the weather in Paris for 3 days?");
        assert_eq!(args, json!({"city": "Paris", "days": 3, "unit": "celsius"}));
        assert_eq!(arguments_for(None, "x"), json!({}));
    }

    #[test]
    fn token_estimates_are_positive() {
        assert_eq!(estimate_tokens(""), 1);
        assert_eq!(estimate_tokens("abcd"), 1);
        assert_eq!(estimate_tokens("abcde"), 2);
    }
}
