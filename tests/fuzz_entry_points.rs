//! The fuzzing entry points of `fuzz/` on the stable toolchain: every corpus file replayed,
//! then generated inputs, a few thousand per target, aimed at each parser's format (random
//! bytes reach little past the first check, so each generator writes near-valid input and
//! then damages it).
//!
//! The checks themselves live in `fuzz/src/lib.rs`, shared with `cargo fuzz`.

#[path = "../fuzz/src/lib.rs"]
mod entry;

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRunner};
use serde_json::{json, Value};

/// Runs every file of `fuzz/corpus/<target>` through `check`; the corpus must not be empty.
fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no corpus", dir.display());
    for file in files {
        let data = std::fs::read(&file).expect("corpus file");
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{} fails its checks", file.display());
    }
}

/// Runs `check` on `cases` inputs from `strategy`. Cases are counted here, not by proptest's
/// environment variables, so the suite's duration stays what it was measured at.
fn generate(cases: u32, strategy: impl Strategy<Value = Vec<u8>>, check: fn(&[u8])) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        // ChaCha, the default, is most of the time of a case in an unoptimized build; the
        // generators need no cryptographic randomness.
        rng_algorithm: RngAlgorithm::XorShift,
        ..Config::default()
    });
    runner
        .run(&strategy, |data| {
            check(&data);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Damages `input` a little: byte flips, cuts, duplicated slices.
fn damaged(input: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = input.len().max(1);
    proptest::collection::vec((0..len, any::<u8>(), 0u8..4), 0..4).prop_map(move |edits| {
        let mut out = input.clone();
        for (at, byte, how) in edits {
            if out.is_empty() {
                break;
            }
            let at = at % out.len();
            match how {
                0 => out[at] = byte,
                1 => out.truncate(at),
                2 => {
                    let end = (at + usize::from(byte)).min(out.len());
                    let slice = out[at..end].to_vec();
                    out.splice(at..at, slice);
                }
                _ => {
                    out.remove(at);
                }
            }
        }
        out
    })
}

fn near_valid<S>(valid: S) -> impl Strategy<Value = Vec<u8>>
where
    S: Strategy<Value = Vec<u8>> + 'static,
{
    let valid = valid.boxed();
    prop_oneof![
        3 => valid.clone(),
        2 => valid.prop_flat_map(damaged),
        1 => proptest::collection::vec(any::<u8>(), 0..256),
    ]
}

// ---- SSE framer -------------------------------------------------------------------------

fn sse_stream() -> impl Strategy<Value = Vec<u8>> {
    // Weights: a long line (the inflate byte) is rare: each costs 20 KB of input.
    let piece = prop_oneof![
        20 => Just(&b"data:"[..]),
        20 => Just(&b"data: "[..]),
        20 => Just(&b"event: "[..]),
        20 => Just(&b"id: "[..]),
        20 => Just(&b"id"[..]),
        20 => Just(&b"retry: "[..]),
        20 => Just(&b"18446744073709551616"[..]),
        20 => Just(&b"250"[..]),
        20 => Just(&b": keep-alive"[..]),
        20 => Just(&b":"[..]),
        20 => Just(&b"\n"[..]),
        20 => Just(&b"\n\n"[..]),
        20 => Just(&b"\r"[..]),
        20 => Just(&b"\r\n"[..]),
        20 => Just(&b"\r\n\r\n"[..]),
        20 => Just(&b"\xEF\xBB\xBF"[..]),
        20 => Just(&b"\xEF\xBB"[..]),
        20 => Just(&b"{\"a\":1}"[..]),
        20 => Just(&b"[DONE]"[..]),
        20 => Just("é世🦀".as_bytes()),
        20 => Just(&b"\xF0\x9F"[..]),
        20 => Just(&b"\0"[..]),
        1 => Just(&[entry::INFLATE_BYTE][..]),
        20 => Just(&b"x"[..]),
    ];
    (any::<[u8; 6]>(), proptest::collection::vec(piece, 0..40)).prop_map(|(head, pieces)| {
        let mut out = head.to_vec();
        for p in pieces {
            out.extend_from_slice(p);
        }
        out
    })
}

#[test]
fn sse_framer_corpus() {
    replay("sse_framer", entry::sse_framer);
}

#[test]
fn sse_framer_generated() {
    generate(3000, near_valid(sse_stream()), entry::sse_framer);
}

/// The model the framer is checked against must itself be right, or the check proves
/// nothing: a few streams with known events.
#[test]
fn the_sse_model_knows_the_rules() {
    use entry::{sse_model, Framed};
    let events = |input: &[u8], cap: usize| -> Vec<String> {
        sse_model(input, cap)
            .into_iter()
            .map(|f| match f {
                Framed::Event(e) => format!("{:?}/{}/{:?}", e.event, e.data, e.id),
                Framed::TooLarge => "too large".to_owned(),
            })
            .collect()
    };
    assert_eq!(
        events(
            b"\xEF\xBB\xBFdata: a\r\ndata:b\r\rid: 7\nevent: e\ndata\n\n: c\n\n",
            100
        ),
        vec!["None/a\nb/None", "Some(\"e\")//Some(\"7\")"]
    );
    assert_eq!(
        events(b"data: 0123456789abcdefgh\n\ndata: ok\ndata: cut", 20),
        vec!["too large", "None/ok/None"]
    );
    // A cut last line still counts toward the cap: before the end, nobody knows it is cut.
    assert_eq!(events(b"data: ok\ndata: cut", 12), vec!["too large"]);
    assert_eq!(events(b"data: x\n", 100), vec!["None/x/None"]);
}

// ---- chat-completions chunk decoder -----------------------------------------------------

fn chat_chunk() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        Just(Value::String("Hi".into())),
        Just(Value::String("é世🦀\n".into())),
        Just(Value::String(String::new())),
        Just(Value::Null),
        Just(json!(7)),
    ];
    let index = prop_oneof![
        Just(json!(0)),
        Just(json!(1)),
        Just(json!(5)),
        Just(json!(-1)),
        Just(Value::Null)
    ];
    let tool_call = (
        index.clone(),
        proptest::option::of("[a-z_]{0,6}"),
        proptest::option::of("[a-z]{0,5}"),
        text.clone(),
    )
        .prop_map(|(index, id, name, args)| {
            let mut call = json!({"index": index, "function": {"arguments": args}});
            if let Some(id) = id {
                call["id"] = json!(id);
                call["type"] = json!("function");
            }
            if let Some(name) = name {
                call["function"]["name"] = json!(name);
            }
            call
        });
    let delta = (
        proptest::option::of(text.clone()),
        proptest::option::of(text.clone()),
        proptest::option::of(text.clone()),
        proptest::option::of(proptest::collection::vec(tool_call, 0..3)),
    )
        .prop_map(|(content, reasoning_content, reasoning, calls)| {
            let mut delta = json!({});
            if let Some(v) = content {
                delta["content"] = v;
            }
            if let Some(v) = reasoning_content {
                delta["reasoning_content"] = v;
            }
            if let Some(v) = reasoning {
                delta["reasoning"] = v;
            }
            if let Some(calls) = calls {
                delta["tool_calls"] = Value::Array(calls);
            }
            delta
        });
    let finish = prop_oneof![
        Just(Value::Null),
        Just(json!("stop")),
        Just(json!("tool_calls")),
        Just(json!("length")),
        Just(json!("eos")),
        Just(json!("")),
        Just(json!("something_new")),
    ];
    let usage = prop_oneof![
        Just(Value::Null),
        Just(json!({"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7})),
        Just(json!({"prompt_tokens": -1, "completion_tokens": 1e30})),
        Just(
            json!({"prompt_tokens": 3, "prompt_cache_hit_tokens": 2, "prompt_cache_miss_tokens": 1})
        ),
    ];
    let choice_index = prop_oneof![Just(json!(0)), Just(json!(1)), Just(Value::Null)];
    prop_oneof![
        8 => (choice_index, delta, finish, usage, proptest::option::of("[a-z0-9-]{0,8}")).prop_map(
            |(index, delta, finish, usage, id)| {
                let mut chunk = json!({
                    "object": "chat.completion.chunk",
                    "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
                    "usage": usage,
                });
                if let Some(id) = id {
                    chunk["id"] = json!(id);
                    chunk["model"] = json!("m");
                }
                chunk
            }
        ),
        1 => Just(json!({"error": {"message": "Overloaded", "type": "server_error", "code": "rate_limit_exceeded"}})),
        1 => Just(json!({"choices": []})),
        1 => Just(json!("[DONE]")),
    ]
}

fn chat_stream() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(chat_chunk(), 0..12).prop_map(|chunks| {
        chunks
            .into_iter()
            .map(|c| match c {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
            .into_bytes()
    })
}

#[test]
fn chat_chunk_decoder_corpus() {
    replay("chat_chunk_decoder", entry::chat_chunk_decoder);
}

#[test]
fn chat_chunk_decoder_generated() {
    generate(3000, near_valid(chat_stream()), entry::chat_chunk_decoder);
}

// ---- Responses API event decoder ------------------------------------------------------

fn responses_event() -> impl Strategy<Value = String> {
    let text = prop_oneof![
        Just(json!("Hi")),
        Just(json!("é世🦀\n")),
        Just(json!("")),
        Just(json!("{\"a\":")),
        Just(json!("1}")),
        Just(Value::Null),
        Just(json!(7)),
    ];
    let item_id = prop_oneof![
        Just(json!("fc_1")),
        Just(json!("fc_2")),
        Just(json!("msg_1")),
        Just(json!("rs_1")),
        Just(json!("")),
        Just(Value::Null),
    ];
    let index = prop_oneof![
        Just(json!(0)),
        Just(json!(1)),
        Just(json!(-1)),
        Just(Value::Null)
    ];
    let item = (
        prop_oneof![
            Just("function_call"),
            Just("message"),
            Just("reasoning"),
            Just("web_search_call")
        ],
        item_id.clone(),
        proptest::option::of(prop_oneof![Just("call_1"), Just("call_2"), Just("")]),
        proptest::option::of(prop_oneof![Just("get_weather"), Just("")]),
        text.clone(),
        text.clone(),
    )
        .prop_map(|(kind, id, call_id, name, t, args)| {
            let mut item = json!({"type": kind, "id": id});
            if let Some(c) = call_id {
                item["call_id"] = json!(c);
            }
            if let Some(n) = name {
                item["name"] = json!(n);
            }
            match kind {
                "function_call" => item["arguments"] = args,
                "message" => item["content"] = json!([{"type": "output_text", "text": t}]),
                "reasoning" => {
                    item["summary"] = json!([{"type": "summary_text", "text": t}]);
                    item["encrypted_content"] = json!("gAAAA-enc");
                }
                _ => {}
            }
            item
        });
    let usage = prop_oneof![
        Just(Value::Null),
        Just(
            json!({"input_tokens": 5, "output_tokens": 2, "input_tokens_details": {"cached_tokens": 1}, "output_tokens_details": {"reasoning_tokens": 1}})
        ),
        Just(json!({"input_tokens": -1, "output_tokens": 1e30})),
    ];
    let error = prop_oneof![
        Just(json!({"code": "server_error", "message": "boom"})),
        Just(json!({"code": "rate_limit_exceeded", "message": "Please try again in 1.5s."})),
        Just(
            json!({"code": "usage_limit_reached", "message": "limit", "resets_at": 1_700_000_000})
        ),
        Just(json!("not an object")),
        Just(Value::Null),
    ];
    let kind = prop_oneof![
        6 => Just("response.output_text.delta"),
        2 => Just("response.refusal.delta"),
        3 => Just("response.reasoning_summary_text.delta"),
        1 => Just("response.reasoning_text.delta"),
        5 => Just("response.output_item.added"),
        5 => Just("response.output_item.done"),
        5 => Just("response.function_call_arguments.delta"),
        1 => Just("response.tool_call_arguments.delta"),
        3 => Just("response.function_call_arguments.done"),
        2 => Just("response.completed"),
        1 => Just("response.done"),
        1 => Just("response.incomplete"),
        1 => Just("response.failed"),
        1 => Just("error"),
        1 => Just("response.created"),
        1 => Just("response.something_new"),
    ];
    (
        kind,
        text,
        item_id,
        index.clone(),
        index,
        item,
        usage,
        error,
        0u8..4,
    )
        .prop_map(
            |(kind, t, item_id, output_index, summary_index, item, usage, error, form)| {
                let mut event = json!({
                    "type": kind,
                    "item_id": item_id,
                    "output_index": output_index,
                    "sequence_number": 1,
                });
                match kind {
                    "response.output_item.added" | "response.output_item.done" => {
                        event["item"] = item;
                    }
                    "response.function_call_arguments.done" => event["arguments"] = t,
                    "response.completed" | "response.done" => {
                        event["response"] = json!({"id": "resp_1", "usage": usage});
                    }
                    "response.incomplete" => {
                        event["response"] = json!({"usage": usage, "incomplete_details": {"reason": "max_output_tokens"}});
                    }
                    "response.failed" => event["response"] = json!({"error": error}),
                    "error" => {
                        event["code"] = json!("server_is_overloaded");
                        event["message"] = json!("busy");
                    }
                    _ => {
                        event["delta"] = t;
                        event["summary_index"] = summary_index;
                    }
                }
                match form {
                    // The name only on the `event:` line, as some servers send it.
                    0 => {
                        let name = kind.to_owned();
                        event.as_object_mut().map(|o| o.remove("type"));
                        format!("{name}\t{event}")
                    }
                    1 => format!("{kind}\t{event}"),
                    2 => event.to_string(),
                    _ => "[DONE]".to_owned(),
                }
            },
        )
}

fn responses_stream() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(responses_event(), 0..14)
        .prop_map(|events| events.join("\n").into_bytes())
}

#[test]
fn responses_decoder_corpus() {
    replay("responses_decoder", entry::responses_decoder);
}

#[test]
fn responses_decoder_generated() {
    generate(
        3000,
        near_valid(responses_stream()),
        entry::responses_decoder,
    );
}

// ---- organization remote config ---------------------------------------------------------

fn json_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        Just(json!(1e300)),
        Just(json!(-0.5)),
        Just(json!("https://llm.example.com/v1")),
        Just(json!("http://10.0.0.1:8000/v1")),
        Just(json!("ftp://x")),
        Just(json!("2024-10-21")),
        Just(json!("not a url")),
        Just(json!("")),
        Just(json!("Bearer org-token")),
        Just(json!("line\nbreak")),
    ]
}

fn model() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            Just(json!("gpt-4o")),
            Just(json!("m-2")),
            Just(json!("")),
            Just(json!(3))
        ],
        proptest::collection::btree_map(
            prop_oneof![
                Just("contextWindow"),
                Just("maxTokens"),
                Just("supportsImages"),
                Just("inputPrice"),
                Just("outputPrice"),
                Just("temperature"),
                Just("isR1FormatRequired"),
                Just("description"),
            ],
            json_scalar(),
            0..4,
        ),
    )
        .prop_map(|(id, fields)| {
            let mut m = json!({"id": id});
            for (k, v) in fields {
                m[k] = v;
            }
            m
        })
}

