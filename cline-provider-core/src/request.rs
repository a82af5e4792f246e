//! What a caller asks for: [`ChatRequest`], [`Message`], [`Tool`] and friends.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};

/// Who speaks a [`Message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions from the application.
    System,
    /// Instructions for reasoning models (OpenAI's replacement for `system`).
    Developer,
    /// The person.
    User,
    /// The model.
    Assistant,
    /// The result of a tool call.
    Tool,
}

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ImageSource {
    /// A URL the endpoint fetches itself (`https:` or a `data:` URL).
    Url {
        /// The URL.
        url: String,
    },
    /// Inline base64 data.
    Base64 {
        /// `image/png`, `image/jpeg`, `image/gif` or `image/webp`.
        media_type: String,
        /// The base64 payload, without a `data:` prefix.
        data: String,
    },
}

/// Media types accepted for inline images.
pub const IMAGE_MEDIA_TYPES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

impl ImageSource {
    /// The image as a URL: the URL itself, or a `data:` URL for inline data.
    pub fn to_url(&self) -> String {
        match self {
            ImageSource::Url { url } => url.clone(),
            ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
        }
    }
}

/// One piece of a message's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// An image.
    Image {
        /// Where the image is.
        source: ImageSource,
    },
}

/// A tool call the assistant made, as it is sent back in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call id the model assigned.
    pub id: String,
    /// The function name.
    pub name: String,
    /// The arguments as the model wrote them (a JSON document, as text).
    pub arguments: String,
}

/// Reasoning a provider returned with a reply, kept on the assistant message so that it goes
/// back on the next turn. Core does not read it: `data` is whatever the provider that made it
/// needs (for OpenAI Codex, the Responses API's `reasoning` item with its encrypted content,
/// which is how reasoning survives between turns on an endpoint that stores nothing). Other
/// providers skip items that are not theirs.
///
/// ```
/// use cline_provider_core::{Message, ReasoningItem};
/// let item = ReasoningItem::new("openai-codex", serde_json::json!({"encrypted_content": "gAAA…"}));
/// let m = Message::assistant("4").with_reasoning(vec![item]);
/// assert!(m.reasoning_for("openai-codex").next().is_some());
/// assert!(m.reasoning_for("openai").next().is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReasoningItem {
    /// The provider that made it, by its settings id
    /// ([`ProviderKind::id`](crate::ProviderKind::id), e.g. `openai-codex`).
    pub provider: String,
    /// The item as that provider needs it back; opaque to everyone else.
    pub data: Value,
}

impl ReasoningItem {
    /// An item made by `provider`.
    pub fn new(provider: impl Into<String>, data: Value) -> Self {
        ReasoningItem {
            provider: provider.into(),
            data,
        }
    }
}

/// One turn of the conversation.
///
/// ```
/// use cline_provider_core::{Message, Role};
/// let m = Message::user("What is 2 + 2?");
/// assert_eq!(m.role, Role::User);
/// assert_eq!(m.text(), "What is 2 + 2?");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who speaks.
    pub role: Role,
    /// Text and images.
    #[serde(default)]
    pub content: Vec<ContentPart>,
    /// Tool calls made by an assistant message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a [`Role::Tool`] message: the id of the call this answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// For an assistant message: the reasoning the provider returned with it, sent back as it
    /// came (see [`ReasoningItem`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasoning: Vec<ReasoningItem>,
}

