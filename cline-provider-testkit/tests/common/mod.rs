//! Helpers shared by the integration tests: a plain reqwest client and chunk readers.
#![allow(dead_code)]

use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

/// A plain client that never goes through a proxy, whatever the environment says.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("a plain reqwest client builds")
}

/// What reading a body until it ends (or a quiet window passes) produced.
#[derive(Debug, Default)]
pub struct Read {
    /// Each chunk as the client received it.
    pub chunks: Vec<Bytes>,
    /// The body stream returned an error.
    pub error: bool,
    /// The body ended (cleanly or with an error) before the quiet window passed.
    pub ended: bool,
}

impl Read {
    pub fn bytes(&self) -> Vec<u8> {
        self.chunks.iter().flat_map(|c| c.iter().copied()).collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }
}

/// Reads chunks until the body ends or nothing arrives for `quiet`.
pub async fn read_until_quiet(
    stream: &mut (impl Stream<Item = reqwest::Result<Bytes>> + Unpin),
    quiet: Duration,
) -> Read {
    let mut read = Read::default();
    loop {
        match tokio::time::timeout(quiet, stream.next()).await {
            Err(_) => return read,
            Ok(None) => {
                read.ended = true;
                return read;
            }
            Ok(Some(Ok(chunk))) => read.chunks.push(chunk),
            Ok(Some(Err(_))) => {
                read.error = true;
                read.ended = true;
                return read;
            }
        }
    }
}

/// Reads chunks until `wanted` bytes arrived, the body ends, or `limit` passes.
pub async fn read_at_least(
    stream: &mut (impl Stream<Item = reqwest::Result<Bytes>> + Unpin),
    wanted: usize,
    limit: Duration,
) -> Read {
    let mut read = Read::default();
    let deadline = tokio::time::Instant::now() + limit;
    while read.chunks.iter().map(Bytes::len).sum::<usize>() < wanted {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) => return read,
            Ok(None) => {
                read.ended = true;
                return read;
            }
            Ok(Some(Ok(chunk))) => read.chunks.push(chunk),
            Ok(Some(Err(_))) => {
                read.error = true;
                read.ended = true;
                return read;
            }
        }
    }
    read
}

/// Splits an SSE body into its events (the text between blank lines).
pub fn sse_events(body: &str) -> Vec<&str> {
    body.split("\n\n").filter(|e| !e.is_empty()).collect()
}

/// The `data:` payload of an event (its `data:` lines joined with `\n`).
pub fn sse_data(event: &str) -> String {
    event
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(|rest| rest.strip_prefix(' ').unwrap_or(rest))
        .collect::<Vec<_>>()
        .join("\n")
}