fn remote_config_doc() -> impl Strategy<Value = Vec<u8>> {
    let headers = proptest::collection::btree_map(
        prop_oneof![
            Just("X-Team".to_owned()),
            Just("Authorization".to_owned()),
            Just("Host".to_owned()),
            Just("bad name".to_owned()),
            Just(String::new()),
        ],
        json_scalar(),
        0..3,
    )
    .prop_map(|m| json!(m));
    let block = (
        proptest::option::of(proptest::collection::vec(model(), 0..3)),
        proptest::option::of(json_scalar()),
        proptest::option::of(headers),
        proptest::option::of(json_scalar()),
        proptest::option::of(json_scalar()),
    )
        .prop_map(|(models, url, headers, version, identity)| {
            let mut b = json!({});
            if let Some(m) = models {
                b["models"] = Value::Array(m);
            }
            if let Some(v) = url {
                b["openAiBaseUrl"] = v;
            }
            if let Some(v) = headers {
                b["openAiHeaders"] = v;
            }
            if let Some(v) = version {
                b["azureApiVersion"] = v;
            }
            if let Some(v) = identity {
                b["azureIdentity"] = v;
            }
            b
        });
    let providers = proptest::collection::btree_map(
        prop_oneof![
            4 => Just("OpenAiCompatible"),
            1 => Just("AwsBedrock"),
            1 => Just("Cline"),
            1 => Just("LiteLLM"),
            1 => Just("OpenAICompatible"),
        ],
        prop_oneof![4 => block, 1 => json_scalar()],
        0..3,
    );
    (
        prop_oneof![4 => Just(json!("v1")), 1 => json_scalar()],
        proptest::option::of(providers),
        any::<bool>(),
    )
        .prop_map(|(version, providers, extra)| {
            let mut doc = json!({"version": version});
            if let Some(p) = providers {
                doc["providerSettings"] = json!(p);
            }
            if extra {
                doc["telemetryEnabled"] = json!(true);
                doc["remoteMCPServers"] = json!([{"name": "m", "headers": {"Authorization": "x"}}]);
            }
            doc.to_string().into_bytes()
        })
}

