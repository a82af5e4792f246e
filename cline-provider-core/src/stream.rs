//! What comes back: [`StreamEvent`]s, [`Usage`], and the [`Collector`] that folds them into a
//! [`ChatResponse`].

use std::collections::BTreeMap;
use std::pin::Pin;

use futures_core::Stream;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::model::ModelInfo;
use crate::rate_limits::RateLimits;
use crate::request::{Message, ReasoningItem, ToolCall};

/// The stream a [`Provider`](crate::Provider) returns. Poll-driven.
///
/// # Cancellation
///
/// Dropping it cancels the request and closes the connection; nothing keeps running in the
/// background. A [`CancelToken`](crate::CancelToken) on the request ends it with
/// [`ErrorKind::Cancelled`] instead.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<StreamEvent>> + Send>>;

/// Token counts for one reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens, cached ones included.
    pub input_tokens: u64,
    /// Reply tokens, reasoning included.
    pub output_tokens: u64,
    /// Prompt tokens served from the provider's cache.
    pub cached_input_tokens: u64,
    /// Prompt tokens written to the provider's cache.
    pub cache_write_tokens: u64,
    /// Reply tokens spent on reasoning.
    pub reasoning_tokens: u64,
    /// How these tokens are paid for. Default [`Billing::PerToken`].
    #[serde(default, skip_serializing_if = "Billing::is_per_token")]
    pub billing: Billing,
}

impl Usage {
    /// Input plus output. Saturates: the counts come from the server.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }

    /// What these tokens cost at `model`'s prices, in USD, as the original product computes
    /// it: cached input at the cached-input price, the rest of the input at the input price,
    /// output at the output price (prices are per million tokens; a missing one counts as 0).
    /// `None` when the model has neither an input nor an output price. Usage billed to a
    /// subscription ([`Billing::Subscription`]) costs 0 whatever the prices.
    ///
    /// ```
    /// use cline_provider_core::{ModelInfo, Usage};
    /// let mut m = ModelInfo::new("m");
    /// m.input_price = Some(2.0);
    /// m.output_price = Some(8.0);
    /// m.cached_input_price = Some(0.5);
    /// let u = Usage { input_tokens: 1_000_000, cached_input_tokens: 400_000, output_tokens: 100_000, ..Usage::default() };
    /// // 600k × $2 + 400k × $0.5 + 100k × $8, per million
    /// assert!((u.cost(&m).unwrap() - 2.2).abs() < 1e-9);
    /// assert_eq!(u.cost(&ModelInfo::new("unpriced")), None);
    /// ```
    pub fn cost(&self, model: &ModelInfo) -> Option<f64> {
        if let Some(fixed) = self.fixed_cost() {
            return Some(fixed);
        }
        if model.input_price.is_none() && model.output_price.is_none() {
            return None;
        }
        let per_token = |price: Option<f64>| price.unwrap_or(0.0) / 1_000_000.0;
        let cached = self.cached_input_tokens.min(self.input_tokens);
        let uncached = self.input_tokens - cached;
        Some(
            uncached as f64 * per_token(model.input_price)
                + cached as f64 * per_token(model.cached_input_price)
                + self.output_tokens as f64 * per_token(model.output_price),
        )
    }

    /// The cost the billing alone decides: zero on a [`Billing::Subscription`] (the plan pays,
    /// whatever the model's list price), `None` when it is per token and depends on the
    /// model's prices.
    ///
    /// ```
    /// use cline_provider_core::{Billing, Usage};
    /// let u = Usage { output_tokens: 900, billing: Billing::Subscription, ..Usage::default() };
    /// assert_eq!(u.fixed_cost(), Some(0.0));
    /// assert_eq!(Usage::default().fixed_cost(), None);
    /// ```
    pub fn fixed_cost(&self) -> Option<f64> {
        match self.billing {
            Billing::Subscription => Some(0.0),
            Billing::PerToken => None,
        }
    }
}

/// How a reply's tokens are paid for, which is why its cost is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Billing {
    /// Per token, at the model's prices (when they are known).
    #[default]
    PerToken,
    /// Covered by the person's subscription plan (a ChatGPT plan through OpenAI Codex): no
    /// per-token cost; the plan's usage limits apply instead.
    Subscription,
}

impl Billing {
    /// Whether this is [`Billing::PerToken`].
    pub fn is_per_token(&self) -> bool {
        *self == Billing::PerToken
    }
}

