//! HTTP plumbing shared by every backend.

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
