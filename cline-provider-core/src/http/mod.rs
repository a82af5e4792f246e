//! HTTP plumbing shared by every backend: one client per configuration, retries while nothing
//! has reached the caller, four timeouts, cancellation, no redirects for LLM requests, secrets
//! scrubbed from errors, and server-sent-event streaming.
//!
//! A backend describes its request with a [`RequestSpec`] (a factory that builds each attempt
//! afresh, and a mapper for its error bodies), and its event protocol with an
//! [`SseDecoder`](sse::SseDecoder); [`HttpClient::stream_sse`] does the rest.
//!
//! ```no_run
//! use cline_provider_core::http::sse::{SseDecoder, SseEvent};
//! use cline_provider_core::http::{default_error_mapper, HttpClient, HttpConfig, RequestSpec};
//! use cline_provider_core::{Result, StreamEvent};
//! use futures_util::StreamExt;
//!
//! struct Echo;
//! impl SseDecoder for Echo {
//!     fn decode(&mut self, e: &SseEvent, out: &mut Vec<StreamEvent>) -> Result<bool> {
//!         if e.data == "[DONE]" {
//!             return Ok(true);
//!         }
//!         out.push(StreamEvent::TextDelta { text: e.data.clone() });
//!         Ok(false)
//!     }
//! }
//!
//! # async fn run() -> Result<()> {
//! let client = HttpClient::new(HttpConfig::default())?;
//! let build = |c: &reqwest::Client| Ok(c.post("https://llm.example/v1/chat/completions").body("{}"));
//! let spec = RequestSpec::new(&build, &default_error_mapper);
//! let mut events = client.stream_sse(&spec, &|| Box::new(Echo)).await?;
//! while let Some(event) = events.next().await {
//!     println!("{:?}", event?);
//! }
//! # Ok(())
//! # }
//! ```

mod body;
mod classify;
mod client;
mod config;
mod endpoint;
mod event_stream;
mod headers;
mod proxy;
mod redirect;
mod request_spec;
mod scrub;
mod send_error;
pub mod sse;
mod time;
mod tls;

pub use body::read_body_capped;
pub use classify::{
    classify, classify_in_band, default_error_mapper, in_band_error, map_error_with,
    parse_retry_after, wait_from_message, ErrorDetails,
};
pub use client::HttpClient;
pub use config::{
    default_user_agent, HttpConfig, ProxyConfig, RedirectPolicy, RetryCallback, RetryInfo,
    RetryPolicy,
};
pub use endpoint::{
    check_endpoint_url, check_plain_http, is_credential_query_param, is_loopback,
    is_plain_http_to_remote, redact_url, redacted_url, url_credentials, ConfigWarning,
    CredentialKind,
};
pub use headers::{forbidden_header_reason, header_pair, is_credential_header, validate_header};
pub use request_spec::{Fetched, NewDecoder, RequestSpec};
