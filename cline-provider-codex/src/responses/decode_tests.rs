//! Edge cases of the decoder that no well-behaved stream shows.

use cline_provider_core::{ErrorKind, FinishReason, StreamEvent};

use super::ResponsesDecoder;

fn run(datas: &[&str]) -> (Vec<StreamEvent>, Option<cline_provider_core::Error>, bool) {
    let mut d = ResponsesDecoder::new();
    let mut out = Vec::new();
    for data in datas {
        match d.decode_data(None, data, &mut out) {
            Ok(true) => return (out, None, true),
            Ok(false) => {}
            Err(e) => return (out, Some(e), false),
        }
    }
    (out, None, false)
}

fn start(index: u32, id: &str, name: &str) -> StreamEvent {
    StreamEvent::ToolCallStart {
        index,
        id: id.into(),
        name: name.into(),
    }
}

fn args(index: u32, delta: &str) -> StreamEvent {
    StreamEvent::ToolCallArgumentsDelta {
        index,
        delta: delta.into(),
    }
}

#[test]
fn arguments_before_the_call_is_announced_are_held_until_it_is() {
    let (out, err, done) = run(&[
        r#"{"type":"response.function_call_arguments.delta","item_id":"fc_1","output_index":0,"delta":"{\"a\":"}"#,
        r#"{"type":"response.output_item.added","output_index":0,"item":{"id":"fc_1","type":"function_call","call_id":"call_1","name":"f","arguments":""}}"#,
        r#"{"type":"response.function_call_arguments.delta","item_id":"fc_1","output_index":0,"delta":"1}"}"#,
        r#"{"type":"response.output_item.done","output_index":0,"item":{"id":"fc_1","type":"function_call","call_id":"call_1","name":"f","arguments":"{\"a\":1}"}}"#,
        r#"{"type":"response.completed","response":{}}"#,
    ]);
    assert!(err.is_none() && done);
    assert_eq!(
        out,
        vec![
            start(0, "call_1", "f"),
            args(0, "{\"a\":"),
            args(0, "1}"),
            StreamEvent::Finish {
                reason: FinishReason::ToolCalls
            },
        ]
    );
}

#[test]
fn the_final_arguments_complete_what_the_deltas_left_out() {
    let (out, _, _) = run(&[
        r#"{"type":"response.output_item.added","output_index":0,"item":{"id":"fc_1","type":"function_call","call_id":"call_1","name":"f"}}"#,
        r#"{"type":"response.function_call_arguments.delta","item_id":"fc_1","delta":"{\"a\""}"#,
        r#"{"type":"response.function_call_arguments.done","item_id":"fc_1","arguments":"{\"a\":2}"}"#,
        r#"{"type":"response.output_item.done","output_index":0,"item":{"id":"fc_1","type":"function_call","call_id":"call_1","name":"f","arguments":"{\"a\":2}"}}"#,
    ]);
    assert_eq!(
        out,
        vec![start(0, "call_1", "f"), args(0, "{\"a\""), args(0, ":2}")]
    );
}

#[test]
fn an_error_event_is_typed_by_its_code() {
    let (out, err, _) = run(&[
        r#"{"type":"response.output_text.delta","item_id":"m","delta":"x"}"#,
        r#"{"type":"error","code":"rate_limit_exceeded","message":"Please try again in 250ms.","param":null}"#,
    ]);
    assert_eq!(out.len(), 1);
    let err = err.expect("error");
    assert_eq!(err.kind(), &ErrorKind::RateLimited);
    assert_eq!(
        err.retry_after(),
        Some(std::time::Duration::from_millis(250))
    );
}

#[test]
fn not_json_is_a_protocol_error_and_done_markers_are_skipped() {
    let (_, err, _) = run(&["[DONE]", "", "{not json"]);
    let err = err.expect("error");
    assert_eq!(err.kind(), &ErrorKind::Protocol);
    assert!(err.message().contains("{not json"), "{err}");
}

#[test]
fn the_sse_event_name_stands_in_for_a_missing_type() {
    let mut d = ResponsesDecoder::new();
    let mut out = Vec::new();
    let done = d
        .decode_data(Some("response.completed"), r#"{"response":{}}"#, &mut out)
        .unwrap();
    assert!(done);
    assert_eq!(
        out,
        vec![StreamEvent::Finish {
            reason: FinishReason::Stop
        }]
    );
}

#[test]
fn a_reasoning_item_without_anything_to_carry_is_not_kept() {
    let (out, _, _) = run(&[
        r#"{"type":"response.output_item.done","item":{"id":"rs_1","type":"reasoning","summary":[]}}"#,
    ]);
    assert!(out.is_empty(), "{out:?}");
}
