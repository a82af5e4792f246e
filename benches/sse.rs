//! SSE framing and decoding: our parser against `eventsource-stream` 0.2 (used by async-openai,
//! rig and codex-rs) and `sse-stream` 0.3, in the same run, on the same bytes.
//!
//! Fixtures (all fed in 1,460-byte pieces, one TCP segment's payload):
//! - `chat`: 20,000 `chat.completion.chunk` events (~230 B each) and `[DONE]`;
//! - `responses_crlf`: 20,000 Responses-API `event:` + `data:` events with CRLF line ends,
//!   decoded by the Codex backend's `ResponsesDecoder`;
//! - `one_mib`: one 1 MiB tool-argument event.
//!
//! Criterion measures each contender; a summary table then gives ns/event, MiB/s,
//! allocations/event (from the counting allocator below) and the speed-up over
//! eventsource-stream, from rounds that run every contender once in rotated order (the
//! ratios are paired per round, so load from elsewhere falls on all contenders alike). Run
//! with `cargo bench --bench sse`.
//!
//! On the chat and 1 MiB fixtures the OpenAI backend's own `ChatCompletionsDecoder` runs too,
//! twice in the same run: as it is (the in-place reader of `core::json`, the text-shape and
//! repeated-prefix shortcuts) and with every chunk through its serde types
//! (`ChatCompletionsDecoder::serde_only`, the decoder as it was before), framing included, so
//! the table shows before and after and the allocations of one text event.
//!
//! The `decode alone` rows weigh the hand-written JSON reading against the crate, on events
//! framed beforehand: serde_json into a borrowing struct, `core::json::JsonReader` reading the
//! same fields into the same events, and the OpenAI decoder with and without its reader; the
//! last column is each one's speed-up over serde_json, paired per round.

use std::alloc::{GlobalAlloc, Layout, System};
use std::borrow::Cow;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::hint::black_box;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cline_provider::http::sse::{SseDecoder, SseEvent, SseParser};
use cline_provider::http::{HttpClient, HttpConfig};
use cline_provider::openai::ChatCompletionsDecoder;
use cline_provider::StreamEvent;
use cline_provider_core::json::{Bail, JsonReader, Scan};
use criterion::{criterion_group, Criterion, Throughput};
use futures_util::{Stream, StreamExt};
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;

// ---------------------------------------------------------------- counting allocator

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

// ---------------------------------------------------------------- fixtures

const PIECE: usize = 1460;
const EVENTS: usize = 20_000;

struct Fixture {
    name: &'static str,
    pieces: Vec<Bytes>,
    bytes: usize,
    /// Events every parser must yield (the terminal `[DONE]` included).
    events: usize,
    kind: Kind,
}

#[derive(Clone, Copy)]
enum Kind {
    Chat,
    Responses,
    Big,
}

fn split(stream: &[u8]) -> Vec<Bytes> {
    let pieces: Vec<Bytes> = stream.chunks(PIECE).map(Bytes::copy_from_slice).collect();
    // The first clone of a `Bytes` made from a Vec allocates its shared header; do it now so
    // that the contenders that need owned pieces pay nothing for them while measured.
    drop(pieces.clone());
    pieces
}

fn chat_fixture() -> Fixture {
    let mut s = String::new();
    for i in 0..EVENTS {
        let _ = write!(
            s,
            "data: {{\"id\":\"chatcmpl-AbC123xyzDEF456\",\"object\":\"chat.completion.chunk\",\
             \"created\":1731000000,\"model\":\"gpt-4o-mini-2024-07-18\",\
             \"system_fingerprint\":\"fp_0ba0d124f1\",\"choices\":[{{\"index\":0,\
             \"delta\":{{\"content\":\" word{i}\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"
        );
    }
    s.push_str("data: [DONE]\n\n");
    Fixture {
        name: "chat",
        bytes: s.len(),
        pieces: split(s.as_bytes()),
        events: EVENTS + 1,
        kind: Kind::Chat,
    }
}

