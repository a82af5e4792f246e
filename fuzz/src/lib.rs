//! The fuzzing entry points: one function per parser that reads what a server, an
//! administrator or a browser hands the SDK. Each takes arbitrary bytes, drives the SDK's own
//! public parser with them, and panics when an invariant breaks (a panic inside the SDK is a
//! finding too).
//!
//! Two drivers share this file: `cargo fuzz` (the binaries in `fuzz_targets/`, one per
//! function) and the workspace's property tests (`tests/fuzz_entry_points.rs` includes this
//! file with `#[path]`, feeds it generated inputs and replays every corpus file), so CI
//! exercises the very same checks on the stable toolchain.
//!
//! Each function documents how it reads its bytes, so that a generator can aim at it.

#![allow(dead_code)] // each driver uses a subset

use std::borrow::Cow;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cline_provider_codex::auth::callback_query::CallbackQuery;
use cline_provider_codex::auth::claims::{self, IdClaims};
use cline_provider_codex::responses::ResponsesDecoder;
use cline_provider_core::http::sse::{SseEvent, SseParser};
use cline_provider_core::policy::{resolve, MemberSettings, Organization, Policy, RemoteConfig};
use cline_provider_core::{Collector, ErrorKind, FinishReason, StreamEvent};
use cline_provider_openai::ChatCompletionsDecoder;
use secrecy::ExposeSecret;

// ---- SSE framer -------------------------------------------------------------------------

/// Every occurrence of this byte in an SSE input (at most [`MAX_INFLATE`] of them) becomes
/// [`INFLATE_LEN`] bytes of `a`: short inputs can then reach the parser's long-line path
/// (data lines over 16 KiB stream straight into the event).
pub const INFLATE_BYTE: u8 = 0x01;
/// How many `a`s one [`INFLATE_BYTE`] becomes.
pub const INFLATE_LEN: usize = 20_000;
/// At most this many [`INFLATE_BYTE`]s are inflated; later ones stay as they are.
pub const MAX_INFLATE: usize = 3;

/// The SSE framer ([`SseParser`]) against a line-by-line model of the WHATWG rules.
///
/// Bytes: `[mode, cap, cut0, cut1, cut2, cut3, stream…]`.
/// - `mode & 1`: inflate [`INFLATE_BYTE`]s; `mode & 2`: hand consumed events back with
///   `recycle` (as the engine does);
/// - `cap`: `0` means the default 16 MiB cap, anything else caps an event at `cap + 15`
///   bytes;
/// - `cut0..3`: where the stream is cut into the pieces fed to the parser (each a fraction of
///   the length, in 256ths);
/// - the rest is the stream.
///
/// Checks: the pieces give exactly the events and errors the model computes from the whole
/// input, and [`SseParser::progress`] never goes backwards.
pub fn sse_framer(data: &[u8]) {
    let Some((head, stream)) = split_header::<6>(data) else {
        return;
    };
    let [mode, cap, cuts @ ..] = head;
    let stream = if mode & 1 == 1 {
        inflate(stream)
    } else {
        Cow::Borrowed(stream)
    };
    let cap = match cap {
        0 => cline_provider_core::http::sse::DEFAULT_MAX_EVENT_BYTES,
        n => usize::from(n) + 15,
    };
    let mut cuts: Vec<usize> = cuts
        .iter()
        .map(|&c| usize::from(c) * stream.len() / 255)
        .collect();
    cuts.sort_unstable();

    let expected = sse_model(&stream, cap);
    let mut parser = SseParser::with_max_event_bytes(cap);
    let mut got = Vec::new();
    let mut progress = 0;
    let mut start = 0;
    // Progress (what the idle timer watches) is read, as the engine reads it, once the
    // parser has taken every complete line. It only grows while the stream runs; dropping an
    // oversized line (reported as an error) or a cut last line at the end takes it back.
    let drain = |parser: &mut SseParser, got: &mut Vec<Framed>, progress: &mut u64, live: bool| {
        let mut failed = false;
        while let Some(item) = parser.next_event() {
            match item {
                Ok(event) => {
                    got.push(Framed::Event(event.clone()));
                    if mode & 2 == 2 {
                        parser.recycle(event);
                    }
                }
                Err(e) => {
                    assert_eq!(e.kind(), &ErrorKind::EventTooLarge, "{e}");
                    got.push(Framed::TooLarge);
                    failed = true;
                }
            }
        }
        let now = parser.progress();
        assert!(
            !live || failed || now >= *progress,
            "progress went back from {progress} to {now}"
        );
        *progress = now;
    };
    for cut in cuts.into_iter().chain(std::iter::once(stream.len())) {
        let before = progress;
        let piece = &stream[start..cut];
        parser.feed(piece);
        start = cut;
        let events = got.len();
        drain(&mut parser, &mut got, &mut progress, true);
        // A piece of nothing but whole comments and blank lines, after a line end, is no
        // progress: keep-alives must never look like output.
        if got.len() == events && only_comments(piece) && ends_a_line(&stream[..cut - piece.len()])
        {
            assert_eq!(
                progress, before,
                "keep-alives counted as progress: {piece:?}"
            );
        }
    }
    parser.finish();
    drain(&mut parser, &mut got, &mut progress, false);
    assert_eq!(got, expected, "pieces and the model disagree");
}

