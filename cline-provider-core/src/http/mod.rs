//! HTTP plumbing shared by every backend: one client per configuration, retries before the
//! first byte, four timeouts, cancellation, and server-sent-event streaming.
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
//! let mut events = client.stream_sse(&spec, Box::new(Echo)).await?;
//! while let Some(event) = events.next().await {
//!     println!("{:?}", event?);
//! }
//! # Ok(())
//! # }
//! ```

mod client;
mod config;
mod endpoint;
mod errors;
pub mod sse;
mod stream;

pub use client::{HttpClient, RequestSpec};
pub use config::{
    default_user_agent, HttpConfig, ProxyConfig, RetryCallback, RetryInfo, RetryPolicy,
};
pub use endpoint::{
    check_endpoint_url, is_credential_header, is_loopback, is_plain_http_to_remote,
};
pub use errors::{classify, default_error_mapper, parse_retry_after, ErrorDetails};

use crate::error::{Error, Result};

/// A checked header (see [`validate_header`]) ready for a request; a value whose name looks
/// like a credential ([`is_credential_header`]) is marked sensitive, so no `Debug` and no
/// HTTP/2 header table shows it. Errors name the field `headers.<name>`.
///
/// ```
/// use cline_provider_core::http::header_pair;
/// let (name, value) = header_pair("X-Api-Key", "k")?;
/// assert_eq!(name.as_str(), "x-api-key");
/// assert!(value.is_sensitive());
/// assert!(header_pair("X-Team", "a\r\nb").is_err());
/// # Ok::<(), cline_provider_core::Error>(())
/// ```
pub fn header_pair(name: &str, value: &str) -> Result<(http::HeaderName, http::HeaderValue)> {
    validate_header(name, value)?;
    let invalid = || Error::invalid_config(format!("headers.{name}"), "the header is not valid");
    let header_name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
    let mut header_value = http::HeaderValue::from_str(value).map_err(|_| invalid())?;
    if is_credential_header(name) {
        header_value.set_sensitive(true);
    }
    Ok((header_name, header_value))
}

/// Reads a whole (non-streamed) response body, refusing more than `cap` bytes: a
/// [`Truncated`](crate::ErrorKind::Truncated) error when the connection breaks, a
/// [`Protocol`](crate::ErrorKind::Protocol) error naming `what` past the cap.
///
/// # Cancellation
///
/// Dropping the future drops the response, which closes the connection.
pub async fn read_body_capped(
    mut response: reqwest::Response,
    cap: usize,
    what: &str,
) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        Error::new(
            crate::ErrorKind::Truncated,
            format!(
                "the {what} was cut off while reading it: {}",
                e.without_url()
            ),
        )
    })? {
        if body.len() + chunk.len() > cap {
            return Err(Error::new(
                crate::ErrorKind::Protocol,
                format!("the {what} is larger than {} MiB", cap / (1024 * 1024)),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

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