fn responses_fixture() -> Fixture {
    let mut s = String::new();
    for i in 0..EVENTS {
        let _ = write!(
            s,
            "event: response.output_text.delta\r\ndata: {{\"type\":\"response.output_text.delta\",\
             \"item_id\":\"msg_67c9fdcecf488190bdd9a0409de3a1ec\",\"output_index\":0,\
             \"content_index\":0,\"delta\":\" word{i}\"}}\r\n\r\n"
        );
    }
    s.push_str("event: response.completed\r\ndata: {\"type\":\"response.completed\"}\r\n\r\n");
    Fixture {
        name: "responses_crlf",
        bytes: s.len(),
        pieces: split(s.as_bytes()),
        events: EVENTS + 1,
        kind: Kind::Responses,
    }
}

fn big_fixture() -> Fixture {
    let args = "x".repeat(1 << 20);
    let s = format!(
        "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":0,\
         \"id\":\"call_1\",\"type\":\"function\",\
         \"function\":{{\"name\":\"write_file\",\"arguments\":\"{args}\"}}}}]}}}}]}}\n\n"
    );
    Fixture {
        name: "one_mib",
        bytes: s.len(),
        pieces: split(s.as_bytes()),
        events: 1,
        kind: Kind::Big,
    }
}

// ---------------------------------------------------------------- typed decoders

/// Keeps the first element of a JSON array without allocating a Vec for it.
struct First<T>(Option<T>);

impl<T> Default for First<T> {
    fn default() -> Self {
        First(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for First<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = First<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<First<T>, A::Error> {
                let first = seq.next_element()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(First(first))
            }
        }
        d.deserialize_seq(V(PhantomData))
    }
}

#[derive(Deserialize)]
struct ChatChunk<'a> {
    #[serde(borrow, default)]
    choices: First<Choice<'a>>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(borrow, default)]
    delta: Option<Delta<'a>>,
    #[serde(borrow, default)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(borrow, default)]
    content: Option<Cow<'a, str>>,
}

/// A chat-completions decoder of the kind the engine expects: typed, borrowing, one parse.
struct ChatDecoder;

impl SseDecoder for ChatDecoder {
    fn decode(
        &mut self,
        event: &SseEvent,
        out: &mut Vec<StreamEvent>,
    ) -> cline_provider::Result<bool> {
        if event.data == "[DONE]" {
            return Ok(true);
        }
        let chunk: ChatChunk = serde_json::from_str(&event.data).map_err(|e| {
            cline_provider::Error::new(
                cline_provider::ErrorKind::Protocol,
                format!("bad chunk: {e}"),
            )
        })?;
        if let Some(choice) = chunk.choices.0 {
            if let Some(text) = choice.delta.and_then(|d| d.content) {
                out.push(StreamEvent::TextDelta {
                    text: text.into_owned(),
                });
            }
            if let Some(reason) = choice.finish_reason {
                out.push(StreamEvent::Finish {
                    reason: reason.as_ref().into(),
                });
            }
        }
        Ok(false)
    }
}

/// Tool arguments arrive as one huge string; a typed decode still parses it once.
#[derive(Deserialize)]
struct BigChunk<'a> {
    #[serde(borrow, default)]
    choices: First<BigChoice<'a>>,
}
#[derive(Deserialize)]
struct BigChoice<'a> {
    #[serde(borrow)]
    delta: BigDelta<'a>,
}
#[derive(Deserialize)]
struct BigDelta<'a> {
    #[serde(borrow, default)]
    tool_calls: First<BigCall<'a>>,
}
#[derive(Deserialize)]
struct BigCall<'a> {
    index: u32,
    #[serde(borrow)]
    function: BigFunction<'a>,
}
#[derive(Deserialize)]
struct BigFunction<'a> {
    #[serde(borrow)]
    arguments: Cow<'a, str>,
}

struct BigDecoder;

impl SseDecoder for BigDecoder {
    fn decode(
        &mut self,
        event: &SseEvent,
        out: &mut Vec<StreamEvent>,
    ) -> cline_provider::Result<bool> {
        let chunk: BigChunk = serde_json::from_str(&event.data).map_err(|e| {
            cline_provider::Error::new(
                cline_provider::ErrorKind::Protocol,
                format!("bad chunk: {e}"),
            )
        })?;
        if let Some(call) = chunk.choices.0.and_then(|c| c.delta.tool_calls.0) {
            out.push(StreamEvent::ToolCallArgumentsDelta {
                index: call.index,
                delta: call.function.arguments.into_owned(),
            });
        }
        // The fixture has no terminal marker; the bench counts events instead.
        Ok(true)
    }
}

