//! Rules every backend applies to where it sends requests: a valid endpoint URL, loopback
//! detection (identity tokens never travel over plain HTTP except to loopback), the plain-HTTP
//! rule, which query parameters carry credentials, and how a URL is shown without them.

use url::{Host, Url};

use super::headers::is_credential_header;
use crate::error::{Error, Result};
use crate::secrets::REDACTED;

/// Query parameters that carry a credential although their names hide it: Azure SAS
/// signatures (`sig`) and AWS presigned URLs.
const CREDENTIAL_QUERY_PARAMS: [&str; 3] = ["sig", "x-amz-signature", "x-amz-credential"];

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

/// What travels with every request to an endpoint, for [`check_plain_http`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    /// Nothing secret (a keyless local server).
    None,
    /// An API key or a credential-like custom header: allowed over plain HTTP to an internal
    /// server, with a warning, because organizations run such servers without TLS.
    ApiKey,
    /// A personal identity token (Entra ID, a ChatGPT sign-in): never over plain HTTP except
    /// to loopback, because it opens the member's whole account, not one endpoint.
    IdentityToken,
}

/// Something in a configuration that works but deserves a look, for the settings screen and
/// the log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigWarning {
    /// A credential (an API key or a credential-like header) would travel over plain HTTP to a
    /// host other than loopback.
    PlainHttpCredential {
        /// The host it would travel to.
        host: String,
    },
    /// A configured `Authorization` header replaces the API key, which is then not sent.
    AuthorizationHeaderReplacesApiKey,
}

impl std::fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigWarning::PlainHttpCredential { host } => write!(
                f,
                "credentials are sent to {host} over plain HTTP, unencrypted; use https:// if the \
                 server supports it, or set require_https to refuse this"
            ),
            ConfigWarning::AuthorizationHeaderReplacesApiKey => f.write_str(
                "a configured Authorization header is sent instead of the API key; the API key is unused",
            ),
        }
    }
}

/// The plain-HTTP rule, the one place every backend and the settings report apply it:
///
/// - with `require_https`, plain `http://` to any host other than loopback is refused;
/// - a [`CredentialKind::IdentityToken`] is refused over plain HTTP except to loopback;
/// - a [`CredentialKind::ApiKey`] over plain HTTP to a remote host is allowed with a
///   [`ConfigWarning::PlainHttpCredential`];
/// - anything over HTTPS, or to loopback, is fine.
///
/// # Errors
///
/// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) naming `field` when the URL
/// is refused.
///
/// ```
/// use cline_provider_core::http::{check_plain_http, ConfigWarning, CredentialKind};
/// let internal = url::Url::parse("http://10.0.0.5:8000/v1").unwrap();
/// let warned = check_plain_http(&internal, "base_url", CredentialKind::ApiKey, false).unwrap();
/// assert_eq!(warned, Some(ConfigWarning::PlainHttpCredential { host: "10.0.0.5".into() }));
/// assert!(check_plain_http(&internal, "base_url", CredentialKind::IdentityToken, false).is_err());
/// assert!(check_plain_http(&internal, "base_url", CredentialKind::None, true).is_err());
/// let local = url::Url::parse("http://127.0.0.1:8000/v1").unwrap();
/// assert_eq!(check_plain_http(&local, "base_url", CredentialKind::IdentityToken, true).unwrap(), None);
/// ```
pub fn check_plain_http(
    url: &Url,
    field: &str,
    credential: CredentialKind,
    require_https: bool,
) -> Result<Option<ConfigWarning>> {
    if !is_plain_http_to_remote(url) {
        return Ok(None);
    }
    let host = url.host_str().unwrap_or_default().to_owned();
    if require_https {
        return Err(Error::invalid_config(
            field,
            format!(
                "plain HTTP to {host} is refused because require_https is set; use an https:// URL"
            ),
        ));
    }
    match credential {
        CredentialKind::None => Ok(None),
        CredentialKind::ApiKey => Ok(Some(ConfigWarning::PlainHttpCredential { host })),
        CredentialKind::IdentityToken => Err(Error::invalid_config(
            field,
            format!(
                "your sign-in token would travel to {host} over plain HTTP, unencrypted; a \
                 personal identity token goes over plain HTTP only to this machine (loopback), \
                 so use an https:// URL"
            ),
        )),
    }
}

