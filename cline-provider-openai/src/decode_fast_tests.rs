//! The fast chunk reader against the serde path: the same events (or the same error kind) on
//! generated chunks of every shape servers send, odd ones included, and on every dialect
//! fixture; and the common chunks really take the fast path.

use std::path::Path;

use cline_provider_core::http::sse::SseParser;
use cline_provider_core::{ErrorKind, StreamEvent};
use proptest::prelude::*;

use super::ChatCompletionsDecoder;
use crate::fast_chunk::{self, ChunkPrefix, FastChunk};

fn read_chunk(data: &str, with_metadata: bool) -> bool {
    fast_chunk::read_chunk(
        data,
        with_metadata,
        &mut FastChunk::default(),
        &mut ChunkPrefix::default(),
    )
    .is_ok()
}

/// Decodes `chunks` in order with the fast path first (as the decoder does) or with serde
/// only; the events, or the kind of the error that stopped the stream.
fn run(chunks: &[String], serde_only: bool) -> (Vec<StreamEvent>, Option<ErrorKind>) {
    let mut d = if serde_only {
        ChatCompletionsDecoder::serde_only()
    } else {
        ChatCompletionsDecoder::new()
    };
    let mut out = Vec::new();
    for chunk in chunks {
        let result = d.decode_data(chunk, &mut out);
        if let Err(e) = result {
            return (out, Some(e.kind().clone()));
        }
    }
    d.flush_calls(&mut out);
    (out, None)
}

/// A JSON text built from raw pieces, so that tests control escapes, spacing and duplicates.
#[derive(Debug, Clone)]
enum J {
    Raw(&'static str),
    Arr(Vec<J>),
    Obj(Members),
}

fn space(spaces: &[u8], at: &mut usize, out: &mut String) {
    let pick = spaces.get(*at % spaces.len().max(1)).copied().unwrap_or(0);
    *at += 1;
    out.push_str(match pick % 6 {
        0 => " ",
        1 => "\n",
        2 => "\t ",
        _ => "",
    });
}

fn render(j: &J, spaces: &[u8], at: &mut usize, out: &mut String) {
    match j {
        J::Raw(s) => out.push_str(s),
        J::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                space(spaces, at, out);
                render(item, spaces, at, out);
            }
            space(spaces, at, out);
            out.push(']');
        }
        J::Obj(fields) => {
            out.push('{');
            for (i, (key, value)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                space(spaces, at, out);
                out.push_str(key);
                space(spaces, at, out);
                out.push(':');
                space(spaces, at, out);
                render(value, spaces, at, out);
            }
            space(spaces, at, out);
            out.push('}');
        }
    }
}

fn raw(options: &'static [&'static str]) -> BoxedStrategy<J> {
    prop::sample::select(options).prop_map(J::Raw).boxed()
}

const STRINGS: &[&str] = &[
    r#""""#,
    r#"" the""#,
    r#""Hel""#,
    r#"".\n""#,
    r#""q\"uote\\""#,
    r#""\u00e9t\u00e9 \ud83e\udd80""#,
    r#""é→🦀""#,
    r#""\/x\b\f\r\t""#,
    r#""\ud800""#,
    "\"raw\ttab\"",
    r#""{\"x\":1}""#,
    r#""call_1""#,
    r#""f""#,
    r#""unterminated"#,
];
const SCALARS: &[&str] = &[
    "null", "true", "false", "0", "7", "-3", "1.5", "1e3", "-0", "01", "1e400",
];
const INDEXES: &[&str] = &[
    "null",
    "0",
    "0",
    "0",
    "1",
    "-1",
    "1.5",
    r#""0""#,
    "4294967296",
];
const COUNTS: &[&str] = &[
    "null",
    "5",
    "0",
    "-2",
    "1.5",
    "1e3",
    "1e400",
    r#""12""#,
    r#"" 7 ""#,
    r#""x""#,
    "true",
    "{}",
    "[]",
    "18446744073709551616",
    "-99999999999999999999",
];
const REASONS: &[&str] = &[
    "null",
    r#""stop""#,
    r#""""#,
    r#""length""#,
    r#""tool_calls""#,
    r#""eos_token""#,
    "7",
    "{}",
    r#""we\u0069rd""#,
];

