//! Scripted replies: status, headers, body, and the faults to inject while sending them.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::{HeaderMap, Response, StatusCode};
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::sse::SseFrame;

/// How long a stalled reply keeps its connection open when the client never gives up.
pub const STALL_LIMIT: Duration = Duration::from_secs(60);

/// The wire text that replaces a frame chosen with [`Reply::malformed_at`].
pub const MALFORMED_FRAME: &str = "data: {not json\n\n";

/// The comment sent during a stall by [`Reply::keepalive_while_stalled`].
pub const KEEPALIVE_FRAME: &str = ": keep-alive\n\n";

/// Shortest payload [`Reply::oversized_at`] can build: `{"x":""}`.
const MIN_OVERSIZED: usize = 8;

/// A scripted HTTP reply: what the fake server answers to one request.
///
/// Built with one of the constructors, then refined with builder methods; the fault
/// injection methods combine freely.
///
/// ```
/// use std::time::Duration;
/// use cline_provider_testkit::{Reply, SseFrame};
///
/// let reply = Reply::sse(vec![SseFrame::data("1"), SseFrame::data("2"), SseFrame::done()])
///     .header("x-request-id", "req_1")
///     .delay_headers(Duration::from_millis(50))
///     .stall_after(2);
/// # let _ = reply;
/// ```
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    defaults: &'static [(&'static str, &'static str)],
    content: Content,
    faults: Faults,
}

#[derive(Debug, Clone)]
enum Content {
    Bytes(Bytes),
    Sse(Vec<SseFrame>),
}

#[derive(Debug, Clone, Default)]
struct Faults {
    delay_headers: Option<Duration>,
    event_interval: Option<Duration>,
    chunk_size: Option<usize>,
    stall_after: Option<usize>,
    keepalive: Option<Duration>,
    close_after_bytes: Option<usize>,
    malformed: Vec<usize>,
    oversized: Vec<(usize, usize)>,
}

const JSON_DEFAULTS: &[(&str, &str)] = &[("content-type", "application/json")];
const TEXT_DEFAULTS: &[(&str, &str)] = &[("content-type", "text/plain; charset=utf-8")];
const SSE_DEFAULTS: &[(&str, &str)] = &[
    ("content-type", "text/event-stream"),
    ("cache-control", "no-cache"),
];

