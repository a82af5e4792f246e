//! The poll-driven event stream: body bytes → SSE frames → decoded [`StreamEvent`]s.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use secrecy::ExposeSecret;

use super::config::HttpConfig;
use super::scrub::Secrets;
use super::send_error::error_chain;
use super::sse::{SseDecoder, SseParser};
use super::time::after;
use crate::error::{Error, ErrorKind, Result, TimeoutPhase};
use crate::stream::StreamEvent;

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the body.
    Streaming,
    /// The terminal event arrived; hand out what is pending, then end.
    Terminal,
    /// Ended (cleanly or after an error): only `None` from now on.
    Done,
}

/// The whole-request deadline, shared with the retries that came before the stream.
struct TotalDeadline {
    limit: Duration,
    at: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
}

/// Owns the response body, the parser, the decoder and the timers. Nothing runs unless the
/// caller polls, and dropping it drops the body, which closes the connection.
pub(crate) struct SseStream {
    body: Option<Body>,
    parser: SseParser,
    decoder: Box<dyn SseDecoder>,
    /// Decoded events not handed out yet, **last first**: the decoder appends an event's
    /// output here (nearly always one event), and taking the next one is a `pop`. No queue,
    /// no second copy.
    pending: Vec<StreamEvent>,
    state: State,
    /// The body ended; the parser may still hold the last event.
    eof: bool,
    events_seen: u64,
    /// An event was handed to the caller: later errors are `after_output`.
    delivered: bool,
    progress: u64,
    /// Bytes were fed since progress was last measured. Progress is measured once the parser
    /// has taken every complete line, never right after a feed: unread lines would count as
    /// progress whatever they hold (a keep-alive's blank line, say).
    unmeasured: bool,
    idle_timeout: Duration,
    idle_deadline: Instant,
    /// Timers are created on first use, inside the runtime that polls the stream. The idle
    /// timer is not moved every time data arrives (that costs a timer-wheel update per body
    /// piece): it stays armed at an earlier deadline, and when it fires early it is re-armed
    /// at the current one.
    idle: Option<Pin<Box<Sleep>>>,
    total: Option<TotalDeadline>,
    cancel: Option<(CancellationToken, Pin<Box<WaitForCancellationFutureOwned>>)>,
    /// The request's credentials, removed from any error before it is handed out.
    secrets: Secrets,
}

impl SseStream {
    pub(crate) fn new(
        response: reqwest::Response,
        mut decoder: Box<dyn SseDecoder>,
        config: &HttpConfig,
        deadline: Option<(Instant, Duration)>,
        cancel: Option<CancellationToken>,
        secrets: Secrets,
    ) -> Self {
        decoder.on_response_headers(response.headers());
        let now = Instant::now();
        let idle_deadline = after(now, config.idle_timeout);
        SseStream {
            body: Some(Box::pin(response.bytes_stream())),
            parser: SseParser::with_max_event_bytes(config.max_event_bytes),
            decoder,
            pending: Vec::new(),
            state: State::Streaming,
            eof: false,
            events_seen: 0,
            delivered: false,
            progress: 0,
            unmeasured: false,
            idle_timeout: config.idle_timeout,
            idle_deadline,
            idle: None,
            total: deadline.map(|(at, limit)| TotalDeadline {
                limit,
                at,
                sleep: None,
            }),
            cancel: cancel.map(|t| {
                let fut = Box::pin(t.clone().cancelled_owned());
                (t, fut)
            }),
            secrets,
        }
    }

    /// Waits until the first event is ready (it stays queued) or the stream ends; returns the
    /// error that ended it before any event. Nothing counts as delivered yet, so the engine
    /// may still retry.
    ///
    /// [`StreamEvent::Metadata`] and [`StreamEvent::RateLimits`] are not output
    /// ([`StreamEvent::is_output`]): the wait goes on past them to the first event that is, so
    /// that an error right after them is still retried.
    pub(crate) async fn prefetch(&mut self) -> Option<Error> {
        // Events held back (metadata, rate limits): the first without an allocation, more in a
        // list.
        let mut first_held = None;
        let mut held = Vec::new();
        loop {
            match std::future::poll_fn(|cx| self.poll_event(cx)).await {
                Some(Ok(event)) if !event.is_output() => match first_held {
                    None => first_held = Some(event),
                    Some(_) => held.push(event),
                },
                Some(Ok(event)) => {
                    self.pending.push(event);
                    break;
                }
                Some(Err(err)) => return Some(err),
                None => {
                    // Ended cleanly after metadata only: hand that out before the end.
                    self.state = if first_held.is_none() {
                        State::Done
                    } else {
                        State::Terminal
                    };
                    break;
                }
            }
        }
        // `pending` is last first: the held metadata goes after (so before) the first event.
        for event in held.into_iter().rev().chain(first_held) {
            self.pending.push(event);
        }
        None
    }

    /// Ends the stream with `err`, dropping the body (and so the connection) at once.
    fn fail(&mut self, mut err: Error) -> Poll<Option<Result<StreamEvent>>> {
        self.state = State::Done;
        self.body = None;
        self.pending.clear();
        if !self.secrets.is_empty() {
            err = err.scrub(self.secrets.iter().map(|s| s.expose_secret()));
        }
        tracing::debug!(kind = ?err.kind(), "event stream ended with an error: {err}");
        Poll::Ready(Some(Err(err)))
    }