/// Why the model stopped. Unknown reasons are kept, never a decode failure.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum FinishReason {
    /// A natural end, or a stop sequence.
    Stop,
    /// The output token limit was reached.
    Length,
    /// The model called tools and waits for their results.
    ToolCalls,
    /// Content was filtered.
    ContentFilter,
    /// Anything else the server said, as it said it (`eos`, `eos_token`, …).
    Other(String),
}

impl FinishReason {
    /// The reason as the server would write it.
    pub fn as_str(&self) -> &str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::Other(s) => s,
        }
    }
}

impl From<&str> for FinishReason {
    fn from(s: &str) -> Self {
        match s {
            "stop" => FinishReason::Stop,
            "length" | "max_tokens" | "max_output_tokens" => FinishReason::Length,
            "tool_calls" | "function_call" => FinishReason::ToolCalls,
            "content_filter" => FinishReason::ContentFilter,
            other => FinishReason::Other(other.to_owned()),
        }
    }
}

impl From<String> for FinishReason {
    fn from(s: String) -> Self {
        FinishReason::from(s.as_str())
    }
}

impl From<FinishReason> for String {
    fn from(r: FinishReason) -> Self {
        r.as_str().to_owned()
    }
}

/// One step of a streamed reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    /// More reply text.
    TextDelta {
        /// The new text.
        text: String,
    },
    /// More reasoning text (thinking, reasoning summary).
    ReasoningDelta {
        /// The new text.
        text: String,
    },
    /// A tool call begins. Its arguments follow as [`StreamEvent::ToolCallArgumentsDelta`]
    /// with the same `index`.
    ToolCallStart {
        /// Position of the call in this reply; deltas of several calls may interleave.
        index: u32,
        /// The call id.
        id: String,
        /// The function name.
        name: String,
    },
    /// A fragment of a tool call's JSON arguments.
    ToolCallArgumentsDelta {
        /// Which call.
        index: u32,
        /// The fragment.
        delta: String,
    },
    /// Token counts.
    Usage(Usage),
    /// Reasoning state to send back with this reply on the next turn (see
    /// [`ReasoningItem`]); the [`Collector`] keeps it in
    /// [`ChatResponse::reasoning_items`].
    ReasoningItem(ReasoningItem),
    /// What the endpoint reported about the caller's limits (information only). Like
    /// [`Metadata`](StreamEvent::Metadata), it comes before the first output and is not part
    /// of the reply.
    RateLimits(RateLimits),
    /// What the server says about the reply itself: its id and the model that actually
    /// answered (a gateway may route to another). Sent once, before the first output.
    Metadata {
        /// The response id (`chatcmpl-…`), when the server sent one.
        id: Option<String>,
        /// The model that answered, when the server said.
        model: Option<String>,
    },
    /// The model stopped.
    Finish {
        /// Why.
        reason: FinishReason,
    },
}

impl StreamEvent {
    /// Whether the event is part of the reply, rather than what the endpoint says about it
    /// ([`Metadata`](StreamEvent::Metadata), [`RateLimits`](StreamEvent::RateLimits)). Until
    /// the first output the engine may still retry a request.
    ///
    /// ```
    /// use cline_provider_core::{RateLimits, StreamEvent};
    /// assert!(StreamEvent::TextDelta { text: "Hi".into() }.is_output());
    /// assert!(!StreamEvent::RateLimits(RateLimits::default()).is_output());
    /// ```
    pub fn is_output(&self) -> bool {
        !matches!(
            self,
            StreamEvent::Metadata { .. } | StreamEvent::RateLimits(_)
        )
    }
}

/// A tool call's arguments once the reply is complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ToolArguments {
    /// The arguments parsed as JSON.
    Parsed {
        /// The value.
        value: Value,
        /// The text exactly as the model wrote it (`{}` when it wrote nothing), which is what
        /// goes back in the history: re-serializing would change key order and spacing.
        raw: String,
    },
    /// The model wrote something that is not JSON; the raw text is kept.
    Invalid {
        /// What the model wrote.
        raw: String,
        /// Why it does not parse.
        error: String,
    },
}

/// A tool call, complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompletedToolCall {
    /// Position in the reply.
    pub index: u32,
    /// Call id.
    pub id: String,
    /// Function name.
    pub name: String,
    /// The arguments.
    pub arguments: ToolArguments,
}

