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
mod proxy;
mod redirect;
mod request_spec;
mod scrub;
mod send_error;
pub mod sse;
mod time;
mod tls;

pub use classify::{
    classify, classify_in_band, default_error_mapper, parse_retry_after, ErrorDetails,
};
pub use client::HttpClient;
pub use config::{
    default_user_agent, HttpConfig, ProxyConfig, RedirectPolicy, RetryCallback, RetryInfo,
    RetryPolicy,
};
pub use endpoint::{
    check_endpoint_url, is_credential_header, is_credential_query_param, is_loopback,
    is_plain_http_to_remote, redact_url, url_credentials,
};
pub use request_spec::{Fetched, NewDecoder, RequestSpec};

use crate::error::{Error, Result};

/// Checks a header name and value before they reach the wire: a name must be a valid HTTP
/// token and a value must not contain CR, LF or other control characters (header injection).
///
/// ```
/// use cline_provider_core::http::validate_header;
/// assert!(validate_header("X-Team", "blue").is_ok());
/// assert!(validate_header("X-Team", "a\r\nEvil: 1").is_err());
/// assert!(validate_header("Bad Name", "x").is_err());
/// ```
pub fn validate_header(name: &str, value: &str) -> Result<()> {
    let field = format!("headers.{name}");
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(Error::invalid_config(
            field,
            "a header name may contain only letters, digits and !#$%&'*+-.^_`|~ (no spaces)",
        ));
    }
    if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(Error::invalid_config(
            field,
            "a header value must not contain line breaks (CR/LF) or control characters",
        ));
    }
    if http::HeaderValue::from_str(value).is_err() {
        return Err(Error::invalid_config(
            field,
            "the header value is not valid",
        ));
    }
    Ok(())
}
