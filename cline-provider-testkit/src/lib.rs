//! A protocol-faithful fake LLM server for `cline-provider`'s tests and offline demo.
//!
//! [`TestServer`] is a real HTTP/1.1 server (hyper) on `127.0.0.1:0`. Each test scripts
//! routes with [`Reply`]s (JSON, text, server-sent events) and can inject the faults
//! real endpoints produce: a delay before headers, pauses between events, tiny writes,
//! a stall mid-stream (with or without keep-alive comments), a dropped connection,
//! malformed or oversized events. Every request is recorded for assertions.
//!
//! [`TestServer::start_tls`] serves HTTPS with a per-test certificate authority
//! ([`TestCertificates`]), for clients that insist on TLS and for certificate failures.
//!
//! [`openai`] builds chat-completions fixtures; [`oauth`] plays OpenAI's issuer for "Sign in
//! with OpenAI"; [`responses`] plays the ChatGPT backend's Codex endpoint (the Responses
//! API); [`demo`] is the offline endpoint the `chat` example falls back to.
//!
//! ```
//! use std::time::Duration;
//! use cline_provider_testkit::{openai, Reply, TestServer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let server = TestServer::start().await?;
//! server.route(
//!     "POST",
//!     "/v1/chat/completions",
//!     Reply::sse(openai::text_stream("gpt-test", &["Hi", "!"], "stop", Some((5, 2))))
//!         .event_interval(Duration::from_millis(5)),
//! );
//! let base_url = format!("{}/v1", server.url());
//! # let _ = base_url;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod azure;
pub mod demo;
pub mod fixtures;
pub mod oauth;
pub mod openai;
mod reply;
pub mod responses;
mod server;
pub mod shared;
pub mod spec;
mod sse;
mod tls;

pub use reply::{Reply, KEEPALIVE_FRAME, MALFORMED_FRAME, STALL_LIMIT};
pub use server::{ConnectionsStillOpen, RecordedRequest, TestServer};
pub use sse::{render_sse, SseFrame};
pub use tls::TestCertificates;