// ---------------------------------------------------------------- JSON reading alone

/// `choices[0].delta.content` and `choices[0].finish_reason`.
type TextAndFinish<'a> = (Option<Cow<'a, str>>, Option<Cow<'a, str>>);

/// The fields the serde structs above read, read with the core's in-place `JsonReader`
/// instead: the JSON machinery alone, crate against ours, on the same events and the same
/// output (`First` keeps the first element of an array and skips the rest).
fn reader_chunk(data: &str) -> Scan<TextAndFinish<'_>> {
    let mut r = JsonReader::new(data);
    let (mut content, mut finish) = (None, None);
    let mut top = r.object()?;
    while let Some(key) = top.next_key(&mut r)? {
        if key != b"choices" || r.null()? {
            if key != b"choices" {
                r.skip()?;
            }
            continue;
        }
        let (mut choices, mut first) = (r.array()?, true);
        while choices.next(&mut r)? {
            if !std::mem::take(&mut first) {
                r.skip()?;
                continue;
            }
            let mut choice = r.object()?;
            while let Some(key) = choice.next_key(&mut r)? {
                match key {
                    b"delta" if !r.null()? => {
                        let mut delta = r.object()?;
                        while let Some(key) = delta.next_key(&mut r)? {
                            match key {
                                b"content" => content = r.string_or_null()?,
                                _ => r.skip()?,
                            }
                        }
                    }
                    b"delta" => {}
                    b"finish_reason" => finish = r.string_or_null()?,
                    _ => r.skip()?,
                }
            }
        }
    }
    r.end()?;
    Ok((content, finish))
}

/// `choices[0].delta.tool_calls[0]`'s index and arguments, as `BigChunk` reads them.
fn reader_big(data: &str) -> Scan<Option<(u32, Cow<'_, str>)>> {
    /// Reads the first element of an array with `each`, checks and skips the others.
    fn first<'a, T>(
        r: &mut JsonReader<'a>,
        mut each: impl FnMut(&mut JsonReader<'a>) -> Scan<T>,
    ) -> Scan<Option<T>> {
        let (mut items, mut got) = (r.array()?, None);
        while items.next(r)? {
            if got.is_none() {
                got = Some(each(r)?);
            } else {
                r.skip()?;
            }
        }
        Ok(got)
    }
    let mut r = JsonReader::new(data);
    let mut call = None;
    let mut top = r.object()?;
    while let Some(key) = top.next_key(&mut r)? {
        if key != b"choices" {
            r.skip()?;
            continue;
        }
        call = first(&mut r, |r| {
            let mut call = None;
            let mut choice = r.object()?;
            while let Some(key) = choice.next_key(r)? {
                if key != b"delta" {
                    r.skip()?;
                    continue;
                }
                let mut delta = r.object()?;
                while let Some(key) = delta.next_key(r)? {
                    if key != b"tool_calls" {
                        r.skip()?;
                        continue;
                    }
                    call = first(r, |r| {
                        let (mut index, mut arguments) = (None, None);
                        let mut fragment = r.object()?;
                        while let Some(key) = fragment.next_key(r)? {
                            match key {
                                b"index" => index = r.u32_or_null()?,
                                b"function" => {
                                    let mut function = r.object()?;
                                    while let Some(key) = function.next_key(r)? {
                                        match key {
                                            b"arguments" => arguments = Some(r.string()?),
                                            _ => r.skip()?,
                                        }
                                    }
                                }
                                _ => r.skip()?,
                            }
                        }
                        Ok(index.zip(arguments))
                    })?
                    .flatten();
                }
            }
            Ok(call)
        })?
        .flatten();
    }
    r.end()?;
    Ok(call)
}

fn bail(_: Bail) -> cline_provider::Error {
    cline_provider::Error::new(cline_provider::ErrorKind::Protocol, "bad chunk")
}

