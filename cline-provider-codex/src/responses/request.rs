//! From a [`ChatRequest`] to the body of `POST {base}/responses` on the Codex endpoint.
//!
//! The history conversion follows the original product (Cline's
//! `convertToOpenAIResponsesInput`) and the Codex CLI:
//!
//! | history | `input` item |
//! |---|---|
//! | system and developer messages | joined into `instructions` (the endpoint refuses those roles in `input`) |
//! | user text and images | a `user` message of `input_text` and `input_image` (`data:` URL, `detail: auto`) parts |
//! | assistant reasoning from this provider | `reasoning` items with their summary and encrypted content, first |
//! | assistant text | an `assistant` message with one `output_text` part |
//! | assistant tool calls | one `function_call` item each (`call_id`, `name`, `arguments`) |
//! | tool results | `function_call_output` (`output` is the text, or `input_text`/`input_image` parts when the result carries images) |
//!
//! Items never carry their `id`: with `store: false` the endpoint keeps nothing, so an id it
//! cannot look up is an error. Reasoning survives between turns only through its encrypted
//! content, which is why `include: ["reasoning.encrypted_content"]` is asked for whenever
//! reasoning is on.
//!
//! Never sent, because the endpoint refuses them: `max_output_tokens`, `temperature` (also
//! when they come through `extra_body`), and stop sequences, which the Responses API does not
//! have.

use std::borrow::Cow;

use cline_provider_core::wire::body_encoding_error;
use cline_provider_core::{
    ChatRequest, ContentPart, Error, Message, ReasoningEffort, Result, Role, ToolChoice,
};
use serde_json::Value;

use super::wire::{
    ContentItem, FunctionOutput, FunctionTool, InputItem, ReasoningWire, ResponsesRequest,
    ToolChoiceWire,
};
use super::PROVIDER_ID;

/// Body fields the endpoint refuses; dropped from `extra_body` too.
pub const REFUSED_FIELDS: &[&str] = &["max_output_tokens", "temperature"];

/// What the body needs beyond the request itself.
#[derive(Debug, Clone, Copy)]
pub struct BodyOptions<'a> {
    /// The conversation's session id: the `prompt_cache_key`.
    pub session_id: &'a str,
    /// The effort when the request sets none. Default `Medium` (every Codex model reasons).
    pub reasoning_effort: ReasoningEffort,
    /// Whether the model may call several tools at once. Default `true`.
    pub parallel_tool_calls: bool,
}

impl<'a> BodyOptions<'a> {
    /// Defaults for `session_id`.
    pub fn new(session_id: &'a str) -> Self {
        BodyOptions {
            session_id,
            reasoning_effort: ReasoningEffort::Medium,
            parallel_tool_calls: true,
        }
    }
}

/// Builds the JSON body for `request` (validated first); `request.extra_body` is merged last,
/// except for [`REFUSED_FIELDS`].
///
/// # Errors
///
/// What [`ChatRequest::validate`] refuses, and an
/// [`InvalidConfig`](cline_provider_core::ErrorKind::InvalidConfig) error naming the message
/// for an image outside a user or tool message.
///
/// ```
/// use cline_provider_codex::responses::{build_body, BodyOptions};
/// use cline_provider_core::{ChatRequest, Message};
/// let req = ChatRequest::new("gpt-5.5")
///     .message(Message::system("Be brief."))
///     .message(Message::user("Hi"))
///     .max_output_tokens(100);
/// let body = build_body(&req, &BodyOptions::new("0196…"))?;
/// assert_eq!(body["instructions"], "Be brief.");
/// assert_eq!(body["input"][0]["content"][0]["type"], "input_text");
/// assert_eq!(body["store"], false);
/// assert!(body.get("max_output_tokens").is_none());
/// # Ok::<(), cline_provider_core::Error>(())
/// ```
pub fn build_body(request: &ChatRequest, options: &BodyOptions<'_>) -> Result<Value> {
    let body = typed_body(request, options)?;
    let mut value = serde_json::to_value(&body).map_err(body_encoding_error)?;
    if let Value::Object(map) = &mut value {
        for (k, v) in &request.extra_body {
            if REFUSED_FIELDS.contains(&k.as_str()) {
                tracing::warn!(field = %k, "not sent: the Codex endpoint refuses this field");
                continue;
            }
            map.insert(k.clone(), v.clone());
        }
    }
    Ok(value)
}

/// [`build_body`] as the bytes sent: without `extra_body` (the common case) written straight
/// from the typed body, with no `serde_json::Value` in between.
///
/// # Errors
///
/// Those of [`build_body`].
///
/// ```
/// use cline_provider_codex::responses::{build_body, build_body_bytes, BodyOptions};
/// use cline_provider_core::{ChatRequest, Message};
/// let req = ChatRequest::new("gpt-5.5").message(Message::user("Hi"));
/// let options = BodyOptions::new("0196…");
/// let bytes = build_body_bytes(&req, &options)?;
/// let sent: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
/// assert_eq!(sent, build_body(&req, &options)?);
/// # Ok::<(), cline_provider_core::Error>(())
/// ```
pub fn build_body_bytes(request: &ChatRequest, options: &BodyOptions<'_>) -> Result<Vec<u8>> {
    if !request.extra_body.is_empty() {
        let value = build_body(request, options)?;
        return serde_json::to_vec(&value).map_err(body_encoding_error);
    }
    let body = typed_body(request, options)?;
    let mut out = Vec::with_capacity(512);
    serde_json::to_writer(&mut out, &body).map_err(body_encoding_error)?;
    Ok(out)
}