    /// Parses and decodes buffered events until one produces output or the buffer runs dry.
    /// Returns `Some(err)` on a framing or decoding error.
    fn drain_parser(&mut self) -> Option<Error> {
        while self.pending.is_empty() && self.state == State::Streaming {
            let event = match self.parser.next_event()? {
                Ok(event) => event,
                Err(e) => return Some(e),
            };
            self.events_seen += 1;
            let decoded = self.decoder.decode(&event, &mut self.pending);
            self.parser.recycle(event);
            let terminal = match decoded {
                Ok(terminal) => terminal,
                Err(e) => {
                    self.pending.clear();
                    return Some(e);
                }
            };
            self.pending.reverse();
            if terminal {
                self.state = State::Terminal;
            }
        }
        None
    }

    fn truncated(&self, why: &str) -> Error {
        Error::new(
            ErrorKind::Truncated,
            format!(
                "the response stream ended before its terminal event ({why}; {} events received)",
                self.events_seen
            ),
        )
    }
}

impl Stream for SseStream {
    type Item = Result<StreamEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match this.poll_event(cx) {
            Poll::Ready(Some(Ok(event))) => {
                this.delivered = true;
                Poll::Ready(Some(Ok(event)))
            }
            Poll::Ready(Some(Err(err))) if this.delivered => {
                Poll::Ready(Some(Err(err.after_output())))
            }
            other => other,
        }
    }
}

impl SseStream {
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<StreamEvent>>> {
        let this = self;
        if this.state == State::Done {
            return Poll::Ready(None);
        }
        // Cheap checks first; the timers' futures are only polled before returning Pending.
        if this.cancel.as_ref().is_some_and(|(t, _)| t.is_cancelled()) {
            return this.fail(Error::new(
                ErrorKind::Cancelled,
                "the request was cancelled",
            ));
        }
        loop {
            if let Some(event) = this.pending.pop() {
                return Poll::Ready(Some(Ok(event)));
            }
            if this.state == State::Terminal {
                // One look at the body: if its end already arrived, the connection goes back
                // to the pool; otherwise it is closed. Either way nothing more is waited for.
                if let Some(body) = this.body.as_mut() {
                    let _ = body.as_mut().poll_next(cx);
                }
                this.body = None;
                this.state = State::Done;
                return Poll::Ready(None);
            }
            if let Some(err) = this.drain_parser() {
                return this.fail(err);
            }
            if !this.pending.is_empty() || this.state != State::Streaming {
                continue;
            }
            if this.eof {
                return this.fail(this.truncated("the server closed the body"));
            }
            // Deadlines are read once per body piece, not once per event.
            let now = Instant::now();
            if let Some(total) = &this.total {
                if now >= total.at {
                    let limit = total.limit;
                    return this.fail(Error::timeout(TimeoutPhase::Total, limit));
                }
            }
            if std::mem::take(&mut this.unmeasured) {
                // The parser is dry: what it has not taken is one incomplete line, so its
                // progress counts field lines only.
                let progress = this.parser.progress();
                if progress != this.progress {
                    this.progress = progress;
                    this.idle_deadline = after(now, this.idle_timeout);
                } else if now >= this.idle_deadline {
                    // Only comments keep arriving: they are not progress.
                    let idle = this.idle_timeout;
                    return this.fail(Error::timeout(TimeoutPhase::Idle, idle));
                }
            }
            let Some(body) = this.body.as_mut() else {
                return this.fail(this.truncated("the body was closed"));
            };
            match body.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(bytes))) => {
                    this.parser.feed(&bytes);
                    this.unmeasured = true;
                }
                Poll::Ready(Some(Err(e))) => {
                    let why = format!("the connection failed: {}", error_chain(&e));
                    let err = this.truncated(&why).with_source(e.without_url());
                    return this.fail(err);
                }
                Poll::Ready(None) => {
                    this.body = None;
                    this.eof = true;
                    this.parser.finish();
                }
                Poll::Pending => {
                    if let Some((_, fut)) = this.cancel.as_mut() {
                        if fut.as_mut().poll(cx).is_ready() {
                            return this.fail(Error::new(
                                ErrorKind::Cancelled,
                                "the request was cancelled",
                            ));
                        }
                    }
                    if let Some(total) = this.total.as_mut() {
                        let at = total.at;
                        let sleep = total
                            .sleep
                            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
                        if sleep.as_mut().poll(cx).is_ready() {
                            let limit = total.limit;
                            return this.fail(Error::timeout(TimeoutPhase::Total, limit));
                        }
                    }
                    let deadline = this.idle_deadline;
                    let idle = this
                        .idle
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                    // Armed at an earlier deadline: fired early, so move it and poll again.
                    while idle.as_mut().poll(cx).is_ready() {
                        if idle.deadline() >= deadline {
                            let idle = this.idle_timeout;
                            return this.fail(Error::timeout(TimeoutPhase::Idle, idle));
                        }
                        idle.as_mut().reset(deadline);
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}
