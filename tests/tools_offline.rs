//! The tool loop end to end: the prelude, the OpenAI Compatible provider and the offline demo
//! endpoint, which calls each offered tool once and then reports their results.

use std::sync::Mutex;
use std::time::Duration;

use cline_provider::prelude::*;
use serde_json::json;

#[derive(serde::Deserialize)]
struct City {
    city: String,
}

#[tokio::test]
async fn a_two_tool_agent_runs_against_the_offline_endpoint() {
    let server = cline_provider_testkit::demo::start_with_pacing(Duration::ZERO)
        .await
        .unwrap();
    let provider =
        OpenAiProvider::new(OpenAiConfig::new(&format!("{}/v1", server.url())).unwrap()).unwrap();
    let weather = Tool::function(
        "get_weather",
        "Weather in a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    );
    let clock = Tool::function(
        "clock",
        "The time",
        json!({"type": "object", "properties": {"offset": {"type": "integer"}}, "required": ["offset"]}),
    );
    let calls = Mutex::new(Vec::new());
    let mut streamed = 0;
    let outcome = run_tool_loop(
        &provider,
        ChatRequest::new("demo-chat")
            .message(Message::user("Weather in Oslo, and the clock at +1?"))
            .tools([weather, clock]),
        5,
        |call: CompletedToolCall| {
            calls.lock().unwrap().push(call.name.clone());
            let answer = match call.name.as_str() {
                "get_weather" => call
                    .parse_arguments::<City>()
                    .map(|c| format!("{}: sunny", c.city)),
                _ => Ok("13:00".to_owned()),
            };
            async move { answer }
        },
        &mut |_| streamed += 1,
    )
    .await
    .unwrap();
    assert_eq!(*calls.lock().unwrap(), ["get_weather", "clock"]);
    assert_eq!(outcome.turns, 3);
    assert!(!outcome.hit_turn_limit);
    assert!(
        outcome
            .response
            .text
            .contains("get_weather said \"Oslo: sunny\""),
        "{}",
        outcome.response.text
    );
    assert!(outcome.response.text.contains("clock said \"13:00\""));
    assert!(streamed > 3, "every turn streamed its events");
    // The third request carried both assistant turns and both results, as the model wrote them.
    let sent = server.requests();
    let history = sent[2].json().unwrap()["messages"].clone();
    assert_eq!(history.as_array().unwrap().len(), 5);
    assert_eq!(
        history[1]["tool_calls"][0]["function"]["arguments"],
        "{\"city\":\"Oslo\"}"
    );
    assert_eq!(history[2]["role"], "tool");
}
