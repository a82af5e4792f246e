//! The Responses API's wire format as the Codex endpoint speaks it: the request body
//! ([`ResponsesRequest`]) and the streamed events ([`ResponsesEvent`]).
//!
//! Outgoing types borrow from the [`ChatRequest`](cline_provider_core::ChatRequest) they are
//! built from. Incoming types borrow from the event's text wherever the JSON holds no escape
//! ([`JsonStr`]), so a text delta is copied once, into its
//! [`StreamEvent`](cline_provider_core::StreamEvent); unknown fields are skipped, `null` is the
//! same as absent, and token counts are lenient ([`Count`]).
//!
//! Shapes follow OpenAI's Responses API reference (`POST /v1/responses`, its streaming events)
//! and what the Codex CLI sends to `chatgpt.com/backend-api/codex/responses`: items go out
//! without their `id`, since the endpoint stores nothing (`store: false`) and refuses ids it
//! cannot look up.

use std::borrow::Cow;

use cline_provider_core::wire::{Count, JsonStr};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// The body of `POST {base}/responses`.
#[derive(Debug, Clone, Serialize)]
pub struct ResponsesRequest<'a> {
    /// The model id.
    pub model: &'a str,
    /// The system and developer messages, joined: the endpoint refuses those roles in
    /// `input`.
    pub instructions: String,
    /// The conversation, as items.
    pub input: Vec<InputItem<'a>>,
    /// Function tools.
    pub tools: Vec<FunctionTool<'a>>,
    /// `auto`, `none`, `required`, or one named function.
    pub tool_choice: ToolChoiceWire<'a>,
    /// Whether the model may call several tools in one reply.
    pub parallel_tool_calls: bool,
    /// Effort and summary, when reasoning is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<ReasoningWire>,
    /// Always `false`: the endpoint keeps nothing between requests.
    pub store: bool,
    /// Always `true`.
    pub stream: bool,
    /// `["reasoning.encrypted_content"]` when reasoning is on, so that the reasoning comes
    /// back to be carried into the next turn.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<&'static str>,
    /// The session id, so that turns of one conversation share the prompt cache.
    pub prompt_cache_key: &'a str,
}

/// One item of `input`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InputItem<'a> {
    /// A user or assistant message.
    Message {
        /// `user` or `assistant`.
        role: &'static str,
        /// Its parts.
        content: Vec<ContentItem<'a>>,
    },
    /// Reasoning returned earlier, sent back as it came (summary and encrypted content).
    Reasoning {
        /// The summary parts (`[{"type":"summary_text","text":…}]`).
        summary: Cow<'a, Value>,
        /// The encrypted reasoning.
        #[serde(skip_serializing_if = "Option::is_none")]
        encrypted_content: Option<&'a str>,
    },
    /// A tool call the assistant made.
    FunctionCall {
        /// The call id.
        call_id: &'a str,
        /// The function name.
        name: &'a str,
        /// The arguments, as the model wrote them.
        arguments: &'a str,
    },
    /// A tool's result.
    FunctionCallOutput {
        /// The call it answers.
        call_id: &'a str,
        /// Text, or text and images.
        output: FunctionOutput<'a>,
    },
}

/// One part of a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentItem<'a> {
    /// User text.
    InputText {
        /// The text.
        text: &'a str,
    },
    /// A user image.
    InputImage {
        /// An `https:` URL or a `data:` URL.
        image_url: Cow<'a, str>,
        /// Always `auto`.
        detail: &'static str,
    },
    /// Assistant text.
    OutputText {
        /// The text.
        text: &'a str,
    },
}

/// A tool result: plain text, or parts when it carries images.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum FunctionOutput<'a> {
    /// The text.
    Text(String),
    /// Text and image parts, in order.
    Parts(Vec<ContentItem<'a>>),
}

/// One entry of `tools`.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionTool<'a> {
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The function name.
    pub name: &'a str,
    /// What it does.
    pub description: &'a str,
    /// The JSON Schema of its arguments.
    pub parameters: &'a Value,
    /// Whether the schema is enforced strictly.
    pub strict: bool,
}