/// What the framer yields, in the form the model predicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framed {
    /// An event.
    Event(SseEvent),
    /// One `EventTooLarge` error.
    TooLarge,
}

/// Whole comment lines and blank lines only (each line ended).
fn only_comments(piece: &[u8]) -> bool {
    if piece.is_empty() || !matches!(piece.last(), Some(b'\n' | b'\r')) {
        return false;
    }
    piece
        .split(|&b| b == b'\n' || b == b'\r')
        .all(|line| line.is_empty() || line[0] == b':')
}

/// The input so far ends at a line end (or is empty, past a byte-order mark).
fn ends_a_line(before: &[u8]) -> bool {
    let before = before.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(before);
    before.is_empty() || matches!(before.last(), Some(b'\n' | b'\r'))
}

fn inflate(stream: &[u8]) -> Cow<'_, [u8]> {
    if !stream.contains(&INFLATE_BYTE) {
        return Cow::Borrowed(stream);
    }
    let mut out = Vec::with_capacity(stream.len() + MAX_INFLATE * INFLATE_LEN);
    let mut inflated = 0;
    for &b in stream {
        if b == INFLATE_BYTE && inflated < MAX_INFLATE {
            inflated += 1;
            out.resize(out.len() + INFLATE_LEN, b'a');
        } else {
            out.push(b);
        }
    }
    Cow::Owned(out)
}

/// The WHATWG event-stream rules, read line by line from the whole input: the model the
/// incremental parser must agree with. Beyond the standard, as the parser documents: after
/// the end of input an event whose lines all ended is still dispatched, a last line without
/// its line end is dropped, and an event (all its lines, comments included, line ends
/// excluded) longer than `cap` is one error and is skipped up to the blank line that ends it.
pub fn sse_model(input: &[u8], cap: usize) -> Vec<Framed> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let mut out = Vec::new();
    let mut lines: Vec<(&[u8], bool)> = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            Some(end) => {
                lines.push((&rest[..end], true));
                let skip = if rest[end] == b'\r' && rest.get(end + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                rest = &rest[end + skip..];
            }
            None => {
                lines.push((rest, false));
                rest = &[];
            }
        }
    }

    let mut size = 0usize;
    let mut skipping = false;
    let mut data: Vec<u8> = Vec::new();
    let mut has_data = false;
    let mut name: Option<String> = None;
    let mut retry: Option<u64> = None;
    let mut last_id: Option<String> = None;
    for (line, ended) in lines {
        if line.is_empty() {
            if skipping {
                skipping = false;
            } else if has_data {
                out.push(Framed::Event(SseEvent {
                    event: name.take(),
                    data: String::from_utf8_lossy(&data).into_owned(),
                    id: last_id.clone(),
                    retry: retry.take(),
                }));
            }
            size = 0;
            data.clear();
            has_data = false;
            name = None;
            retry = None;
            continue;
        }
        if skipping {
            continue;
        }
        size = size.saturating_add(line.len());
        if size > cap {
            out.push(Framed::TooLarge);
            skipping = true;
            data.clear();
            has_data = false;
            name = None;
            retry = None;
            continue;
        }
        if !ended || line[0] == b':' {
            continue;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                if has_data {
                    data.push(b'\n');
                }
                data.extend_from_slice(value);
                has_data = true;
            }
            b"event" => {
                name = (!value.is_empty()).then(|| String::from_utf8_lossy(value).into_owned());
            }
            b"id" if !value.contains(&0) => {
                last_id = (!value.is_empty()).then(|| String::from_utf8_lossy(value).into_owned());
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                retry = std::str::from_utf8(value)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .or(retry);
            }
            _ => {}
        }
    }
    // End of input: the event in progress goes out if it is not being skipped.
    if !skipping && has_data {
        out.push(Framed::Event(SseEvent {
            event: name,
            data: String::from_utf8_lossy(&data).into_owned(),
            id: last_id,
            retry,
        }));
    }
    out
}