#[test]
fn remote_config_corpus() {
    replay("remote_config", entry::remote_config);
}

#[test]
fn remote_config_generated() {
    generate(3000, near_valid(remote_config_doc()), entry::remote_config);
}

// ---- OAuth callback query ---------------------------------------------------------------

fn callback_input() -> impl Strategy<Value = Vec<u8>> {
    let key = prop_oneof![
        Just("state"),
        Just("code"),
        Just("error"),
        Just("error_description"),
        Just("scope"),
        Just("st%61te"),
        Just(""),
    ];
    let value = prop_oneof![
        Just("STATE-expected-1".to_owned()),
        Just("CODE-secret-42".to_owned()),
        Just("access_denied".to_owned()),
        Just("missing_codex_entitlement".to_owned()),
        Just(String::new()),
        Just("%FF%00".to_owned()),
        Just("a+b%20c".to_owned()),
        "[a-zA-Z0-9_.~-]{0,12}",
    ];
    (
        prop_oneof![Just("STATE-expected-1"), Just(""), Just("other")],
        proptest::collection::vec((key, value, 0u8..4), 0..6),
        0u8..3,
    )
        .prop_map(|(expected, pairs, form)| {
            let query: Vec<String> = pairs
                .into_iter()
                .map(|(k, v, sep)| match sep {
                    0 => k.to_owned(),
                    _ => format!("{k}={v}"),
                })
                .collect();
            let query = query.join("&");
            let query = match form {
                0 => query,
                1 => format!("http://localhost:1455/auth/callback?{query}"),
                _ => format!("CODE-secret-42#{expected}"),
            };
            format!("{expected}\0{query}").into_bytes()
        })
}