impl Reply {
    fn with_content(
        status: u16,
        defaults: &'static [(&'static str, &'static str)],
        content: Content,
    ) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            defaults,
            content,
            faults: Faults::default(),
        }
    }

    /// A JSON body (`content-type: application/json`), sent with a `content-length`.
    ///
    /// ```
    /// use cline_provider_testkit::Reply;
    /// let reply = Reply::json(429, serde_json::json!({"error": {"message": "slow down"}}))
    ///     .header("retry-after", "1");
    /// # let _ = reply;
    /// ```
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply::with_content(
            status,
            JSON_DEFAULTS,
            Content::Bytes(Bytes::from(body.to_string())),
        )
    }

    /// A redirect: `status` (301, 302, 303, 307, 308) with a `location` header and an empty
    /// body.
    ///
    /// ```
    /// use cline_provider_testkit::Reply;
    /// let reply = Reply::redirect(307, "http://127.0.0.1:9/v1/chat/completions");
    /// # let _ = reply;
    /// ```
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply::status(status).header("location", location)
    }

    /// A reply with an empty body and no `content-type`.
    pub fn status(status: u16) -> Reply {
        Reply::with_content(status, &[], Content::Bytes(Bytes::new()))
    }

    /// A plain-text body (`content-type: text/plain; charset=utf-8`).
    pub fn text(status: u16, body: impl Into<String>) -> Reply {
        Reply::with_content(
            status,
            TEXT_DEFAULTS,
            Content::Bytes(Bytes::from(body.into())),
        )
    }

    /// Arbitrary bytes with the given `content-type`.
    pub fn bytes(status: u16, content_type: &str, body: impl Into<Bytes>) -> Reply {
        Reply::with_content(status, &[], Content::Bytes(body.into()))
            .header("content-type", content_type)
    }

    /// A `200` server-sent-event stream (`content-type: text/event-stream`), sent with
    /// chunked transfer encoding like a real streaming endpoint.
    pub fn sse(frames: Vec<SseFrame>) -> Reply {
        Reply::with_content(200, SSE_DEFAULTS, Content::Sse(frames))
    }

    /// Replaces the status code (for example an SSE body with a `500`).
    pub fn with_status(mut self, status: u16) -> Reply {
        self.status = status;
        self
    }

    /// Adds a response header. Repeating a name sends it several times; a header named
    /// like a default one (`content-type`, `cache-control`) replaces that default.
    ///
    /// A name or value HTTP does not allow makes the server answer `500` with a
    /// `testkit_invalid_reply` JSON error instead of this reply.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Waits `d` before sending the status line and headers.
    pub fn delay_headers(mut self, d: Duration) -> Reply {
        self.faults.delay_headers = Some(d);
        self
    }

    /// Pauses `d` between two frames (an SSE reply's events; a plain body is one frame).
    pub fn event_interval(mut self, d: Duration) -> Reply {
        self.faults.event_interval = Some(d);
        self
    }

    /// Splits the body into writes (HTTP chunks) of at most `n` bytes, cutting through
    /// events, lines and UTF-8 sequences alike. `0` is an invalid script (`500`).
    pub fn chunk_size(mut self, n: usize) -> Reply {
        self.faults.chunk_size = Some(n);
        self
    }

    /// Sends the first `n_frames` frames, then nothing more while keeping the connection
    /// open, until the client closes it or [`STALL_LIMIT`] passes (then the connection is
    /// aborted). Frames are counted after [`Reply::malformed_at`] and
    /// [`Reply::oversized_at`] are applied; `n_frames` at or past the end sends everything
    /// and then stalls instead of ending the body.
    pub fn stall_after(mut self, n_frames: usize) -> Reply {
        self.faults.stall_after = Some(n_frames);
        self
    }

    /// During a [`Reply::stall_after`] stall, sends the comment `: keep-alive` every
    /// `every` (the first one `every` after the stall begins). No effect without a stall.
    pub fn keepalive_while_stalled(mut self, every: Duration) -> Reply {
        self.faults.keepalive = Some(every);
        self
    }

    /// Aborts the connection once `n` body bytes have been sent: the client sees a
    /// transport error or an incomplete body, never a clean end. Keep-alive comments
    /// count toward `n`.
    pub fn close_after_bytes(mut self, n: usize) -> Reply {
        self.faults.close_after_bytes = Some(n);
        self
    }

    /// Replaces SSE frame `index` (counting the frames given to [`Reply::sse`]) with
    /// [`MALFORMED_FRAME`], `data: {not json`. An index past the last frame, or a
    /// non-SSE reply, is an invalid script (`500`).
    pub fn malformed_at(mut self, index: usize) -> Reply {
        self.faults.malformed.push(index);
        self
    }

    /// Inserts, before SSE frame `index` (counting the frames given to [`Reply::sse`];
    /// the frame count itself appends at the end), one `data:` event whose payload is
    /// exactly `bytes` bytes long: the JSON object `{"x":"xxx…"}`. `bytes` below 8, an
    /// index past the end, or a non-SSE reply is an invalid script (`500`).
    pub fn oversized_at(mut self, index: usize, bytes: usize) -> Reply {
        self.faults.oversized.push((index, bytes));
        self
    }

    /// Checks the script and turns it into what the server sends, or explains what is wrong.
    fn prepare(&self) -> Result<Prepared, String> {
        let status = StatusCode::from_u16(self.status)
            .map_err(|_| format!("status {} is not a valid HTTP status code", self.status))?;
        if status.is_informational() {
            return Err(format!(
                "status {} is informational (1xx) and cannot end an exchange",
                self.status
            ));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let header_name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("header name {name:?} is not a valid HTTP header name"))?;
            // The value is left out of the message: it may be a credential under test.
            let header_value = HeaderValue::from_str(value).map_err(|_| {
                format!("the value of header {name:?} is not a valid HTTP header value")
            })?;
            headers.append(header_name, header_value);
        }
        for (name, value) in self.defaults {
            let header_name = HeaderName::from_static(name);
            if !headers.contains_key(&header_name) {
                headers.insert(header_name, HeaderValue::from_static(value));
            }
        }
        let faults = &self.faults;
        if faults.chunk_size == Some(0) {
            return Err("chunk_size(0) would never send a byte; use 1 or more".to_owned());
        }
        if faults.keepalive == Some(Duration::ZERO) {
            return Err("keepalive_while_stalled needs a period above zero".to_owned());
        }
        let (frames, is_sse) = match &self.content {
            Content::Bytes(body) => {
                if !faults.malformed.is_empty() || !faults.oversized.is_empty() {
                    return Err("malformed_at/oversized_at apply to SSE replies only".to_owned());
                }
                (vec![body.clone()], false)
            }
            Content::Sse(frames) => (apply_sse_faults(frames, faults)?, true),
        };
        let exact_len = if is_sse {
            None
        } else {
            Some(frames.iter().map(|f| f.len() as u64).sum())
        };
        Ok(Prepared {
            status,
            headers,
            frames,
            exact_len,
        })
    }

    /// Builds the HTTP response, sleeping first when headers are to be delayed. An invalid
    /// script becomes a `500` explaining the mistake, so a test fails loudly, not oddly.
    pub(crate) async fn respond(&self, method: &str, path: &str) -> Response<ReplyBody> {
        let prepared = match self.prepare() {
            Ok(prepared) => prepared,
            Err(why) => {
                tracing::error!(%method, %path, "testkit: invalid reply script: {why}");
                return invalid_script_response(method, path, &why);
            }
        };
        if let Some(delay) = self.faults.delay_headers {
            tokio::time::sleep(delay).await;
        }
        let body = start_body(prepared.frames, prepared.exact_len, &self.faults);
        let mut response = Response::new(body);
        *response.status_mut() = prepared.status;
        *response.headers_mut() = prepared.headers;
        response
    }
}

