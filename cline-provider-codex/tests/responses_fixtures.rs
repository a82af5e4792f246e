//! Responses API streams on disk, each decoded into the expected events: a text answer with
//! escapes and multi-byte characters, a reasoning summary with two parallel function calls, an
//! incomplete reply, a failure, CRLF line ends with keep-alives and unknown event types, items
//! delivered whole without deltas, and a stream cut before its end.
//!
//! `tests/fixtures/<name>.sse` is the raw body, `<name>.events.json` the expected events (a last
//! entry `{"error": "<ErrorKind>", "message_contains": "…"}` expects the stream to end with that
//! error). Each fixture goes through the engine's SSE parser split at every byte (and at random
//! points, by property test), and over loopback HTTP through `CodexProvider::stream`.

mod common;

use std::path::{Path, PathBuf};

use cline_provider_codex::responses::ResponsesDecoder;
use cline_provider_core::http::sse::{SseDecoder, SseParser};
use cline_provider_core::{ChatRequest, Error, Message, Provider, StreamEvent};
use cline_provider_testkit::fixtures::{self, FixturePair};
use cline_provider_testkit::{Reply, TestServer};
use common::{drain, Codex};
use proptest::prelude::*;

const FIXTURES: &[&str] = &[
    "text",
    "reasoning_tools",
    "incomplete",
    "failed_context",
    "crlf_keepalive",
    "whole_items",
    "truncated",
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The fixture and its expected events.
fn load(name: &str) -> (FixturePair, Vec<StreamEvent>) {
    let pair = fixtures::load(&dir(), name);
    let want = pair.expected();
    (pair, want)
}

/// What decoding gave: the events, the error that ended it, whether the terminal event came.
#[derive(Debug)]
struct Decoded {
    events: Vec<StreamEvent>,
    error: Option<Error>,
    done: bool,
}

/// The body through the engine's parser, fed in the pieces `cuts` delimits, into the decoder.
fn decode_split(body: &[u8], cuts: &[usize]) -> Decoded {
    let mut parser = SseParser::new();
    let mut decoder = ResponsesDecoder::new();
    let mut out = Decoded {
        events: Vec::new(),
        error: None,
        done: false,
    };
    let mut start = 0;
    let ends = cuts.iter().copied().chain(std::iter::once(body.len()));
    for (n, cut) in ends.enumerate() {
        let cut = cut.clamp(start, body.len());
        parser.feed(&body[start..cut]);
        start = cut;
        if n == cuts.len() {
            parser.finish();
        }
        while let Some(event) = parser.next_event() {
            let event = event.expect("valid framing");
            match decoder.decode(&event, &mut out.events) {
                Ok(true) => {
                    out.done = true;
                    return out;
                }
                Ok(false) => {}
                Err(e) => {
                    out.error = Some(e);
                    return out;
                }
            }
            parser.recycle(event);
        }
    }
    out
}

fn check(pair: &FixturePair, want: &[StreamEvent], how: &str, got: &Decoded) {
    assert_eq!(got.events, want, "{} ({how})", pair.name);
    let truncated = pair.error.as_ref().is_some_and(|e| e.kind == "Truncated");
    if truncated && got.error.is_none() {
        // Without the engine nothing calls a missing terminal event a truncation: the
        // terminal event simply never comes.
        assert!(!got.done, "{} ({how})", pair.name);
        return;
    }
    let end = got.error.as_ref();
    pair.check_end(how, end.map(|e| (format!("{:?}", e.kind()), e.message())));
    if end.is_none() {
        assert!(got.done, "{} ({how}): the terminal event", pair.name);
    }
}

#[test]
fn every_fixture_decodes_at_every_split_point() {
    for name in FIXTURES {
        let (pair, want) = load(name);
        let body = &pair.body;
        check(&pair, &want, "whole", &decode_split(body, &[]));
        for cut in 0..=body.len() {
            let how = format!("split at byte {cut}");
            check(&pair, &want, &how, &decode_split(body, &[cut]));
        }
        let every_byte: Vec<usize> = (1..body.len()).collect();
        check(
            &pair,
            &want,
            "byte at a time",
            &decode_split(body, &every_byte),
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_splits_give_the_same_events(
        which in 0..FIXTURES.len(),
        cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..24),
    ) {
        let name = FIXTURES[which];
        let (pair, want) = load(name);
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(pair.body.len() + 1)).collect();
        cuts.sort_unstable();
        let got = decode_split(&pair.body, &cuts);
        prop_assert_eq!(&got.events, &want, "{} cut at {:?}", name, cuts);
        prop_assert_eq!(got.done, pair.error.is_none());
    }
}

#[test]
fn the_fixtures_cover_what_the_issue_names() {
    let all: Vec<String> = FIXTURES
        .iter()
        .map(|n| String::from_utf8(load(n).0.body).expect("utf-8"))
        .collect();
    for event in [
        "response.output_text.delta",
        "response.reasoning_summary_text.delta",
        "response.output_item.added",
        "response.output_item.done",
        "response.function_call_arguments.delta",
        "response.completed",
        "response.incomplete",
        "response.failed",
    ] {
        assert!(
            all.iter()
                .any(|body| body.contains(&format!("event: {event}"))),
            "no fixture has {event}"
        );
    }
    assert!(all.iter().any(|b| b.contains("\r\n")), "a CRLF fixture");
}

#[tokio::test]
async fn every_fixture_streams_through_the_provider() {
    let codex = Codex::signed_in().await;
    // A plain server plays the endpoint: only the stream is under test here.
    let server = TestServer::start().await.unwrap();
    let config = codex
        .setup
        .config()
        .base_url(&format!("{}/backend-api/codex", server.url()))
        .unwrap();
    let auth = cline_provider_codex::CodexAuth::new(config).unwrap();
    let client = cline_provider_core::http::HttpClient::with_env(Codex::http(), &|_| None).unwrap();
    let provider = cline_provider_codex::CodexProvider::with_client(auth, client).unwrap();
    let loaded: Vec<(FixturePair, Vec<StreamEvent>)> =
        FIXTURES.iter().map(|name| load(name)).collect();
    for (pair, _) in &loaded {
        server.route(
            "POST",
            "/backend-api/codex/responses",
            Reply::bytes(200, "text/event-stream", pair.body.clone()).chunk_size(97),
        );
    }
    for (pair, want) in &loaded {
        let req = ChatRequest::new("gpt-5.5").message(Message::user("hi"));
        let (events, error) = drain(provider.stream(req).await).await;
        // A failure before any output is `stream()`'s own error: nothing is streamed, not
        // even what the endpoint said about the response.
        let want: &[StreamEvent] = if want.iter().any(StreamEvent::is_output) {
            want
        } else {
            &[]
        };
        assert_eq!(events, want, "{} over HTTP", pair.name);
        let end = error.as_ref();
        pair.check_end(
            "over HTTP",
            end.map(|e| (format!("{:?}", e.kind()), e.message())),
        );
    }
}