// ---- chat-completions chunk decoder -----------------------------------------------------

/// The chat-completions decoder ([`ChatCompletionsDecoder`]) over a stream of `data:`
/// payloads: the input's lines (split at `\n`), invalid UTF-8 replaced.
///
/// Checks: no panic; a stream decodes the same twice; each tool call starts once, and no
/// argument fragment comes for a call that has not started; metadata comes at most once; the
/// events collect into a response with one tool call per start.
pub fn chat_chunk_decoder(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (events, _) = decode_lines(&text, ChatCompletionsDecoder::new, |d, line, out| {
        d.decode_data(line, out)
    });
    check_event_sequence(&events);
}

/// Feeds each line of `text` to a fresh decoder (made by `new`, fed by `decode`) until the
/// terminal event or an error, twice: both runs must give the same events and end the same
/// way. An error must have a message and a hint.
fn decode_lines<D>(
    text: &str,
    new: impl Fn() -> D,
    decode: impl Fn(&mut D, &str, &mut Vec<StreamEvent>) -> cline_provider_core::Result<bool>,
) -> (Vec<StreamEvent>, Outcome) {
    let run = || {
        let mut decoder = new();
        let mut events = Vec::new();
        for line in text.split('\n') {
            match decode(&mut decoder, line, &mut events) {
                Ok(true) => return (events, Outcome::Done),
                Ok(false) => {}
                Err(e) => {
                    assert!(!e.message().is_empty());
                    assert!(!e.hint().is_empty());
                    return (events, Outcome::Failed(e.kind().clone()));
                }
            }
        }
        (events, Outcome::Open)
    };
    let first = run();
    assert_eq!(run(), first, "decoding is not deterministic");
    first
}

/// How a decoded stream ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Input ran out before the terminal event.
    Open,
    /// The terminal event arrived.
    Done,
    /// The decoder returned an error of this kind.
    Failed(ErrorKind),
}

/// The rules every decoder's events follow, whatever the server sent.
pub fn check_event_sequence(events: &[StreamEvent]) {
    let mut started: Vec<u32> = Vec::new();
    let mut metadata = 0;
    for event in events {
        match event {
            StreamEvent::ToolCallStart { index, .. } => {
                // Indices are the order of first appearance; a call seen first may start
                // after a later one (its name came later), or never (it never got one).
                assert!(
                    !started.contains(index),
                    "tool call {index} started twice: {events:?}"
                );
                started.push(*index);
            }
            StreamEvent::ToolCallArgumentsDelta { index, .. } => {
                assert!(
                    started.contains(index),
                    "arguments for call {index} before it started: {events:?}"
                );
            }
            StreamEvent::Metadata { .. } => metadata += 1,
            _ => {}
        }
    }
    assert!(metadata <= 1, "metadata sent {metadata} times");
    let mut collector = Collector::default();
    collector.extend(events.iter().cloned());
    let response = collector.finish();
    assert_eq!(response.tool_calls.len(), started.len());
}

// ---- Responses API event decoder ------------------------------------------------------

/// The Responses API decoder ([`ResponsesDecoder`], the Codex backend's) over a stream of
/// events: the input's lines (split at `\n`, invalid UTF-8 replaced), each `name\tdata`
/// (the SSE `event:` name, then the `data:` payload) or only `data`.
///
/// Checks: no panic; a stream decodes the same twice; each tool call starts once, with an id
/// and a name, and no argument fragment comes for a call that has not started; a finish
/// comes only with the terminal event, as the last event, and the terminal event always
/// brings one; an error has a message and a hint; the
/// events collect into a response with one tool call per start.
pub fn responses_decoder(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (events, outcome) = decode_lines(&text, ResponsesDecoder::new, |d, line, out| {
        let (name, payload) = match line.split_once('\t') {
            Some((name, payload)) => (Some(name), payload),
            None => (None, line),
        };
        d.decode_data(name, payload, out)
    });
    let finishes: Vec<&FinishReason> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Finish { reason } => Some(reason),
            _ => None,
        })
        .collect();
    match outcome {
        Outcome::Done => {
            assert_eq!(finishes.len(), 1, "one finish per reply: {events:?}");
            assert!(
                matches!(events.last(), Some(StreamEvent::Finish { .. })),
                "the finish is the last event: {events:?}"
            );
        }
        Outcome::Open | Outcome::Failed(_) => {
            assert!(finishes.is_empty(), "a finish without the terminal event");
        }
    }
    for event in &events {
        if let StreamEvent::ToolCallStart { id, name, .. } = event {
            assert!(!id.is_empty() && !name.is_empty(), "{event:?}");
        }
    }
    check_event_sequence(&events);
}

