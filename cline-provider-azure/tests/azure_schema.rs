//! Request bodies and content-filter fixtures validate against Microsoft's description of
//! the Azure OpenAI data plane, API version 2024-10-21: `createChatCompletionRequest`,
//! `contentFilterPromptResults`, `contentFilterChoiceResults`.
//!
//! The spec is read the way the OpenAI spec test reads its own: from `AZURE_OPENAI_SPEC`, or
//! from `../shared/specs/azure-openai-inference-2024-10-21.json` beside the repository. A
//! missing file is a failure under CI (`CI` set, as `.ci/run` runs) and whenever
//! `AZURE_OPENAI_SPEC` names it; elsewhere the test says on stderr that it did not validate.

use cline_provider_azure::versions::body_options;
use cline_provider_core::{
    ChatRequest, ImageSource, Message, ModelInfo, ReasoningEffort, Tool, ToolCall, ToolChoice,
};
use cline_provider_openai::build_body_with;
use cline_provider_testkit::{azure, spec};
use serde_json::{json, Value};

fn load_spec() -> Option<Value> {
    spec::load(
        "AZURE_OPENAI_SPEC",
        "azure-openai-inference-2024-10-21.json",
    )
}

fn schema_for(spec: &Value, component: &str) -> jsonschema::Validator {
    jsonschema::validator_for(&spec::component_schema(spec, component))
        .expect("the schema compiles")
}

fn bodies() -> Vec<(&'static str, Value)> {
    let options = body_options(Some("2024-10-21"));
    let weather =
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
    let mut plain = ChatRequest::new("gpt-4o-prod")
        .message(Message::system("Be brief."))
        .message(Message::user("Hello"))
        .temperature(0.2)
        .max_output_tokens(256);
    plain.stop = vec!["\n\n".into()];
    let mut tools = ChatRequest::new("gpt-4o-prod")
        .tool(Tool::function("get_weather", "Current weather", weather))
        .tool(Tool {
            strict: Some(true),
            ..Tool::function("get_time", "", json!({"type": "object", "properties": {}}))
        })
        .message(Message::user("Weather in Paris?"))
        .message(Message::assistant_tool_calls(
            "",
            vec![ToolCall {
                id: "call_1".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Paris"}"#.into(),
            }],
        ))
        .message(Message::tool_result("call_1", r#"{"temp_c":18}"#));
    tools.tool_choice = Some(ToolChoice::Function("get_weather".into()));
    let images = ChatRequest::new("gpt-4o-prod").message(
        Message::user("What is this?")
            .with_image(ImageSource::Base64 {
                media_type: "image/png".into(),
                data: "iVBORw0KGgo=".into(),
            })
            .with_image(ImageSource::Url {
                url: "https://upload.example.com/cat.jpg".into(),
            }),
    );
    // A reasoning model on 2024-10-21: no developer role, no reasoning_effort, and the limit
    // as max_completion_tokens (which this version declares).
    let reasoning = ChatRequest::new("o1-prod-o1")
        .message(Message::system("Think."))
        .message(Message::user("Is 221 prime?"))
        .max_output_tokens(2000)
        .reasoning_effort(ReasoningEffort::High);
    let mut r1_info = ModelInfo::new("DeepSeek-R1-prod");
    r1_info.r1_format = Some(true);
    let r1 = ChatRequest::new("DeepSeek-R1-prod")
        .message(Message::system("S"))
        .message(Message::user("a"))
        .message(Message::user("b"));
    let b = |r: &ChatRequest, i: Option<&ModelInfo>| build_body_with(r, i, &options).unwrap();
    vec![
        ("plain chat", b(&plain, None)),
        ("tools", b(&tools, None)),
        ("images", b(&images, None)),
        ("reasoning model", b(&reasoning, None)),
        ("R1 format", b(&r1, Some(&r1_info))),
    ]
}

#[test]
fn request_bodies_match_create_chat_completion_request() {
    let bodies = bodies();
    assert_eq!(bodies.len(), 5);
    let reasoning = &bodies[3].1;
    assert!(reasoning.get("reasoning_effort").is_none());
    assert_eq!(reasoning["max_completion_tokens"], 2000);
    let Some(spec) = load_spec() else { return };
    let validator = schema_for(&spec, "createChatCompletionRequest");
    let declared = spec::declared_properties(&spec, "createChatCompletionRequest");
    assert!(
        declared.contains("messages") && !declared.contains("stream_options"),
        "{declared:?}"
    );
    for (name, body) in &bodies {
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "{name}:\n{}\n{body:#}",
            errors.join("\n")
        );
        for key in body.as_object().unwrap().keys() {
            assert!(
                declared.contains(key),
                "{name}: `{key}` is not declared by 2024-10-21"
            );
        }
    }
}

/// The JSON of one `data:` frame.
fn data_of(frame: &cline_provider_testkit::SseFrame) -> Value {
    let wire = frame.as_wire();
    let data = wire
        .trim()
        .strip_prefix("data:")
        .expect("a data frame")
        .trim();
    serde_json::from_str(data).expect("the frame holds JSON")
}

#[test]
fn content_filter_fixtures_match_the_spec_shapes() {
    let Some(spec) = load_spec() else { return };
    let prompt = schema_for(&spec, "contentFilterPromptResults");
    let choice = schema_for(&spec, "contentFilterChoiceResults");
    let mut cases: Vec<(&str, &jsonschema::Validator, Value)> = vec![
        ("safe prompt results", &prompt, azure::safe_results()),
        ("safe choice results", &choice, azure::safe_results()),
    ];
    let blocked = azure::completion_blocked_stream("d", &["x"], "violence", "medium");
    let last: Value = data_of(&blocked[blocked.len() - 2]);
    cases.push((
        "blocked choice",
        &choice,
        last["choices"][0]["content_filter_results"].clone(),
    ));
    let first: Value = data_of(&blocked[0]);
    cases.push((
        "stream prompt results",
        &prompt,
        first["prompt_filter_results"][0]["content_filter_results"].clone(),
    ));
    for (name, validator, value) in cases {
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}\n{value:#}");
    }
}

#[test]
fn the_schemas_reject_what_they_should() {
    let Some(spec) = load_spec() else { return };
    let request = schema_for(&spec, "createChatCompletionRequest");
    assert!(request.is_valid(&json!({"messages": [{"role": "user", "content": "hi"}]})));
    for bad in [
        json!({}),
        json!({"messages": []}),
        json!({"messages": [{"role": "wizard", "content": "hi"}]}),
        json!({"messages": [{"role": "developer", "content": "hi"}]}),
    ] {
        assert!(!request.is_valid(&bad), "accepted {bad}");
    }
    let choice = schema_for(&spec, "contentFilterChoiceResults");
    assert!(!choice.is_valid(&json!({"hate": {"filtered": true, "severity": "catastrophic"}})));
    assert!(!choice.is_valid(&json!({"hate": {"severity": "high"}})));
}