/// Whether a URL query parameter carries a credential, by the same rule as
/// [`is_credential_header`] plus the SAS `sig`: Azure API Management's `subscription-key`,
/// `api-key`, `access_token`, `code`…
///
/// ```
/// use cline_provider_core::http::is_credential_query_param;
/// assert!(is_credential_query_param("subscription-key"));
/// assert!(is_credential_query_param("sig"));
/// assert!(!is_credential_query_param("api-version"));
/// ```
pub fn is_credential_query_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    is_credential_header(&n) || CREDENTIAL_QUERY_PARAMS.contains(&n.as_str()) || n == "code"
}

/// The values of the URL's credentials: its password and every credential query parameter
/// (see [`is_credential_query_param`]). Empty when the URL carries none.
pub fn url_credentials(url: &Url) -> Vec<String> {
    let mut out: Vec<String> = url
        .query_pairs()
        .filter(|(k, v)| is_credential_query_param(k) && !v.is_empty())
        .map(|(_, v)| v.into_owned())
        .collect();
    if let Some(pw) = url.password() {
        out.push(pw.to_owned());
    }
    out
}

/// [`redact_url`] as a [`Url`] again (the mark percent-encoded in the query), for fields
/// typed `Url` such as [`ProviderInfo::base_url`](crate::ProviderInfo::base_url).
pub fn redacted_url(url: &Url) -> Url {
    Url::parse(&redact_url(url)).unwrap_or_else(|_| {
        let mut u = url.clone();
        u.set_query(None);
        u
    })
}

/// The URL as it may be shown in `Debug`, errors and logs: the password and the value of
/// every credential query parameter replaced by [`REDACTED`].
///
/// ```
/// use cline_provider_core::http::redact_url;
/// let u = url::Url::parse("https://apim.example/openai?api-version=2024-10-21&subscription-key=abc123").unwrap();
/// assert_eq!(redact_url(&u), "https://apim.example/openai?api-version=2024-10-21&subscription-key=[redacted]");
/// ```
pub fn redact_url(url: &Url) -> String {
    let has_query_credential = url
        .query_pairs()
        .any(|(k, v)| is_credential_query_param(&k) && !v.is_empty());
    if url.password().is_none() && !has_query_credential {
        return url.to_string();
    }
    // A placeholder the URL parser keeps as it is, swapped for the marker in the text (the
    // parser would percent-encode the marker's brackets).
    const PLACEHOLDER: &str = "__redacted__";
    let mut shown = url.clone();
    if url.password().is_some() {
        // Only fails for URLs that cannot have credentials, and this one has some.
        let _ = shown.set_password(Some(PLACEHOLDER));
    }
    if has_query_credential {
        // Rebuilt by hand so that the marker stays readable instead of percent-encoded.
        let query: Vec<String> = url
            .query()
            .unwrap_or("")
            .split('&')
            .map(|pair| {
                let name = pair.split_once('=').map_or(pair, |(k, _)| k);
                let decoded: String = url::form_urlencoded::parse(name.as_bytes())
                    .next()
                    .map(|(k, _)| k.into_owned())
                    .unwrap_or_default();
                if pair.contains('=') && is_credential_query_param(&decoded) {
                    format!("{name}={REDACTED}")
                } else {
                    pair.to_owned()
                }
            })
            .collect();
        let mut text = shown.to_string().replacen(PLACEHOLDER, REDACTED, 1);
        if let Some(at) = text.find('?') {
            let fragment = text.find('#').map(|f| text[f..].to_owned());
            text.truncate(at + 1);
            text.push_str(&query.join("&"));
            if let Some(f) = fragment {
                text.push_str(&f);
            }
        }
        return text;
    }
    shown.to_string().replacen(PLACEHOLDER, REDACTED, 1)
}