/// [`ChatDecoder`] and [`BigDecoder`] with [`JsonReader`] in place of serde_json.
struct ReaderDecoder(Kind);

impl SseDecoder for ReaderDecoder {
    fn decode(
        &mut self,
        event: &SseEvent,
        out: &mut Vec<StreamEvent>,
    ) -> cline_provider::Result<bool> {
        match self.0 {
            Kind::Chat => {
                if event.data == "[DONE]" {
                    return Ok(true);
                }
                let (content, finish) = reader_chunk(&event.data).map_err(bail)?;
                if let Some(text) = content {
                    out.push(StreamEvent::TextDelta {
                        text: text.into_owned(),
                    });
                }
                if let Some(reason) = finish {
                    out.push(StreamEvent::Finish {
                        reason: reason.as_ref().into(),
                    });
                }
                Ok(false)
            }
            Kind::Big => {
                if let Some((index, arguments)) = reader_big(&event.data).map_err(bail)? {
                    out.push(StreamEvent::ToolCallArgumentsDelta {
                        index,
                        delta: arguments.into_owned(),
                    });
                }
                Ok(true)
            }
            Kind::Responses => unreachable!("the Responses fixture has no reader decoder"),
        }
    }
}

/// Decoders compared on events framed beforehand (the JSON reading alone), for the fixtures
/// in the chat-completions protocol.
type DecodeAlone = (&'static str, fn(Kind) -> Box<dyn SseDecoder>);

const DECODE_ALONE: &[DecodeAlone] = &[
    (SERDE_ALONE, decoder_for),
    ("decode alone: core::json::JsonReader, same fields", |k| {
        Box::new(ReaderDecoder(k))
    }),
    (
        "decode alone: openai decoder (every field it reads)",
        |_| Box::new(ChatCompletionsDecoder::new()),
    ),
    ("decode alone: openai decoder, serde only (before)", |_| {
        Box::new(ChatCompletionsDecoder::serde_only())
    }),
];

/// Framed events of a fixture, for the decode-alone rows.
fn framed(f: &Fixture) -> Vec<SseEvent> {
    let mut parser = SseParser::new();
    let mut v = Vec::new();
    for piece in &f.pieces {
        parser.feed(piece);
        while let Some(Ok(e)) = parser.next_event() {
            v.push(e);
        }
    }
    v
}

/// Decodes pre-framed events with a fresh decoder; the events decoded without error.
fn decode_alone(framed: &[SseEvent], mut decoder: Box<dyn SseDecoder>) -> usize {
    let mut out = Vec::with_capacity(4);
    let mut n = 0;
    for e in framed {
        if decoder.decode(e, &mut out).is_ok() {
            n += 1;
        }
        black_box(&out);
        out.clear();
    }
    n
}

fn decoder_for(kind: Kind) -> Box<dyn SseDecoder> {
    match kind {
        Kind::Chat => Box::new(ChatDecoder),
        // The Codex backend's own decoder, as the provider runs it.
        Kind::Responses => Box::new(cline_provider_codex::responses::ResponsesDecoder::new()),
        Kind::Big => Box::new(BigDecoder),
    }
}

// ---------------------------------------------------------------- contenders

/// Our framing only: bytes → `SseEvent`s.
/// Consumed events go back to the parser with `recycle`, as the engine's stream does.
fn ours_framing(f: &Fixture) -> usize {
    let mut parser = SseParser::new();
    let mut n = 0;
    for piece in &f.pieces {
        parser.feed(piece);
        while let Some(Ok(event)) = parser.next_event() {
            black_box(&event);
            parser.recycle(event);
            n += 1;
        }
    }
    parser.finish();
    while let Some(Ok(event)) = parser.next_event() {
        black_box(&event);
        parser.recycle(event);
        n += 1;
    }
    n
}

/// Our framing plus `decoder`, as the engine runs them (events recycled, one output list);
/// the events decoded without error.
fn framed_and_decoded<D: SseDecoder + ?Sized>(f: &Fixture, decoder: &mut D) -> usize {
    let mut parser = SseParser::new();
    let mut out = Vec::with_capacity(4);
    let mut n = 0;
    let mut step = |parser: &mut SseParser, event: SseEvent, out: &mut Vec<StreamEvent>| {
        if decoder.decode(&event, out).is_ok() {
            n += 1;
        }
        parser.recycle(event);
        black_box(&*out);
        out.clear();
    };
    for piece in &f.pieces {
        parser.feed(piece);
        while let Some(Ok(event)) = parser.next_event() {
            step(&mut parser, event, &mut out);
        }
    }
    parser.finish();
    while let Some(Ok(event)) = parser.next_event() {
        step(&mut parser, event, &mut out);
    }
    n
}

/// Our framing plus the typed decode into `StreamEvent`s.
fn ours_decoded(f: &Fixture) -> usize {
    framed_and_decoded(f, &mut *decoder_for(f.kind))
}

/// Framing plus the OpenAI backend's `ChatCompletionsDecoder`; `serde_only` reads every chunk
/// with serde, as the decoder did before.
fn openai_decoded(f: &Fixture, serde_only: bool) -> usize {
    let mut decoder = if serde_only {
        ChatCompletionsDecoder::serde_only()
    } else {
        ChatCompletionsDecoder::new()
    };
    framed_and_decoded(f, &mut decoder)
}

fn openai_fast(f: &Fixture) -> usize {
    openai_decoded(f, false)
}

fn openai_serde_only(f: &Fixture) -> usize {
    openai_decoded(f, true)
}

/// The OpenAI decoder's contenders, for the fixtures in its protocol.
const OPENAI_CONTENDERS: &[Contender] = &[
    ("openai decoder: framing + decode", openai_fast),
    (
        "openai decoder, serde only (before): framing + decode",
        openai_serde_only,
    ),
];

fn openai_protocol(f: &Fixture) -> bool {
    matches!(f.kind, Kind::Chat | Kind::Big)
}

/// Polls a stream that never waits (its input is in memory) to the end.
fn drain<S: Stream + Unpin>(mut stream: S, mut each: impl FnMut(S::Item)) {
    let mut cx = Context::from_waker(Waker::noop());
    while let Poll::Ready(Some(item)) = Pin::new(&mut stream).poll_next(&mut cx) {
        each(item);
    }
}

fn in_memory(f: &Fixture) -> impl Stream<Item = Result<Bytes, Infallible>> + Unpin + '_ {
    futures_util::stream::iter(f.pieces.iter().cloned().map(Ok))
}