/// `tool_choice`.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ToolChoiceWire<'a> {
    /// `auto`, `none` or `required`.
    Mode(&'static str),
    /// `{"type":"function","name":…}`.
    Function {
        /// Always `function`.
        #[serde(rename = "type")]
        kind: &'static str,
        /// The function.
        name: &'a str,
    },
}

/// `reasoning`.
#[derive(Debug, Clone, Serialize)]
pub struct ReasoningWire {
    /// `low`, `medium`, `high` or `xhigh`.
    pub effort: &'static str,
    /// Always `auto`: a summary of the reasoning streams to the person.
    pub summary: &'static str,
}

/// One streamed event (every event's `data` is one JSON object with a `type`).
#[derive(Debug, Deserialize)]
pub struct ResponsesEvent<'a> {
    /// The event type (`response.output_text.delta`, …); the SSE `event:` name is the same.
    #[serde(rename = "type", borrow, default)]
    pub kind: Option<JsonStr<'a>>,
    /// Text of a `*.delta` event.
    #[serde(borrow, default)]
    pub delta: Option<JsonStr<'a>>,
    /// The output item the event belongs to.
    #[serde(borrow, default)]
    pub item_id: Option<JsonStr<'a>>,
    /// The position of that item in the response's output.
    #[serde(default)]
    pub output_index: Option<Count>,
    /// Which summary part a reasoning-summary event belongs to.
    #[serde(default)]
    pub summary_index: Option<Count>,
    /// The complete arguments of `response.function_call_arguments.done`.
    #[serde(borrow, default)]
    pub arguments: Option<JsonStr<'a>>,
    /// The item of `response.output_item.added` and `.done`.
    #[serde(borrow, default)]
    pub item: Option<OutputItem<'a>>,
    /// The response of `response.created`, `.completed`, `.incomplete` and `.failed`.
    #[serde(borrow, default)]
    pub response: Option<ResponseObject<'a>>,
}

/// An output item: a message, reasoning, or a function call (other types are skipped).
#[derive(Debug, Default, Deserialize)]
pub struct OutputItem<'a> {
    /// `message`, `reasoning`, `function_call`, …
    #[serde(rename = "type", borrow, default)]
    pub kind: Option<JsonStr<'a>>,
    /// The item id (`msg_…`, `rs_…`, `fc_…`).
    #[serde(borrow, default)]
    pub id: Option<JsonStr<'a>>,
    /// A function call's id, which its result names.
    #[serde(borrow, default)]
    pub call_id: Option<JsonStr<'a>>,
    /// A function call's name.
    #[serde(borrow, default)]
    pub name: Option<JsonStr<'a>>,
    /// A function call's complete arguments.
    #[serde(borrow, default)]
    pub arguments: Option<JsonStr<'a>>,
    /// A message's parts (`output_text`, `refusal`).
    #[serde(borrow, default)]
    pub content: Option<Vec<TextPart<'a>>>,
    /// A reasoning item's summary parts.
    #[serde(borrow, default)]
    pub summary: Option<Vec<TextPart<'a>>>,
    /// A reasoning item's encrypted content (with `include: ["reasoning.encrypted_content"]`).
    #[serde(borrow, default)]
    pub encrypted_content: Option<JsonStr<'a>>,
}

/// A part with text: `output_text`, `refusal`, `summary_text`, `reasoning_text`.
#[derive(Debug, Default, Deserialize)]
pub struct TextPart<'a> {
    /// The part's type.
    #[serde(rename = "type", borrow, default)]
    pub kind: Option<JsonStr<'a>>,
    /// Its text.
    #[serde(borrow, default)]
    pub text: Option<JsonStr<'a>>,
    /// A refusal's text.
    #[serde(borrow, default)]
    pub refusal: Option<JsonStr<'a>>,
}