/// The typed body, before `extra_body`.
fn typed_body<'a>(
    request: &'a ChatRequest,
    options: &BodyOptions<'a>,
) -> Result<ResponsesRequest<'a>> {
    request.validate()?;
    let mut instructions: Vec<String> = Vec::new();
    let mut input = Vec::with_capacity(request.messages.len() + 2);
    for (i, m) in request.messages.iter().enumerate() {
        match m.role {
            Role::System | Role::Developer => {
                let text = m.text();
                if !text.is_empty() {
                    instructions.push(text);
                }
            }
            Role::User => {
                let content = content_items(i, m, true)?;
                if !content.is_empty() {
                    input.push(InputItem::Message {
                        role: "user",
                        content,
                    });
                }
            }
            Role::Assistant => assistant_items(i, m, &mut input)?,
            Role::Tool => input.push(InputItem::FunctionCallOutput {
                call_id: m.tool_call_id.as_deref().unwrap_or_default(),
                output: tool_output(i, m)?,
            }),
        }
    }

    let effort = request.reasoning_effort.unwrap_or(options.reasoning_effort);
    let reasoning = (effort != ReasoningEffort::None).then(|| ReasoningWire {
        effort: effort.as_str(),
        summary: "auto",
    });
    let tool_choice = match &request.tool_choice {
        None | Some(ToolChoice::Auto) => ToolChoiceWire::Mode("auto"),
        Some(ToolChoice::None) => ToolChoiceWire::Mode("none"),
        Some(ToolChoice::Required) => ToolChoiceWire::Mode("required"),
        Some(ToolChoice::Function(name)) => ToolChoiceWire::Function {
            kind: "function",
            name,
        },
    };
    let body = ResponsesRequest {
        model: &request.model,
        instructions: instructions.join("\n\n"),
        input,
        tools: request
            .tools
            .iter()
            .map(|t| FunctionTool {
                kind: "function",
                name: &t.name,
                description: &t.description,
                parameters: &t.parameters,
                // The Responses API enforces schemas strictly unless told otherwise, which
                // refuses most hand-written schemas; a tool that did not ask is not strict.
                strict: t.strict.unwrap_or(false),
            })
            .collect(),
        tool_choice,
        parallel_tool_calls: options.parallel_tool_calls,
        include: if reasoning.is_some() {
            vec!["reasoning.encrypted_content"]
        } else {
            Vec::new()
        },
        reasoning,
        store: false,
        stream: true,
        prompt_cache_key: options.session_id,
    };
    if request.temperature.is_some() || request.max_output_tokens.is_some() {
        tracing::debug!(
            "temperature and max_output_tokens are not sent: the Codex endpoint refuses them"
        );
    }
    if !request.stop.is_empty() {
        tracing::debug!("stop sequences are not sent: the Responses API has none");
    }
    Ok(body)
}

/// The text and image parts of a user message (or of a tool result).
fn content_items(i: usize, m: &Message, images: bool) -> Result<Vec<ContentItem<'_>>> {
    let mut out = Vec::with_capacity(m.content.len());
    for (j, part) in m.content.iter().enumerate() {
        match part {
            ContentPart::Text { text } if text.is_empty() => {}
            ContentPart::Text { text } => out.push(ContentItem::InputText { text }),
            ContentPart::Image { source } if images => out.push(ContentItem::InputImage {
                image_url: Cow::Owned(source.to_url()),
                detail: "auto",
            }),
            ContentPart::Image { .. } => {
                return Err(Error::invalid_config(
                    format!("messages[{i}].content[{j}]"),
                    "an image can only be sent in a user message or a tool result",
                ))
            }
        }
    }
    Ok(out)
}

/// An assistant turn: its reasoning (this provider's items only), its text, its tool calls.
fn assistant_items<'a>(i: usize, m: &'a Message, input: &mut Vec<InputItem<'a>>) -> Result<()> {
    let text_parts: Vec<&str> = m
        .content
        .iter()
        .map(|p| match p {
            ContentPart::Text { text } => Ok(text.as_str()),
            ContentPart::Image { .. } => Err(Error::invalid_config(
                format!("messages[{i}].content"),
                "an assistant message cannot carry an image",
            )),
        })
        .collect::<Result<_>>()?;
    let has_text = text_parts.iter().any(|t| !t.is_empty());
    // A reasoning item must be followed by the output it led to; alone, it is refused.
    if has_text || !m.tool_calls.is_empty() {
        for item in m.reasoning_for(PROVIDER_ID) {
            input.push(reasoning_item(&item.data));
        }
    }
    if has_text {
        input.push(InputItem::Message {
            role: "assistant",
            content: text_parts
                .into_iter()
                .filter(|t| !t.is_empty())
                .map(|text| ContentItem::OutputText { text })
                .collect(),
        });
    }
    for call in &m.tool_calls {
        input.push(InputItem::FunctionCall {
            call_id: &call.id,
            name: &call.name,
            arguments: if call.arguments.trim().is_empty() {
                "{}"
            } else {
                &call.arguments
            },
        });
    }
    Ok(())
}

/// A stored reasoning item as the endpoint takes it back: summary and encrypted content,
/// without the id it cannot look up.
fn reasoning_item(data: &Value) -> InputItem<'_> {
    InputItem::Reasoning {
        summary: match data.get("summary") {
            Some(s @ Value::Array(_)) => Cow::Borrowed(s),
            _ => Cow::Owned(Value::Array(Vec::new())),
        },
        encrypted_content: data.get("encrypted_content").and_then(Value::as_str),
    }
}

fn tool_output(i: usize, m: &Message) -> Result<FunctionOutput<'_>> {
    if m.has_images() {
        return Ok(FunctionOutput::Parts(content_items(i, m, true)?));
    }
    Ok(FunctionOutput::Text(m.text()))
}
