//! The `api-key` header: how Azure OpenAI takes a resource key (never `Authorization`).

use cline_provider_core::{Error, Result};
use http::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

/// The header Azure OpenAI reads the resource key from.
pub const API_KEY_HEADER: HeaderName = HeaderName::from_static("api-key");

/// The `api-key` header for `key`, marked sensitive so no `Debug` shows it.
///
/// # Errors
///
/// [`InvalidConfig`](cline_provider_core::ErrorKind::InvalidConfig) naming `api_key` when the
/// key is empty or holds characters a header cannot carry.
///
/// ```
/// use cline_provider_azure::auth::api_key::api_key_header;
/// let (name, value) = api_key_header(&"0123abcd".to_owned().into())?;
/// assert_eq!(name.as_str(), "api-key");
/// assert!(value.is_sensitive());
/// # Ok::<(), cline_provider_core::Error>(())
/// ```
pub fn api_key_header(key: &SecretString) -> Result<(HeaderName, HeaderValue)> {
    let key = key.expose_secret().trim();
    if key.is_empty() {
        return Err(Error::invalid_config(
            "api_key",
            "the API key is empty; copy KEY 1 or KEY 2 from the resource's Keys and Endpoint page",
        ));
    }
    let mut value = HeaderValue::from_str(key).map_err(|_| {
        Error::invalid_config(
            "api_key",
            "the API key contains characters that cannot be sent in a header (line breaks or control characters)",
        )
    })?;
    value.set_sensitive(true);
    Ok((API_KEY_HEADER, value))
}
