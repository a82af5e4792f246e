//! The SSE parser gives identical events however the input is split: at every single byte
//! boundary of a fixed stream, and at random boundaries of random streams (inside CRLF pairs
//! and inside multi-byte UTF-8 sequences included).

use cline_provider_core::http::sse::{SseEvent, SseParser};
use proptest::prelude::*;

/// Parses `input` fed in the pieces `cuts` delimits. With cuts, consumed events are handed
/// back with `recycle` (as the engine does), so buffer reuse is checked on every split too.
fn parse_split(input: &[u8], cuts: &[usize]) -> Vec<SseEvent> {
    let recycle = !cuts.is_empty();
    let mut parser = SseParser::new();
    let mut out = Vec::new();
    let take = |parser: &mut SseParser, out: &mut Vec<SseEvent>| {
        while let Some(event) = parser.next_event() {
            let event = event.expect("valid stream");
            out.push(event.clone());
            if recycle {
                parser.recycle(event);
            }
        }
    };
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        let cut = cut.clamp(start, input.len());
        parser.feed(&input[start..cut]);
        start = cut;
        take(&mut parser, &mut out);
    }
    parser.finish();
    take(&mut parser, &mut out);
    out
}

/// A stream mixing every feature: BOM, comments, CRLF / CR / LF, multi-line data, ids,
/// retry, named events and multi-byte UTF-8 (2, 3 and 4 bytes).
const FIXED: &[u8] = "\u{FEFF}: hello\r\n\r\nevent: response.output_text.delta\r\nid: 1\r\ndata: {\"delta\":\"héllo → 世界 🦀\"}\r\n\r\ndata: line one\rdata: line two\r\r:ka\ndata\nretry: 250\n\nevent: done\ndata: [DONE]\n\n".as_bytes();

#[test]
fn fixed_stream_at_every_split_point() {
    let whole = parse_split(FIXED, &[]);
    assert_eq!(whole.len(), 4);
    assert_eq!(whole[0].data, "{\"delta\":\"héllo → 世界 🦀\"}");
    assert_eq!(
        whole[0].event.as_deref(),
        Some("response.output_text.delta")
    );
    assert_eq!(whole[1].data, "line one\nline two");
    assert_eq!(whole[1].id.as_deref(), Some("1"));
    assert_eq!(whole[2].data, "");
    assert_eq!(whole[2].retry, Some(250));
    assert_eq!(whole[3].data, "[DONE]");
    for cut in 0..=FIXED.len() {
        assert_eq!(parse_split(FIXED, &[cut]), whole, "split at byte {cut}");
    }
    for a in 0..=FIXED.len() {
        for b in (a..=FIXED.len()).step_by(7) {
            assert_eq!(
                parse_split(FIXED, &[a, b]),
                whole,
                "split at bytes {a} and {b}"
            );
        }
    }
}

#[test]
fn byte_at_a_time() {
    let cuts: Vec<usize> = (1..FIXED.len()).collect();
    assert_eq!(parse_split(FIXED, &cuts), parse_split(FIXED, &[]));
}

/// One generated event and how it is written.
#[derive(Debug, Clone)]
struct GenEvent {
    name: Option<String>,
    id: Option<String>,
    data: Vec<String>,
    comment: bool,
    endings: Vec<&'static str>,
}

fn text() -> impl Strategy<Value = String> {
    // ASCII, 2-, 3- and 4-byte characters, and ':' which must survive inside values.
    proptest::collection::vec(
        prop_oneof![
            Just('a'),
            Just('Z'),
            Just(' '),
            Just(':'),
            Just('{'),
            Just('"'),
            Just('é'),
            Just('→'),
            Just('世'),
            Just('🦀'),
        ],
        0..12,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

fn gen_event() -> impl Strategy<Value = GenEvent> {
    (
        proptest::option::of("[a-z.]{1,12}"),
        proptest::option::of("[0-9a-f]{1,6}"),
        proptest::collection::vec(text(), 1..4),
        any::<bool>(),
        proptest::collection::vec(prop_oneof![Just("\n"), Just("\r\n"), Just("\r")], 8),
    )
        .prop_map(|(name, id, data, comment, endings)| GenEvent {
            name,
            id,
            data,
            comment,
            endings,
        })
}

/// Writes the events and returns the bytes plus the events a correct parser must yield.
fn render(events: &[GenEvent], bom: bool) -> (Vec<u8>, Vec<SseEvent>) {
    let mut lines: Vec<(String, &'static str)> = Vec::new();
    let mut expected = Vec::new();
    let mut last_id: Option<String> = None;
    for ev in events {
        let mut ending = ev.endings.iter().copied().cycle();
        if ev.comment {
            lines.push((": keep-alive".into(), ending.next().unwrap_or("\n")));
        }
        if let Some(name) = &ev.name {
            lines.push((format!("event: {name}"), ending.next().unwrap_or("\n")));
        }
        if let Some(id) = &ev.id {
            lines.push((format!("id:{id}"), ending.next().unwrap_or("\n")));
            last_id = Some(id.clone());
        }
        for d in &ev.data {
            lines.push((format!("data: {d}"), ending.next().unwrap_or("\n")));
        }
        lines.push((String::new(), ending.next().unwrap_or("\n")));
        expected.push(SseEvent {
            event: ev.name.clone(),
            data: ev.data.join("\n"),
            id: last_id.clone(),
            retry: None,
        });
    }
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice("\u{FEFF}".as_bytes());
    }
    let mut prev_cr = false;
    for (line, mut end) in lines {
        // A CR followed by an empty LF-ended line would read as one CRLF: write it as CR.
        if prev_cr && line.is_empty() && end == "\n" {
            end = "\r";
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(end.as_bytes());
        prev_cr = end == "\r";
    }
    (out, expected)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_streams_random_splits(
        events in proptest::collection::vec(gen_event(), 1..8),
        bom in any::<bool>(),
        cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..20),
    ) {
        let (bytes, expected) = render(&events, bom);
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        cuts.sort_unstable();
        prop_assert_eq!(parse_split(&bytes, &[]), expected.clone());
        prop_assert_eq!(parse_split(&bytes, &cuts), expected);
    }

    #[test]
    fn cuts_inside_crlf_and_utf8(events in proptest::collection::vec(gen_event(), 1..6)) {
        let (bytes, expected) = render(&events, false);
        // Every position just after a CR or inside a multi-byte sequence.
        let cuts: Vec<usize> = (1..bytes.len())
            .filter(|&i| bytes[i - 1] == b'\r' || (bytes[i] & 0xC0) == 0x80)
            .collect();
        prop_assert_eq!(parse_split(&bytes, &cuts), expected);
    }
}