#[test]
fn oauth_callback_query_corpus() {
    replay("oauth_callback_query", entry::oauth_callback_query);
}

#[test]
fn oauth_callback_query_generated() {
    generate(
        3000,
        near_valid(callback_input()),
        entry::oauth_callback_query,
    );
}

// ---- JWT claims -------------------------------------------------------------------------

fn claims_payload() -> impl Strategy<Value = Vec<u8>> {
    let claim = prop_oneof![
        Just(json!({"email": "ada@example.com"})),
        Just(json!({"email": ""})),
        Just(json!({"chatgpt_account_id": "root"})),
        Just(
            json!({"https://api.openai.com/auth": {"chatgpt_account_id": "ns", "chatgpt_plan_type": "pro", "user_id": "u"}})
        ),
        Just(json!({"https://api.openai.com/auth": "not an object"})),
        Just(json!({"https://api.openai.com/profile": {"email": 5}})),
        Just(json!({"organizations": [{"id": "org"}, {"id": "o2"}]})),
        Just(json!({"organizations": []})),
        Just(json!({"exp": 1_700_000_000})),
        Just(json!({"exp": -1})),
        Just(json!({"exp": 1e300})),
        Just(json!({"exp": "soon"})),
    ];
    prop_oneof![
        4 => proptest::collection::vec(claim, 0..5).prop_map(|claims| {
            let mut doc = json!({});
            for c in claims {
                if let Value::Object(m) = c {
                    for (k, v) in m {
                        doc[k] = v;
                    }
                }
            }
            doc.to_string().into_bytes()
        }),
        1 => Just(b"[1,2]".to_vec()),
        1 => Just(b"eyJ.e30.sig".to_vec()),
        1 => Just(b"a.b.c.d".to_vec()),
    ]
}

#[test]
fn jwt_claims_corpus() {
    replay("jwt_claims", entry::jwt_claims);
}

#[test]
fn jwt_claims_generated() {
    generate(3000, near_valid(claims_payload()), entry::jwt_claims);
}
