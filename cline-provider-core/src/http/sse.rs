//! Server-sent events: a byte-level, incremental parser and the decoder trait each protocol
//! implements.
//!
//! The parser follows the WHATWG event-stream rules (`data`, `event`, `id` and `retry`
//! fields; comments; LF, CRLF and CR line ends, also when a CRLF pair is split between two
//! reads; multi-line data; a leading byte-order mark). Its cost is linear in the input: it
//! remembers how far it has already searched for a line end, so a 1 MiB event fed in small
//! pieces is scanned once, and it compacts its buffer only when at least half of it has been
//! consumed; a long `data:` line streams straight into the event instead of being copied
//! twice. An event costs one allocation for its data (plus one for an `event:` name), or
//! none when consumed events are handed back with [`SseParser::recycle`], as the engine does.
//!
//! ```
//! use cline_provider_core::http::sse::SseParser;
//!
//! let mut parser = SseParser::new();
//! parser.feed(b"event: greeting\r\ndata: hel");
//! assert!(parser.next_event().is_none()); // the event is not complete yet
//! parser.feed(b"lo\r\n\r\n: keep-alive\n\n");
//! let event = parser.next_event().unwrap().unwrap();
//! assert_eq!(event.event.as_deref(), Some("greeting"));
//! assert_eq!(event.data, "hello");
//! assert!(parser.next_event().is_none()); // comments are not events
//! ```

use std::mem;

use crate::error::{Error, ErrorKind, Result};
use crate::stream::StreamEvent;

/// The default cap on the size of one event: 16 MiB.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// A `data:` line still incomplete at this length streams straight into the event's data.
/// Shorter lines (nearly all of them) are copied from the line buffer when complete, which
/// costs one copy more but keeps the data buffer allocated exactly once.
const STREAM_DATA_AT: usize = 16 * 1024;

/// Buffers handed back with [`SseParser::recycle`] are kept up to this capacity, so that a
/// rare huge event does not pin its memory for the rest of the stream.
const RECYCLE_UP_TO: usize = 64 * 1024;

/// One dispatched server-sent event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field, when the server named the event (`None` means `message`).
    pub event: Option<String>,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
    /// The last event id the stream set with an `id:` field (it carries over to later events,
    /// as the WHATWG rules say), `None` if no id was set or it was reset to empty.
    pub id: Option<String>,
    /// The `retry:` field of this event, in milliseconds, if it carried a valid one.
    pub retry: Option<u64>,
}

impl SseEvent {
    /// An unnamed event carrying `data`; handy in decoder tests.
    ///
    /// ```
    /// use cline_provider_core::http::sse::SseEvent;
    /// let e = SseEvent::new("[DONE]");
    /// assert_eq!(e.event_type(), "message");
    /// ```
    pub fn new(data: impl Into<String>) -> Self {
        SseEvent {
            data: data.into(),
            ..SseEvent::default()
        }
    }

    /// A named event carrying `data`.
    pub fn named(event: impl Into<String>, data: impl Into<String>) -> Self {
        SseEvent {
            event: Some(event.into()),
            data: data.into(),
            ..SseEvent::default()
        }
    }

    /// The event type: the `event:` field, or `message` when there was none.
    pub fn event_type(&self) -> &str {
        self.event.as_deref().unwrap_or("message")
    }
}

