//! The tool loop: stream a reply, run the tools it calls, send their results back, repeat.
//!
//! [`run_tool_loop`] is the loop an agent host would otherwise write by hand: each turn it
//! streams the reply (every event goes to a callback, for display), appends the assistant
//! message with its tool calls (arguments as the model wrote them), calls the caller's async
//! tool function once per call, appends each result, and sends the conversation again, until
//! the model answers without calling a tool or the turn limit is reached.
//!
//! ```no_run
//! use cline_provider_core::tool_loop::run_tool_loop;
//! use cline_provider_core::{ChatRequest, Message, Provider, StreamEvent, Tool};
//! use serde_json::json;
//!
//! # async fn run(provider: &dyn Provider) -> cline_provider_core::Result<()> {
//! let request = ChatRequest::new("gpt-4o-mini")
//!     .message(Message::user("What time is it in Paris?"))
//!     .tool(Tool::function("clock", "The time in a city", json!({
//!         "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]
//!     })));
//! let outcome = run_tool_loop(
//!     provider,
//!     request,
//!     4,
//!     |call| async move { Ok::<_, String>(format!("12:00 in {}", call.raw_arguments())) },
//!     &mut |event| {
//!         if let StreamEvent::TextDelta { text } = event {
//!             print!("{text}");
//!         }
//!     },
//! )
//! .await?;
//! println!("\n{} turns", outcome.turns);
//! # Ok(())
//! # }
//! ```

use std::fmt::Display;
use std::future::Future;

use crate::error::{Error, Result};
use crate::provider::Provider;
use crate::request::{ChatRequest, Message};
use crate::stream::{ChatResponse, CompletedToolCall, StreamEvent, Usage};

/// How a [`run_tool_loop`] ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolLoopOutcome {
    /// The last reply: the answer, or (when [`hit_turn_limit`](Self::hit_turn_limit)) tool
    /// calls that were not run.
    pub response: ChatResponse,
    /// The whole conversation, the request's messages first and the last reply's assistant
    /// message last: send it again with a new user message to continue.
    pub messages: Vec<Message>,
    /// Replies streamed (one per turn).
    pub turns: u32,
    /// Token counts summed over every turn, when the endpoint reported them.
    pub usage: Option<Usage>,
    /// The cost summed over every turn in USD, when prices are known.
    pub cost: Option<f64>,
    /// The turn limit was reached while the model still called tools.
    pub hit_turn_limit: bool,
}

/// Runs the tool loop for `request`, at most `max_turns` replies.
///
/// `call_tool` gets each tool call (in the order the model made them) and returns the text
/// sent back as its result; an `Err` is sent back too, as `error: …`, so that the model can
/// react (use [`CompletedToolCall::parse_arguments`] to read typed arguments: its error is
/// written for the model). `on_event` sees every streamed event of every turn.
///
/// # Errors
///
/// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) for `max_turns == 0`; any
/// error of [`Provider::stream_collect`] ends the loop with it.
///
/// # Cancellation
///
/// Dropping the future stops the loop; a [`CancelToken`](crate::CancelToken) on the request
/// cancels the turn in flight.
pub async fn run_tool_loop<P, F, Fut, E>(
    provider: &P,
    mut request: ChatRequest,
    max_turns: u32,
    mut call_tool: F,
    on_event: &mut (dyn FnMut(&StreamEvent) + Send),
) -> Result<ToolLoopOutcome>
where
    P: Provider + ?Sized,
    F: FnMut(CompletedToolCall) -> Fut,
    Fut: Future<Output = std::result::Result<String, E>>,
    E: Display,
{
    if max_turns == 0 {
        return Err(Error::invalid_config(
            "max_turns",
            "the tool loop needs at least one turn",
        ));
    }
    let mut usage: Option<Usage> = None;
    let mut cost: Option<f64> = None;
    let mut turns = 0;
    loop {
        let response = provider
            .stream_collect(request.clone(), &mut *on_event)
            .await?;
        turns += 1;
        if let Some(u) = response.usage {
            usage = Some(add_usage(usage.unwrap_or_default(), u));
        }
        if let Some(c) = response.cost {
            cost = Some(cost.unwrap_or(0.0) + c);
        }
        request.messages.push(response.to_message());
        let done = response.tool_calls.is_empty();
        if done || turns >= max_turns {
            return Ok(ToolLoopOutcome {
                response,
                messages: request.messages,
                turns,
                usage,
                cost,
                hit_turn_limit: !done,
            });
        }
        for call in &response.tool_calls {
            let id = call.id.clone();
            let output = match call_tool(call.clone()).await {
                Ok(text) => text,
                Err(e) => format!("error: {e}"),
            };
            request.messages.push(Message::tool_result(id, output));
        }
    }
}

fn add_usage(a: Usage, b: Usage) -> Usage {
    Usage {
        input_tokens: a.input_tokens.saturating_add(b.input_tokens),
        output_tokens: a.output_tokens.saturating_add(b.output_tokens),
        cached_input_tokens: a.cached_input_tokens.saturating_add(b.cached_input_tokens),
        cache_write_tokens: a.cache_write_tokens.saturating_add(b.cache_write_tokens),
        reasoning_tokens: a.reasoning_tokens.saturating_add(b.reasoning_tokens),
        // Every turn goes to the same provider, so the billing is the same.
        billing: b.billing,
    }
}
