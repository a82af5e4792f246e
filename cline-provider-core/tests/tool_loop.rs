//! The tool loop and stream-and-collect against a scripted provider: what is sent each turn,
//! what the tools receive, and what comes back.

use std::sync::Mutex;

use cline_provider_core::{
    async_trait, run_tool_loop, ChatRequest, CompletedToolCall, ErrorKind, EventStream, Message,
    ModelInfo, Provider, ProviderInfo, ProviderKind, Result, Role, StreamEvent, Usage,
};
use serde::Deserialize;

/// Answers each `stream` with the next scripted reply and remembers every request.
struct Scripted {
    replies: Mutex<Vec<Vec<StreamEvent>>>,
    seen: Mutex<Vec<ChatRequest>>,
    prices: Option<ModelInfo>,
}

impl Scripted {
    fn new(replies: Vec<Vec<StreamEvent>>) -> Self {
        Scripted {
            replies: Mutex::new(replies.into_iter().rev().collect()),
            seen: Mutex::new(Vec::new()),
            prices: None,
        }
    }
}

#[async_trait]
impl Provider for Scripted {
    fn info(&self) -> ProviderInfo {
        ProviderInfo {
            kind: ProviderKind::OpenAiCompatible,
            base_url: None,
            default_model: None,
        }
    }
    async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        Ok(Vec::new())
    }
    async fn stream(&self, request: ChatRequest) -> Result<EventStream> {
        self.seen.lock().unwrap().push(request);
        let events = self
            .replies
            .lock()
            .unwrap()
            .pop()
            .expect("a scripted reply");
        Ok(Box::pin(futures_util::stream::iter(
            events.into_iter().map(Ok),
        )))
    }
    fn model_info(&self, _model: &str) -> Option<ModelInfo> {
        self.prices.clone()
    }
}

fn call(index: u32, id: &str, name: &str, args: &[&str]) -> Vec<StreamEvent> {
    let mut events = vec![StreamEvent::ToolCallStart {
        index,
        id: id.into(),
        name: name.into(),
    }];
    events.extend(args.iter().map(|a| StreamEvent::ToolCallArgumentsDelta {
        index,
        delta: (*a).into(),
    }));
    events
}

fn usage(input: u64, output: u64) -> StreamEvent {
    StreamEvent::Usage(Usage {
        input_tokens: input,
        output_tokens: output,
        ..Usage::default()
    })
}

#[derive(Deserialize)]
struct CityArgs {
    city: String,
}

#[tokio::test]
async fn the_loop_runs_each_call_sends_the_results_and_stops_at_the_answer() {
    let mut turn1 = vec![StreamEvent::TextDelta {
        text: "Looking.".into(),
    }];
    // Two calls in one reply, arguments with spacing the model chose.
    turn1.extend(call(
        0,
        "call_a",
        "weather",
        &["{ \"city\":", " \"Paris\" }"],
    ));
    turn1.extend(call(1, "call_b", "weather", &["{\"city\":\"Oslo\"}"]));
    turn1.push(usage(10, 5));
    let turn2 = vec![
        StreamEvent::TextDelta {
            text: "Paris rain, Oslo snow.".into(),
        },
        usage(30, 6),
    ];
    let mut provider = Scripted::new(vec![turn1, turn2]);
    let mut prices = ModelInfo::new("m");
    prices.input_price = Some(1_000_000.0);
    prices.output_price = Some(0.0);
    provider.prices = Some(prices);

    let tools_ran = Mutex::new(Vec::new());
    let mut texts = String::new();
    let outcome = run_tool_loop(
        &provider,
        ChatRequest::new("m").message(Message::user("Weather in Paris and Oslo?")),
        5,
        |c: CompletedToolCall| {
            let city = c.parse_arguments::<CityArgs>().map(|a| a.city);
            tools_ran.lock().unwrap().push(c.id.clone());
            async move {
                let city = city.map_err(|e| e.to_string())?;
                Ok::<_, String>(if city == "Paris" {
                    "rain".to_owned()
                } else {
                    "snow".to_owned()
                })
            }
        },
        &mut |e| {
            if let StreamEvent::TextDelta { text } = e {
                texts.push_str(text);
            }
        },
    )
    .await
    .unwrap();

    assert_eq!(*tools_ran.lock().unwrap(), ["call_a", "call_b"]);
    assert_eq!(texts, "Looking.Paris rain, Oslo snow.");
    assert_eq!(outcome.turns, 2);
    assert!(!outcome.hit_turn_limit);
    assert_eq!(outcome.response.text, "Paris rain, Oslo snow.");
    assert_eq!(outcome.usage.unwrap().input_tokens, 40);
    assert_eq!(outcome.cost, Some(40.0), "each turn priced, then summed");

    // The second request carried the assistant turn (arguments as written) and both results.
    let seen = provider.seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    let history = &seen[1].messages;
    assert_eq!(history.len(), 4);
    assert_eq!(history[1].role, Role::Assistant);
    assert_eq!(history[1].text(), "Looking.");
    assert_eq!(
        history[1].tool_calls[0].arguments,
        "{ \"city\": \"Paris\" }"
    );
    assert_eq!(history[2].tool_call_id.as_deref(), Some("call_a"));
    assert_eq!(history[2].text(), "rain");
    assert_eq!(history[3].text(), "snow");
    seen[1].validate().expect("the history is a valid request");
    assert_eq!(
        outcome.messages.len(),
        5,
        "the final answer is in the history too"
    );
}

