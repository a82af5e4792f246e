//! Real server dialects, each written from its server's public documentation, decoded into
//! the expected events: OpenAI (text, parallel tool calls), vLLM with `reasoning_content`,
//! DeepSeek with cache fields, OpenRouter with `reasoning` (and a mid-stream error),
//! llama.cpp's server, Ollama's OpenAI endpoint, and text-generation-inference.
//!
//! `tests/fixtures/<name>.sse` is the raw body; `<name>.events.json` the expected events (a
//! last entry `{"error": "<ErrorKind>", "message_contains": "…"}` expects the stream to end
//! with that error). Each fixture is decoded twice: through the engine's SSE parser fed in
//! several chunk sizes, and over loopback HTTP through `Provider::stream`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cline_provider_core::http::sse::{SseDecoder, SseParser};
use cline_provider_core::http::{HttpConfig, RetryPolicy};
use cline_provider_core::{ChatRequest, Error, Message, Provider, StreamEvent};
use cline_provider_openai::{ChatCompletionsDecoder, OpenAiConfig, OpenAiProvider};
use cline_provider_testkit::{Reply, TestServer};
use futures_util::StreamExt;

const DIALECTS: &[&str] = &[
    "openai",
    "openai_tools",
    "vllm_reasoning",
    "deepseek",
    "deepseek_chat_cache",
    "openrouter",
    "openrouter_midstream_error",
    "llamacpp",
    "ollama",
    "tgi",
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

struct Expected {
    events: Vec<StreamEvent>,
    /// `(ErrorKind name, text the message contains)`.
    error: Option<(String, String)>,
}

fn load(name: &str) -> (Vec<u8>, Expected) {
    let pair = cline_provider_testkit::fixtures::load(&fixtures(), name);
    let events = pair
        .events
        .into_iter()
        .map(|v| serde_json::from_value(v).expect("a stream event"))
        .collect();
    let error = pair.error.map(|e| (e.kind, e.message_contains));
    (pair.body, Expected { events, error })
}

fn check(name: &str, how: &str, events: &[StreamEvent], end: Option<&Error>, want: &Expected) {
    assert_eq!(events, want.events.as_slice(), "{name} ({how})");
    match (&want.error, end) {
        (None, None) => {}
        (Some((kind, needle)), Some(err)) => {
            assert_eq!(&format!("{:?}", err.kind()), kind, "{name} ({how})");
            assert!(
                err.message().contains(needle.as_str()),
                "{name} ({how}): {}",
                err.message()
            );
        }
        (want, got) => panic!("{name} ({how}): expected error {want:?}, got {got:?}"),
    }
}

/// The body through the engine's parser, fed `chunk` bytes at a time, into the decoder.
fn decode_with_parser(body: &[u8], chunk: usize) -> (Vec<StreamEvent>, Option<Error>, bool) {
    let mut parser = SseParser::new();
    let mut decoder = ChatCompletionsDecoder::new();
    let mut out = Vec::new();
    let mut done = false;
    let mut pieces = body.chunks(chunk).peekable();
    while let Some(piece) = pieces.next() {
        parser.feed(piece);
        if pieces.peek().is_none() {
            parser.finish();
        }
        while let Some(event) = parser.next_event() {
            let event = event.unwrap();
            match decoder.decode(&event, &mut out) {
                Ok(true) => done = true,
                Ok(false) => {}
                Err(e) => return (out, Some(e), done),
            }
        }
    }
    (out, None, done)
}

#[test]
fn every_dialect_decodes_whatever_the_chunking() {
    for name in DIALECTS {
        let (body, want) = load(name);
        for chunk in [1, 7, 64, body.len()] {
            let (events, err, done) = decode_with_parser(&body, chunk);
            check(
                name,
                &format!("chunks of {chunk}"),
                &events,
                err.as_ref(),
                &want,
            );
            assert_eq!(done, want.error.is_none(), "{name}: [DONE] seen");
        }
    }
}

#[tokio::test]
async fn every_dialect_streams_through_the_provider() {
    let server = TestServer::start().await.unwrap();
    let config = OpenAiConfig::new(&format!("{}/v1", server.url()))
        .unwrap()
        .http(HttpConfig {
            idle_timeout: Duration::from_secs(2),
            header_timeout: Duration::from_secs(2),
            retry: RetryPolicy::never(),
            ..HttpConfig::default()
        });
    let provider = OpenAiProvider::new(config).unwrap();
    // Replies to one route are served in the order they were queued.
    let loaded: Vec<(&str, Vec<u8>, Expected)> = DIALECTS
        .iter()
        .map(|name| {
            let (body, want) = load(name);
            (*name, body, want)
        })
        .collect();
    for (_, body, _) in &loaded {
        server.route(
            "POST",
            "/v1/chat/completions",
            Reply::bytes(200, "text/event-stream", body.clone()),
        );
    }
    for (name, _, want) in &loaded {
        let mut stream = provider
            .stream(ChatRequest::new("m").message(Message::user("hi")))
            .await
            .unwrap();
        let mut events = Vec::new();
        let mut end = None;
        while let Some(e) = stream.next().await {
            match e {
                Ok(e) => events.push(e),
                Err(e) => {
                    end = Some(e);
                    break;
                }
            }
        }
        check(name, "over HTTP", &events, end.as_ref(), want);
    }
}

/// What makes each dialect worth its fixture: a quirk of the server's wire format (which the
/// body must contain, so that the fixture cannot drift into plain OpenAI) and what the
/// decoder must make of it. Dropping the decoder's handling of any quirk fails this test.
type Quirk = (&'static str, &'static str, fn(&[StreamEvent]) -> bool);

fn reasoning(events: &[StreamEvent]) -> bool {
    events
        .iter()
        .any(|e| matches!(e, StreamEvent::ReasoningDelta { .. }))
}

fn usage(events: &[StreamEvent]) -> cline_provider_core::Usage {
    events
        .iter()
        .find_map(|e| match e {
            StreamEvent::Usage(u) => Some(*u),
            _ => None,
        })
        .unwrap_or_default()
}

fn tool_starts(events: &[StreamEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, StreamEvent::ToolCallStart { .. }))
        .count()
}