impl Message {
    /// A message with one text part.
    pub fn text_message(role: Role, text: impl Into<String>) -> Self {
        Message {
            role,
            content: vec![ContentPart::Text { text: text.into() }],
            tool_calls: Vec::new(),
            tool_call_id: None,
            reasoning: Vec::new(),
        }
    }
    /// A system message.
    pub fn system(text: impl Into<String>) -> Self {
        Self::text_message(Role::System, text)
    }
    /// A developer message.
    pub fn developer(text: impl Into<String>) -> Self {
        Self::text_message(Role::Developer, text)
    }
    /// A user message.
    pub fn user(text: impl Into<String>) -> Self {
        Self::text_message(Role::User, text)
    }
    /// An assistant message.
    pub fn assistant(text: impl Into<String>) -> Self {
        Self::text_message(Role::Assistant, text)
    }
    /// An assistant message that calls tools (its text may be empty).
    pub fn assistant_tool_calls(text: impl Into<String>, calls: Vec<ToolCall>) -> Self {
        let text = text.into();
        Message {
            role: Role::Assistant,
            content: if text.is_empty() {
                Vec::new()
            } else {
                vec![ContentPart::Text { text }]
            },
            tool_calls: calls,
            tool_call_id: None,
            reasoning: Vec::new(),
        }
    }
    /// The result of the tool call `call_id`.
    pub fn tool_result(call_id: impl Into<String>, output: impl Into<String>) -> Self {
        Message {
            role: Role::Tool,
            content: vec![ContentPart::Text {
                text: output.into(),
            }],
            tool_calls: Vec::new(),
            tool_call_id: Some(call_id.into()),
            reasoning: Vec::new(),
        }
    }
    /// Adds an image part.
    pub fn with_image(mut self, source: ImageSource) -> Self {
        self.content.push(ContentPart::Image { source });
        self
    }
    /// Attaches the reasoning a provider returned with this (assistant) message.
    pub fn with_reasoning(mut self, items: Vec<ReasoningItem>) -> Self {
        self.reasoning.extend(items);
        self
    }
    /// The reasoning items made by `provider` (by its settings id), in order.
    pub fn reasoning_for<'a>(
        &'a self,
        provider: &'a str,
    ) -> impl Iterator<Item = &'a ReasoningItem> + 'a {
        self.reasoning
            .iter()
            .filter(move |r| r.provider == provider)
    }
    /// All text parts joined.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for part in &self.content {
            if let ContentPart::Text { text } = part {
                out.push_str(text);
            }
        }
        out
    }
    /// Whether any part is an image.
    pub fn has_images(&self) -> bool {
        self.content
            .iter()
            .any(|p| matches!(p, ContentPart::Image { .. }))
    }
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// The function name.
    pub name: String,
    /// What it does, for the model.
    #[serde(default)]
    pub description: String,
    /// A JSON Schema of the arguments object.
    pub parameters: Value,
    /// Ask the endpoint to enforce the schema strictly, where supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

impl Tool {
    /// A function tool.
    pub fn function(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
    ) -> Self {
        Tool {
            name: name.into(),
            description: description.into(),
            parameters,
            strict: None,
        }
    }

    /// A function tool whose parameters are the JSON Schema of `T` (feature `schemars`), the
    /// type its arguments then [`parse`](crate::ToolArguments::parse) into. The schema's
    /// `$schema` and `title` keys are left out: they are noise to the model.
    ///
    /// ```
    /// # #[cfg(feature = "schemars")] {
    /// use cline_provider_core::Tool;
    /// #[derive(schemars::JsonSchema, serde::Deserialize)]
    /// struct Weather {
    ///     /// The city, e.g. "Paris".
    ///     city: String,
    /// }
    /// let tool = Tool::for_type::<Weather>("get_weather", "Current weather in a city");
    /// assert_eq!(tool.parameters["properties"]["city"]["type"], "string");
    /// assert!(tool.parameters.get("$schema").is_none() && tool.parameters.get("title").is_none());
    /// # }
    /// ```
    #[cfg(feature = "schemars")]
    #[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
    pub fn for_type<T: schemars::JsonSchema>(
        name: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        let mut parameters = serde_json::to_value(schemars::schema_for!(T))
            .unwrap_or_else(|_| serde_json::json!({"type": "object"}));
        if let Some(obj) = parameters.as_object_mut() {
            obj.remove("$schema");
            obj.remove("title");
        }
        Tool::function(name, description, parameters)
    }
}

/// Whether and which tool the model must call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// No tool calls.
    None,
    /// At least one tool call.
    Required,
    /// This function must be called.
    Function(String),
}

