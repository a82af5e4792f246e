//! The fake Codex backend's rules: what it accepts, and each thing it refuses, with the status
//! the real endpoint answers; and the shape of what it streams.

use std::time::{SystemTime, UNIX_EPOCH};

use cline_provider_testkit::oauth::jwt;
use cline_provider_testkit::responses::{FakeCodexBackend, Turn};
use serde_json::{json, Value};

fn token(account: &str, exp_in: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    jwt(&json!({
        "exp": now + exp_in,
        "https://api.openai.com/auth": {"chatgpt_account_id": account},
    }))
}

fn good_body() -> Value {
    json!({
        "model": "gpt-5.5",
        "instructions": "",
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": true,
        "store": false,
        "stream": true,
        "prompt_cache_key": "0196f6a0-0000-7000-8000-000000000001",
    })
}

struct Req {
    headers: Vec<(&'static str, String)>,
    body: Value,
}

fn good(account_token: &str) -> Req {
    Req {
        headers: vec![
            ("authorization", format!("Bearer {account_token}")),
            ("chatgpt-account-id", "acc-1".into()),
            ("originator", "cline".into()),
            ("session_id", "0196f6a0-0000-7000-8000-000000000001".into()),
            ("user-agent", "test/1".into()),
            ("accept", "text/event-stream".into()),
            ("content-type", "application/json".into()),
        ],
        body: good_body(),
    }
}

impl Req {
    fn without(mut self, header: &str) -> Req {
        self.headers.retain(|(n, _)| *n != header);
        self
    }
    fn with(mut self, header: &'static str, value: &str) -> Req {
        self.headers.retain(|(n, _)| *n != header);
        self.headers.push((header, value.to_owned()));
        self
    }
    fn body(mut self, edit: impl FnOnce(&mut Value)) -> Req {
        edit(&mut self.body);
        self
    }
}

async fn send(backend: &FakeCodexBackend, req: Req) -> (u16, String) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut b = client
        .post(format!("{}/responses", backend.base_url()))
        .body(req.body.to_string());
    for (name, value) in &req.headers {
        b = b.header(*name, value);
    }
    let r = b.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn a_good_request_streams_the_responses_events_in_order() {
    let backend = FakeCodexBackend::start().await.unwrap();
    backend.push(
        Turn::new()
            .reasoning(&["Think."])
            .message(&["Hel", "lo"])
            .function_call("call_1", "f", &["{}"])
            .usage(5, 1, 4, 2),
    );
    let (status, body) = send(&backend, good(&token("acc-1", 3600))).await;
    assert_eq!(status, 200, "{body}");
    let events: Vec<Value> = body
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            let mut lines = e.lines();
            let name = lines.next().unwrap().strip_prefix("event: ").unwrap();
            let data: Value =
                serde_json::from_str(lines.next().unwrap().strip_prefix("data: ").unwrap())
                    .unwrap();
            assert_eq!(data["type"], name, "the event name is its type");
            data
        })
        .collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types.first(), Some(&"response.created"));
    assert_eq!(types.last(), Some(&"response.completed"));
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["sequence_number"], i, "{types:?}");
    }
    for needed in [
        "response.reasoning_summary_text.delta",
        "response.output_text.delta",
        "response.function_call_arguments.delta",
        "response.output_item.done",
    ] {
        assert!(types.contains(&needed), "{needed}: {types:?}");
    }
    let completed = events.last().unwrap();
    assert_eq!(
        completed["response"]["usage"]["input_tokens_details"]["cached_tokens"],
        1
    );
    assert_eq!(completed["response"]["output"].as_array().unwrap().len(), 3);
    let reasoning = &completed["response"]["output"][0];
    assert_eq!(
        reasoning["encrypted_content"],
        backend.issued_encrypted_contents()[0]
    );
    assert!(backend.refusals().is_empty());
}

