//! Proxy settings: explicit proxies are checked, and so are the environment's variables, so
//! that a malformed one is reported instead of being silently ignored.

use url::Url;

use super::endpoint::redact_url;
use crate::error::{Error, Result};

/// Reports a malformed proxy variable now rather than letting it be ignored silently.
pub(crate) fn check_env_proxies(env: &dyn Fn(&str) -> Option<String>) -> Result<()> {
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        let Some(value) = env(var) else { continue };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let with_scheme = if value.contains("://") {
            value.to_owned()
        } else {
            format!("http://{value}")
        };
        let parsed = Url::parse(&with_scheme)
            .ok()
            .filter(|u| u.host_str().is_some());
        let Some(url) = parsed else {
            // The value may carry a password: never echo it.
            return Err(Error::invalid_config(
                var,
                "the environment variable is not a valid proxy URL",
            ));
        };
        if !matches!(url.scheme(), "http" | "https" | "socks5" | "socks5h") {
            return Err(Error::invalid_config(
                var,
                format!(
                    "the proxy scheme `{}` is not supported (use http:// or https://)",
                    url.scheme()
                ),
            ));
        }
    }
    Ok(())
}

pub(crate) fn explicit_proxy(url: &Url, no_proxy: Option<&str>) -> Result<reqwest::Proxy> {
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::invalid_config(
            "proxy",
            format!(
                "`{}` is not an http:// or https:// proxy URL",
                redact_url(url)
            ),
        ));
    }
    let proxy = reqwest::Proxy::all(url.as_str()).map_err(|e| {
        Error::invalid_config(
            "proxy",
            format!(
                "`{}` is not a usable proxy: {}",
                redact_url(url),
                e.without_url()
            ),
        )
    })?;
    Ok(proxy.no_proxy(no_proxy.and_then(reqwest::NoProxy::from_string)))
}
