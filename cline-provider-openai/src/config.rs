//! Configuration of an OpenAI Compatible endpoint: [`OpenAiConfig`].

use std::fmt;

pub use cline_provider_core::http::ConfigWarning;
use cline_provider_core::http::{
    check_endpoint_url, check_plain_http, is_credential_header, redact_url, redacted_url,
    url_credentials, validate_header, CredentialKind, HttpConfig,
};
use cline_provider_core::{Error, ModelInfo, ReasoningEffort, Result};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// The base URL used by [`OpenAiConfig::from_env`] when only an API key is set.
pub const OPENAI_DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// How to reach one OpenAI Compatible endpoint.
///
/// Plain data: every field is public, and [`OpenAiProvider::new`](crate::OpenAiProvider::new)
/// checks the whole of it. The builder methods are shortcuts.
///
/// **Headers.** Three layers, each winning over the one before: the SDK's defaults
/// (`User-Agent`, and [`HttpConfig::default_headers`]), then [`headers`](Self::headers)
/// (the organization's or member's custom headers), then a request's
/// [`extra_headers`](cline_provider_core::ChatRequest::extra_headers). The API key goes out
/// as `Authorization: Bearer <key>` *unless a configured header sets `Authorization`
/// itself*: then that header is sent and the key is not (gateways that take a different
/// scheme need this). [`warnings`](Self::warnings) reports that case.
///
/// **Plain HTTP.** `http://` is allowed, since internal inference servers often run without
/// TLS. When a credential would travel unencrypted to a host other than loopback, the
/// provider logs a warning and [`warnings`](Self::warnings) lists it; with
/// [`require_https`](Self::require_https) any plain-HTTP URL to a non-loopback host is
/// refused instead.
///
/// `Debug` never shows the API key, nor the values of headers that look like credentials.
///
/// ```
/// use cline_provider_openai::OpenAiConfig;
/// let config = OpenAiConfig::new("https://llm.internal.example/v1/")?
///     .api_key("sk-not-shown")
///     .header("X-Team", "search");
/// assert_eq!(config.base_url.as_str(), "https://llm.internal.example/v1");
/// assert!(!format!("{config:?}").contains("sk-not-shown"));
/// # Ok::<(), cline_provider_core::Error>(())
/// ```
#[derive(Clone)]
pub struct OpenAiConfig {
    /// The base URL; `/chat/completions` and `/models` are appended to its path.
    pub base_url: Url,
    /// The member's API key, if the endpoint needs one.
    pub api_key: Option<SecretString>,
    /// Custom headers (organization or member), in order; a later one with the same name wins.
    pub headers: Vec<(String, String)>,
    /// Refuse plain `http://` to any host other than loopback.
    pub require_https: bool,
    /// Timeouts, retries, proxy, certificates, user agent.
    pub http: HttpConfig,
    /// The model used when a request leaves `model` empty.
    pub default_model: Option<String>,
    /// What is known about the configured model (from the administrator or the member):
    /// fills the request's unset temperature and output limit, and switches the R1 format.
    pub model_info: Option<ModelInfo>,
    /// The reasoning effort used when a request sets none (the member's setting).
    pub reasoning_effort: Option<ReasoningEffort>,
}

impl OpenAiConfig {
    /// A configuration for the endpoint at `base_url`, with no key and default HTTP settings.
    ///
    /// The URL may end with a slash or not, and a pasted full `…/chat/completions` URL is
    /// accepted (its base is used). A query string is kept and sent with every request.
    /// Errors name the field `base_url`: an empty or unparsable URL, a scheme other than
    /// `http`/`https`, no host, or a user name or password inside the URL.
    pub fn new(base_url: &str) -> Result<Self> {
        Ok(OpenAiConfig {
            base_url: normalize_base_url(base_url)?,
            api_key: None,
            headers: Vec::new(),
            require_https: false,
            http: HttpConfig::default(),
            default_model: None,
            model_info: None,
            reasoning_effort: None,
        })
    }