#[tokio::test]
async fn each_rule_refuses_with_the_real_status() {
    let backend = FakeCodexBackend::start().await.unwrap();
    let live = token("acc-1", 3600);
    let cases: Vec<(&str, Req, u16, &str)> = vec![
        ("no bearer", good(&live).without("authorization"), 401, "Missing bearer"),
        ("expired", good(&token("acc-1", -5)), 401, "expired"),
        ("not a JWT", good("opaque"), 401, "Could not parse"),
        ("no account", good(&live).without("chatgpt-account-id"), 403, "Missing ChatGPT-Account-Id"),
        ("other account", good(&live).with("chatgpt-account-id", "acc-2"), 403, "does not match"),
        ("no originator", good(&live).without("originator"), 400, "originator"),
        ("session not a UUID", good(&live).with("session_id", "abc"), 400, "session_id"),
        ("no user agent", good(&live).without("user-agent"), 400, "User-Agent"),
        ("not streaming accept", good(&live).with("accept", "application/json"), 400, "Accept"),
        ("store", good(&live).body(|b| b["store"] = json!(true)), 400, "Store must be set to false"),
        ("no store", good(&live).body(|b| { b.as_object_mut().unwrap().remove("store"); }), 400, "Store must be set to false"),
        ("stream", good(&live).body(|b| b["stream"] = json!(false)), 400, "Stream must be set to true"),
        ("temperature", good(&live).body(|b| b["temperature"] = json!(0.2)), 400, "Unsupported parameter: temperature"),
        ("max tokens", good(&live).body(|b| b["max_output_tokens"] = json!(10)), 400, "Unsupported parameter: max_output_tokens"),
        ("no instructions", good(&live).body(|b| { b.as_object_mut().unwrap().remove("instructions"); }), 400, "Instructions are required"),
        ("model", good(&live).body(|b| b["model"] = json!("gpt-9")), 400, "The 'gpt-9' model is not supported when using Codex with a ChatGPT account."),
        ("system role", good(&live).body(|b| b["input"][0]["role"] = json!("system")), 400, "not allowed in input"),
        ("item id", good(&live).body(|b| b["input"][0]["id"] = json!("msg_1")), 404, "Items are not persisted"),
        ("unknown reasoning", good(&live).body(|b| b["input"] = json!([{"type": "reasoning", "summary": [], "encrypted_content": "forged"}])), 400, "could not be verified"),
        ("orphan tool result", good(&live).body(|b| b["input"] = json!([{"type": "function_call_output", "call_id": "call_x", "output": "1"}])), 400, "No tool call found"),
    ];
    let count = cases.len();
    for (what, req, status, needle) in cases {
        let (got, body) = send(&backend, req).await;
        assert_eq!(got, status, "{what}: {body}");
        assert!(body.contains(needle), "{what}: {body}");
    }
    assert_eq!(backend.refusals().len(), count);

    backend.reject_token(&live);
    let (got, body) = send(&backend, good(&live)).await;
    assert_eq!(
        (got, body.contains("token_invalidated")),
        (401, true),
        "{body}"
    );
}

#[tokio::test]
async fn the_listing_follows_the_plan_and_the_sign_in() {
    let backend = FakeCodexBackend::start().await.unwrap();
    backend.set_plan_models(&["gpt-5.5", "gpt-x"]);
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let get = |auth: Option<String>| {
        let mut b = client.get(format!(
            "{}/models?client_version=0.1.0",
            backend.base_url()
        ));
        if let Some(t) = auth {
            b = b
                .header("authorization", format!("Bearer {t}"))
                .header("chatgpt-account-id", "acc-1");
        }
        b.send()
    };
    let r = get(Some(token("acc-1", 60))).await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let slugs: Vec<&str> = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["gpt-5.5", "gpt-x"]);
    assert_eq!(get(None).await.unwrap().status(), 401);
    backend.set_listing(false);
    assert_eq!(get(Some(token("acc-1", 60))).await.unwrap().status(), 404);
}