/// How hard a reasoning model thinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ReasoningEffort {
    /// No reasoning: the field is not sent.
    None,
    /// Low effort.
    Low,
    /// Medium effort (the default).
    #[default]
    Medium,
    /// High effort.
    High,
    /// Extra high effort.
    #[serde(rename = "xhigh")]
    XHigh,
}

impl ReasoningEffort {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningEffort::None => "none",
            ReasoningEffort::Low => "low",
            ReasoningEffort::Medium => "medium",
            ReasoningEffort::High => "high",
            ReasoningEffort::XHigh => "xhigh",
        }
    }

    /// Reads a stored setting leniently, as the original product does: unknown values are
    /// `Medium`.
    pub fn normalize(value: &str) -> Self {
        value.parse().unwrap_or_default()
    }
}

impl fmt::Display for ReasoningEffort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReasoningEffort {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(ReasoningEffort::None),
            "low" => Ok(ReasoningEffort::Low),
            "medium" => Ok(ReasoningEffort::Medium),
            "high" => Ok(ReasoningEffort::High),
            "xhigh" => Ok(ReasoningEffort::XHigh),
            other => Err(Error::invalid_config(
                "reasoning_effort",
                format!("`{other}` is not one of none, low, medium, high, xhigh"),
            )),
        }
    }
}

/// One chat request, independent of the wire format.
///
/// ```
/// use cline_provider_core::{ChatRequest, Message};
/// let req = ChatRequest::new("gpt-4o-mini")
///     .message(Message::system("Be brief."))
///     .message(Message::user("Hello"))
///     .temperature(0.2);
/// req.validate().unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The model id (on Azure: the deployment name).
    pub model: String,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Functions the model may call.
    #[serde(default)]
    pub tools: Vec<Tool>,
    /// Tool choice; `None` leaves it to the provider's default.
    #[serde(default)]
    pub tool_choice: Option<ToolChoice>,
    /// Sampling temperature.
    #[serde(default)]
    pub temperature: Option<f32>,
    /// The most tokens the reply may have.
    #[serde(default)]
    pub max_output_tokens: Option<u32>,
    /// Reasoning effort for reasoning models.
    #[serde(default)]
    pub reasoning_effort: Option<ReasoningEffort>,
    /// Stop sequences.
    #[serde(default)]
    pub stop: Vec<String>,
    /// Headers added to this request only; they win over every other header.
    #[serde(default)]
    pub extra_headers: Vec<(String, String)>,
    /// Fields merged into the JSON body last; they win over the SDK's fields.
    #[serde(default)]
    pub extra_body: Map<String, Value>,
    /// Cancels the request when triggered, like dropping the stream does.
    #[serde(skip)]
    pub cancel: Option<CancelToken>,
    /// The whole request's time limit, retries and streaming included; replaces the client's
    /// total timeout. Running out ends the request with `Timeout(Total)`. Default: the
    /// client's (none unless configured).
    #[serde(skip)]
    pub timeout: Option<Duration>,
}

/// A cancellation token carried by a [`ChatRequest`]; a thin wrapper over
/// [`tokio_util::sync::CancellationToken`] so that requests stay comparable and printable.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(pub CancellationToken);

