//! What comes back: [`StreamEvent`]s, [`Usage`], and the [`Collector`] that folds them into a
//! [`ChatResponse`].

use std::collections::BTreeMap;
use std::pin::Pin;

use futures_core::Stream;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Result;
use crate::rate_limits::RateLimits;
use crate::request::ReasoningItem;

/// The stream a [`Provider`](crate::Provider) returns. Poll-driven: dropping it cancels the
/// request and closes the connection.
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
    /// Input plus output.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens
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
    /// What the endpoint reported about the caller's limits (information only).
    RateLimits(RateLimits),
    /// The model stopped.
    Finish {
        /// Why.
        reason: FinishReason,
    },
}

/// A tool call's arguments once the reply is complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ToolArguments {
    /// The arguments parsed as JSON.
    Parsed {
        /// The value.
        value: Value,
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

impl CompletedToolCall {
    /// The arguments as text, as the model wrote them (for sending back in history).
    pub fn raw_arguments(&self) -> String {
        match &self.arguments {
            ToolArguments::Parsed { value } => value.to_string(),
            ToolArguments::Invalid { raw, .. } => raw.clone(),
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
    /// Reasoning state to attach to the assistant message in the history
    /// ([`Message::with_reasoning`](crate::Message::with_reasoning)), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasoning_items: Vec<ReasoningItem>,
    /// The limits the endpoint reported with this reply (the last report wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limits: Option<RateLimits>,
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
}

impl Collector {
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
                    Ok(value) => ToolArguments::Parsed { value },
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
        ChatResponse {
            text: self.text,
            reasoning: self.reasoning,
            tool_calls,
            usage: self.usage,
            finish_reason: self.finish_reason,
            reasoning_items: self.reasoning_items,
            rate_limits: self.rate_limits,
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
