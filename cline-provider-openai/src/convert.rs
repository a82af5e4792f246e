//! From a [`ChatRequest`] to the chat-completions request body.
//!
//! The rules follow the original product (seed §1.4), with two deliberate differences: the
//! reasoning-family test matches whole name segments (so `llama-3.1-o1x` is not a reasoning
//! model), and no temperature is sent unless the caller or the model info sets one (the
//! original sent `0` by default, which overrides every server's own default).

use std::borrow::Cow;

use cline_provider_core::wire::body_encoding_error;
use cline_provider_core::{
    ChatRequest, ContentPart, Error, Message, ModelInfo, ReasoningEffort, Result, Role, ToolChoice,
};
use serde_json::Value;

use crate::wire::{
    ChatCompletionRequest, FunctionName, ImageUrl, NamedToolChoice, RequestContent,
    RequestFunction, RequestFunctionCall, RequestMessage, RequestPart, RequestTool,
    RequestToolCall, RequestToolChoice, StreamOptions,
};

/// Whether `model` belongs to OpenAI's reasoning family (o1, o3, o4, gpt-5 and their
/// variants, but not the `chat` variants such as `gpt-5-chat-latest`).
///
/// For these models the system prompt is sent as `developer`, no temperature is sent,
/// `reasoning_effort` is, and the output limit is `max_completion_tokens`.
///
/// The family name must be a whole segment of the id (segments are separated by anything
/// that is not a letter or digit), so provider prefixes and date suffixes are fine
/// (`openai/o3-mini`, `o1-2024-12-17`, `gpt-5.1`) while ids that merely contain the letters
/// (`mistral-7b-v0.1o3x`, `foo1`) are not matched.
///
/// ```
/// use cline_provider_openai::convert::is_reasoning_model;
/// assert!(is_reasoning_model("o3-mini"));
/// assert!(is_reasoning_model("openai/gpt-5.1-codex"));
/// assert!(!is_reasoning_model("gpt-5-chat-latest"));
/// assert!(!is_reasoning_model("gpt-4o"));
/// assert!(!is_reasoning_model("llama3.1:8b"));
/// ```
pub fn is_reasoning_model(model: &str) -> bool {
    let id = lowercase(model);
    if contains(&id, "chat") {
        return false;
    }
    ["o1", "o3", "o4", "gpt-5"]
        .iter()
        .any(|family| has_segment(&id, family))
}

/// Whether `needle` occurs in `haystack` with no letter or digit right before or after it.
///
/// A plain scan: model ids are a few dozen bytes, where building a substring searcher per
/// call costs more than the search.
fn has_segment(haystack: &str, needle: &str) -> bool {
    let bytes = haystack.as_bytes();
    let needle = needle.as_bytes();
    bytes.windows(needle.len()).enumerate().any(|(start, w)| {
        let end = start + needle.len();
        w == needle
            && (start == 0 || !bytes[start - 1].is_ascii_alphanumeric())
            && (end == bytes.len() || !bytes[end].is_ascii_alphanumeric())
    })
}