const QUIRKS: &[Quirk] = &[
    ("openai", "\"cached_tokens\":1024", |e| {
        usage(e).cached_input_tokens == 1024
    }),
    ("openai_tools", "\"index\":1", |e| tool_starts(e) == 2),
    ("vllm_reasoning", "\"reasoning_content\"", reasoning),
    ("deepseek", "\"prompt_cache_hit_tokens\"", |e| {
        reasoning(e) && usage(e).cached_input_tokens == 128 && usage(e).reasoning_tokens == 27
    }),
    (
        "deepseek_chat_cache",
        "\"prompt_cache_hit_tokens\":960",
        |e| usage(e).cached_input_tokens == 960,
    ),
    ("openrouter", "\"reasoning\":\"", reasoning),
    ("openrouter_midstream_error", "\"error\":{", |e| {
        !e.is_empty()
    }),
    ("llamacpp", "\"reasoning_content\"", |e| {
        reasoning(e) && tool_starts(e) == 1
    }),
    ("ollama", "\"system_fingerprint\":\"fp_ollama\"", |e| {
        reasoning(e) && tool_starts(e) == 1
    }),
    ("tgi", "\"finish_reason\":\"eos_token\"", |e| {
        e.contains(&StreamEvent::Finish {
            reason: cline_provider_core::FinishReason::Stop,
        })
    }),
];

#[test]
fn every_dialect_carries_its_quirk_and_the_decoder_reads_it() {
    for name in DIALECTS {
        let (_, wire, decoded) = QUIRKS
            .iter()
            .find(|(n, _, _)| n == name)
            .unwrap_or_else(|| panic!("{name} has no quirk: what does it test?"));
        let (body, _) = load(name);
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.contains(wire),
            "{name}: the body lacks its quirk {wire}"
        );
        let (events, _, _) = decode_with_parser(&body, body.len());
        assert!(
            decoded(&events),
            "{name}: the decoder did not read its quirk: {events:?}"
        );
    }
}
