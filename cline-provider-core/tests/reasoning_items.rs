//! Reasoning items and rate limits pass through the collector to the reply, and reasoning goes
//! back on the assistant message for the next turn, tagged with the provider that made it.

use cline_provider_core::{
    Billing, Collector, Message, RateLimitWindow, RateLimits, ReasoningItem, StreamEvent, Usage,
};
use serde_json::json;

#[test]
fn the_collector_keeps_reasoning_items_in_order_and_the_last_rate_limits() {
    let first = ReasoningItem::new("openai-codex", json!({"encrypted_content": "e1"}));
    let second = ReasoningItem::new("openai-codex", json!({"encrypted_content": "e2"}));
    let limits = |used: f64| RateLimits {
        windows: vec![RateLimitWindow {
            name: "primary".into(),
            used_percent: Some(used),
            window: None,
            resets_at: None,
        }],
        plan: Some("plus".into()),
    };
    let mut c = Collector::default();
    for e in [
        StreamEvent::RateLimits(limits(10.0)),
        StreamEvent::ReasoningItem(first.clone()),
        StreamEvent::TextDelta { text: "4".into() },
        StreamEvent::ReasoningItem(second.clone()),
        StreamEvent::RateLimits(limits(11.0)),
    ] {
        c.push(&e);
    }
    let reply = c.finish();
    assert_eq!(reply.reasoning_items, [first.clone(), second.clone()]);
    assert_eq!(reply.rate_limits, Some(limits(11.0)));

    let m = Message::assistant(reply.text.clone()).with_reasoning(reply.reasoning_items.clone());
    assert_eq!(m.reasoning_for("openai-codex").count(), 2);
    assert_eq!(m.reasoning_for("azure").count(), 0);
    // The history survives a round trip through JSON (an application saving a conversation).
    let saved = serde_json::to_string(&m).unwrap();
    assert_eq!(serde_json::from_str::<Message>(&saved).unwrap(), m);
    // A message without reasoning keeps its old JSON shape.
    let plain = serde_json::to_value(Message::assistant("hi")).unwrap();
    assert!(plain.get("reasoning").is_none(), "{plain}");
}

#[test]
fn subscription_usage_costs_nothing_and_says_why() {
    let u = Usage {
        input_tokens: 1_000,
        output_tokens: 200,
        billing: Billing::Subscription,
        ..Usage::default()
    };
    assert_eq!(u.fixed_cost(), Some(0.0));
    assert_eq!(serde_json::to_value(u).unwrap()["billing"], "subscription");
    // Per-token usage serializes as before (no `billing` key) and reads back with the default.
    let per_token = serde_json::to_value(Usage::default()).unwrap();
    assert!(per_token.get("billing").is_none());
    let back: Usage = serde_json::from_value(per_token).unwrap();
    assert_eq!(back.billing, Billing::PerToken);
    assert_eq!(back.fixed_cost(), None);
}