/// Whether `needle` occurs in `haystack` (both short).
fn contains(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Whether messages go out in DeepSeek-R1 format: for `deepseek-reasoner`, or when the model
/// info asks for it (`r1_format`). Model info saying `false` turns it off.
///
/// ```
/// use cline_provider_core::ModelInfo;
/// use cline_provider_openai::convert::uses_r1_format;
/// assert!(uses_r1_format("deepseek-reasoner", None));
/// let mut info = ModelInfo::new("my-r1");
/// info.r1_format = Some(true);
/// assert!(uses_r1_format("my-r1", Some(&info)));
/// ```
pub fn uses_r1_format(model: &str, info: Option<&ModelInfo>) -> bool {
    match info.and_then(|i| i.r1_format) {
        Some(explicit) => explicit,
        None => contains(&lowercase(model), "deepseek-reasoner"),
    }
}

/// `s` in lower case, borrowed when it already is (model ids nearly always are).
fn lowercase(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// Which optional parts of the body an endpoint accepts. OpenAI and the servers that copy it
/// accept them all ([`BodyOptions::default`]); Azure's dated API versions do not (its crate
/// keeps the table).
///
/// ```
/// use cline_provider_openai::convert::BodyOptions;
/// assert!(BodyOptions::default().stream_usage);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyOptions {
    /// Ask for a stream (`stream: true`, for `Provider::stream`) or one JSON reply (`false`,
    /// for `Provider::complete`; `stream_options` is then never sent).
    pub stream: bool,
    /// Send `model` (Azure's deployment URLs name the deployment in the path instead).
    pub model: bool,
    /// Send `stream_options.include_usage`: without it the stream reports no usage.
    pub stream_usage: bool,
    /// Send `reasoning_effort` to reasoning models.
    pub reasoning_effort: bool,
    /// Reasoning models take their output limit as `max_completion_tokens`; without it the
    /// limit goes out as `max_tokens`.
    pub max_completion_tokens: bool,
    /// Reasoning models take the system prompt as role `developer`; without it, `system`.
    pub developer_role: bool,
}

impl Default for BodyOptions {
    fn default() -> Self {
        BodyOptions {
            stream: true,
            model: true,
            stream_usage: true,
            reasoning_effort: true,
            max_completion_tokens: true,
            developer_role: true,
        }
    }
}

/// Builds the JSON body of a streaming `POST /chat/completions` for `request`.
///
/// `model_info` supplies defaults the request leaves unset (temperature, output limit) and
/// the R1 switch. The body does not depend on how the URL or authentication is formed, so
/// Azure uses it unchanged. The request is validated first; an image outside a user message
/// is refused, since the chat-completions API accepts images only there.
///
/// `request.extra_body` is merged last and wins over every field set here.
///
/// ```
/// use cline_provider_core::{ChatRequest, Message};
/// use cline_provider_openai::build_body;
/// let req = ChatRequest::new("gpt-4o-mini")
///     .message(Message::system("Be brief."))
///     .message(Message::user("Hi"));
/// let body = build_body(&req, None).unwrap();
/// assert_eq!(body["messages"][0]["role"], "system");
/// assert_eq!(body["stream_options"]["include_usage"], true);
/// ```
pub fn build_body(request: &ChatRequest, model_info: Option<&ModelInfo>) -> Result<Value> {
    build_body_with(request, model_info, &BodyOptions::default())
}

/// Like [`build_body`], for a whole reply in one JSON document: `stream: false` and no
/// `stream_options`.
///
/// ```
/// use cline_provider_core::{ChatRequest, Message};
/// use cline_provider_openai::convert::build_complete_body;
/// let body = build_complete_body(&ChatRequest::new("m").message(Message::user("Hi")), None).unwrap();
/// assert_eq!(body["stream"], false);
/// assert!(body.get("stream_options").is_none());
/// ```
pub fn build_complete_body(request: &ChatRequest, model_info: Option<&ModelInfo>) -> Result<Value> {
    let options = BodyOptions {
        stream: false,
        ..BodyOptions::default()
    };
    build_body_with(request, model_info, &options)
}

/// [`build_body`] for an endpoint that accepts only the optional parts `options` names.
pub fn build_body_with(
    request: &ChatRequest,
    model_info: Option<&ModelInfo>,
    options: &BodyOptions,
) -> Result<Value> {
    let body = request_body(request, model_info, options)?;
    let mut value = serde_json::to_value(&body).map_err(body_encoding_error)?;
    if let Value::Object(map) = &mut value {
        if !options.model {
            map.remove("model");
        }
        for (k, v) in &request.extra_body {
            map.insert(k.clone(), v.clone());
        }
    }
    Ok(value)
}

/// [`build_body_with`] as the bytes sent. The common body (no `extra_body`, the model named)
/// is written straight from the typed request instead of through a `serde_json::Value`.
///
/// ```
/// use cline_provider_core::{ChatRequest, Message};
/// use cline_provider_openai::convert::{build_body_bytes, build_body_with, BodyOptions};
/// let req = ChatRequest::new("m").message(Message::user("Hi"));
/// let bytes = build_body_bytes(&req, None, &BodyOptions::default()).unwrap();
/// let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
/// assert_eq!(value, build_body_with(&req, None, &BodyOptions::default()).unwrap());
/// ```
pub fn build_body_bytes(
    request: &ChatRequest,
    model_info: Option<&ModelInfo>,
    options: &BodyOptions,
) -> Result<Vec<u8>> {
    if request.extra_body.is_empty() && options.model {
        let body = request_body(request, model_info, options)?;
        // Sized for a short conversation, so the buffer rarely grows while written.
        let mut out = Vec::with_capacity(512);
        serde_json::to_writer(&mut out, &body).map_err(body_encoding_error)?;
        return Ok(out);
    }
    let value = build_body_with(request, model_info, options)?;
    serde_json::to_vec(&value).map_err(body_encoding_error)
}

/// The typed body, before `extra_body` and the options that remove fields.
fn request_body<'a>(
    request: &'a ChatRequest,
    model_info: Option<&ModelInfo>,
    options: &BodyOptions,
) -> Result<ChatCompletionRequest<'a>> {
    request.validate()?;
    let model = request.model.as_str();
    let reasoning = is_reasoning_model(model);
    let r1 = uses_r1_format(model, model_info);
    let roles = Roles {
        reasoning,
        r1,
        developer: options.developer_role,
    };

    let mut messages = Vec::with_capacity(request.messages.len());
    for (i, m) in request.messages.iter().enumerate() {
        messages.push(convert_message(i, m, roles)?);
    }
    if r1 {
        messages = merge_same_role(messages);
    }

    let max_out = request
        .max_output_tokens
        .or_else(|| model_info.and_then(|i| i.max_output_tokens))
        .filter(|n| *n > 0);
    let temperature = if reasoning {
        None
    } else {
        request
            .temperature
            .or_else(|| model_info.and_then(|i| i.temperature).filter(|t| *t != 0.0))
    };
    let reasoning_effort = if reasoning && options.reasoning_effort {
        request
            .reasoning_effort
            .filter(|e| *e != ReasoningEffort::None)
            .map(ReasoningEffort::as_str)
    } else {
        None
    };

    let tools: Vec<RequestTool<'_>> = request
        .tools
        .iter()
        .map(|t| RequestTool {
            kind: "function",
            function: RequestFunction {
                name: &t.name,
                description: &t.description,
                parameters: &t.parameters,
                strict: t.strict,
            },
        })
        .collect();
    // A tool choice without tools is rejected by OpenAI ("tool_choice is only allowed when
    // tools are specified"), so it is only sent alongside them.
    let tool_choice = if tools.is_empty() {
        None
    } else {
        Some(match &request.tool_choice {
            None | Some(ToolChoice::Auto) => RequestToolChoice::Mode("auto"),
            Some(ToolChoice::None) => RequestToolChoice::Mode("none"),
            Some(ToolChoice::Required) => RequestToolChoice::Mode("required"),
            Some(ToolChoice::Function(name)) => RequestToolChoice::Named(NamedToolChoice {
                kind: "function",
                function: FunctionName { name },
            }),
        })
    };

    let body = ChatCompletionRequest {
        model,
        messages,
        temperature,
        max_tokens: if reasoning && options.max_completion_tokens {
            None
        } else {
            max_out
        },
        max_completion_tokens: if reasoning && options.max_completion_tokens {
            max_out
        } else {
            None
        },
        reasoning_effort,
        stop: &request.stop,
        tools,
        tool_choice,
        stream: options.stream,
        stream_options: (options.stream && options.stream_usage).then_some(StreamOptions {
            include_usage: true,
        }),
    };
    Ok(body)
}