fn eventsource_stream(f: &Fixture) -> usize {
    let mut n = 0;
    drain(eventsource_stream::EventStream::new(in_memory(f)), |e| {
        if let Ok(e) = e {
            black_box(&e);
            n += 1;
        }
    });
    n
}

fn sse_stream(f: &Fixture) -> usize {
    let mut n = 0;
    drain(sse_stream::SseByteStream::new(in_memory(f)), |e| {
        if let Ok(e) = e {
            if e.data.is_some() {
                black_box(&e);
                n += 1;
            }
        }
    });
    n
}

/// The whole engine path without a socket: a `reqwest::Response` whose body yields the
/// pieces, through `HttpClient::events_from_response` (timers, queue, decoder).
///
/// Returns the number of SSE events consumed, like the other contenders: the text, argument
/// and finish events (not the markers a backend's decoder adds: metadata, a call's start,
/// usage), plus `[DONE]` (which decodes to nothing) when the stream ended cleanly.
fn engine_stream(f: &Fixture, client: &HttpClient, rt: &tokio::runtime::Runtime) -> usize {
    engine_stream_with(f, client, rt, decoder_for(f.kind))
}

/// [`engine_stream`] with the OpenAI backend's decoder.
fn engine_stream_openai(f: &Fixture, client: &HttpClient, rt: &tokio::runtime::Runtime) -> usize {
    engine_stream_with(f, client, rt, Box::new(ChatCompletionsDecoder::new()))
}