impl ToolArguments {
    /// The arguments as the model wrote them.
    pub fn raw(&self) -> &str {
        match self {
            ToolArguments::Parsed { raw, .. } | ToolArguments::Invalid { raw, .. } => raw,
        }
    }

    /// The parsed JSON, when the model wrote valid JSON.
    pub fn value(&self) -> Option<&Value> {
        match self {
            ToolArguments::Parsed { value, .. } => Some(value),
            ToolArguments::Invalid { .. } => None,
        }
    }

    /// The arguments as the caller's type.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidToolArguments`] when the model wrote invalid JSON or JSON that does
    /// not fit `T`; the message says why, in words the model understands when it is sent back
    /// as the tool result.
    ///
    /// ```
    /// use cline_provider_core::{Collector, StreamEvent};
    /// #[derive(serde::Deserialize)]
    /// struct Weather { city: String }
    /// let mut c = Collector::default();
    /// c.push(&StreamEvent::ToolCallStart { index: 0, id: "call_1".into(), name: "weather".into() });
    /// c.push(&StreamEvent::ToolCallArgumentsDelta { index: 0, delta: r#"{"city":"Paris"}"#.into() });
    /// let call = &c.finish().tool_calls[0];
    /// assert_eq!(call.arguments.parse::<Weather>()?.city, "Paris");
    /// # Ok::<(), cline_provider_core::Error>(())
    /// ```
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T> {
        match self {
            ToolArguments::Parsed { value, .. } => T::deserialize(value).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidToolArguments,
                    format!("the tool arguments do not fit: {e}"),
                )
            }),
            ToolArguments::Invalid { error, .. } => Err(Error::new(
                ErrorKind::InvalidToolArguments,
                format!("the tool arguments are not valid JSON: {error}"),
            )),
        }
    }
}

impl CompletedToolCall {
    /// The arguments as text, as the model wrote them (for sending back in history).
    pub fn raw_arguments(&self) -> &str {
        self.arguments.raw()
    }

    /// The arguments as the caller's type; the error names this call's tool.
    ///
    /// # Errors
    ///
    /// As [`ToolArguments::parse`].
    pub fn parse_arguments<T: DeserializeOwned>(&self) -> Result<T> {
        self.arguments.parse().map_err(|e| {
            Error::new(
                ErrorKind::InvalidToolArguments,
                format!("`{}` was called with arguments that {}", self.name, {
                    let m = e.message();
                    m.strip_prefix("the tool arguments ")
                        .unwrap_or(m)
                        .to_owned()
                }),
            )
        })
    }

    /// The call as it goes back in the history, inside the assistant message.
    pub fn to_tool_call(&self) -> ToolCall {
        ToolCall {
            id: self.id.clone(),
            name: self.name.clone(),
            arguments: self.raw_arguments().to_owned(),
        }
    }
}

/// A whole reply.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The reply text.
    pub text: String,
    /// The reasoning text, if the model shared any.
    pub reasoning: String,
    /// Tool calls, ordered by index.
    pub tool_calls: Vec<CompletedToolCall>,
    /// Token counts, when the endpoint reported them.
    pub usage: Option<Usage>,
    /// Why the model stopped, when the endpoint said.
    pub finish_reason: Option<FinishReason>,
    /// The response id the server assigned (`chatcmpl-…`), when it sent one.
    #[serde(default)]
    pub id: Option<String>,
    /// The model that actually answered, when the server said (a gateway may route a request
    /// to another model than the one asked for).
    #[serde(default)]
    pub model: Option<String>,
    /// What the reply cost in USD, from the model info's prices (see [`Usage::cost`]); `None`
    /// when no price is known or the endpoint reported no usage.
    #[serde(default)]
    pub cost: Option<f64>,
    /// Reasoning state to attach to the assistant message in the history
    /// ([`Message::with_reasoning`](crate::Message::with_reasoning)), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasoning_items: Vec<ReasoningItem>,
    /// The limits the endpoint reported with this reply (the last report wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limits: Option<RateLimits>,
}

impl ChatResponse {
    /// The assistant message that goes into the history for the next turn: the text, the
    /// tool calls with their arguments as the model wrote them, and the reasoning the
    /// provider returned to be carried back.
    ///
    /// ```
    /// use cline_provider_core::{ChatResponse, Message, Role};
    /// let reply = ChatResponse { text: "Hi".into(), ..ChatResponse::default() };
    /// let m: Message = reply.to_message();
    /// assert_eq!((m.role, m.text()), (Role::Assistant, "Hi".to_owned()));
    /// ```
    pub fn to_message(&self) -> Message {
        let calls = self
            .tool_calls
            .iter()
            .map(CompletedToolCall::to_tool_call)
            .collect();
        Message::assistant_tool_calls(self.text.clone(), calls)
            .with_reasoning(self.reasoning_items.clone())
    }
}