/// How roles are named on the wire for one request.
#[derive(Clone, Copy)]
struct Roles {
    reasoning: bool,
    r1: bool,
    /// The endpoint knows the `developer` role.
    developer: bool,
}

impl Roles {
    const PLAIN: Roles = Roles {
        reasoning: false,
        r1: false,
        developer: true,
    };
}

fn role_name(role: Role, roles: Roles) -> &'static str {
    match role {
        // R1 takes the system prompt as a user turn; reasoning models take it as developer.
        Role::System | Role::Developer if roles.r1 => "user",
        Role::System | Role::Developer if !roles.developer => "system",
        Role::System | Role::Developer if roles.reasoning => "developer",
        Role::System => "system",
        Role::Developer => "developer",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

fn convert_message<'a>(i: usize, m: &'a Message, roles: Roles) -> Result<RequestMessage<'a>> {
    let role = role_name(m.role, roles);
    let has_images = m.has_images();
    if has_images && m.role != Role::User {
        let j = m
            .content
            .iter()
            .position(|p| matches!(p, ContentPart::Image { .. }))
            .unwrap_or(0);
        return Err(Error::invalid_config(
            format!("messages[{i}].content[{j}]"),
            format!(
                "a {} message carries an image; the chat-completions API accepts images only in user messages",
                role_name(m.role, Roles::PLAIN)
            ),
        ));
    }
    let content = if has_images {
        let parts = m
            .content
            .iter()
            .map(|p| match p {
                ContentPart::Text { text } => RequestPart::Text {
                    text: Cow::Borrowed(text),
                },
                ContentPart::Image { source } => RequestPart::ImageUrl {
                    image_url: ImageUrl {
                        url: Cow::Owned(source.to_url()),
                    },
                },
            })
            .collect();
        Some(RequestContent::Parts(parts))
    } else {
        let text: Cow<'a, str> = match m.content.as_slice() {
            [ContentPart::Text { text }] => Cow::Borrowed(text),
            _ => Cow::Owned(m.text()),
        };
        // An assistant turn that only calls tools has no content at all; every other message
        // keeps its (possibly empty) text, since several servers require the key.
        if text.is_empty() && m.role == Role::Assistant && !m.tool_calls.is_empty() {
            None
        } else {
            Some(RequestContent::Text(text))
        }
    };
    let tool_calls = m
        .tool_calls
        .iter()
        .map(|c| RequestToolCall {
            id: &c.id,
            kind: "function",
            function: RequestFunctionCall {
                name: &c.name,
                arguments: if c.arguments.trim().is_empty() {
                    "{}"
                } else {
                    &c.arguments
                },
            },
        })
        .collect();
    Ok(RequestMessage {
        role,
        content,
        tool_calls,
        tool_call_id: if m.role == Role::Tool {
            m.tool_call_id.as_deref()
        } else {
            None
        },
    })
}