// ---- organization remote config ---------------------------------------------------------

/// The organization's document ([`RemoteConfig::from_json`]), the input as UTF-8 text (other
/// inputs are skipped: the admin API client refuses them before parsing).
///
/// Checks: no panic; every refusal names the JSON path at fault and has a hint; a document
/// read once reads the same after a round trip through `serde_json`'s value, and resolves,
/// reports and enforces without panicking.
pub fn remote_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match RemoteConfig::from_json(text) {
        Err(e) => {
            assert_eq!(e.kind(), &ErrorKind::InvalidConfig, "{e}");
            assert!(e.field().is_some_and(|f| !f.is_empty()), "no field: {e}");
            assert!(!e.hint().is_empty());
        }
        Ok(config) => {
            let value: serde_json::Value = serde_json::from_str(text).expect("parsed once");
            let again = RemoteConfig::from_json(&value.to_string()).expect("reads again");
            assert_eq!(again, config, "a round trip changed the document");
            let _ = format!("{config:?}");
            let policy = Policy {
                organization: Organization::new("org-fuzz"),
                config,
                source: cline_provider_core::policy::PolicySource::Inline,
            };
            let settings = resolve(Some(&policy), &MemberSettings::default());
            let _ = settings.report().to_string();
            let _ = settings.provider_kind();
            if let Some(models) = settings.offered_models() {
                assert!(!models.is_empty(), "a document never offers an empty list");
            }
        }
    }
}

// ---- OAuth callback query ---------------------------------------------------------------

/// The sign-in callback's query ([`CallbackQuery`]), as the callback server and a pasted
/// address read it.
///
/// Bytes: `expected_state \0 query` (without a `\0`, the state is `st-fuzz`), both as UTF-8
/// with invalid bytes replaced.
///
/// Checks: no panic; a code is handed out only when the query carries exactly one `state`,
/// equal to the expected one, no issuer `error`, and exactly one non-empty `code`, which is
/// the one returned; no refusal, and no `Debug`, shows the code or the state.
pub fn oauth_callback_query(data: &[u8]) {
    let (expected, query) = match data.iter().position(|&b| b == 0) {
        Some(at) => (
            String::from_utf8_lossy(&data[..at]),
            String::from_utf8_lossy(&data[at + 1..]),
        ),
        None => (Cow::Borrowed("st-fuzz"), String::from_utf8_lossy(data)),
    };
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let values = |name: &str| -> Vec<&str> {
        pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    // What the SDK shows for the same query with every code and state blanked: field names
    // and prose. A "secret" that is a piece of those (an expected state of
    // `error_descripti`, say) proves nothing when it shows up.
    let blank = |k: &str, v: &str| {
        if k == "code" || k == "state" {
            "~".to_owned()
        } else {
            v.to_owned()
        }
    };
    let blank_query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(k, v)| (k.clone(), blank(k, v))))
        .finish();
    let structure = match CallbackQuery::parse(&blank_query) {
        Err(e) => format!("{e} {} {e:?}", e.hint()),
        Ok(parsed) => match parsed.verify("~") {
            Ok(_) => format!("{parsed:?}"),
            Err((_, e)) => format!("{parsed:?} {e} {} {e:?}", e.hint()),
        },
    };
    let secrets: Vec<&str> = values("code")
        .into_iter()
        .chain(values("state"))
        .chain(std::iter::once(&*expected))
        .filter(|v| v.len() >= 8 && !structure.contains(*v))
        .collect();
    // The issuer's own `error` texts are shown (escaped) to the person; they hide nothing
    // unless a code or state was copied into them.
    let copied = values("error")
        .into_iter()
        .chain(values("error_description"))
        .any(|v| secrets.iter().any(|s| v.contains(s)));
    let leaks = |text: &str| {
        if copied {
            return None;
        }
        secrets.iter().find(|s| text.contains(**s)).copied()
    };

    match CallbackQuery::parse(&query) {
        Err(e) => {
            let repeated = ["state", "code", "error", "error_description"]
                .iter()
                .any(|name| values(name).len() > 1);
            assert!(repeated, "refused without a repeated parameter: {e}");
            for text in [e.to_string(), e.hint().to_owned(), format!("{e:?}")] {
                assert_eq!(leaks(&text), None, "a refusal shows a secret: {text}");
            }
        }
        Ok(parsed) => {
            assert_eq!(leaks(&format!("{parsed:?}")), None, "Debug shows a secret");
            match parsed.verify(&expected) {
                Ok(code) => {
                    assert!(!expected.is_empty(), "an empty expected state matched");
                    assert_eq!(values("state"), vec![&*expected], "state unchecked");
                    assert!(values("error").iter().all(|e| e.is_empty()));
                    assert_eq!(values("code"), vec![code.expose_secret()]);
                    assert!(!code.expose_secret().is_empty());
                }
                Err((_, e)) => {
                    for text in [e.to_string(), e.hint().to_owned(), format!("{e:?}")] {
                        assert_eq!(leaks(&text), None, "a refusal shows a secret: {text}");
                    }
                }
            }
        }
    }
    // The pasted forms read the same text: never a panic, never a code without its state.
    if let Ok(pasted) = CallbackQuery::from_pasted(&query) {
        if let Ok(code) = pasted.verify(&expected) {
            assert!(!expected.is_empty() && !code.expose_secret().is_empty());
        }
    }
}

