//! Rules every backend applies to where it sends requests: a valid endpoint URL, and loopback
//! detection (identity tokens never travel over plain HTTP except to loopback).

use url::{Host, Url};

use crate::error::{Error, Result};

/// Checks an endpoint URL: `http` or `https`, with a host, and no user name or password in it
/// (credentials belong in the API key or a header, where they are masked). Errors name
/// `field`.
///
/// ```
/// use cline_provider_core::http::check_endpoint_url;
/// let ok = url::Url::parse("https://llm.example.com/v1").unwrap();
/// assert!(check_endpoint_url(&ok, "base_url").is_ok());
/// let bad = url::Url::parse("https://me:pw@llm.example.com/v1").unwrap();
/// assert_eq!(check_endpoint_url(&bad, "base_url").unwrap_err().field(), Some("base_url"));
/// ```
pub fn check_endpoint_url(url: &Url, field: &str) -> Result<()> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::invalid_config(
            field,
            format!(
                "the scheme `{}` is not supported; use https:// or http://",
                url.scheme()
            ),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid_config(field, "the URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid_config(
            field,
            "the URL contains a user name or password; put credentials in the API key or a \
             header, never in the URL",
        ));
    }
    Ok(())
}

/// Whether the URL's host is loopback (`localhost`, `*.localhost`, 127.0.0.0/8, `::1`).
///
/// ```
/// use cline_provider_core::http::is_loopback;
/// let u = |s: &str| url::Url::parse(s).unwrap();
/// assert!(is_loopback(&u("http://127.0.0.2:8000/v1")));
/// assert!(is_loopback(&u("http://LOCALHOST/v1")));
/// assert!(!is_loopback(&u("http://10.0.0.5/v1")));
/// ```
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether a request to `url` would cross a network unencrypted: plain `http://` to a host
/// other than loopback.
pub fn is_plain_http_to_remote(url: &Url) -> bool {
    url.scheme() == "http" && !is_loopback(url)
}