fn string_or_other() -> BoxedStrategy<J> {
    prop_oneof![
        6 => raw(STRINGS),
        2 => raw(&["null"]),
        1 => raw(SCALARS),
    ]
    .boxed()
}

/// Some of `fields` (each present or not), in any order, sometimes one twice.
fn object(fields: Vec<(&'static str, BoxedStrategy<J>)>) -> BoxedStrategy<J> {
    let present = fields
        .into_iter()
        .map(|(key, value)| proptest::option::weighted(0.6, value.prop_map(move |v| (key, v))))
        .collect::<Vec<_>>();
    (present, any::<prop::sample::Index>(), 0..8u8)
        .prop_map(move |(present, dup, dup_odds)| {
            let mut fields: Members = present.into_iter().flatten().collect();
            if dup_odds == 0 && !fields.is_empty() {
                let again = fields[dup.index(fields.len())].clone();
                fields.push(again);
            }
            fields
        })
        .prop_shuffle()
        .prop_map(J::Obj)
        .boxed()
}

fn function() -> BoxedStrategy<J> {
    prop_oneof![
        4 => object(vec![
            (r#""name""#, string_or_other()),
            (r#""arguments""#, string_or_other()),
            (r#""extra""#, raw(SCALARS)),
        ]),
        1 => raw(&["null", "5"]),
    ]
    .boxed()
}

fn fragment() -> BoxedStrategy<J> {
    prop_oneof![
        8 => object(vec![
            (r#""index""#, raw(INDEXES)),
            (r#""id""#, string_or_other()),
            (r#""type""#, raw(&[r#""function""#])),
            (r#""function""#, function()),
        ]),
        1 => raw(&["null", "3"]),
    ]
    .boxed()
}

fn content() -> BoxedStrategy<J> {
    let part = object(vec![
        (
            r#""type""#,
            raw(&[r#""text""#, r#""thinking""#, r#""image_url""#]),
        ),
        (r#""text""#, raw(STRINGS)),
    ]);
    prop_oneof![
        8 => raw(STRINGS),
        2 => raw(&["null"]),
        1 => prop::collection::vec(part, 0..3).prop_map(J::Arr),
        1 => raw(SCALARS),
    ]
    .boxed()
}

fn delta() -> BoxedStrategy<J> {
    prop_oneof![
        8 => object(vec![
            (r#""role""#, raw(&[r#""assistant""#])),
            (r#""content""#, content()),
            (r#""reasoning_content""#, string_or_other()),
            (r#""reasoning""#, string_or_other()),
            (r#""refusal""#, string_or_other()),
            (r#""tool_calls""#, prop_oneof![
                4 => prop::collection::vec(fragment(), 0..6).prop_map(J::Arr),
                1 => raw(&["null", "{}"]),
            ].boxed()),
        ]),
        1 => raw(&["null", "5", "[]"]),
    ]
    .boxed()
}

fn choice() -> BoxedStrategy<J> {
    object(vec![
        (r#""index""#, raw(INDEXES)),
        (r#""delta""#, delta()),
        (r#""finish_reason""#, raw(REASONS)),
        (
            r#""logprobs""#,
            raw(&["null", r#"{"content":[{"token":"a","logprob":-0.1}]}"#]),
        ),
    ])
}

fn details() -> BoxedStrategy<J> {
    prop_oneof![
        3 => object(vec![
            (r#""cached_tokens""#, raw(COUNTS)),
            (r#""cache_write_tokens""#, raw(COUNTS)),
            (r#""reasoning_tokens""#, raw(COUNTS)),
        ]),
        1 => raw(&["null", "3"]),
    ]
    .boxed()
}

fn usage() -> BoxedStrategy<J> {
    prop_oneof![
        4 => object(vec![
            (r#""prompt_tokens""#, raw(COUNTS)),
            (r#""completion_tokens""#, raw(COUNTS)),
            (r#""total_tokens""#, raw(COUNTS)),
            (r#""prompt_tokens_details""#, details()),
            (r#""completion_tokens_details""#, details()),
            (r#""prompt_cache_hit_tokens""#, raw(COUNTS)),
            (r#""prompt_cache_miss_tokens""#, raw(COUNTS)),
            (r#""cache_creation_input_tokens""#, raw(COUNTS)),
        ]),
        2 => raw(&["null"]),
        1 => raw(&["7", r#""x""#]),
    ]
    .boxed()
}

fn chunk() -> BoxedStrategy<J> {
    object(vec![
        (
            r#""id""#,
            prop_oneof![4 => raw(STRINGS), 1 => raw(SCALARS), 1 => raw(&["{}"])].boxed(),
        ),
        (r#""object""#, raw(&[r#""chat.completion.chunk""#])),
        (r#""created""#, raw(&["1747000000", "-1", "1.5"])),
        (
            r#""model""#,
            prop_oneof![4 => raw(STRINGS), 1 => raw(SCALARS)].boxed(),
        ),
        (
            r#""system_fingerprint""#,
            raw(&[r#""fp_0392822090""#, "null"]),
        ),
        (
            r#""choices""#,
            prop_oneof![
                6 => prop::collection::vec(choice(), 0..3).prop_map(J::Arr),
                1 => raw(&["null", "{}", "[1]"]),
            ]
            .boxed(),
        ),
        (r#""usage""#, usage()),
        (
            r#""error""#,
            raw(&[
                "null",
                "null",
                "null",
                r#"{"message":"upstream failed","code":502}"#,
            ]),
        ),
        (r#""cho\u0069ces""#, raw(&["[]"])),
        (
            r#""nested""#,
            raw(&[r#"{"a":[1,{"b":null}],"c":"\u00e9"}"#, "[[[]]]", "0.5e-3"]),
        ),
    ])
}

fn text(j: &J, spaces: &[u8]) -> String {
    let mut out = String::new();
    render(j, spaces, &mut 0, &mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn fast_path_and_serde_agree_on_any_chunk_sequence(
        chunks in prop::collection::vec(chunk(), 1..4),
        spaces in prop::collection::vec(any::<u8>(), 0..16),
        trailing in prop::sample::select(&["", "", " ", "\n", "x", "}"][..]),
    ) {
        let texts: Vec<String> = chunks
            .iter()
            .map(|c| format!("{}{trailing}", text(c, &spaces)))
            .collect();
        prop_assert_eq!(run(&texts, false), run(&texts, true), "chunks: {:#?}", texts);
    }
}

/// An object's members: each key (quoted) with its value.
type Members = Vec<(&'static str, J)>;

/// The members a stream repeats at the start of every chunk, then each chunk's own.
fn head_and_tails() -> BoxedStrategy<(Members, Vec<Members>)> {
    let head = object(vec![
        (r#""id""#, raw(&[r#""chatcmpl-1""#, r#""c\u0031""#, "7"])),
        (r#""object""#, raw(&[r#""chat.completion.chunk""#])),
        (r#""created""#, raw(&["1747000000", "1e400"])),
        (r#""model""#, raw(&[r#""m""#, "null"])),
        (r#""choices""#, raw(&["[]"])),
    ]);
    let tail = object(vec![
        (
            r#""choices""#,
            prop::collection::vec(choice(), 0..2)
                .prop_map(J::Arr)
                .boxed(),
        ),
        (r#""usage""#, usage()),
        (r#""error""#, raw(&["null", r#"{"message":"x"}"#])),
        (r#""id""#, raw(&[r#""other""#])),
        (r#""system_fingerprint""#, raw(&[r#""fp""#])),
    ]);
    let fields = |j: J| match j {
        J::Obj(fields) => fields,
        _ => Vec::new(),
    };
    (head, prop::collection::vec(tail, 1..5))
        .prop_map(move |(head, tails)| (fields(head), tails.into_iter().map(fields).collect()))
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn chunks_that_repeat_their_start_decode_the_same_on_both_paths(
        (head, tails) in head_and_tails(),
        spaces in prop::collection::vec(any::<u8>(), 0..8),
        trailing in prop::sample::select(&["", "", "", ",", "x", "}"][..]),
    ) {
        let texts: Vec<String> = tails
            .into_iter()
            .enumerate()
            .map(|(i, tail)| {
                let mut fields = head.clone();
                fields.extend(tail);
                let text = text(&J::Obj(fields), &spaces);
                // Now and then a chunk ends badly right where the repeated part stops.
                if i == 2 { format!("{text}{trailing}") } else { text }
            })
            .collect();
        prop_assert_eq!(run(&texts, false), run(&texts, true), "chunks: {:#?}", texts);
    }
}

/// What may stand where a text chunk's text was: strings of every kind, and things that are
/// not one string.
const IN_PLACE_OF_TEXT: &[&str] = &[
    r#"" the""#,
    r#""""#,
    r#"".\n""#,
    r#""\u00e9\ud83e\udd80""#,
    r#""é→🦀""#,
    r#""\ud800""#,
    "\"raw\ttab\"",
    r#""unterminated"#,
    r#"" a" "#,
    r#" " a""#,
    r#""a" "b""#,
    r#""a","reasoning":"b""#,
    r#""a"x"#,
    "null",
    "5",
    "[]",
    "",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn chunks_that_differ_only_in_their_text_decode_the_same_on_both_paths(
        head in prop::collection::vec(prop_oneof![
            raw(&[r#""id":"c1""#, r#""object":"chat.completion.chunk""#, r#""created":1"#]),
            raw(&[r#""model":"m""#, r#""system_fingerprint":null"#, r#""x":[1,{"y":"\u00e9"}]"#]),
        ], 0..4),
        choice_tail in raw(&[
            "",
            r#","logprobs":null,"finish_reason":null"#,
            r#","finish_reason":"stop""#,
            r#","finish_reason":7"#,
            r#","index":1"#,
        ]),
        delta_tail in raw(&["", r#","role":"assistant""#, r#","refusal":null"#, r#","reasoning":"r""#]),
        after in raw(&["", r#","usage":null"#, r#","usage":{"completion_tokens":3}"#]),
        texts in prop::collection::vec(prop::sample::select(IN_PLACE_OF_TEXT), 1..6),
    ) {
        let strip = |j: &J| match j { J::Raw(s) => *s, _ => "" };
        let mut fields: Vec<&str> = head.iter().map(strip).collect();
        let first = fields.is_empty();
        fields.push("");
        let head = fields.join(",");
        let comma = if first { "" } else { "," };
        let head = head.trim_end_matches(',');
        let chunks: Vec<String> = std::iter::once(r#"{"id":"c1","model":"m","choices":[]}"#.to_owned())
            .chain(texts.iter().map(|text| {
                format!(
                    r#"{{{head}{comma}"choices":[{{"index":0,"delta":{{"content":{text}{}}}{}}}]{}}}"#,
                    strip(&delta_tail),
                    strip(&choice_tail),
                    strip(&after)
                )
            }))
            .collect();
        prop_assert_eq!(run(&chunks, false), run(&chunks, true), "chunks: {:#?}", chunks);
    }
}

#[test]
fn a_text_chunk_in_place_of_another_is_read_by_its_shape() {
    let chunk = |text: &str| {
        format!(
            r#"{{"id":"c","model":"m","choices":[{{"index":0,"delta":{{"content":{text}}},"finish_reason":null}}]}}"#
        )
    };
    let chunks = vec![
        chunk(r#""a""#),
        chunk(r#""b\n""#),
        chunk(r#""é""#),
        chunk(r#""c""#),
    ];
    let (events, error) = run(&chunks, false);
    assert_eq!(error, None);
    let texts: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::TextDelta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["a", "b\n", "é", "c"]);
    // Another string that is not one: the shape does not apply.
    let mut bad = chunks.clone();
    bad[3] = chunk(r#""c" "d""#);
    assert_eq!(run(&bad, false).1, Some(ErrorKind::Protocol));
    bad[3] = chunk(r#""c\ud800""#);
    assert_eq!(run(&bad, false).1, Some(ErrorKind::Protocol));
}

#[test]
fn a_repeated_start_is_compared_not_trusted() {
    let chunks: Vec<String> = [
        r#"{"id":"c","model":"m","choices":[{"delta":{"content":"a"}}]}"#,
        r#"{"id":"c","model":"m","choices":[{"delta":{"content":"b"}}]}"#,
        // The same start, then no comma before the next member: not JSON.
        r#"{"id":"c","model":"m""choices":[{"delta":{"content":"c"}}]}"#,
    ]
    .map(String::from)
    .to_vec();
    let (events, error) = run(&chunks, false);
    assert_eq!(error, Some(ErrorKind::Protocol));
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(run(&chunks, false), run(&chunks, true));
    let mut trailing_comma = chunks.clone();
    trailing_comma[2] = r#"{"id":"c","model":"m",}"#.into();
    assert_eq!(run(&trailing_comma, false).1, Some(ErrorKind::Protocol));
}

#[test]
fn common_chunks_take_the_fast_path() {
    for chunk in [
        r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","system_fingerprint":"fp","choices":[{"index":0,"delta":{"content":" the"},"logprobs":null,"finish_reason":null}]}"#,
        r#"{"choices":[{"index":0,"delta":{"content":".\n"},"finish_reason":null}]}"#,
        r#"{"choices":[{"index":0,"delta":{"reasoning_content":"hm"}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]}}]}"#,
        r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
        r#"{"id":"c","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},"completion_tokens_details":{"reasoning_tokens":1}}}"#,
    ] {
        assert!(read_chunk(chunk, true), "{chunk}");
        assert!(read_chunk(chunk, false), "{chunk}");
    }
    // Left to serde: an in-band error, typed parts, two choices 0.
    for chunk in [
        r#"{"error":{"message":"x"},"choices":[]}"#,
        r#"{"choices":[{"delta":{"content":[{"type":"text","text":"a"}]}}]}"#,
        r#"{"choices":[{"delta":{"content":"a"}},{"delta":{"content":"b"}}]}"#,
    ] {
        assert!(!read_chunk(chunk, false), "{chunk}");
    }
}

#[test]
fn every_dialect_fixture_decodes_the_same_on_both_paths() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut fixtures = 0;
    let mut fast = 0;
    let mut slow = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("the fixtures") {
        let path = entry.expect("an entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("sse") {
            continue;
        }
        fixtures += 1;
        let mut parser = SseParser::new();
        parser.feed(&std::fs::read(&path).expect("a fixture"));
        parser.finish();
        let mut chunks = Vec::new();
        while let Some(event) = parser.next_event() {
            let data = event.expect("framed").data;
            if data.trim() == "[DONE]" {
                break;
            }
            if read_chunk(data.trim(), true) {
                fast += 1;
            } else {
                slow.push(data.clone());
            }
            chunks.push(data);
        }
        assert_eq!(
            run(&chunks, false),
            run(&chunks, true),
            "{}",
            path.display()
        );
    }
    assert!(
        fixtures >= 10,
        "found {fixtures} fixtures in {}",
        dir.display()
    );
    // Only in-band errors are left to serde.
    assert!(fast >= 40, "only {fast} fixture chunks took the fast path");
    assert!(
        slow.iter().all(|data| data.contains("\"error\"")),
        "left to serde: {slow:#?}"
    );
}
