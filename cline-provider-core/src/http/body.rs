//! The one place a response body is read whole: bounded in size, in time between pieces, and
//! by the request's deadline.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::time::Instant;

use super::send_error::error_chain;
use super::time::bounded;
use crate::error::{Error, ErrorKind, Result, TimeoutPhase};

/// What to do with a body larger than the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OverCap {
    /// Keep the first `cap` bytes (error bodies: the start says what went wrong).
    Truncate,
    /// Fail: a cut JSON document is worth nothing.
    Refuse,
}

/// Reads `response`'s body, at most `cap` bytes. Waits at most `idle` for each piece and never
/// past `deadline`. With [`OverCap::Truncate`] it never fails: a failure ends the body there.
///
/// # Errors
///
/// `Truncated` when the connection fails or a wait runs out before the body ends (the caller
/// may retry: nothing reached its caller yet), `Protocol` past the cap with [`OverCap::Refuse`],
/// `Timeout(Total)` at the deadline.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
    over_cap: OverCap,
    idle: Duration,
    deadline: Option<Instant>,
    what: &str,
) -> Result<Bytes> {
    let mut body = BytesMut::new();
    loop {
        let next = bounded(response.chunk(), idle, deadline).await;
        // An error body is evidence, not data: what arrived before a failure still helps.
        if over_cap == OverCap::Truncate && !matches!(next, Ok(Ok(Some(_)))) {
            return Ok(body.freeze());
        }
        let chunk = match next {
            Ok(Ok(Some(chunk))) => chunk,
            Ok(Ok(None)) => return Ok(body.freeze()),
            Ok(Err(e)) => {
                return Err(Error::new(
                    ErrorKind::Truncated,
                    format!(
                        "the {what} was cut off after {} bytes: {}",
                        body.len(),
                        error_chain(&e)
                    ),
                )
                .with_source(e.without_url()))
            }
            Err(TimeoutPhase::Total) => {
                return Err(Error::new(
                    ErrorKind::Timeout(TimeoutPhase::Total),
                    format!("timed out reading the {what} within the request's total timeout"),
                ))
            }
            Err(_) => {
                return Err(Error::new(
                    ErrorKind::Truncated,
                    format!(
                        "the {what} stalled after {} bytes (nothing for {idle:?})",
                        body.len()
                    ),
                ))
            }
        };
        let room = cap - body.len();
        if chunk.len() > room {
            match over_cap {
                OverCap::Truncate => {
                    body.extend_from_slice(&chunk[..room]);
                    return Ok(body.freeze());
                }
                OverCap::Refuse => {
                    return Err(Error::new(
                        ErrorKind::Protocol,
                        format!(
                            "the {what} is larger than the {} this SDK reads",
                            human_bytes(cap)
                        ),
                    ))
                }
            }
        }
        body.extend_from_slice(&chunk);
    }
}

/// Reads a whole (non-streamed) response body, refusing more than `cap` bytes, for a backend
/// that sent with [`HttpClient::send`](super::HttpClient::send) itself (one that can, should
/// rather use [`HttpClient::fetch`](super::HttpClient::fetch), which also retries a cut).
///
/// # Errors
///
/// [`Truncated`](ErrorKind::Truncated) when the connection breaks, [`Protocol`](ErrorKind::Protocol)
/// naming `what` past the cap.
///
/// # Cancellation
///
/// Dropping the future drops the response, which closes the connection.
pub async fn read_body_capped(
    response: reqwest::Response,
    cap: usize,
    what: &str,
) -> Result<Vec<u8>> {
    read_capped(response, cap, OverCap::Refuse, Duration::MAX, None, what)
        .await
        .map(Vec::from)
}

fn human_bytes(n: usize) -> String {
    if n >= 1024 * 1024 && n.is_multiple_of(1024 * 1024) {
        format!("{} MiB", n / (1024 * 1024))
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}
