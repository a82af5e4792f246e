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
use cline_provider_testkit::fixtures::{self, FixturePair};
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

/// The fixture and its expected events.
fn load(name: &str) -> (FixturePair, Vec<StreamEvent>) {
    let pair = fixtures::load(&fixtures(), name);
    let want = pair.expected();
    (pair, want)
}

fn check(
    pair: &FixturePair,
    want: &[StreamEvent],
    how: &str,
    events: &[StreamEvent],
    end: Option<&Error>,
) {
    assert_eq!(events, want, "{} ({how})", pair.name);
    pair.check_end(how, end.map(|e| (format!("{:?}", e.kind()), e.message())));
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
        let (pair, want) = load(name);
        for chunk in [1, 7, 64, pair.body.len()] {
            let (events, err, done) = decode_with_parser(&pair.body, chunk);
            check(
                &pair,
                &want,
                &format!("chunks of {chunk}"),
                &events,
                err.as_ref(),
            );
            assert_eq!(done, pair.error.is_none(), "{name}: [DONE] seen");
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
    let loaded: Vec<(FixturePair, Vec<StreamEvent>)> =
        DIALECTS.iter().map(|name| load(name)).collect();
    for (pair, _) in &loaded {
        server.route(
            "POST",
            "/v1/chat/completions",
            Reply::bytes(200, "text/event-stream", pair.body.clone()),
        );
    }
    for (pair, want) in &loaded {
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
        check(pair, want, "over HTTP", &events, end.as_ref());
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
        let (pair, _) = load(name);
        let text = String::from_utf8_lossy(&pair.body);
        assert!(
            text.contains(wire),
            "{name}: the body lacks its quirk {wire}"
        );
        let (events, _, _) = decode_with_parser(&pair.body, pair.body.len());
        assert!(
            decoded(&events),
            "{name}: the decoder did not read its quirk: {events:?}"
        );
    }
}
