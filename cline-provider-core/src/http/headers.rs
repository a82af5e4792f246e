//! The one check every header passes before it reaches the wire, wherever it came from (an
//! organization's policy, the member's settings, a request, a backend's configuration):
//! [`validate_header`]. It refuses header injection (CR/LF), names that are not HTTP tokens,
//! and the headers that change what the request means rather than what it says
//! ([`forbidden_header_reason`]). [`is_credential_header`] tells which values to hide.

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

/// Checks a header name and value before they reach the wire: a name must be a valid HTTP
/// token, a value must not contain CR, LF or other control characters (header injection), and
/// the name must not be one the HTTP client owns ([`forbidden_header_reason`]: `Host`,
/// `Content-Length`, `Transfer-Encoding`, `Connection`, `Upgrade`, `TE`, `Trailer`,
/// `Keep-Alive`, `Proxy-*`, `Expect`, in any letter case).
///
/// # Errors
///
/// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) with the field
/// `headers.<name>`, saying what is wrong and, for a forbidden header, why.
///
/// ```
/// use cline_provider_core::http::validate_header;
/// assert!(validate_header("X-Team", "blue").is_ok());
/// assert!(validate_header("X-Team", "a\r\nEvil: 1").is_err());
/// assert!(validate_header("Bad Name", "x").is_err());
/// let err = validate_header("content-length", "3").unwrap_err();
/// assert_eq!(err.field(), Some("headers.content-length"));
/// ```
pub fn validate_header(name: &str, value: &str) -> Result<()> {
    let field = format!("headers.{name}");
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(Error::invalid_config(
            field,
            "a header name may contain only letters, digits and !#$%&'*+-.^_`|~ (no spaces)",
        ));
    }
    if let Some(why) = forbidden_header_reason(name) {
        return Err(Error::invalid_config(
            field,
            format!("`{name}` cannot be set as a custom header: {why}"),
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

/// Whether a header's name suggests its value is a credential: its value is then never shown,
/// and sending it over plain HTTP is warned about.
///
/// ```
/// use cline_provider_core::http::is_credential_header;
/// assert!(is_credential_header("Authorization"));
/// assert!(is_credential_header("X-Api-Key"));
/// assert!(!is_credential_header("X-Team"));
/// ```
pub fn is_credential_header(name: &str) -> bool {
    const MARKERS: [&str; 10] = [
        "auth",
        "key",
        "token",
        "secret",
        "password",
        "passwd",
        "cookie",
        "session",
        "signature",
        "credential",
    ];
    // Every request carries these; answering them without lowercasing keeps the per-request
    // credential scan cheap.
    const PLAIN: [&str; 4] = ["accept", "content-type", "user-agent", "content-length"];
    if PLAIN.iter().any(|p| name.eq_ignore_ascii_case(p)) {
        return false;
    }
    let n = name.to_ascii_lowercase();
    MARKERS.iter().any(|m| n.contains(m))
}

/// Why a header may not be set by configuration or by a request, or `None` when it may.
///
/// These headers describe the connection or the body's framing, which the HTTP client
/// computes; a configured value would change what the request means rather than what it
/// says (`Host: evil.example` reaches another site behind the same address, `Content-Length:
/// 3` truncates the body on the wire). Names compare case-insensitively, as HTTP does.
///
/// ```
/// use cline_provider_core::http::forbidden_header_reason;
/// assert!(forbidden_header_reason("HOST").is_some());
/// assert!(forbidden_header_reason("Proxy-Authorization").is_some());
/// assert!(forbidden_header_reason("X-Team").is_none());
/// ```
pub fn forbidden_header_reason(name: &str) -> Option<&'static str> {
    let n = name.to_ascii_lowercase();
    Some(match n.as_str() {
        "host" => {
            "the HTTP client sets it from the URL; another value would send the request to a \
             different site behind the same address"
        }
        "content-length" => {
            "the HTTP client sets it from the body; a wrong value cuts the body short on the \
             wire or lets another request be smuggled in after it"
        }
        "transfer-encoding" => {
            "the HTTP client decides how the body is framed; another value breaks the framing"
        }
        "connection" | "keep-alive" | "upgrade" | "te" | "trailer" => {
            "it controls the connection itself, hop by hop, not the request, and the HTTP \
             client manages it"
        }
        "expect" => {
            "it makes the client wait for the server's permission before sending the body, \
             which LLM endpoints do not give"
        }
        _ if n.starts_with("proxy-") => {
            "it is meant for a proxy on the way, not the endpoint; configure the proxy (and its \
             credentials) in the HTTP settings instead"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_forbidden_header_is_refused_in_any_case_and_ordinary_ones_pass() {
        for name in [
            "Host",
            "content-length",
            "Transfer-Encoding",
            "CONNECTION",
            "Upgrade",
            "TE",
            "Trailer",
            "Keep-Alive",
            "Proxy-Authorization",
            "proxy-connection",
            "Expect",
        ] {
            let err = validate_header(name, "x").expect_err(name);
            assert_eq!(err.field(), Some(format!("headers.{name}").as_str()));
            assert!(err.message().contains("cannot be set"), "{err}");
            assert!(err.hint().contains(name), "{}", err.hint());
        }
        for name in [
            "X-Team",
            "Authorization",
            "Content-Type",
            "Hostname",
            "X-Proxy-Id",
        ] {
            validate_header(name, "x").expect(name);
        }
    }
}