    /// A configuration from `OPENAI_BASE_URL` and `OPENAI_API_KEY`.
    ///
    /// With only a key set, the base URL is OpenAI's own ([`OPENAI_DEFAULT_BASE_URL`]); with
    /// neither set it is an error, so an unconfigured machine never sends anything anywhere.
    pub fn from_env() -> Result<Self> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with the variables read through `get` (for tests and for
    /// programs that keep their settings elsewhere).
    ///
    /// ```
    /// use cline_provider_openai::OpenAiConfig;
    /// let c = OpenAiConfig::from_env_with(|name| match name {
    ///     "OPENAI_BASE_URL" => Some("http://127.0.0.1:8000/v1".into()),
    ///     _ => None,
    /// })?;
    /// assert!(c.api_key.is_none());
    /// # Ok::<(), cline_provider_core::Error>(())
    /// ```
    pub fn from_env_with(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let non_empty = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let key = non_empty("OPENAI_API_KEY");
        let base = match (non_empty("OPENAI_BASE_URL"), &key) {
            (Some(url), _) => url,
            (None, Some(_)) => OPENAI_DEFAULT_BASE_URL.to_owned(),
            (None, None) => {
                return Err(Error::invalid_config(
                    "OPENAI_BASE_URL",
                    "neither OPENAI_BASE_URL nor OPENAI_API_KEY is set; set the endpoint's base URL (e.g. http://127.0.0.1:8000/v1)",
                ))
            }
        };
        let config = Self::new(&base).map_err(|e| {
            Error::invalid_config(
                "OPENAI_BASE_URL",
                e.message().trim_start_matches("invalid `base_url`: "),
            )
        })?;
        Ok(match key {
            Some(k) => config.api_key(k),
            None => config,
        })
    }

    /// Sets the API key. An empty key means no key.
    pub fn api_key(mut self, key: impl Into<SecretString>) -> Self {
        let key: SecretString = key.into();
        self.api_key = (!key.expose_secret().trim().is_empty()).then_some(key);
        self
    }

    /// Adds a custom header (checked when the provider is built).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds custom headers.
    pub fn headers<K: Into<String>, V: Into<String>>(
        mut self,
        headers: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.headers
            .extend(headers.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Refuses plain HTTP to hosts other than loopback.
    pub fn require_https(mut self, yes: bool) -> Self {
        self.require_https = yes;
        self
    }

    /// Sets the HTTP settings.
    pub fn http(mut self, http: HttpConfig) -> Self {
        self.http = http;
        self
    }

    /// Sets the model used when a request names none.
    pub fn default_model(mut self, model: impl Into<String>) -> Self {
        self.default_model = Some(model.into());
        self
    }

    /// Sets what is known about the configured model.
    pub fn model_info(mut self, info: ModelInfo) -> Self {
        self.model_info = Some(info);
        self
    }

    /// Sets the reasoning effort used when a request sets none. It reaches the wire only for
    /// reasoning models, and `none` omits the field.
    pub fn reasoning_effort(mut self, effort: ReasoningEffort) -> Self {
        self.reasoning_effort = Some(effort);
        self
    }

    /// `{base}/chat/completions`.
    pub fn chat_completions_url(&self) -> Url {
        endpoint(&self.base_url, "chat/completions")
    }

    /// `{base}/models`.
    pub fn models_url(&self) -> Url {
        endpoint(&self.base_url, "models")
    }

    /// Whether a configured header sets `Authorization` (then the API key is not sent).
    pub fn has_authorization_header(&self) -> bool {
        self.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
    }

    /// Whether any credential would be sent: the API key, a credential-like header, or a
    /// credential in the base URL's query (Azure API Management's `subscription-key`, …).
    pub fn sends_credentials(&self) -> bool {
        self.api_key.is_some()
            || self.headers.iter().any(|(k, _)| is_credential_header(k))
            || !url_credentials(&self.base_url).is_empty()
    }

    /// The base URL with any credential in its query redacted: what `Debug`, logs and
    /// [`ProviderInfo`](cline_provider_core::ProviderInfo) show.
    pub fn redacted_base_url(&self) -> Url {
        redacted_url(&self.base_url)
    }

    fn credential_kind(&self) -> CredentialKind {
        if self.sends_credentials() {
            CredentialKind::ApiKey
        } else {
            CredentialKind::None
        }
    }

    /// Checks everything [`OpenAiProvider::new`](crate::OpenAiProvider::new) needs: the base
    /// URL's form, the custom headers (no line breaks, valid names), and `require_https`.
    pub fn validate(&self) -> Result<()> {
        check_endpoint_url(&self.base_url, "base_url")?;
        for (name, value) in &self.headers {
            validate_header(name, value)?;
        }
        check_plain_http(
            &self.base_url,
            "base_url",
            self.credential_kind(),
            self.require_https,
        )?;
        if self
            .default_model
            .as_deref()
            .is_some_and(|m| m.trim().is_empty())
        {
            return Err(Error::invalid_config(
                "default_model",
                "the default model id is empty",
            ));
        }
        Ok(())
    }

    /// What works but deserves a look: credentials over plain HTTP, an `Authorization`
    /// header that replaces the API key.
    ///
    /// ```
    /// use cline_provider_openai::{ConfigWarning, OpenAiConfig};
    /// let c = OpenAiConfig::new("http://10.0.0.5:8000/v1")?.api_key("k");
    /// assert_eq!(c.warnings(), vec![ConfigWarning::PlainHttpCredential { host: "10.0.0.5".into() }]);
    /// let local = OpenAiConfig::new("http://127.0.0.1:8000/v1")?.api_key("k");
    /// assert!(local.warnings().is_empty());
    /// # Ok::<(), cline_provider_core::Error>(())
    /// ```
    pub fn warnings(&self) -> Vec<ConfigWarning> {
        let mut out: Vec<ConfigWarning> =
            check_plain_http(&self.base_url, "base_url", self.credential_kind(), false)
                .ok()
                .flatten()
                .into_iter()
                .collect();
        if self.api_key.is_some() && self.has_authorization_header() {
            out.push(ConfigWarning::AuthorizationHeaderReplacesApiKey);
        }
        out
    }
}

impl fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let shown = if is_credential_header(k) {
                    "[redacted]"
                } else {
                    v.as_str()
                };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("OpenAiConfig")
            .field("base_url", &redact_url(&self.base_url))
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("headers", &headers)
            .field("require_https", &self.require_https)
            .field("http", &self.http)
            .field("default_model", &self.default_model)
            .field("model_info", &self.model_info)
            .field("reasoning_effort", &self.reasoning_effort)
            .finish()
    }
}

/// Parses and normalizes a base URL: no trailing slash, no pasted `/chat/completions`, no
/// fragment.
pub fn normalize_base_url(raw: &str) -> Result<Url> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(Error::invalid_config("base_url", "the base URL is empty"));
    }
    let mut url = Url::parse(raw).map_err(|e| {
        // The text may carry a key in its query: quote only what comes before it.
        let shown = raw.split(['?', '#']).next().unwrap_or(raw);
        let why = if raw.contains("://") {
            format!("`{shown}` is not a valid URL ({e})")
        } else {
            format!("`{shown}` has no scheme; write it as http://… or https://…")
        };
        Error::invalid_config("base_url", why)
    })?;
    check_endpoint_url(&url, "base_url")?;
    url.set_fragment(None);
    let mut path = url.path().trim_end_matches('/').to_owned();
    for suffix in ["/chat/completions", "/completions"] {
        if path.len() >= suffix.len()
            && path[path.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
        {
            path.truncate(path.len() - suffix.len());
            break;
        }
    }
    let path = path.trim_end_matches('/').to_owned();
    url.set_path(&path);
    Ok(url)
}