/// Turns one protocol's events into [`StreamEvent`]s.
///
/// Each backend implements it once; the engine calls it for every event, in order, and stops
/// at the terminal event.
///
/// ```
/// use cline_provider_core::http::sse::{SseDecoder, SseEvent};
/// use cline_provider_core::{Result, StreamEvent};
///
/// struct Plain;
/// impl SseDecoder for Plain {
///     fn decode(&mut self, event: &SseEvent, out: &mut Vec<StreamEvent>) -> Result<bool> {
///         if event.data == "[DONE]" {
///             return Ok(true);
///         }
///         out.push(StreamEvent::TextDelta { text: event.data.clone() });
///         Ok(false)
///     }
/// }
///
/// let mut out = Vec::new();
/// assert!(!Plain.decode(&SseEvent::new("hi"), &mut out).unwrap());
/// assert!(Plain.decode(&SseEvent::new("[DONE]"), &mut out).unwrap());
/// assert_eq!(out.len(), 1);
/// ```
pub trait SseDecoder: Send + 'static {
    /// Decodes one event, pushing zero or more [`StreamEvent`]s. Returns `Ok(true)` when this
    /// event was the protocol's terminal marker (`[DONE]`, `response.completed`): the stream
    /// then ends cleanly. An in-band error event returns `Err` with a typed error carrying the
    /// provider's code and message.
    fn decode(&mut self, event: &SseEvent, out: &mut Vec<StreamEvent>) -> Result<bool>;

    /// Sees the 2xx response's headers once, before the first event, for protocols that
    /// report something there (rate-limit windows, say) to emit with the first events. Does
    /// nothing by default.
    fn on_response_headers(&mut self, headers: &http::HeaderMap) {
        let _ = headers;
    }
}

/// What to skip after an event went over the size cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Discard {
    /// Nothing: parse normally.
    No,
    /// The rest of the current line (its start was already dropped), then the rest of the event.
    RestOfLine,
    /// Every line up to the blank line that ends the event.
    RestOfEvent,
}

/// A byte-level, incremental server-sent-events parser.
///
/// Feed it bytes as they arrive with [`feed`](SseParser::feed), take complete events with
/// [`next_event`](SseParser::next_event), and call [`finish`](SseParser::finish) when the body
/// ends. Splitting the input differently never changes the events.
///
/// **End of input.** The WHATWG rules drop an event that is not closed by a blank line. This
/// parser is slightly kinder: after [`finish`](SseParser::finish), an event whose lines are all
/// complete (the last one ended with a line break) is still dispatched, because some servers
/// close the connection right after the terminal `data: [DONE]` line. A last line cut in the
/// middle is always dropped, so a connection cut mid-event never yields a half-written event.
///
/// **Size cap.** An event (all of its lines, comments included) larger than
/// [`max_event_bytes`](SseParser::max_event_bytes) yields one [`ErrorKind::EventTooLarge`]
/// error, and the parser skips the rest of that event without buffering it.
#[derive(Debug)]
pub struct SseParser {
    /// Unconsumed input; `buf[pos..]` is the start of the current, incomplete line.
    buf: Vec<u8>,
    pos: usize,
    /// `buf[pos..scan]` is known to hold no line terminator: never searched twice.
    scan: usize,
    /// The previous read ended with CR; a LF at the start of the next read belongs to it.
    skip_lf: bool,
    /// How many bytes of a leading BOM were seen; `None` once the stream start is past.
    bom_matched: Option<usize>,
    eof: bool,
    discard: Discard,
    max_event_bytes: usize,
    /// Bytes of the current event's completed lines.
    event_bytes: usize,
    /// Bytes of field lines seen (complete ones); comments and blank lines are excluded.
    field_bytes: u64,
    /// A long `data:` line is being received: its bytes go straight into `data` (one copy
    /// instead of two). Holds what to roll back to if the input ends before the line does:
    /// the length of `data` and `has_data` before the line.
    open_data: Option<(usize, bool)>,
    /// An event went over the cap while its data line was streaming; report it next.
    overflowed: bool,
    /// Buffers of consumed events, reused for the next ones (see `recycle`).
    spare_data: Vec<u8>,
    spare_name: String,
    // The event being assembled.
    data: Vec<u8>,
    has_data: bool,
    event: Option<String>,
    retry: Option<u64>,
    last_id: Option<String>,
}

impl Default for SseParser {
    fn default() -> Self {
        SseParser::new()
    }
}

impl SseParser {
    /// A parser with the default 16 MiB event cap.
    pub fn new() -> Self {
        SseParser::with_max_event_bytes(DEFAULT_MAX_EVENT_BYTES)
    }