/// The `response` object of the lifecycle events.
#[derive(Debug, Default, Deserialize)]
pub struct ResponseObject<'a> {
    /// `resp_…`.
    #[serde(borrow, default)]
    pub id: Option<JsonStr<'a>>,
    /// The model that answers (`gpt-5.5`).
    #[serde(borrow, default)]
    pub model: Option<JsonStr<'a>>,
    /// Token counts (on `.completed` and `.incomplete`).
    #[serde(default)]
    pub usage: Option<UsageWire>,
    /// What failed (on `.failed`): `{code, message}`, read by core's error rules.
    #[serde(borrow, default)]
    pub error: Option<&'a RawValue>,
    /// Why the reply is incomplete (on `.incomplete`).
    #[serde(borrow, default)]
    pub incomplete_details: Option<IncompleteDetails<'a>>,
}

/// `incomplete_details`.
#[derive(Debug, Default, Deserialize)]
pub struct IncompleteDetails<'a> {
    /// `max_output_tokens`, `content_filter`, …
    #[serde(borrow, default)]
    pub reason: Option<JsonStr<'a>>,
}

/// `usage` of a response.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct UsageWire {
    /// Prompt tokens, cached ones included.
    #[serde(default)]
    pub input_tokens: Option<Count>,
    /// Cache details.
    #[serde(default)]
    pub input_tokens_details: Option<InputTokensDetails>,
    /// Reply tokens, reasoning included.
    #[serde(default)]
    pub output_tokens: Option<Count>,
    /// Reasoning details.
    #[serde(default)]
    pub output_tokens_details: Option<OutputTokensDetails>,
}

/// `usage.input_tokens_details`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct InputTokensDetails {
    /// Prompt tokens served from the cache.
    #[serde(default)]
    pub cached_tokens: Option<Count>,
}

/// `usage.output_tokens_details`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct OutputTokensDetails {
    /// Reply tokens spent reasoning.
    #[serde(default)]
    pub reasoning_tokens: Option<Count>,
}

fn count(c: Option<Count>) -> u64 {
    c.map_or(0, |c| c.0)
}

impl UsageWire {
    /// The counts in the SDK's terms, billed to the subscription (no per-token cost).
    pub fn to_usage(&self) -> cline_provider_core::Usage {
        cline_provider_core::Usage {
            input_tokens: count(self.input_tokens),
            output_tokens: count(self.output_tokens),
            cached_input_tokens: count(self.input_tokens_details.and_then(|d| d.cached_tokens)),
            cache_write_tokens: 0,
            reasoning_tokens: count(self.output_tokens_details.and_then(|d| d.reasoning_tokens)),
            billing: cline_provider_core::Billing::Subscription,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delta_event_borrows_its_text() {
        let e: ResponsesEvent<'_> = serde_json::from_str(
            r#"{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi","sequence_number":4}"#,
        )
        .unwrap();
        assert_eq!(
            e.kind.as_ref().map(JsonStr::as_str),
            Some("response.output_text.delta")
        );
        assert!(matches!(e.delta.unwrap().0, Cow::Borrowed("Hi")));
        assert_eq!(e.output_index, Some(Count(0)));
    }

    #[test]
    fn usage_counts_are_lenient_and_billed_to_the_plan() {
        let u: UsageWire = serde_json::from_str(
            r#"{"input_tokens":"12","input_tokens_details":null,"output_tokens":-1,"output_tokens_details":{"reasoning_tokens":3.0},"total_tokens":9}"#,
        )
        .unwrap();
        let u = u.to_usage();
        assert_eq!(
            (u.input_tokens, u.output_tokens, u.reasoning_tokens),
            (12, 0, 3)
        );
        assert_eq!(u.billing, cline_provider_core::Billing::Subscription);
    }

    #[test]
    fn items_go_out_without_ids() {
        let item = InputItem::FunctionCall {
            call_id: "call_1",
            name: "f",
            arguments: "{}",
        };
        assert_eq!(
            serde_json::to_value(&item).unwrap(),
            serde_json::json!({"type":"function_call","call_id":"call_1","name":"f","arguments":"{}"})
        );
    }
}