// ---- JWT claims -------------------------------------------------------------------------

/// The ID-token claims reader ([`IdClaims::parse`], [`claims::expiry`],
/// [`claims::account_id_of_access_token`]), twice: on the input as a token (UTF-8, invalid
/// bytes replaced), and on a well-formed token whose payload is the input.
///
/// Checks: no panic; a refusal is a `Protocol` error that never quotes the token; a token
/// whose payload is a JSON object is always read, and the account id of the access-token
/// reader agrees with the claims reader.
pub fn jwt_claims(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    check_token(&raw);
    let built = format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#),
        URL_SAFE_NO_PAD.encode(data)
    );
    let is_object = matches!(
        serde_json::from_slice::<serde_json::Value>(data),
        Ok(serde_json::Value::Object(_))
    );
    assert_eq!(
        IdClaims::parse(&built).is_ok(),
        is_object,
        "a JSON-object payload must be read, anything else refused"
    );
    check_token(&built);
}

fn check_token(token: &str) {
    match IdClaims::parse(token) {
        Ok(parsed) => {
            assert_eq!(claims::account_id_of_access_token(token), parsed.account_id);
            for value in [
                &parsed.email,
                &parsed.account_id,
                &parsed.plan_type,
                &parsed.user_id,
            ] {
                assert!(value.as_deref() != Some(""), "an empty claim is no claim");
            }
        }
        Err(e) => {
            assert_eq!(e.kind(), &ErrorKind::Protocol);
            assert_eq!(claims::account_id_of_access_token(token), None);
            assert_eq!(claims::expiry(token), None);
            // A "token" that is a piece of what any refusal says (the fuzzer writes the hint's
            // own words) proves nothing when it shows up.
            let prose = match IdClaims::parse("~") {
                Err(blank) => format!("{blank} {} {blank:?}", blank.hint()),
                Ok(_) => String::new(),
            };
            if token.len() >= 8 && !prose.contains(token) {
                for text in [e.to_string(), e.hint().to_owned(), format!("{e:?}")] {
                    assert!(!text.contains(token), "a refusal quotes the token: {text}");
                }
            }
        }
    }
    if let Some(at) = claims::expiry(token) {
        assert!(at >= std::time::SystemTime::UNIX_EPOCH);
    }
}

// ---- helpers ----------------------------------------------------------------------------

/// The first `N` bytes as a header and the rest, or `None` when the input is shorter.
fn split_header<const N: usize>(data: &[u8]) -> Option<([u8; N], &[u8])> {
    let head: [u8; N] = data.get(..N)?.try_into().ok()?;
    Some((head, &data[N..]))
}
