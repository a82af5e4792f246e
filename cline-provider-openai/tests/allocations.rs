//! Allocations on the hot path, counted by a counting allocator: a streamed text event costs
//! at most one (its text), framing and decoding included, once a stream is under way; and a
//! whole tool call's arguments are moved into their event, not copied.
//!
//! Its own test binary, since the allocator is process-wide; one test, so nothing else
//! allocates while it counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use cline_provider_core::http::sse::{SseDecoder, SseEvent, SseParser};
use cline_provider_core::StreamEvent;
use cline_provider_openai::ChatCompletionsDecoder;

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the counters are atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A chat-completions body of `n` text chunks (one JSON escape in eight, as in real text),
/// then a usage chunk and `[DONE]`.
fn text_stream(n: usize) -> Vec<u8> {
    const WORDS: [&str; 8] = [
        " the", " quick", " brown", " fox", " jumps", " over", " lazy", ".\\n",
    ];
    let mut s = String::new();
    for i in 0..n {
        let _ = write!(
            s,
            "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\
             \"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{}\"}},\
             \"logprobs\":null,\"finish_reason\":null}}]}}\n\n",
            WORDS[i % WORDS.len()]
        );
    }
    s.push_str("data: {\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n");
    s.into_bytes()
}

/// Frames and decodes `body` fed in 1,460-byte pieces, as the engine does (events recycled,
/// one output list); returns the text events and the allocations made after the first
/// `warm_up` events.
fn run(body: &[u8], warm_up: usize) -> (usize, u64) {
    let mut parser = SseParser::new();
    let mut decoder = ChatCompletionsDecoder::new();
    let mut out = Vec::with_capacity(8);
    let (mut events, mut texts, mut counted_from) = (0, 0, None);
    let mut step = |parser: &mut SseParser, event: SseEvent, out: &mut Vec<StreamEvent>| {
        decoder.decode(&event, out).expect("decodes");
        parser.recycle(event);
        events += 1;
        if events == warm_up {
            counted_from = Some(ALLOCS.load(Ordering::Relaxed));
        }
        for e in out.drain(..) {
            match e {
                StreamEvent::TextDelta { .. } if events > warm_up => texts += 1,
                _ => {}
            }
        }
    };
    for piece in body.chunks(1460) {
        parser.feed(piece);
        while let Some(event) = parser.next_event() {
            step(&mut parser, event.expect("framed"), &mut out);
        }
    }
    parser.finish();
    while let Some(event) = parser.next_event() {
        step(&mut parser, event.expect("framed"), &mut out);
    }
    let allocs = ALLOCS.load(Ordering::Relaxed) - counted_from.expect("warmed up");
    (texts, allocs)
}

#[test]
fn a_text_event_costs_at_most_one_allocation_and_tool_arguments_are_not_copied() {
    let body = text_stream(10_000);
    let (texts, allocs) = run(&body, 100);
    assert!(texts > 9_800, "{texts} text events");
    let per_event = allocs as f64 / texts as f64;
    assert!(
        per_event <= 1.0,
        "{allocs} allocations for {texts} text events ({per_event:.3} per event)"
    );

    // One 1 MiB tool call: its arguments (with escapes, so they are unescaped once) are
    // allocated about once, not once more for the call's pending buffer and again for the
    // event.
    let args = format!(
        "{{\\\"path\\\":\\\"big.txt\\\",\\\"content\\\":\\\"{}\\\"}}",
        "lorem ipsum ".repeat(1 << 16)
    );
    let body = format!(
        "data: {{\"id\":\"c\",\"choices\":[]}}\n\n\
         data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":0,\
         \"id\":\"call_1\",\"type\":\"function\",\"function\":{{\"name\":\"write\",\
         \"arguments\":\"{args}\"}}}}]}}}}]}}\n\ndata: [DONE]\n\n"
    );
    let mut parser = SseParser::new();
    parser.feed(body.as_bytes());
    let mut events = Vec::new();
    while let Some(event) = parser.next_event() {
        events.push(event.expect("framed"));
    }
    let mut decoder = ChatCompletionsDecoder::new();
    let mut out = Vec::new();
    let before = BYTES.load(Ordering::Relaxed);
    for event in &events {
        decoder.decode(event, &mut out).expect("decodes");
    }
    let allocated = BYTES.load(Ordering::Relaxed) - before;
    let delta = out
        .iter()
        .find_map(|e| match e {
            StreamEvent::ToolCallArgumentsDelta { delta, .. } => Some(delta.len()),
            _ => None,
        })
        .expect("an arguments delta");
    // One copy for the unescaped text; a second (a pending buffer, a serde scratch) would
    // pass 1.5×.
    assert!(
        (allocated as f64) < 1.5 * delta as f64,
        "{allocated} bytes allocated to decode a {delta}-byte argument string"
    );
}