impl From<&ChatResponse> for Message {
    fn from(r: &ChatResponse) -> Self {
        r.to_message()
    }
}

impl From<ChatResponse> for Message {
    fn from(r: ChatResponse) -> Self {
        r.to_message()
    }
}

#[derive(Debug, Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

/// Folds any sequence of [`StreamEvent`]s into one [`ChatResponse`].
///
/// ```
/// use cline_provider_core::{Collector, StreamEvent};
/// let mut c = Collector::default();
/// c.push(&StreamEvent::TextDelta { text: "Hel".into() });
/// c.push(&StreamEvent::TextDelta { text: "lo".into() });
/// assert_eq!(c.finish().text, "Hello");
/// ```
#[derive(Debug, Default)]
pub struct Collector {
    text: String,
    reasoning: String,
    calls: BTreeMap<u32, PartialCall>,
    usage: Option<Usage>,
    finish_reason: Option<FinishReason>,
    reasoning_items: Vec<ReasoningItem>,
    rate_limits: Option<RateLimits>,
    id: Option<String>,
    model: Option<String>,
    prices: Option<ModelInfo>,
}

impl Collector {
    /// A collector that prices the reply with `model`'s prices (see [`ChatResponse::cost`]).
    pub fn priced(model: Option<ModelInfo>) -> Self {
        Collector {
            prices: model,
            ..Collector::default()
        }
    }

    /// Adds one event. A later usage event replaces an earlier one, since endpoints report
    /// cumulative totals.
    pub fn push(&mut self, event: &StreamEvent) {
        match event {
            StreamEvent::TextDelta { text } => self.text.push_str(text),
            StreamEvent::ReasoningDelta { text } => self.reasoning.push_str(text),
            StreamEvent::ToolCallStart { index, id, name } => {
                let call = self.calls.entry(*index).or_default();
                if !id.is_empty() {
                    call.id.clone_from(id);
                }
                if !name.is_empty() {
                    call.name.clone_from(name);
                }
            }
            StreamEvent::ToolCallArgumentsDelta { index, delta } => {
                self.calls
                    .entry(*index)
                    .or_default()
                    .arguments
                    .push_str(delta);
            }
            StreamEvent::Usage(u) => self.usage = Some(*u),
            StreamEvent::Finish { reason } => self.finish_reason = Some(reason.clone()),
            StreamEvent::ReasoningItem(item) => self.reasoning_items.push(item.clone()),
            StreamEvent::RateLimits(limits) => self.rate_limits = Some(limits.clone()),
            StreamEvent::Metadata { id, model } => {
                if id.is_some() {
                    self.id.clone_from(id);
                }
                if model.is_some() {
                    self.model.clone_from(model);
                }
            }
        }
    }

    /// The response so far.
    pub fn finish(self) -> ChatResponse {
        let tool_calls = self
            .calls
            .into_iter()
            .map(|(index, call)| {
                let raw = if call.arguments.trim().is_empty() {
                    "{}".to_owned()
                } else {
                    call.arguments
                };
                let arguments = match serde_json::from_str::<Value>(&raw) {
                    Ok(value) => ToolArguments::Parsed { value, raw },
                    Err(e) => ToolArguments::Invalid {
                        raw,
                        error: e.to_string(),
                    },
                };
                CompletedToolCall {
                    index,
                    id: call.id,
                    name: call.name,
                    arguments,
                }
            })
            .collect();
        let cost = match (&self.usage, &self.prices) {
            (Some(usage), Some(prices)) => usage.cost(prices),
            (Some(usage), None) => usage.fixed_cost(),
            (None, _) => None,
        };
        ChatResponse {
            text: self.text,
            reasoning: self.reasoning,
            tool_calls,
            usage: self.usage,
            finish_reason: self.finish_reason,
            reasoning_items: self.reasoning_items,
            rate_limits: self.rate_limits,
            id: self.id,
            model: self.model,
            cost,
        }
    }
}

impl Extend<StreamEvent> for Collector {
    fn extend<T: IntoIterator<Item = StreamEvent>>(&mut self, iter: T) {
        for e in iter {
            self.push(&e);
        }
    }
}