/// The DeepSeek-R1 convention: consecutive user turns become one, and so do consecutive
/// assistant turns. Tool results stay separate, each answers its own call.
fn merge_same_role(messages: Vec<RequestMessage<'_>>) -> Vec<RequestMessage<'_>> {
    let mut out: Vec<RequestMessage<'_>> = Vec::with_capacity(messages.len());
    for m in messages {
        match out.last_mut() {
            Some(prev) if prev.role == m.role && m.role != "tool" => {
                prev.content = merge_content(prev.content.take(), m.content);
                prev.tool_calls.extend(m.tool_calls);
            }
            _ => out.push(m),
        }
    }
    out
}

fn merge_content<'a>(
    a: Option<RequestContent<'a>>,
    b: Option<RequestContent<'a>>,
) -> Option<RequestContent<'a>> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(RequestContent::Text(a)), Some(RequestContent::Text(b))) => {
            if a.is_empty() {
                Some(RequestContent::Text(b))
            } else if b.is_empty() {
                Some(RequestContent::Text(a))
            } else {
                Some(RequestContent::Text(Cow::Owned(format!("{a}\n\n{b}"))))
            }
        }
        (Some(a), Some(b)) => {
            let mut parts = into_parts(a);
            parts.extend(into_parts(b));
            Some(RequestContent::Parts(parts))
        }
    }
}