impl PartialEq for CancelToken {
    // Tokens carry no data worth comparing; two requests that differ only in their token
    // ask for the same thing.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl ChatRequest {
    /// A request for `model` with no messages yet.
    pub fn new(model: impl Into<String>) -> Self {
        ChatRequest {
            model: model.into(),
            ..Default::default()
        }
    }
    /// Appends a message.
    pub fn message(mut self, m: Message) -> Self {
        self.messages.push(m);
        self
    }
    /// Appends messages (a whole history).
    pub fn messages(mut self, messages: impl IntoIterator<Item = Message>) -> Self {
        self.messages.extend(messages);
        self
    }
    /// Adds a tool.
    pub fn tool(mut self, t: Tool) -> Self {
        self.tools.push(t);
        self
    }
    /// Adds tools.
    pub fn tools(mut self, tools: impl IntoIterator<Item = Tool>) -> Self {
        self.tools.extend(tools);
        self
    }
    /// Sets whether and which tool the model must call.
    pub fn tool_choice(mut self, choice: ToolChoice) -> Self {
        self.tool_choice = Some(choice);
        self
    }
    /// Adds stop sequences.
    pub fn stop<S: Into<String>>(mut self, sequences: impl IntoIterator<Item = S>) -> Self {
        self.stop.extend(sequences.into_iter().map(Into::into));
        self
    }
    /// Limits the whole request, retries and streaming included (the `timeout` field).
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }
    /// Sets the temperature.
    pub fn temperature(mut self, t: f32) -> Self {
        self.temperature = Some(t);
        self
    }
    /// Sets the output token limit.
    pub fn max_output_tokens(mut self, n: u32) -> Self {
        self.max_output_tokens = Some(n);
        self
    }
    /// Sets the reasoning effort.
    pub fn reasoning_effort(mut self, e: ReasoningEffort) -> Self {
        self.reasoning_effort = Some(e);
        self
    }
    /// Adds a per-request header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_headers.push((name.into(), value.into()));
        self
    }
    /// Cancels the request when `token` is cancelled.
    pub fn cancel_on(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(CancelToken(token));
        self
    }
    /// Adds a per-request body field.
    pub fn body_field(mut self, key: impl Into<String>, value: Value) -> Self {
        self.extra_body.insert(key.into(), value);
        self
    }

    /// Checks what no endpoint would accept, so the person gets a precise message instead of
    /// a 400: an empty model id, no messages, a tool result for an unknown call, an image of an
    /// unknown media type, a tool without a name, a malformed extra header.
    pub fn validate(&self) -> Result<()> {
        if self.model.trim().is_empty() {
            return Err(Error::invalid_config("model", "the model id is empty"));
        }
        if self.messages.is_empty() {
            return Err(Error::invalid_config(
                "messages",
                "there are no messages to send",
            ));
        }
        let mut seen_calls: HashSet<&str> = HashSet::new();
        for (i, m) in self.messages.iter().enumerate() {
            for call in &m.tool_calls {
                if call.id.is_empty() {
                    return Err(Error::invalid_config(
                        format!("messages[{i}].tool_calls.id"),
                        "a tool call has an empty id",
                    ));
                }
                seen_calls.insert(call.id.as_str());
            }
            if m.role == Role::Tool {
                match m.tool_call_id.as_deref() {
                    None | Some("") => {
                        return Err(Error::invalid_config(
                            format!("messages[{i}].tool_call_id"),
                            "a tool result has no call id",
                        ))
                    }
                    Some(id) if !seen_calls.contains(id) => {
                        return Err(Error::invalid_config(
                            format!("messages[{i}].tool_call_id"),
                            format!("the tool result answers call `{id}`, which no earlier assistant message made"),
                        ))
                    }
                    Some(_) => {}
                }
            }
            for (j, part) in m.content.iter().enumerate() {
                if let ContentPart::Image {
                    source: ImageSource::Base64 { media_type, .. },
                } = part
                {
                    if !IMAGE_MEDIA_TYPES.contains(&media_type.as_str()) {
                        return Err(Error::invalid_config(
                            format!("messages[{i}].content[{j}].media_type"),
                            format!(
                                "`{media_type}` is not a supported image type (use one of {})",
                                IMAGE_MEDIA_TYPES.join(", ")
                            ),
                        ));
                    }
                }
            }
        }
        for (i, t) in self.tools.iter().enumerate() {
            if t.name.trim().is_empty() {
                return Err(Error::invalid_config(
                    format!("tools[{i}].name"),
                    "a tool has no name",
                ));
            }
        }
        for (name, value) in &self.extra_headers {
            crate::http::validate_header(name, value)?;
        }
        Ok(())
    }

    /// The text of all leading system/developer messages joined, for wire formats that take
    /// the instructions separately (the Responses API's `instructions`).
    pub fn system_prompt(&self) -> Option<String> {
        let parts: Vec<String> = self
            .messages
            .iter()
            .filter(|m| matches!(m.role, Role::System | Role::Developer))
            .map(Message::text)
            .collect();
        if parts.is_empty() {
            None
        } else {
            Some(parts.join("\n\n"))
        }
    }
}
