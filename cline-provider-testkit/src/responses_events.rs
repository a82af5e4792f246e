//! A scripted [`Turn`] as the Responses API streams it: every event named by its `type`, with
//! a `sequence_number`, in the order OpenAI's streaming reference gives.

use serde_json::{json, Value};

use super::{End, Item, Turn};
use crate::SseFrame;

/// The `created_at` of every fixture response (2023-11-14T22:13:20Z).
const CREATED_AT: u64 = 1_700_000_000;

struct Out {
    frames: Vec<SseFrame>,
    seq: u64,
}

impl Out {
    fn push(&mut self, kind: &str, mut data: Value) {
        data["type"] = json!(kind);
        data["sequence_number"] = json!(self.seq);
        self.seq += 1;
        self.frames.push(SseFrame::event_json(kind, &data));
    }
}

fn response(id: &str, model: &str, status: &str, output: Vec<Value>, extra: Value) -> Value {
    let mut r = json!({
        "id": id,
        "object": "response",
        "created_at": CREATED_AT,
        "status": status,
        "model": model,
        "output": output,
        "parallel_tool_calls": true,
        "store": false,
        "usage": null,
    });
    if let Value::Object(extra) = extra {
        for (k, v) in extra {
            r[k] = v;
        }
    }
    r
}

pub(super) fn render(turn: &Turn, id: &str, model: &str, encrypted: &[String]) -> Vec<SseFrame> {
    let mut out = Out {
        frames: Vec::new(),
        seq: 0,
    };
    out.push(
        "response.created",
        json!({"response": response(id, model, "in_progress", vec![], json!({}))}),
    );
    out.push(
        "response.in_progress",
        json!({"response": response(id, model, "in_progress", vec![], json!({}))}),
    );
    let mut done_items = Vec::new();
    let mut reasoning_seen = 0;
    for (index, item) in turn.items.iter().enumerate() {
        let done = match item {
            Item::Reasoning { summary } => {
                let enc = encrypted.get(reasoning_seen).cloned().unwrap_or_default();
                reasoning_seen += 1;
                reasoning(&mut out, index, &format!("rs_{id}_{index}"), summary, &enc)
            }
            Item::Message { pieces } => {
                message(&mut out, index, &format!("msg_{id}_{index}"), pieces)
            }
            Item::FunctionCall {
                call_id,
                name,
                arguments,
            } => function_call(
                &mut out,
                index,
                &format!("fc_{id}_{index}"),
                call_id,
                name,
                arguments,
            ),
        };
        done_items.push(done);
    }
    let [input, cached, output, reasoning_tokens] = turn.usage;
    let usage = json!({
        "input_tokens": input,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input + output,
    });
    match &turn.end {
        End::Completed => out.push(
            "response.completed",
            json!({"response": response(id, model, "completed", done_items, json!({"usage": usage}))}),
        ),
        End::Incomplete(reason) => out.push(
            "response.incomplete",
            json!({"response": response(id, model, "incomplete", done_items, json!({
                "usage": usage,
                "incomplete_details": {"reason": reason},
            }))}),
        ),
        End::Failed { code, message } => out.push(
            "response.failed",
            json!({"response": response(id, model, "failed", done_items, json!({
                "error": {"code": code, "message": message},
            }))}),
        ),
        End::CutAfter(events) => out.frames.truncate(*events),
    }
    out.frames
}

/// Word-sized deltas of `text`, the way the endpoint streams summaries.
fn words(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        current.push(c);
        if c == ' ' {
            pieces.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

fn reasoning(out: &mut Out, index: usize, item_id: &str, summary: &[String], enc: &str) -> Value {
    out.push(
        "response.output_item.added",
        json!({"output_index": index, "item": {"id": item_id, "type": "reasoning", "summary": []}}),
    );
    for (part, text) in summary.iter().enumerate() {
        let at = json!({"item_id": item_id, "output_index": index, "summary_index": part});
        let mut added = at.clone();
        added["part"] = json!({"type": "summary_text", "text": ""});
        out.push("response.reasoning_summary_part.added", added);
        for delta in words(text) {
            let mut d = at.clone();
            d["delta"] = json!(delta);
            out.push("response.reasoning_summary_text.delta", d);
        }
        let mut text_done = at.clone();
        text_done["text"] = json!(text);
        out.push("response.reasoning_summary_text.done", text_done);
        let mut part_done = at;
        part_done["part"] = json!({"type": "summary_text", "text": text});
        out.push("response.reasoning_summary_part.done", part_done);
    }
    let item = json!({
        "id": item_id,
        "type": "reasoning",
        "summary": summary.iter().map(|t| json!({"type": "summary_text", "text": t})).collect::<Vec<_>>(),
        "encrypted_content": enc,
    });
    out.push(
        "response.output_item.done",
        json!({"output_index": index, "item": item.clone()}),
    );
    item
}

fn message(out: &mut Out, index: usize, item_id: &str, pieces: &[String]) -> Value {
    out.push(
        "response.output_item.added",
        json!({"output_index": index, "item": {
            "id": item_id, "type": "message", "status": "in_progress", "role": "assistant", "content": [],
        }}),
    );
    let at = json!({"item_id": item_id, "output_index": index, "content_index": 0});
    let mut added = at.clone();
    added["part"] = json!({"type": "output_text", "text": "", "annotations": []});
    out.push("response.content_part.added", added);
    for piece in pieces {
        let mut d = at.clone();
        d["delta"] = json!(piece);
        d["logprobs"] = json!([]);
        out.push("response.output_text.delta", d);
    }
    let text: String = pieces.concat();
    let mut text_done = at.clone();
    text_done["text"] = json!(text);
    text_done["logprobs"] = json!([]);
    out.push("response.output_text.done", text_done);
    let part = json!({"type": "output_text", "text": text, "annotations": []});
    let mut part_done = at;
    part_done["part"] = part.clone();
    out.push("response.content_part.done", part_done);
    let item = json!({
        "id": item_id, "type": "message", "status": "completed", "role": "assistant", "content": [part],
    });
    out.push(
        "response.output_item.done",
        json!({"output_index": index, "item": item.clone()}),
    );
    item
}

fn function_call(
    out: &mut Out,
    index: usize,
    item_id: &str,
    call_id: &str,
    name: &str,
    arguments: &[String],
) -> Value {
    out.push(
        "response.output_item.added",
        json!({"output_index": index, "item": {
            "id": item_id, "type": "function_call", "status": "in_progress",
            "arguments": "", "call_id": call_id, "name": name,
        }}),
    );
    for piece in arguments {
        out.push(
            "response.function_call_arguments.delta",
            json!({"item_id": item_id, "output_index": index, "delta": piece}),
        );
    }
    let all: String = arguments.concat();
    out.push(
        "response.function_call_arguments.done",
        json!({"item_id": item_id, "output_index": index, "arguments": all}),
    );
    let item = json!({
        "id": item_id, "type": "function_call", "status": "completed",
        "arguments": all, "call_id": call_id, "name": name,
    });
    out.push(
        "response.output_item.done",
        json!({"output_index": index, "item": item.clone()}),
    );
    item
}