struct Prepared {
    status: StatusCode,
    headers: HeaderMap,
    frames: Vec<Bytes>,
    exact_len: Option<u64>,
}

fn apply_sse_faults(frames: &[SseFrame], faults: &Faults) -> Result<Vec<Bytes>, String> {
    let len = frames.len();
    if let Some(&bad) = faults.malformed.iter().find(|&&i| i >= len) {
        return Err(format!(
            "malformed_at({bad}) but the reply has {len} frames (valid: 0..{len})"
        ));
    }
    for &(at, bytes) in &faults.oversized {
        if at > len {
            return Err(format!(
                "oversized_at({at}, ..) but the reply has {len} frames (valid: 0..={len})"
            ));
        }
        if bytes < MIN_OVERSIZED {
            return Err(format!(
                "oversized_at(.., {bytes}) is below the smallest JSON payload ({MIN_OVERSIZED} bytes)"
            ));
        }
    }
    let mut out = Vec::with_capacity(len + faults.oversized.len());
    for index in 0..=len {
        for &(_, bytes) in faults.oversized.iter().filter(|(at, _)| *at == index) {
            out.push(oversized_event(bytes));
        }
        if let Some(frame) = frames.get(index) {
            if faults.malformed.contains(&index) {
                out.push(Bytes::from_static(MALFORMED_FRAME.as_bytes()));
            } else {
                out.push(Bytes::from(frame.as_wire().to_owned()));
            }
        }
    }
    Ok(out)
}

/// `data: {"x":"xxx…"}\n\n` with a payload of exactly `payload_len` bytes.
fn oversized_event(payload_len: usize) -> Bytes {
    let mut wire = BytesMut::with_capacity(payload_len + 8);
    wire.extend_from_slice(b"data: {\"x\":\"");
    wire.resize(wire.len() + payload_len - MIN_OVERSIZED, b'x');
    wire.extend_from_slice(b"\"}\n\n");
    wire.freeze()
}

