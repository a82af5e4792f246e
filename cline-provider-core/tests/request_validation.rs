//! Bad requests are typed configuration errors naming the field, never panics.

use cline_provider_core::{
    ChatRequest, ErrorKind, ImageSource, Message, ReasoningEffort, Tool, ToolCall,
};
use serde_json::json;

fn field_of(req: &ChatRequest) -> String {
    let err = req.validate().expect_err("request should be refused");
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    err.field().expect("the error names a field").to_owned()
}

#[test]
fn empty_model_id_is_refused() {
    let req = ChatRequest::new("  ").message(Message::user("hi"));
    assert_eq!(field_of(&req), "model");
}

#[test]
fn no_messages_is_refused() {
    assert_eq!(field_of(&ChatRequest::new("m")), "messages");
}

#[test]
fn tool_result_for_an_unknown_call_is_refused() {
    let req = ChatRequest::new("m")
        .message(Message::user("hi"))
        .message(Message::assistant_tool_calls(
            "",
            vec![ToolCall {
                id: "call_1".into(),
                name: "f".into(),
                arguments: "{}".into(),
            }],
        ))
        .message(Message::tool_result("call_1", "ok"))
        .message(Message::tool_result("call_2", "??"));
    assert_eq!(field_of(&req), "messages[3].tool_call_id");
    let msg = req.validate().unwrap_err().to_string();
    assert!(msg.contains("call_2"), "{msg}");
}

#[test]
fn tool_result_before_its_call_is_refused() {
    let req = ChatRequest::new("m")
        .message(Message::tool_result("call_1", "early"))
        .message(Message::assistant_tool_calls(
            "",
            vec![ToolCall {
                id: "call_1".into(),
                name: "f".into(),
                arguments: "{}".into(),
            }],
        ));
    assert_eq!(field_of(&req), "messages[0].tool_call_id");
}

#[test]
fn image_with_unknown_media_type_is_refused() {
    let req =
        ChatRequest::new("m").message(Message::user("look").with_image(ImageSource::Base64 {
            media_type: "image/bmp".into(),
            data: "AAAA".into(),
        }));
    assert_eq!(field_of(&req), "messages[0].content[1].media_type");
    let hint = req.validate().unwrap_err().hint();
    assert!(hint.contains("image/png"), "{hint}");
}

#[test]
fn tool_without_a_name_is_refused() {
    let req = ChatRequest::new("m")
        .message(Message::user("hi"))
        .tool(Tool::function("", "nameless", json!({"type": "object"})));
    assert_eq!(field_of(&req), "tools[0].name");
}

#[test]
fn extra_header_with_crlf_is_refused() {
    let req = ChatRequest::new("m")
        .message(Message::user("hi"))
        .header("X-Trace", "1\r\nX-Evil: yes");
    assert_eq!(field_of(&req), "headers.X-Trace");
    let req = ChatRequest::new("m")
        .message(Message::user("hi"))
        .header("Bad Name", "1");
    assert_eq!(field_of(&req), "headers.Bad Name");
}

#[test]
fn a_good_request_passes() {
    let req = ChatRequest::new("gpt-4o")
        .message(Message::system("be brief"))
        .message(Message::user("look").with_image(ImageSource::Base64 {
            media_type: "image/png".into(),
            data: "iVBORw0KGgo=".into(),
        }))
        .message(Message::assistant_tool_calls(
            "checking",
            vec![ToolCall {
                id: "c".into(),
                name: "f".into(),
                arguments: "{}".into(),
            }],
        ))
        .message(Message::tool_result("c", "done"))
        .tool(Tool::function("f", "does f", json!({"type": "object"})))
        .reasoning_effort(ReasoningEffort::High)
        .header("X-Trace", "abc");
    req.validate().unwrap();
    assert_eq!(req.system_prompt().as_deref(), Some("be brief"));
}

#[test]
fn reasoning_effort_parses_strictly_and_normalizes_leniently() {
    assert_eq!(
        "xhigh".parse::<ReasoningEffort>().unwrap(),
        ReasoningEffort::XHigh
    );
    let err = "extreme".parse::<ReasoningEffort>().unwrap_err();
    assert_eq!(err.field(), Some("reasoning_effort"));
    assert_eq!(
        ReasoningEffort::normalize("extreme"),
        ReasoningEffort::Medium
    );
    assert_eq!(ReasoningEffort::normalize("NONE"), ReasoningEffort::None);
}

#[test]
fn images_render_as_data_urls() {
    let img = ImageSource::Base64 {
        media_type: "image/jpeg".into(),
        data: "QUJD".into(),
    };
    assert_eq!(img.to_url(), "data:image/jpeg;base64,QUJD");
}

#[test]
fn per_request_builders_set_what_they_name() {
    use cline_provider_core::{Tool, ToolChoice};
    use std::time::Duration;
    let tool = |n: &str| Tool::function(n, "", serde_json::json!({"type": "object"}));
    let r = ChatRequest::new("m")
        .messages([Message::system("s"), Message::user("u")])
        .tools([tool("a"), tool("b")])
        .tool_choice(ToolChoice::Required)
        .stop(["END", "STOP"])
        .timeout(Duration::from_secs(30));
    assert_eq!(r.messages.len(), 2);
    assert_eq!(
        r.tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(r.tool_choice, Some(ToolChoice::Required));
    assert_eq!(r.stop, ["END", "STOP"]);
    assert_eq!(r.timeout, Some(Duration::from_secs(30)));
    r.validate().unwrap();
}