fn engine_stream_with(
    f: &Fixture,
    client: &HttpClient,
    rt: &tokio::runtime::Runtime,
    decoder: Box<dyn SseDecoder>,
) -> usize {
    let pieces = futures_util::stream::iter(f.pieces.clone().into_iter().map(Ok::<_, Infallible>));
    let response = reqwest::Response::from(http::Response::new(reqwest::Body::wrap_stream(pieces)));
    let mut stream = client.events_from_response(response, decoder, None);
    rt.block_on(async {
        let mut n = 0;
        let mut clean = true;
        while let Some(item) = stream.next().await {
            match item {
                Ok(
                    ev @ (StreamEvent::TextDelta { .. }
                    | StreamEvent::ToolCallArgumentsDelta { .. }
                    | StreamEvent::Finish { .. }),
                ) => {
                    black_box(&ev);
                    n += 1;
                }
                Ok(ev) => {
                    // Markers the backends' decoders add (metadata, a call's start, usage).
                    black_box(&ev);
                }
                Err(_) => clean = false,
            }
        }
        // `[DONE]` decodes to nothing; the Responses terminal event gives the `Finish`, and
        // the big fixture has none.
        let terminal_is_silent = matches!(f.kind, Kind::Chat);
        n + usize::from(clean && terminal_is_silent)
    })
}