/// `base` with `/{tail}` appended to its path; the query string is kept.
fn endpoint(base: &Url, tail: &str) -> Url {
    let mut url = base.clone();
    let path = format!("{}/{tail}", base.path().trim_end_matches('/'));
    url.set_path(&path);
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use cline_provider_core::ErrorKind;

    #[test]
    fn base_url_forms() {
        for (raw, want) in [
            ("https://h/v1", "https://h/v1"),
            ("https://h/v1/", "https://h/v1"),
            ("  https://h/v1//  ", "https://h/v1"),
            ("https://h/v1/chat/completions", "https://h/v1"),
            ("https://h/v1/chat/completions/", "https://h/v1"),
            ("https://h/v1/Chat/Completions", "https://h/v1"),
            ("https://h", "https://h/"),
            ("https://h/", "https://h/"),
            ("http://127.0.0.1:8080/v1#frag", "http://127.0.0.1:8080/v1"),
            (
                "https://gw/openai/v1?tenant=a",
                "https://gw/openai/v1?tenant=a",
            ),
        ] {
            assert_eq!(normalize_base_url(raw).unwrap().as_str(), want, "{raw}");
        }
    }

    #[test]
    fn endpoints() {
        let c = OpenAiConfig::new("https://gw/openai/v1/?tenant=a").unwrap();
        assert_eq!(
            c.chat_completions_url().as_str(),
            "https://gw/openai/v1/chat/completions?tenant=a"
        );
        assert_eq!(
            c.models_url().as_str(),
            "https://gw/openai/v1/models?tenant=a"
        );
        let c = OpenAiConfig::new("https://api.deepseek.com").unwrap();
        assert_eq!(
            c.chat_completions_url().as_str(),
            "https://api.deepseek.com/chat/completions"
        );
    }

    #[test]
    fn bad_base_urls_are_typed_errors() {
        for (raw, needle) in [
            ("", "empty"),
            ("   ", "empty"),
            ("localhost:8000/v1", "scheme"),
            ("llm.internal/v1", "no scheme"),
            ("ftp://h/v1", "scheme"),
            ("https://user:pw@h/v1", "password"),
            ("https://tok@h/v1", "user name"),
            ("http://[::1/v1", "not a valid URL"),
        ] {
            let err = OpenAiConfig::new(raw).unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::InvalidConfig, "{raw}");
            assert_eq!(err.field(), Some("base_url"), "{raw}");
            assert!(err.message().contains(needle), "{raw}: {}", err.message());
            assert!(err.hint().contains("base_url"), "{raw}");
        }
    }

    #[test]
    fn from_env() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let c = OpenAiConfig::from_env_with(env(&[
            ("OPENAI_BASE_URL", "http://127.0.0.1:1/v1/"),
            ("OPENAI_API_KEY", "k"),
        ]))
        .unwrap();
        assert_eq!(c.base_url.as_str(), "http://127.0.0.1:1/v1");
        assert!(c.api_key.is_some());
        let c = OpenAiConfig::from_env_with(env(&[("OPENAI_API_KEY", "k")])).unwrap();
        assert_eq!(c.base_url.as_str(), OPENAI_DEFAULT_BASE_URL);
        let err = OpenAiConfig::from_env_with(env(&[("OPENAI_API_KEY", "")])).unwrap_err();
        assert_eq!(err.field(), Some("OPENAI_BASE_URL"));
        let err = OpenAiConfig::from_env_with(env(&[("OPENAI_BASE_URL", "nonsense")])).unwrap_err();
        assert_eq!(err.field(), Some("OPENAI_BASE_URL"));
        assert!(err.message().contains("no scheme"), "{}", err.message());
        let c = OpenAiConfig::from_env_with(env(&[
            ("OPENAI_BASE_URL", "http://127.0.0.1:1"),
            ("OPENAI_API_KEY", " "),
        ]))
        .unwrap();
        assert!(c.api_key.is_none());
    }

    #[test]
    fn debug_hides_secrets() {
        let c = OpenAiConfig::new("https://h/v1")
            .unwrap()
            .api_key("sk-secret-123")
            .header("Authorization", "Bearer tok-secret-456")
            .header("X-Api-Key", "xk-secret-789")
            .header("X-Team", "visible-team");
        let dbg = format!("{c:?}");
        for secret in ["sk-secret-123", "tok-secret-456", "xk-secret-789"] {
            assert!(!dbg.contains(secret), "{dbg}");
        }
        assert!(dbg.contains("visible-team"));
        assert!(dbg.contains("[redacted]"));
    }

    #[test]
    fn a_key_in_the_query_is_redacted_and_counts_as_a_credential() {
        let c = OpenAiConfig::new(
            "http://apim.corp.example/openai?api-version=2024-10-21&subscription-key=sk-query-777",
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("sk-query-777"), "{c:?}");
        assert!(!c.redacted_base_url().as_str().contains("sk-query-777"));
        assert!(c
            .redacted_base_url()
            .as_str()
            .contains("api-version=2024-10-21"));
        assert!(c.sends_credentials());
        assert_eq!(
            c.warnings(),
            vec![ConfigWarning::PlainHttpCredential {
                host: "apim.corp.example".into()
            }]
        );
        let err = OpenAiConfig::new("ht!tp://h?subscription-key=sk-query-777").unwrap_err();
        assert!(!err.to_string().contains("sk-query-777"), "{err}");
    }

    #[test]
    fn plain_http_warning_and_require_https() {
        let c = OpenAiConfig::new("http://gpu-box.corp:8000/v1")
            .unwrap()
            .api_key("k");
        assert_eq!(
            c.warnings(),
            vec![ConfigWarning::PlainHttpCredential {
                host: "gpu-box.corp".into()
            }]
        );
        assert!(c.warnings()[0].to_string().contains("plain HTTP"));
        assert!(c.validate().is_ok());
        // A credential in a custom header counts too.
        let c = OpenAiConfig::new("http://gpu-box.corp:8000/v1")
            .unwrap()
            .header("X-Api-Key", "k");
        assert_eq!(c.warnings().len(), 1);
        // No credential: nothing to warn about.
        let c = OpenAiConfig::new("http://gpu-box.corp:8000/v1").unwrap();
        assert!(c.warnings().is_empty());
        // require_https refuses plain HTTP to a remote host, credential or not.
        let err = c.clone().require_https(true).validate().unwrap_err();
        assert_eq!(err.field(), Some("base_url"));
        assert!(err.message().contains("require_https"));
        // Loopback is fine either way.
        for local in [
            "http://localhost:1/v1",
            "http://127.0.0.2:1",
            "http://[::1]:1/v1",
            "http://api.localhost/v1",
        ] {
            let c = OpenAiConfig::new(local)
                .unwrap()
                .api_key("k")
                .require_https(true);
            assert!(c.validate().is_ok(), "{local}");
            assert!(c.warnings().is_empty(), "{local}");
        }
    }

    #[test]
    fn authorization_header_replaces_key_warning() {
        let c = OpenAiConfig::new("https://h")
            .unwrap()
            .api_key("k")
            .header("authorization", "Basic x");
        assert!(c.has_authorization_header());
        assert_eq!(
            c.warnings(),
            vec![ConfigWarning::AuthorizationHeaderReplacesApiKey]
        );
    }

    #[test]
    fn bad_headers_and_default_model() {
        let err = OpenAiConfig::new("https://h")
            .unwrap()
            .header("X-A", "a\r\nInjected: 1")
            .validate()
            .unwrap_err();
        assert_eq!(err.field(), Some("headers.X-A"));
        let err = OpenAiConfig::new("https://h")
            .unwrap()
            .header("Bad Name", "v")
            .validate()
            .unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
        let err = OpenAiConfig::new("https://h")
            .unwrap()
            .default_model(" ")
            .validate()
            .unwrap_err();
        assert_eq!(err.field(), Some("default_model"));
    }

    #[test]
    fn credential_header_names() {
        for n in [
            "Authorization",
            "api-key",
            "X-API-KEY",
            "x-auth-token",
            "Cookie",
            "X-Client-Secret",
        ] {
            assert!(is_credential_header(n), "{n}");
        }
        for n in ["X-Team", "OpenAI-Organization", "User-Agent"] {
            assert!(!is_credential_header(n), "{n}");
        }
    }
}