fn into_parts(c: RequestContent<'_>) -> Vec<RequestPart<'_>> {
    match c {
        RequestContent::Parts(p) => p,
        RequestContent::Text(text) => vec![RequestPart::Text { text }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cline_provider_core::{ImageSource, Tool, ToolCall};
    use serde_json::json;

    fn body(req: &ChatRequest) -> Value {
        build_body(req, None).unwrap()
    }

    #[test]
    fn reasoning_family_matches_segments() {
        for id in [
            "o1",
            "o1-mini",
            "o1-2024-12-17",
            "o3",
            "o3-mini-high",
            "o4-mini",
            "gpt-5",
            "gpt-5-mini",
            "gpt-5.1",
            "gpt-5-codex",
            "openai/o3",
            "azure/gpt-5-nano",
            "O3-MINI",
        ] {
            assert!(is_reasoning_model(id), "{id}");
        }
        for id in [
            "gpt-4o",
            "gpt-4o-mini",
            "gpt-5-chat-latest",
            "gpt-50",
            "o10",
            "foo1",
            "llama3.1:8b",
            "mistral-7b-instruct-v0.3",
            "qwen2.5-coder",
            "deepseek-reasoner",
            "yolo3",
        ] {
            assert!(!is_reasoning_model(id), "{id}");
        }
    }

    #[test]
    fn plain_chat() {
        let req = ChatRequest::new("gpt-4o-mini")
            .message(Message::system("Be brief."))
            .message(Message::user("Hi"))
            .temperature(0.25)
            .max_output_tokens(100);
        let mut req = req;
        req.stop = vec!["END".into()];
        assert_eq!(
            body(&req),
            json!({
                "model": "gpt-4o-mini",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Hi"}
                ],
                "temperature": 0.25,
                "max_tokens": 100,
                "stop": ["END"],
                "stream": true,
                "stream_options": {"include_usage": true}
            })
        );
    }

    #[test]
    fn reasoning_model_rules() {
        let req = ChatRequest::new("o3-mini")
            .message(Message::system("Think."))
            .message(Message::user("2+2?"))
            .temperature(0.7)
            .max_output_tokens(500)
            .reasoning_effort(ReasoningEffort::High);
        let b = body(&req);
        assert_eq!(b["messages"][0]["role"], "developer");
        assert!(b.get("temperature").is_none());
        assert!(b.get("max_tokens").is_none());
        assert_eq!(b["max_completion_tokens"], 500);
        assert_eq!(b["reasoning_effort"], "high");
    }

    #[test]
    fn reasoning_effort_none_is_omitted_and_ignored_for_classic_models() {
        let req = ChatRequest::new("gpt-5")
            .message(Message::user("x"))
            .reasoning_effort(ReasoningEffort::None);
        assert!(body(&req).get("reasoning_effort").is_none());
        let req = ChatRequest::new("gpt-4o")
            .message(Message::user("x"))
            .reasoning_effort(ReasoningEffort::High);
        assert!(body(&req).get("reasoning_effort").is_none());
    }

    #[test]
    fn model_info_defaults_and_zero_temperature_is_unset() {
        let req = ChatRequest::new("local").message(Message::user("x"));
        let mut info = ModelInfo::new("local").max_output_tokens(256);
        info.temperature = Some(0.0);
        let b = build_body(&req, Some(&info)).unwrap();
        assert_eq!(b["max_tokens"], 256);
        assert!(b.get("temperature").is_none());
        info.temperature = Some(0.6);
        let b = build_body(&req, Some(&info)).unwrap();
        assert!((b["temperature"].as_f64().unwrap() - 0.6).abs() < 1e-6);
        // The request's own value wins over the model info.
        let b = build_body(
            &req.clone().temperature(0.1).max_output_tokens(9),
            Some(&info),
        )
        .unwrap();
        assert!((b["temperature"].as_f64().unwrap() - 0.1).abs() < 1e-6);
        assert_eq!(b["max_tokens"], 9);
    }

    #[test]
    fn images_become_data_urls() {
        let req = ChatRequest::new("gpt-4o").message(
            Message::user("What is this?")
                .with_image(ImageSource::Base64 {
                    media_type: "image/png".into(),
                    data: "iVBORw0KGgo=".into(),
                })
                .with_image(ImageSource::Url {
                    url: "https://example.com/cat.jpg".into(),
                }),
        );
        assert_eq!(
            body(&req)["messages"][0]["content"],
            json!([
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
            ])
        );
    }

    #[test]
    fn image_outside_user_message_is_a_typed_error() {
        let mut m = Message::assistant("here");
        m = m.with_image(ImageSource::Url {
            url: "https://example.com/x.png".into(),
        });
        let req = ChatRequest::new("gpt-4o")
            .message(Message::user("x"))
            .message(m);
        let err = build_body(&req, None).unwrap_err();
        assert_eq!(err.kind(), &cline_provider_core::ErrorKind::InvalidConfig);
        assert_eq!(err.field(), Some("messages[1].content[1]"));
        assert!(err.hint().contains("user messages"), "{}", err.hint());
    }

    #[test]
    fn invalid_request_is_refused_before_encoding() {
        let err = build_body(&ChatRequest::new("m"), None).unwrap_err();
        assert_eq!(err.field(), Some("messages"));
    }

    #[test]
    fn tools_tool_calls_and_results() {
        let params = json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
        let req = ChatRequest::new("gpt-4o")
            .tool(Tool::function("weather", "Current weather", params.clone()))
            .message(Message::user("Weather in Paris?"))
            .message(Message::assistant_tool_calls(
                "",
                vec![ToolCall {
                    id: "call_1".into(),
                    name: "weather".into(),
                    arguments: "".into(),
                }],
            ))
            .message(Message::tool_result("call_1", "18°C"));
        let b = body(&req);
        assert_eq!(
            b["tools"],
            json!([{"type": "function", "function": {"name": "weather", "description": "Current weather", "parameters": params}}])
        );
        assert_eq!(b["tool_choice"], "auto");
        assert_eq!(
            b["messages"][1],
            json!({"role": "assistant", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
            ]})
        );
        assert_eq!(
            b["messages"][2],
            json!({"role": "tool", "content": "18°C", "tool_call_id": "call_1"})
        );
    }

    #[test]
    fn tool_choice_forms() {
        let t = Tool::function("f", "", json!({"type": "object"}));
        let base = ChatRequest::new("gpt-4o").message(Message::user("x"));
        let mut r = base.clone().tool(t.clone());
        r.tool_choice = Some(ToolChoice::Function("f".into()));
        assert_eq!(
            body(&r)["tool_choice"],
            json!({"type": "function", "function": {"name": "f"}})
        );
        r.tool_choice = Some(ToolChoice::Required);
        assert_eq!(body(&r)["tool_choice"], "required");
        r.tool_choice = Some(ToolChoice::None);
        assert_eq!(body(&r)["tool_choice"], "none");
        // No tools: no tool choice, whatever the request says.
        let mut r = base;
        r.tool_choice = Some(ToolChoice::Required);
        assert!(body(&r).get("tool_choice").is_none());
    }

    #[test]
    fn r1_format_merges_same_role_turns() {
        let req = ChatRequest::new("deepseek-reasoner")
            .message(Message::system("Rules."))
            .message(Message::user("First."))
            .message(Message::assistant("A."))
            .message(Message::assistant("B."))
            .message(Message::user("Next."));
        assert_eq!(
            body(&req)["messages"],
            json!([
                {"role": "user", "content": "Rules.\n\nFirst."},
                {"role": "assistant", "content": "A.\n\nB."},
                {"role": "user", "content": "Next."}
            ])
        );
    }

    #[test]
    fn r1_format_from_model_info_and_with_images() {
        let mut info = ModelInfo::new("r1-distill");
        info.r1_format = Some(true);
        let req = ChatRequest::new("r1-distill")
            .message(Message::system("S"))
            .message(Message::user("look").with_image(ImageSource::Url {
                url: "https://x/y.png".into(),
            }));
        let b = build_body(&req, Some(&info)).unwrap();
        assert_eq!(
            b["messages"],
            json!([{"role": "user", "content": [
                {"type": "text", "text": "S"},
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}}
            ]}])
        );
        // Explicitly off wins over the id.
        info.r1_format = Some(false);
        let req = ChatRequest::new("deepseek-reasoner")
            .message(Message::system("S"))
            .message(Message::user("u"));
        let b = build_body(&req, Some(&info)).unwrap();
        assert_eq!(b["messages"][0]["role"], "system");
    }

    #[test]
    fn r1_tool_results_are_not_merged() {
        let req = ChatRequest::new("deepseek-reasoner")
            .message(Message::user("go"))
            .message(Message::assistant_tool_calls(
                "",
                vec![
                    ToolCall {
                        id: "a".into(),
                        name: "f".into(),
                        arguments: "{}".into(),
                    },
                    ToolCall {
                        id: "b".into(),
                        name: "f".into(),
                        arguments: "{}".into(),
                    },
                ],
            ))
            .message(Message::tool_result("a", "1"))
            .message(Message::tool_result("b", "2"));
        let b = body(&req);
        assert_eq!(b["messages"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn extra_body_wins() {
        let req = ChatRequest::new("gpt-4o")
            .message(Message::user("x"))
            .temperature(0.3)
            .body_field("temperature", json!(1.0))
            .body_field("top_k", json!(20))
            .body_field("stream_options", json!({"include_usage": false}));
        let b = body(&req);
        assert_eq!(b["temperature"], 1.0);
        assert_eq!(b["top_k"], 20);
        assert_eq!(b["stream_options"]["include_usage"], false);
    }

    #[test]
    fn body_options_drop_what_an_endpoint_does_not_accept() {
        let req = ChatRequest::new("o3-mini")
            .message(Message::system("Think."))
            .message(Message::developer("Be exact."))
            .message(Message::user("2+2?"))
            .max_output_tokens(500)
            .reasoning_effort(ReasoningEffort::High);
        let all = body(&req);
        assert_eq!(all["model"], "o3-mini");
        assert_eq!(all["max_completion_tokens"], 500);
        let none = BodyOptions {
            stream: true,
            model: false,
            stream_usage: false,
            reasoning_effort: false,
            max_completion_tokens: false,
            developer_role: false,
        };
        let b = build_body_with(&req, None, &none).unwrap();
        assert!(b.get("model").is_none());
        assert!(b.get("stream_options").is_none());
        assert!(b.get("reasoning_effort").is_none());
        assert!(b.get("max_completion_tokens").is_none());
        assert_eq!(b["max_tokens"], 500);
        assert_eq!(b["messages"][0]["role"], "system");
        assert_eq!(b["messages"][1]["role"], "system");
        // Classic models keep max_tokens either way.
        let classic = ChatRequest::new("gpt-4o")
            .message(Message::user("x"))
            .max_output_tokens(7);
        assert_eq!(
            build_body_with(&classic, None, &none).unwrap()["max_tokens"],
            7
        );
    }

    #[test]
    fn multi_part_text_is_joined() {
        let mut m = Message::user("a");
        m.content.push(ContentPart::Text { text: "b".into() });
        let req = ChatRequest::new("gpt-4o").message(m);
        assert_eq!(body(&req)["messages"][0]["content"], "ab");
    }
}
