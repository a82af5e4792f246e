//! What a failed send means: the transport error of an attempt mapped to an [`Error`] kind, and
//! how URLs and causes are named in messages without leaking a query's credentials.

use std::time::Duration;

use super::tls::is_certificate_error;
use crate::error::{Error, ErrorKind, TimeoutPhase};

/// Maps a failure before the response headers arrived.
///
/// A host that does not resolve and a refused certificate get their own kinds (neither is
/// retried); the URL's query never reaches the message.
pub(crate) fn map_send_error(e: reqwest::Error, target: &str, connect_timeout: Duration) -> Error {
    let cause = error_chain(&e);
    let e = e.without_url();
    if e.is_connect() && e.is_timeout() {
        return Error::timeout(TimeoutPhase::Connect, connect_timeout).with_source(e);
    }
    if e.is_dns() {
        return Error::new(
            ErrorKind::DnsFailure,
            format!("could not resolve the host of {target}: {cause}"),
        )
        .with_source(e);
    }
    if is_certificate_error(&e) {
        return Error::new(
            ErrorKind::TlsCertificate,
            format!("the TLS certificate of {target} was not accepted: {cause}"),
        )
        .with_source(e);
    }
    if e.is_connect() {
        return Error::new(
            ErrorKind::Unreachable,
            format!("could not connect to {target}: {cause}"),
        )
        .with_source(e);
    }
    if e.is_redirect() {
        return Error::new(
            ErrorKind::Redirected,
            format!("too many redirects from {target}: {cause}"),
        )
        .with_source(e);
    }
    if e.is_builder() {
        return Error::invalid_config(
            "request",
            format!("the request to {target} could not be built: {cause}"),
        )
        .with_source(e);
    }
    // The connection broke before a response: nothing reached the caller, so a retry is safe.
    Error::new(
        ErrorKind::Unreachable,
        format!("the request to {target} failed before a response arrived: {cause}"),
    )
    .with_source(e)
}

/// `scheme://host[:port]/path`: the query can carry keys and is never shown.
pub(crate) fn display_target(url: &reqwest::Url) -> String {
    let mut s = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        s.push_str(&format!(":{port}"));
    }
    s.push_str(url.path());
    s
}

/// The error and its causes, `a: b: c`, without the URL (it may carry a key in its query).
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let text = match err.downcast_ref::<reqwest::Error>() {
            Some(re) if re.url().is_some() => {
                // Display of a reqwest error names its URL; describe the kind instead.
                let kind = if re.is_connect() {
                    "error trying to connect"
                } else if re.is_timeout() {
                    "operation timed out"
                } else if re.is_body() || re.is_decode() {
                    "error reading the response body"
                } else if re.is_builder() {
                    "builder error"
                } else {
                    "error sending the request"
                };
                kind.to_owned()
            }
            _ => err.to_string(),
        };
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
        cur = err.source();
    }
    parts.join(": ")
}
