//! Request bodies validate against OpenAI's official OpenAPI description, component
//! `CreateChatCompletionRequest`.
//!
//! The 2.3 MB spec is not part of the project: it is read from `OPENAI_OPENAPI_SPEC`, or from
//! `../shared/specs/openai-openapi.json` beside the repository (`cline_provider_testkit::spec`).
//! When it is absent the test fails under CI and says on stderr elsewhere that it did not
//! validate.

use cline_provider_core::{
    ChatRequest, ImageSource, Message, ModelInfo, ReasoningEffort, Tool, ToolCall, ToolChoice,
};
use cline_provider_openai::build_body;
use cline_provider_testkit::spec;
use serde_json::{json, Value};

/// The spec, or `None` (with a note on stderr) when it is not there and not required.
fn load_spec() -> Option<Value> {
    spec::load("OPENAI_OPENAPI_SPEC", "openai-openapi.json")
}

/// A JSON Schema whose root is the request component, with every component reachable
/// through the spec's own `#/components/schemas/...` references.
fn request_schema(spec: &Value) -> Value {
    spec::component_schema(spec, "CreateChatCompletionRequest")
}

fn cases() -> Vec<(&'static str, Value)> {
    let weather = json!({
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": false
    });
    let plain = ChatRequest::new("gpt-4o-mini")
        .message(Message::system("Be brief."))
        .message(Message::user("Hello"))
        .temperature(0.2)
        .max_output_tokens(256);
    let mut plain = plain;
    plain.stop = vec!["\n\n".into()];

    let mut tools = ChatRequest::new("gpt-4.1")
        .tool(Tool::function(
            "get_weather",
            "Current weather for a city",
            weather.clone(),
        ))
        .tool(Tool {
            strict: Some(true),
            ..Tool::function("get_time", "", json!({"type": "object", "properties": {}}))
        })
        .message(Message::system("Use tools."))
        .message(Message::user("Weather in Paris?"))
        .message(Message::assistant_tool_calls(
            "Let me check.",
            vec![ToolCall {
                id: "call_1".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Paris"}"#.into(),
            }],
        ))
        .message(Message::tool_result("call_1", r#"{"temp_c":18}"#))
        .message(Message::assistant_tool_calls(
            "",
            vec![ToolCall {
                id: "call_2".into(),
                name: "get_time".into(),
                arguments: String::new(),
            }],
        ))
        .message(Message::tool_result("call_2", "12:00"));
    tools.tool_choice = Some(ToolChoice::Function("get_weather".into()));

    let images = ChatRequest::new("gpt-4o").message(
        Message::user("What is in these pictures?")
            .with_image(ImageSource::Base64 {
                media_type: "image/png".into(),
                data: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==".into(),
            })
            .with_image(ImageSource::Url {
                url: "https://upload.example.com/cat.jpg".into(),
            }),
    );

    let reasoning = ChatRequest::new("o3-mini")
        .message(Message::system("Think step by step."))
        .message(Message::user("Is 221 prime?"))
        .temperature(0.5)
        .max_output_tokens(2000)
        .reasoning_effort(ReasoningEffort::High)
        .tool(Tool::function(
            "calc",
            "Evaluate",
            json!({"type": "object", "properties": {"expr": {"type": "string"}}}),
        ));

    let r1 = ChatRequest::new("deepseek-reasoner")
        .message(Message::system("You are terse."))
        .message(Message::user("One."))
        .message(Message::user("Two."))
        .message(Message::assistant("Ok."))
        .message(Message::user("Three."));

    let mut r1_info = ModelInfo::new("my-r1-distill").max_output_tokens(512);
    r1_info.r1_format = Some(true);
    r1_info.temperature = Some(0.6);
    let r1_by_info = ChatRequest::new("my-r1-distill")
        .message(Message::system("S"))
        .message(Message::user("look").with_image(ImageSource::Url {
            url: "https://upload.example.com/x.png".into(),
        }));

    vec![
        ("plain chat", build_body(&plain, None).unwrap()),
        ("tools", build_body(&tools, None).unwrap()),
        ("images", build_body(&images, None).unwrap()),
        ("reasoning model", build_body(&reasoning, None).unwrap()),
        ("R1 format", build_body(&r1, None).unwrap()),
        (
            "R1 format from model info",
            build_body(&r1_by_info, Some(&r1_info)).unwrap(),
        ),
    ]
}

#[test]
fn request_bodies_match_create_chat_completion_request() {
    let bodies = cases();
    // The bodies are built either way; only the schema check needs the spec.
    assert_eq!(bodies.len(), 6);
    let Some(spec) = load_spec() else { return };

    let validator =
        jsonschema::validator_for(&request_schema(&spec)).expect("the request schema compiles");
    let declared = spec::declared_properties(&spec, "CreateChatCompletionRequest");
    assert!(
        declared.contains("messages") && declared.contains("reasoning_effort"),
        "{declared:?}"
    );

    for (name, body) in &bodies {
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "{name}: body does not match the schema:\n{}\n{body:#}",
            errors.join("\n")
        );
        // The schema allows unknown fields; make sure we send none at the top level.
        for key in body.as_object().unwrap().keys() {
            assert!(
                declared.contains(key),
                "{name}: `{key}` is not a CreateChatCompletionRequest field"
            );
        }
    }
}

#[test]
fn the_schema_rejects_what_it_should() {
    // Guards the validation itself: a validator that accepts everything would make the test
    // above pass vacuously.
    let Some(spec) = load_spec() else { return };
    let validator =
        jsonschema::validator_for(&request_schema(&spec)).expect("the request schema compiles");
    let good = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]});
    assert!(validator.is_valid(&good));
    for bad in [
        json!({"model": "gpt-4o"}),
        json!({"model": "gpt-4o", "messages": []}),
        json!({"model": "gpt-4o", "messages": [{"role": "wizard", "content": "hi"}]}),
        json!({"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": "not-an-object"}]}]}),
        json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "reasoning_effort": "extreme"}),
    ] {
        assert!(!validator.is_valid(&bad), "accepted {bad}");
    }
}