    /// A parser that refuses events larger than `max_event_bytes`.
    pub fn with_max_event_bytes(max_event_bytes: usize) -> Self {
        SseParser {
            buf: Vec::new(),
            pos: 0,
            scan: 0,
            skip_lf: false,
            bom_matched: Some(0),
            eof: false,
            discard: Discard::No,
            max_event_bytes,
            event_bytes: 0,
            field_bytes: 0,
            open_data: None,
            overflowed: false,
            spare_data: Vec::new(),
            spare_name: String::new(),
            data: Vec::new(),
            has_data: false,
            event: None,
            retry: None,
            last_id: None,
        }
    }

    /// The cap on one event's size, in bytes.
    pub fn max_event_bytes(&self) -> usize {
        self.max_event_bytes
    }

    /// Appends bytes read from the body.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if let Some(matched) = self.bom_matched {
            let mut matched = matched;
            while matched < BOM.len() && !bytes.is_empty() {
                if bytes[0] != BOM[matched] {
                    // Not a BOM after all: the bytes matched so far are content.
                    self.buf.extend_from_slice(&BOM[..matched]);
                    matched = BOM.len() + 1;
                    break;
                }
                matched += 1;
                bytes = &bytes[1..];
            }
            self.bom_matched = if matched < BOM.len() {
                Some(matched)
            } else {
                None
            };
            if bytes.is_empty() {
                return;
            }
        }
        if self.skip_lf {
            self.skip_lf = false;
            if bytes[0] == b'\n' {
                bytes = &bytes[1..];
                if bytes.is_empty() {
                    return;
                }
            }
        }
        if self.open_data.is_some() {
            bytes = self.feed_open_data(bytes);
            if bytes.is_empty() {
                return;
            }
        }
        self.compact();
        self.buf.extend_from_slice(bytes);
    }

    /// Appends the continuation of a long data line straight to the event's data; returns
    /// the input left after the line's end.
    fn feed_open_data<'b>(&mut self, bytes: &'b [u8]) -> &'b [u8] {
        let (value, rest, ended) = match memchr::memchr2(b'\n', b'\r', bytes) {
            Some(end) => {
                let mut rest = &bytes[end + 1..];
                if bytes[end] == b'\r' {
                    match rest.first() {
                        None => self.skip_lf = true,
                        Some(b'\n') => rest = &rest[1..],
                        Some(_) => {}
                    }
                }
                (&bytes[..end], rest, true)
            }
            None => (bytes, &[][..], false),
        };
        self.event_bytes = self.event_bytes.saturating_add(value.len());
        self.field_bytes += value.len() as u64;
        if self.event_bytes > self.max_event_bytes {
            self.reset_event();
            self.overflowed = true;
            self.discard = if ended {
                Discard::RestOfEvent
            } else {
                Discard::RestOfLine
            };
            return rest;
        }
        self.data.extend_from_slice(value);
        if ended {
            self.open_data = None;
        }
        rest
    }

    /// Hands a consumed event back so that its buffers serve the next events: with it, a
    /// steady stream of events is framed without allocating. Optional; the engine's stream
    /// does it after decoding each event.
    ///
    /// ```
    /// use cline_provider_core::http::sse::SseParser;
    /// let mut p = SseParser::new();
    /// p.feed(b"data: one\n\ndata: two\n\n");
    /// let first = p.next_event().unwrap().unwrap();
    /// p.recycle(first);
    /// assert_eq!(p.next_event().unwrap().unwrap().data, "two");
    /// ```
    pub fn recycle(&mut self, event: SseEvent) {
        let data = event.data.into_bytes();
        if data.capacity() <= RECYCLE_UP_TO && data.capacity() > self.spare_data.capacity() {
            self.spare_data = data;
            self.spare_data.clear();
        }
        if let Some(name) = event.event {
            if name.capacity() <= RECYCLE_UP_TO && name.capacity() > self.spare_name.capacity() {
                self.spare_name = name;
            }
        }
    }

    /// Signals the end of the body. After this, [`next_event`](SseParser::next_event) also
    /// returns the last event if it was complete but not closed by a blank line.
    pub fn finish(&mut self) {
        self.eof = true;
    }

    /// How far the stream has progressed: the number of bytes of field lines (`data:`,
    /// `event:`, …) seen so far, including a field line still being received. Comments and
    /// blank lines do not count, so keep-alive comments never look like progress.
    pub fn progress(&self) -> u64 {
        let partial = &self.buf[self.pos..];
        match partial.first() {
            Some(b':') | None => self.field_bytes,
            Some(_) if self.discard != Discard::No => self.field_bytes,
            Some(_) => self.field_bytes + partial.len() as u64,
        }
    }

    /// The next complete event, if the input holds one.
    pub fn next_event(&mut self) -> Option<Result<SseEvent>> {
        if self.overflowed {
            self.overflowed = false;
            return Some(Err(self.too_large()));
        }
        loop {
            let found = memchr::memchr2(b'\n', b'\r', &self.buf[self.scan..]);
            let Some(offset) = found else {
                return self.no_line_end();
            };
            let end = self.scan + offset;
            let start = self.pos;
            let mut next = end + 1;
            if self.buf[end] == b'\r' {
                if next < self.buf.len() {
                    if self.buf[next] == b'\n' {
                        next += 1;
                    }
                } else {
                    self.skip_lf = true;
                }
            }
            self.pos = next;
            self.scan = next;
            if let Some(result) = self.line(start, end) {
                return Some(result);
            }
        }
    }

    /// No line end in the buffer: check the cap on the partial line, or flush at end of input.
    fn no_line_end(&mut self) -> Option<Result<SseEvent>> {
        self.scan = self.buf.len();
        let partial = self.buf.len() - self.pos;
        if self.discard != Discard::No {
            self.drop_partial_line();
            return None;
        }
        if partial > 0 && self.event_bytes.saturating_add(partial) > self.max_event_bytes {
            self.drop_partial_line();
            self.reset_event();
            return Some(Err(self.too_large()));
        }
        if self.eof {
            // A line cut in the middle is never part of an event; see the type's docs.
            self.pos = self.buf.len();
            if let Some((len, had_data)) = self.open_data.take() {
                self.data.truncate(len);
                self.has_data = had_data;
            }
            return self.dispatch().map(Ok);
        }
        if partial >= STREAM_DATA_AT && self.buf[self.pos..].starts_with(b"data:") {
            self.open_data_line();
        }
        None
    }

    /// Moves the partial `data:` line into the event's data and lets `feed` append the rest.
    fn open_data_line(&mut self) {
        let line = &self.buf[self.pos..];
        let value = &line[5..];
        let value = value.strip_prefix(b" ").unwrap_or(value);
        self.open_data = Some((self.data.len(), self.has_data));
        if self.has_data {
            self.data.push(b'\n');
        }
        self.data.extend_from_slice(value);
        self.has_data = true;
        self.event_bytes += line.len();
        self.field_bytes += line.len() as u64;
        self.pos = self.buf.len();
        self.scan = self.pos;
    }

    fn drop_partial_line(&mut self) {
        if self.pos < self.buf.len() {
            self.pos = self.buf.len();
            self.scan = self.pos;
            self.discard = Discard::RestOfLine;
        }
    }

    /// Handles the line `buf[start..end]`; returns an event when the line completed one.
    fn line(&mut self, start: usize, end: usize) -> Option<Result<SseEvent>> {
        let len = end - start;
        match self.discard {
            Discard::No => {}
            Discard::RestOfLine => {
                self.discard = Discard::RestOfEvent;
                return None;
            }
            Discard::RestOfEvent => {
                if len == 0 {
                    self.discard = Discard::No;
                }
                return None;
            }
        }
        if len == 0 {
            return self.dispatch().map(Ok);
        }
        self.event_bytes += len;
        if self.event_bytes > self.max_event_bytes {
            self.reset_event();
            self.discard = Discard::RestOfEvent;
            return Some(Err(self.too_large()));
        }
        let line = &self.buf[start..end];
        if line[0] == b':' {
            return None;
        }
        self.field_bytes += len as u64;
        let (name, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match name {
            b"data" => {
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" => {
                if let Some(old) = self.event.take() {
                    self.spare_name = old;
                }
                if !value.is_empty() {
                    let mut name = mem::take(&mut self.spare_name);
                    name.clear();
                    name.push_str(&String::from_utf8_lossy(value));
                    self.event = Some(name);
                }
            }
            // An id containing NUL is ignored, as the WHATWG rules say.
            b"id" if !value.contains(&0) => {
                self.last_id = if value.is_empty() {
                    None
                } else {
                    Some(String::from_utf8_lossy(value).into_owned())
                };
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                // Too many digits to fit: ignored, like any other invalid retry value.
                self.retry = std::str::from_utf8(value)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .or(self.retry);
            }
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let has_data = mem::replace(&mut self.has_data, false);
        self.event_bytes = 0;
        let event = self.event.take();
        let retry = self.retry.take();
        if !has_data {
            self.data.clear();
            if let Some(name) = event {
                self.spare_name = name;
            }
            return None;
        }
        let data = mem::replace(&mut self.data, mem::take(&mut self.spare_data));
        let data = match String::from_utf8(data) {
            Ok(data) => data,
            // The WHATWG rules decode with replacement characters rather than fail.
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        Some(SseEvent {
            event,
            data,
            id: self.last_id.clone(),
            retry,
        })
    }

    fn reset_event(&mut self) {
        self.open_data = None;
        self.has_data = false;
        self.data = Vec::new();
        self.event = None;
        self.retry = None;
        self.event_bytes = 0;
    }

    fn too_large(&self) -> Error {
        Error::new(
            ErrorKind::EventTooLarge,
            format!(
                "a server-sent event exceeded the cap of {} bytes",
                self.max_event_bytes
            ),
        )
    }

    /// Drops consumed bytes, but only when they are at least half of the buffer, so each
    /// byte is moved at most a constant number of times however long a line grows.
    fn compact(&mut self) {
        if self.pos == 0 {
            return;
        }
        let len = self.buf.len();
        if self.pos == len {
            self.buf.clear();
        } else if self.pos >= len - self.pos {
            self.buf.copy_within(self.pos.., 0);
            self.buf.truncate(len - self.pos);
        } else {
            return;
        }
        self.scan -= self.pos;
        self.pos = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c);
            while let Some(e) = p.next_event() {
                out.push(e.expect("no error"));
            }
        }
        p.finish();
        while let Some(e) = p.next_event() {
            out.push(e.expect("no error"));
        }
        out
    }

    fn data_of(events: &[SseEvent]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn single_event() {
        let ev = parse_all(&[b"data: hello\n\n"]);
        assert_eq!(ev, vec![SseEvent::new("hello")]);
    }

    #[test]
    fn line_endings_lf_crlf_cr() {
        for input in [
            &b"data: a\n\ndata: b\n\n"[..],
            b"data: a\r\n\r\ndata: b\r\n\r\n",
            b"data: a\r\rdata: b\r\r",
            b"data: a\r\n\ndata: b\n\r\n",
        ] {
            assert_eq!(data_of(&parse_all(&[input])), vec!["a", "b"], "{input:?}");
        }
    }

    #[test]
    fn crlf_split_between_reads_is_one_line_end() {
        let ev = parse_all(&[b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]);
        assert_eq!(data_of(&ev), vec!["a\nb"]);
    }

    #[test]
    fn multi_line_data_is_joined_with_lf() {
        let ev = parse_all(&[b"data: one\ndata:two\ndata:  three\n\n"]);
        assert_eq!(data_of(&ev), vec!["one\ntwo\n three"]);
    }

    #[test]
    fn empty_data_line_dispatches_empty_event() {
        let ev = parse_all(&[b"data\n\ndata:\n\n"]);
        assert_eq!(data_of(&ev), vec!["", ""]);
    }

    #[test]
    fn event_without_data_is_not_dispatched() {
        let ev = parse_all(&[b"event: ping\n\nid: 7\n\n: comment\n\n\n\ndata: x\n\n"]);
        assert_eq!(ev.len(), 1);
        assert_eq!(
            ev[0].event, None,
            "the event name does not leak into the next event"
        );
        assert_eq!(ev[0].id.as_deref(), Some("7"), "the last event id persists");
    }

    #[test]
    fn named_events_and_fields() {
        let ev = parse_all(&[b"event: response.created\nid: 42\nretry: 1500\ndata: {}\n\n"]);
        assert_eq!(
            ev,
            vec![SseEvent {
                event: Some("response.created".into()),
                data: "{}".into(),
                id: Some("42".into()),
                retry: Some(1500),
            }]
        );
        assert_eq!(ev[0].event_type(), "response.created");
    }

    #[test]
    fn invalid_retry_and_id_with_nul_are_ignored() {
        let ev = parse_all(&[
            b"retry: 12a\nid: a\0b\ndata: x\n\nretry: 99999999999999999999999\ndata: y\n\n",
        ]);
        assert_eq!(ev[0].retry, None);
        assert_eq!(ev[0].id, None);
        assert_eq!(ev[1].retry, None);
    }

    #[test]
    fn empty_id_resets_last_event_id() {
        let ev = parse_all(&[b"id: 1\ndata: a\n\nid\ndata: b\n\n"]);
        assert_eq!(ev[0].id.as_deref(), Some("1"));
        assert_eq!(ev[1].id, None);
    }

    #[test]
    fn unknown_fields_and_comments_are_ignored() {
        let ev = parse_all(&[b": hi\nfoo: bar\ndata: x\n:ka\n\n"]);
        assert_eq!(data_of(&ev), vec!["x"]);
    }

    #[test]
    fn only_one_leading_space_is_stripped() {
        let ev = parse_all(&[b"data:   x \n\n"]);
        assert_eq!(data_of(&ev), vec!["  x "]);
    }

    #[test]
    fn leading_bom_is_skipped_even_when_split() {
        let ev = parse_all(&[b"\xEF", b"\xBB", b"\xBFdata: x\n\n"]);
        assert_eq!(data_of(&ev), vec!["x"]);
        // A BOM later in the stream is content (it makes an unknown field here).
        let ev = parse_all(&[b"data: a\n\n\xEF\xBB\xBFdata: b\n\n"]);
        assert_eq!(data_of(&ev), vec!["a"]);
    }

    #[test]
    fn partial_bom_prefix_is_content() {
        // 0xEF then 'd' is not a BOM: the 0xEF byte becomes part of the first line's name.
        let ev = parse_all(&[b"\xEF", b"data: x\n\ndata: y\n\n"]);
        assert_eq!(data_of(&ev), vec!["y"]);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let ev = parse_all(&[b"data: a\xFFb\n\n"]);
        assert_eq!(data_of(&ev), vec!["a\u{FFFD}b"]);
    }

    #[test]
    fn utf8_split_across_reads() {
        let text = "data: héllo → 世界\n\n".as_bytes();
        let chunks: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(data_of(&parse_all(&chunks)), vec!["héllo → 世界"]);
    }

    #[test]
    fn unterminated_event_at_eof_is_flushed_when_its_lines_are_complete() {
        assert_eq!(data_of(&parse_all(&[b"data: [DONE]\n"])), vec!["[DONE]"]);
        assert_eq!(data_of(&parse_all(&[b"data: [DONE]\r"])), vec!["[DONE]"]);
    }

    #[test]
    fn line_cut_mid_way_at_eof_is_dropped() {
        assert!(parse_all(&[b"data: {\"cho"]).is_empty());
        assert_eq!(
            data_of(&parse_all(&[b"data: a\n\ndata: b\ndata: c"])),
            vec!["a", "b"],
            "a complete line of an unclosed event survives; the cut one does not"
        );
    }

    #[test]
    fn nothing_before_finish_without_blank_line() {
        let mut p = SseParser::new();
        p.feed(b"data: x\n");
        assert!(p.next_event().is_none());
        p.finish();
        assert_eq!(
            p.next_event().map(|r| r.map(|e| e.data)).transpose().ok(),
            Some(Some("x".into()))
        );
        assert!(p.next_event().is_none());
    }

    #[test]
    fn oversized_event_is_a_typed_error_and_the_parser_recovers() {
        let mut p = SseParser::with_max_event_bytes(16);
        p.feed(b"data: 0123456789012345678901234567890\n\ndata: ok\n\n");
        let err = p.next_event().expect("an item").expect_err("too large");
        assert_eq!(err.kind(), &ErrorKind::EventTooLarge);
        assert!(err.hint().contains("cap"));
        assert_eq!(
            p.next_event().map(|r| r.map(|e| e.data).ok()),
            Some(Some("ok".into()))
        );
    }

    #[test]
    fn oversized_partial_line_does_not_grow_the_buffer() {
        let mut p = SseParser::with_max_event_bytes(1000);
        p.feed(b"data: ");
        let mut errors = 0;
        for _ in 0..100 {
            p.feed(&[b'x'; 100]);
            while let Some(r) = p.next_event() {
                assert_eq!(r.expect_err("too large").kind(), &ErrorKind::EventTooLarge);
                errors += 1;
            }
            assert!(p.buf.len() <= 1100, "buffer grew to {}", p.buf.len());
        }
        assert_eq!(errors, 1, "one error per oversized event");
        p.feed(b"\n\ndata: next\n\n");
        let next = p.next_event().expect("an event").expect("valid");
        assert_eq!(next.data, "next");
    }

    #[test]
    fn oversized_multi_line_event_counts_all_lines() {
        let mut p = SseParser::with_max_event_bytes(20);
        p.feed(b"data: 0123456789\ndata: 0123456789\n\n");
        let err = p.next_event().expect("an item").expect_err("too large");
        assert_eq!(err.kind(), &ErrorKind::EventTooLarge);
        assert!(p.next_event().is_none());
    }

    #[test]
    fn event_exactly_at_the_cap_is_accepted() {
        let mut p = SseParser::with_max_event_bytes(8);
        p.feed(b"data: ab\n\n");
        assert_eq!(
            p.next_event().map(|r| r.map(|e| e.data).ok()),
            Some(Some("ab".into()))
        );
    }

    #[test]
    fn progress_ignores_comments_and_blank_lines() {
        let mut p = SseParser::new();
        p.feed(b": keep-alive\n\n: ping\n");
        while p.next_event().is_some() {}
        assert_eq!(p.progress(), 0);
        p.feed(b": partial comm");
        while p.next_event().is_some() {}
        assert_eq!(p.progress(), 0);
        p.feed(b"ent\ndata: abc");
        while p.next_event().is_some() {}
        let before = p.progress();
        assert!(before > 0, "a partial field line is progress");
        p.feed(b"def\n\n");
        while p.next_event().is_some() {}
        assert!(p.progress() > before);
    }

    #[test]
    fn long_line_is_scanned_linearly() {
        // One 4 MiB event in 1460-byte pieces: with a rescan per piece this would take
        // seconds; the scan offset keeps it to one pass.
        let mut p = SseParser::new();
        p.feed(b"data: ");
        let piece = [b'a'; 1460];
        let mut fed = 0;
        while fed < 4 << 20 {
            p.feed(&piece);
            assert!(p.next_event().is_none());
            fed += piece.len();
        }
        p.feed(b"\n\n");
        let e = p.next_event().expect("event").expect("valid");
        assert_eq!(e.data.len(), fed);
    }

    fn big_stream(ending: &str) -> (Vec<u8>, Vec<SseEvent>) {
        let big: String = "añ→🦀".repeat(5_000); // ~50 KiB, multi-byte characters
        let text = format!(
            "data: first{e}data: {big}{e}data: last{e}{e}event: next{e}data: {big}{e}{e}data: [DONE]{e}{e}",
            e = ending
        );
        let want = vec![
            SseEvent::new(format!("first\n{big}\nlast")),
            SseEvent::named("next", big.clone()),
            SseEvent::new("[DONE]"),
        ];
        (text.into_bytes(), want)
    }

    #[test]
    fn long_data_lines_stream_straight_into_the_event() {
        for ending in ["\n", "\r\n", "\r"] {
            let (bytes, want) = big_stream(ending);
            for size in [
                1,
                2,
                3,
                7,
                1460,
                5000,
                16 * 1024,
                16 * 1024 + 1,
                bytes.len(),
            ] {
                let chunks: Vec<&[u8]> = bytes.chunks(size).collect();
                assert_eq!(
                    parse_all(&chunks),
                    want,
                    "ending {ending:?}, pieces of {size}"
                );
            }
        }
    }

    #[test]
    fn long_data_line_cut_at_eof_is_dropped() {
        let big = "x".repeat(40_000);
        let text = format!("data: kept\ndata: {big}");
        let chunks: Vec<&[u8]> = text.as_bytes().chunks(1000).collect();
        assert_eq!(data_of(&parse_all(&chunks)), vec!["kept"]);
        let text = format!("data: {big}");
        let chunks: Vec<&[u8]> = text.as_bytes().chunks(1000).collect();
        assert!(parse_all(&chunks).is_empty());
    }

    #[test]
    fn long_data_line_over_the_cap_while_streaming() {
        let mut p = SseParser::with_max_event_bytes(20_000);
        let text = format!("data: {}\ndata: more\n\ndata: ok\n\n", "y".repeat(60_000));
        let mut items = Vec::new();
        for chunk in text.as_bytes().chunks(1460) {
            p.feed(chunk);
            while let Some(item) = p.next_event() {
                items.push(item.map(|e| e.data).map_err(|e| e.kind().clone()));
            }
            assert!(
                p.buf.len() < 20_000 && p.data.len() <= 20_000,
                "memory stays bounded"
            );
        }
        assert_eq!(
            items,
            vec![Err(ErrorKind::EventTooLarge), Ok("ok".to_owned())]
        );
    }

    #[test]
    fn long_data_line_over_the_cap_in_its_last_piece() {
        let mut p = SseParser::with_max_event_bytes(20_000);
        p.feed(format!("data: {}", "z".repeat(17_000)).as_bytes());
        assert!(p.next_event().is_none());
        p.feed(format!("{}\n\ndata: ok\n\n", "z".repeat(4_000)).as_bytes());
        let first = p.next_event().expect("an item");
        assert_eq!(
            first.expect_err("too large").kind(),
            &ErrorKind::EventTooLarge
        );
        assert_eq!(
            p.next_event().map(|r| r.map(|e| e.data).ok()),
            Some(Some("ok".into()))
        );
    }

    #[test]
    fn recycled_buffers_never_leak_old_content() {
        let mut p = SseParser::new();
        p.feed(b"event: a-long-event-name\ndata: a long first payload\n\n");
        let first = p.next_event().expect("event").expect("valid");
        p.recycle(first);
        p.feed(b"data: x\n\nevent: b\ndata: y\n\n");
        let second = p.next_event().expect("event").expect("valid");
        assert_eq!(second, SseEvent::new("x"));
        p.recycle(second);
        let third = p.next_event().expect("event").expect("valid");
        assert_eq!(third, SseEvent::named("b", "y"));
    }

    #[test]
    fn huge_buffers_are_not_kept() {
        let mut p = SseParser::new();
        p.recycle(SseEvent::new("z".repeat(RECYCLE_UP_TO + 1)));
        assert_eq!(p.spare_data.capacity(), 0);
        p.recycle(SseEvent::new("small"));
        assert!(p.spare_data.capacity() >= 5 && p.spare_data.is_empty());
    }

    #[test]
    fn compaction_keeps_scan_consistent() {
        let mut p = SseParser::new();
        let mut got = Vec::new();
        for i in 0..1000 {
            let s = format!("data: {i}\n\n");
            for b in s.as_bytes().chunks(3) {
                p.feed(b);
                while let Some(e) = p.next_event() {
                    got.push(e.expect("valid").data);
                }
            }
        }
        let want: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
        assert_eq!(got, want);
    }
}