type Contender = (&'static str, fn(&Fixture) -> usize);

const CONTENDERS: &[Contender] = &[
    ("ours: framing", ours_framing),
    ("ours: framing + typed decode", ours_decoded),
    ("sse-stream 0.3: framing", sse_stream),
    ("eventsource-stream 0.2: framing", eventsource_stream),
];

// ---------------------------------------------------------------- criterion

fn fixtures() -> Vec<Fixture> {
    vec![chat_fixture(), responses_fixture(), big_fixture()]
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime");
    let client = HttpClient::new(HttpConfig::default()).expect("an HTTP client");
    for f in fixtures() {
        let mut group = c.benchmark_group(format!("sse/{}", f.name));
        group.throughput(Throughput::Bytes(f.bytes as u64));
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(3));
        for (name, run) in CONTENDERS {
            group.bench_function(*name, |b| b.iter(|| run(black_box(&f))));
        }
        group.bench_function("ours: EventStream (reqwest body → events)", |b| {
            b.iter(|| engine_stream(black_box(&f), &client, &rt))
        });
        if openai_protocol(&f) {
            for (name, run) in OPENAI_CONTENDERS {
                group.bench_function(*name, |b| b.iter(|| run(black_box(&f))));
            }
            group.bench_function(
                "openai decoder: EventStream (reqwest body → events)",
                |b| b.iter(|| engine_stream_openai(black_box(&f), &client, &rt)),
            );
            let framed = framed(&f);
            for (name, decoder) in DECODE_ALONE {
                group.bench_function(*name, |b| {
                    b.iter(|| decode_alone(black_box(&framed), decoder(f.kind)))
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, bench);

// ---------------------------------------------------------------- summary

struct Row {
    fixture: &'static str,
    contender: &'static str,
    ns_per_event: f64,
    mib_per_s: f64,
    allocs_per_event: f64,
    /// Paired: the median over rounds of eventsource-stream's time over this one's.
    vs_eventsource: Option<f64>,
    /// Paired likewise against serde_json's decode alone, for the other decode-alone rows.
    vs_serde: Option<f64>,
}

fn allocations(run: impl FnOnce() -> usize) -> (u64, usize) {
    let before = ALLOCS.load(Ordering::Relaxed);
    let n = run();
    (ALLOCS.load(Ordering::Relaxed) - before, n)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The contenders of one fixture, by name.
type Runs<'a> = Vec<(&'static str, Box<dyn Fn() -> usize + 'a>)>;

/// Times every contender of one fixture in interleaved rounds (the order rotated each round),
/// so that other load on the machine falls on all of them alike, for about `budget` (5 to 41
/// rounds; a contender slower than 50 ms runs only in the first 5). Each contender's
/// allocations are counted on one run first.
fn measure_fixture(f: &Fixture, runs: &Runs<'_>, budget: Duration) -> Vec<Row> {
    let counted: Vec<u64> = runs
        .iter()
        .map(|(name, run)| {
            let (allocs, n) = allocations(run);
            assert_eq!(
                n, f.events,
                "{name} on {} yielded {n} events, expected {}",
                f.name, f.events
            );
            allocs
        })
        .collect();
    let start = Instant::now();
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); runs.len()];
    let mut round = 0;
    while round < 5 || (round < 41 && start.elapsed() < budget) {
        for k in 0..runs.len() {
            let i = (k + round) % runs.len();
            // eventsource-stream's 1 MiB event takes most of a second: five runs will do.
            if round >= 5 && median(times[i].clone()) > 0.05 {
                continue;
            }
            let t = Instant::now();
            black_box((runs[i].1)());
            times[i].push(t.elapsed().as_secs_f64());
        }
        round += 1;
    }
    let paired = |i: usize, base: Option<usize>| {
        base.map(|b| median(times[b].iter().zip(&times[i]).map(|(b, t)| b / t).collect()))
    };
    let eventsource = runs
        .iter()
        .position(|(name, _)| name.starts_with("eventsource-stream"));
    let serde = runs
        .iter()
        .position(|(name, _)| *name == SERDE_ALONE)
        .filter(|_| openai_protocol(f));
    runs.iter()
        .enumerate()
        .map(|(i, (name, _))| {
            let t = median(times[i].clone());
            Row {
                fixture: f.name,
                contender: name,
                ns_per_event: t * 1e9 / f.events as f64,
                mib_per_s: f.bytes as f64 / (1024.0 * 1024.0) / t,
                allocs_per_event: counted[i] as f64 / f.events as f64,
                vs_eventsource: paired(i, eventsource),
                vs_serde: paired(i, serde.filter(|_| name.starts_with("decode alone"))),
            }
        })
        .collect()
}

const SERDE_ALONE: &str = "decode alone: serde_json, borrowing struct";

fn summary() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime");
    let client = HttpClient::new(HttpConfig::default()).expect("an HTTP client");
    let mut rows = Vec::new();
    for f in fixtures() {
        let framed = framed(&f);
        let (f, framed, client, rt) = (&f, &framed, &client, &rt);
        let mut runs: Runs<'_> = Vec::new();
        for (name, run) in CONTENDERS {
            runs.push((name, Box::new(move || run(f))));
        }
        runs.push((
            "ours: EventStream (reqwest body → events)",
            Box::new(move || engine_stream(f, client, rt)),
        ));
        if openai_protocol(f) {
            for (name, run) in OPENAI_CONTENDERS {
                runs.push((name, Box::new(move || run(f))));
            }
            runs.push((
                "openai decoder: EventStream (reqwest body → events)",
                Box::new(move || engine_stream_openai(f, client, rt)),
            ));
            // The JSON reading alone, on events framed beforehand: serde_json against the
            // core's reader on the same fields, and the OpenAI decoder with and without it.
            for (name, decoder) in DECODE_ALONE {
                runs.push((
                    name,
                    Box::new(move || decode_alone(framed, decoder(f.kind))),
                ));
            }
        } else {
            runs.push((
                "decode alone: the Codex backend's decoder",
                Box::new(move || decode_alone(framed, decoder_for(f.kind))),
            ));
        }
        rows.extend(measure_fixture(f, &runs, Duration::from_secs(8)));
    }
    println!();
    println!(
        "| fixture | contender | ns/event | MiB/s | allocs/event | vs eventsource-stream | vs serde_json decode |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    let ratio = |r: Option<f64>| r.map(|s| format!("{s:.1}×")).unwrap_or_default();
    for r in rows {
        let time = if r.ns_per_event >= 10_000.0 {
            format!("{:.3} ms", r.ns_per_event / 1e6)
        } else {
            format!("{:.0}", r.ns_per_event)
        };
        println!(
            "| {} | {} | {} | {:.0} | {:.2} | {} | {} |",
            r.fixture,
            r.contender,
            time,
            r.mib_per_s,
            r.allocs_per_event,
            ratio(r.vs_eventsource),
            ratio(r.vs_serde),
        );
    }
}

fn main() {
    // `cargo test --benches` runs each benchmark once; the summary is for real runs only.
    let testing = std::env::args().any(|a| a == "--test" || a == "--list");
    benches();
    Criterion::default().configure_from_args().final_summary();
    if !testing {
        summary();
    }
}