#[tokio::test]
async fn a_bad_call_is_reported_to_the_model_and_the_turn_limit_holds() {
    let replies = vec![
        call(0, "c1", "weather", &["{\"town\":\"Paris\"}"]),
        call(0, "c2", "weather", &["{\"city\":\"Paris\"}"]),
        call(0, "c3", "weather", &["{\"city\":\"Paris\"}"]),
    ];
    let provider = Scripted::new(replies);
    let outcome = run_tool_loop(
        &provider,
        ChatRequest::new("m").message(Message::user("?")),
        2,
        |c: CompletedToolCall| {
            let parsed = c.parse_arguments::<CityArgs>();
            async move { parsed.map(|a| a.city) }
        },
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(outcome.turns, 2);
    assert!(outcome.hit_turn_limit);
    assert_eq!(
        outcome.response.tool_calls[0].id, "c2",
        "not run: the limit came first"
    );
    let result = provider.seen.lock().unwrap()[1].messages[2].clone();
    assert_eq!(result.role, Role::Tool);
    assert!(result.text().starts_with("error: "), "{}", result.text());
    assert!(result.text().contains("`weather`"), "{}", result.text());
    assert!(
        result.text().contains("city"),
        "names the missing field: {}",
        result.text()
    );

    let err = run_tool_loop(
        &provider,
        ChatRequest::new("m").message(Message::user("?")),
        0,
        |_c: CompletedToolCall| async { Ok::<_, String>(String::new()) },
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
}

#[tokio::test]
async fn stream_collect_hands_out_every_event_and_returns_the_whole_reply() {
    let events = vec![
        StreamEvent::Metadata {
            id: Some("r-1".into()),
            model: Some("m-2025".into()),
        },
        StreamEvent::TextDelta { text: "a".into() },
        StreamEvent::TextDelta { text: "b".into() },
        usage(2_000_000, 0),
    ];
    let mut provider = Scripted::new(vec![events.clone()]);
    let mut prices = ModelInfo::new("m");
    prices.input_price = Some(0.25);
    provider.prices = Some(prices);
    let mut seen = Vec::new();
    let reply = provider
        .stream_collect(
            ChatRequest::new("m").message(Message::user("x")),
            &mut |e| seen.push(e.clone()),
        )
        .await
        .unwrap();
    assert_eq!(seen, events);
    assert_eq!(reply.text, "ab");
    assert_eq!(reply.id.as_deref(), Some("r-1"));
    assert_eq!(reply.model.as_deref(), Some("m-2025"));
    assert_eq!(reply.cost, Some(0.5));
}