fn invalid_script_response(method: &str, path: &str, why: &str) -> Response<ReplyBody> {
    let body = serde_json::json!({
        "error": {
            "message": format!("testkit: invalid reply scripted for {method} {path}: {why}"),
            "type": "testkit_invalid_reply",
            "param": null,
            "code": null,
        }
    })
    .to_string();
    let len = body.len() as u64;
    let mut response = Response::new(ReplyBody::once(Bytes::from(body), Some(len)));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Plain JSON responses the server builds itself (404 for unmatched routes, …).
pub(crate) fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<ReplyBody> {
    let body = body.to_string();
    let len = body.len() as u64;
    let mut response = Response::new(ReplyBody::once(Bytes::from(body), Some(len)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Starts sending: a one-shot body when nothing needs pacing, else a producer task that
/// feeds a one-slot channel, so every pause and stall really happens on the socket.
fn start_body(frames: Vec<Bytes>, exact_len: Option<u64>, faults: &Faults) -> ReplyBody {
    let paced = faults.event_interval.is_some()
        || faults.chunk_size.is_some()
        || faults.stall_after.is_some()
        || faults.close_after_bytes.is_some();
    if !paced {
        let total: usize = frames.iter().map(Bytes::len).sum();
        let mut body = BytesMut::with_capacity(total);
        for frame in &frames {
            body.extend_from_slice(frame);
        }
        return ReplyBody::once(body.freeze(), exact_len);
    }
    let (tx, rx) = mpsc::channel(1);
    let producer = Producer {
        tx,
        chunk_size: faults.chunk_size,
        budget: faults.close_after_bytes,
        interval: faults.event_interval,
        stall_after: faults.stall_after,
        keepalive: faults.keepalive,
    };
    tokio::spawn(producer.run(frames));
    ReplyBody {
        state: BodyState::Channel {
            rx,
            held_error: None,
        },
        exact_len,
    }
}

type Chunk = Result<Bytes, io::Error>;

#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

struct Producer {
    tx: mpsc::Sender<Chunk>,
    chunk_size: Option<usize>,
    budget: Option<usize>,
    interval: Option<Duration>,
    stall_after: Option<usize>,
    keepalive: Option<Duration>,
}

impl Producer {
    async fn run(mut self, frames: Vec<Bytes>) {
        if self.budget == Some(0) {
            self.abort("after 0 body bytes").await;
            return;
        }
        for (index, frame) in frames.iter().enumerate() {
            if self.stall_after == Some(index) {
                self.stall().await;
                return;
            }
            if index > 0 {
                if let Some(interval) = self.interval {
                    if self.pause(interval).await == Flow::Stop {
                        return;
                    }
                }
            }
            if self.write(frame.clone()).await == Flow::Stop {
                return;
            }
        }
        if self.stall_after.is_some_and(|n| n >= frames.len()) {
            self.stall().await;
        }
        // Dropping the sender ends the body cleanly.
    }

    /// Sends `bytes` in `chunk_size` pieces, aborting the connection when the byte budget
    /// of `close_after_bytes` runs out.
    async fn write(&mut self, mut bytes: Bytes) -> Flow {
        while !bytes.is_empty() {
            let mut n = bytes.len();
            if let Some(chunk) = self.chunk_size {
                n = n.min(chunk);
            }
            if let Some(budget) = self.budget {
                n = n.min(budget);
            }
            let piece = bytes.split_to(n);
            if self.tx.send(Ok(piece)).await.is_err() {
                return Flow::Stop;
            }
            if let Some(budget) = self.budget.as_mut() {
                *budget -= n;
                if *budget == 0 {
                    self.abort("after the scripted number of body bytes").await;
                    return Flow::Stop;
                }
            }
        }
        Flow::Continue
    }

    async fn pause(&self, d: Duration) -> Flow {
        tokio::select! {
            _ = tokio::time::sleep(d) => Flow::Continue,
            _ = self.tx.closed() => Flow::Stop,
        }
    }

    async fn stall(&mut self) {
        let deadline = Instant::now() + STALL_LIMIT;
        loop {
            let wake = match self.keepalive {
                Some(every) => (Instant::now() + every).min(deadline),
                None => deadline,
            };
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                _ = self.tx.closed() => return,
            }
            if Instant::now() >= deadline {
                self.abort("after a stall that nobody ended").await;
                return;
            }
            if self
                .write(Bytes::from_static(KEEPALIVE_FRAME.as_bytes()))
                .await
                == Flow::Stop
            {
                return;
            }
        }
    }

    /// Ends the body with an error, which makes hyper drop the connection without a
    /// clean end. The bytes handed over before must reach the socket first: wait until
    /// hyper has taken them, then give it a moment to flush, holding the only channel
    /// slot so the body stays pending meanwhile.
    async fn abort(&self, when: &str) {
        let Ok(permit) = self.tx.reserve().await else {
            return;
        };
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            _ = self.tx.closed() => return,
        }
        permit.send(Err(io::Error::other(format!(
            "testkit: connection aborted {when}, as scripted"
        ))));
    }
}

/// The response body type of the fake server.
pub(crate) struct ReplyBody {
    state: BodyState,
    exact_len: Option<u64>,
}

enum BodyState {
    Once(Option<Bytes>),
    Channel {
        rx: mpsc::Receiver<Chunk>,
        held_error: Option<io::Error>,
    },
}

impl ReplyBody {
    pub(crate) fn once(bytes: Bytes, exact_len: Option<u64>) -> ReplyBody {
        ReplyBody {
            state: BodyState::Once(Some(bytes).filter(|b| !b.is_empty())),
            exact_len,
        }
    }
}

impl Body for ReplyBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match &mut self.get_mut().state {
            BodyState::Once(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            BodyState::Channel { rx, held_error } => {
                if let Some(error) = held_error.take() {
                    return Poll::Ready(Some(Err(error)));
                }
                match ready!(rx.poll_recv(cx)) {
                    Some(Ok(bytes)) => Poll::Ready(Some(Ok(Frame::data(bytes)))),
                    // Answer "not yet" once before the error: hyper flushes what it has
                    // buffered whenever the body is pending, so the bytes sent before
                    // the abort reach the socket even if the producer raced ahead.
                    Some(Err(error)) => {
                        *held_error = Some(error);
                        cx.waker().wake_by_ref();
                        Poll::Pending
                    }
                    None => Poll::Ready(None),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.state, BodyState::Once(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self.exact_len {
            Some(len) => SizeHint::with_exact(len),
            None => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames() -> Vec<SseFrame> {
        vec![SseFrame::data("a"), SseFrame::data("b")]
    }

    #[test]
    fn oversized_payload_has_the_requested_size() {
        for size in [8, 9, 100, 65_536] {
            let event = oversized_event(size);
            let payload = &event[6..event.len() - 2];
            assert_eq!(payload.len(), size);
            let value: serde_json::Value = serde_json::from_slice(payload).expect("valid JSON");
            assert_eq!(
                value["x"].as_str().map(str::len),
                Some(size - MIN_OVERSIZED)
            );
        }
    }

    #[test]
    fn faults_are_applied_against_original_indices() {
        let faults = Faults {
            malformed: vec![1],
            oversized: vec![(1, 10), (2, 8)],
            ..Faults::default()
        };
        let out = apply_sse_faults(&frames(), &faults).expect("valid script");
        let text: Vec<&[u8]> = out.iter().map(|b| b.as_ref()).collect();
        assert_eq!(
            text,
            vec![
                &b"data: a\n\n"[..],
                &b"data: {\"x\":\"xx\"}\n\n"[..],
                MALFORMED_FRAME.as_bytes(),
                &b"data: {\"x\":\"\"}\n\n"[..],
            ]
        );
    }

    #[test]
    fn bad_scripts_are_explained() {
        let cases = [
            (Reply::status(1000), "not a valid HTTP status"),
            (Reply::status(101), "informational"),
            (Reply::status(200).header("bad name", "v"), "header name"),
            (
                Reply::status(200).header("x-key", "line\nbreak"),
                "value of header \"x-key\"",
            ),
            (Reply::status(200).chunk_size(0), "chunk_size(0)"),
            (
                Reply::sse(frames()).keepalive_while_stalled(Duration::ZERO),
                "period above zero",
            ),
            (Reply::text(200, "x").malformed_at(0), "SSE replies only"),
            (Reply::sse(frames()).malformed_at(2), "malformed_at(2)"),
            (Reply::sse(frames()).oversized_at(3, 100), "oversized_at(3"),
            (
                Reply::sse(frames()).oversized_at(0, 7),
                "smallest JSON payload",
            ),
        ];
        for (reply, needle) in cases {
            match reply.prepare() {
                Ok(_) => panic!("{reply:?} should be rejected"),
                Err(why) => assert!(why.contains(needle), "{why:?} should mention {needle:?}"),
            }
        }
    }

    #[test]
    fn header_values_stay_out_of_explanations() {
        let Err(why) = Reply::status(200)
            .header("authorization", "sk-secret\n")
            .prepare()
        else {
            panic!("an invalid header value must be rejected");
        };
        assert!(!why.contains("sk-secret"), "{why}");
    }

    #[test]
    fn user_headers_replace_defaults() {
        let prepared = Reply::json(200, serde_json::json!({}))
            .header("content-type", "application/problem+json")
            .header("x-a", "1")
            .header("x-a", "2")
            .prepare()
            .expect("valid script");
        let types: Vec<_> = prepared.headers.get_all("content-type").iter().collect();
        assert_eq!(types, vec!["application/problem+json"]);
        let xs: Vec<_> = prepared.headers.get_all("x-a").iter().collect();
        assert_eq!(xs, vec!["1", "2"]);
    }

    #[test]
    fn only_plain_bodies_announce_their_length() {
        let plain = Reply::text(200, "hello").prepare().expect("valid");
        assert_eq!(plain.exact_len, Some(5));
        let sse = Reply::sse(frames()).prepare().expect("valid");
        assert_eq!(sse.exact_len, None);
    }
}
