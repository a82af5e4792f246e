//! Configuration of one Azure OpenAI resource: [`AzureConfig`].

use std::fmt;
use std::sync::Arc;

use cline_provider_core::http::{
    check_plain_http, is_credential_header, validate_header, ConfigWarning, CredentialKind,
    HttpConfig,
};
use cline_provider_core::{Error, ModelInfo, ReasoningEffort, Result};
use secrecy::{ExposeSecret, SecretString};

use crate::auth::{process_env, AzureAuth, EntraId, EnvFn};
use crate::url::AzureEndpoint;
use crate::versions::DEFAULT_API_VERSION;

/// How to reach one Azure OpenAI (Azure Foundry) resource.
///
/// Plain data; [`AzureProvider::new`](crate::AzureProvider::new) checks it with
/// [`validate`](Self::validate).
///
/// - **Endpoint**: any form in the [`url`](crate::url) table. The deployment is the request's
///   model id unless the URL names one.
/// - **API version**: [`api_version`](Self::api_version), else an `api-version` pasted in the
///   URL, else [`DEFAULT_API_VERSION`]. The v1 URL (`/openai/v1`) takes none.
/// - **Auth**: the `api-key` header, or Entra ID (see [`AzureAuth`]).
/// - **Plain HTTP**: the core's one rule (`check_plain_http`): an Entra ID token never goes
///   over plain HTTP except to loopback (refused at [`validate`](Self::validate)); an api-key
///   does, with a warning, unless [`require_https`](Self::require_https) refuses it.
///
/// `Debug` never shows the key nor credential-like header values.
///
/// ```
/// use cline_provider_azure::AzureConfig;
/// let config = AzureConfig::new("https://acme.openai.azure.com/openai")?.api_key("not-shown");
/// assert_eq!(config.effective_api_version(), Some("2024-10-21"));
/// assert!(!format!("{config:?}").contains("not-shown"));
/// # Ok::<(), cline_provider_core::Error>(())
/// ```
#[derive(Clone)]
pub struct AzureConfig {
    /// The resource endpoint.
    pub endpoint: AzureEndpoint,
    /// The `api-version` to send; `None` uses the URL's or [`DEFAULT_API_VERSION`].
    pub api_version: Option<String>,
    /// How requests authenticate. Default: Entra ID with the default chain.
    pub auth: AzureAuth,
    /// Custom headers (organization or member), in order; a later one with the same name wins.
    pub headers: Vec<(String, String)>,
    /// Refuse plain `http://` to any host other than loopback.
    pub require_https: bool,
    /// Timeouts, retries, proxy, certificates, user agent (for the resource and, without the
    /// custom headers, for the Entra ID token endpoints).
    pub http: HttpConfig,
    /// The deployment used when a request names no model.
    pub default_model: Option<String>,
    /// What is known about the configured model (fills unset temperature and output limit).
    pub model_info: Option<ModelInfo>,
    /// The reasoning effort used when a request sets none.
    pub reasoning_effort: Option<ReasoningEffort>,
    /// The organization's model list: returned by `list_models` without asking the resource.
    pub models: Option<Vec<ModelInfo>>,
}

impl AzureConfig {
    /// A configuration for the endpoint `url`, authenticating with Entra ID's default chain.
    ///
    /// # Errors
    ///
    /// [`InvalidConfig`](cline_provider_core::ErrorKind::InvalidConfig) naming `base_url`
    /// (see [`AzureEndpoint::parse`]).
    pub fn new(url: &str) -> Result<Self> {
        Ok(AzureConfig {
            endpoint: AzureEndpoint::parse(url)?,
            api_version: None,
            auth: AzureAuth::EntraId(Box::default()),
            headers: Vec::new(),
            require_https: false,
            http: HttpConfig::default(),
            default_model: None,
            model_info: None,
            reasoning_effort: None,
            models: None,
        })
    }

    /// A configuration from the variables the official OpenAI SDKs use for Azure:
    /// `AZURE_OPENAI_ENDPOINT`, `AZURE_OPENAI_API_KEY` (absent: Entra ID, its chain reading
    /// the process environment) and `OPENAI_API_VERSION`.
    pub fn from_env() -> Result<Self> {
        Self::from_env_with(process_env())
    }

    /// [`from_env`](Self::from_env) with every variable, the Entra ID chain's included, read
    /// through `env`.
    ///
    /// # Errors
    ///
    /// [`InvalidConfig`](cline_provider_core::ErrorKind::InvalidConfig) naming
    /// `AZURE_OPENAI_ENDPOINT` when it is unset or not a URL.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use cline_provider_azure::{AzureAuth, AzureConfig};
    /// let c = AzureConfig::from_env_with(Arc::new(|name: &str| match name {
    ///     "AZURE_OPENAI_ENDPOINT" => Some("https://acme.openai.azure.com".into()),
    ///     "OPENAI_API_VERSION" => Some("2025-04-01-preview".into()),
    ///     _ => None,
    /// }))?;
    /// assert!(matches!(c.auth, AzureAuth::EntraId(_)));
    /// assert_eq!(c.effective_api_version(), Some("2025-04-01-preview"));
    /// # Ok::<(), cline_provider_core::Error>(())
    /// ```
    pub fn from_env_with(env: EnvFn) -> Result<Self> {
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let Some(endpoint) = get("AZURE_OPENAI_ENDPOINT") else {
            return Err(Error::invalid_config(
                "AZURE_OPENAI_ENDPOINT",
                "AZURE_OPENAI_ENDPOINT is not set; set it to the resource's endpoint, e.g. https://my-resource.openai.azure.com",
            ));
        };
        let mut config = Self::new(&endpoint).map_err(|e| {
            Error::invalid_config(
                "AZURE_OPENAI_ENDPOINT",
                e.message().trim_start_matches("invalid `base_url`: "),
            )
        })?;
        config.api_version = get("OPENAI_API_VERSION");
        config.auth = match get("AZURE_OPENAI_API_KEY") {
            Some(key) => AzureAuth::ApiKey(key.into()),
            None => {
                let mut entra = EntraId::default();
                entra.chain.env = env.clone();
                AzureAuth::EntraId(Box::new(entra))
            }
        };
        Ok(config)
    }

    /// Authenticates with the resource key (`api-key` header).
    pub fn api_key(mut self, key: impl Into<SecretString>) -> Self {
        self.auth = AzureAuth::ApiKey(key.into());
        self
    }

    /// Authenticates with Entra ID.
    pub fn entra_id(mut self, entra: EntraId) -> Self {
        self.auth = AzureAuth::EntraId(Box::new(entra));
        self
    }

    /// Authenticates with Entra ID through `credential` (any `azure_identity` credential, or
    /// your own).
    pub fn credential(self, credential: Arc<dyn azure_core::credentials::TokenCredential>) -> Self {
        self.entra_id(EntraId::with_credential(credential))
    }

    /// Sets the API version.
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        let v: String = version.into();
        self.api_version = (!v.trim().is_empty()).then(|| v.trim().to_owned());
        self
    }

    /// Adds a custom header.
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

    /// Sets the deployment used when a request names none.
    pub fn default_model(mut self, model: impl Into<String>) -> Self {
        self.default_model = Some(model.into());
        self
    }

    /// Sets what is known about the configured model.
    pub fn model_info(mut self, info: ModelInfo) -> Self {
        self.model_info = Some(info);
        self
    }

    /// Sets the reasoning effort used when a request sets none.
    pub fn reasoning_effort(mut self, effort: ReasoningEffort) -> Self {
        self.reasoning_effort = Some(effort);
        self
    }

    /// Sets the organization's model list.
    pub fn models(mut self, models: Vec<ModelInfo>) -> Self {
        self.models = Some(models);
        self
    }

    /// The `api-version` requests carry: `None` for the v1 API.
    pub fn effective_api_version(&self) -> Option<&str> {
        if self.endpoint.is_v1() {
            return self
                .api_version
                .as_deref()
                .filter(|v| matches!(*v, "preview" | "latest"));
        }
        Some(
            self.api_version
                .as_deref()
                .or(self.endpoint.api_version_in_url())
                .unwrap_or(DEFAULT_API_VERSION),
        )
    }

    /// The Entra ID scope: the configured one, or the host's.
    pub fn scope(&self) -> String {
        match &self.auth {
            AzureAuth::EntraId(e) if e.scope.is_some() => e.scope.clone().unwrap_or_default(),
            _ => self.endpoint.default_scope().to_owned(),
        }
    }

    /// Checks the headers, the plain-HTTP rules and the default deployment.
    ///
    /// # Errors
    ///
    /// [`InvalidConfig`](cline_provider_core::ErrorKind::InvalidConfig) naming `base_url`
    /// (an Entra ID token over plain HTTP to a remote host; any plain HTTP under
    /// `require_https`), `headers.<name>`, `api_key` or `default_model`.
    pub fn validate(&self) -> Result<()> {
        for (name, value) in &self.headers {
            validate_header(name, value)?;
        }
        check_plain_http(
            &self.endpoint.base_url(),
            "base_url",
            self.credential_kind(),
            self.require_https,
        )?;
        if let AzureAuth::ApiKey(key) = &self.auth {
            if key.expose_secret().trim().is_empty() {
                return Err(Error::invalid_config("api_key", "the API key is empty"));
            }
        }
        if self
            .default_model
            .as_deref()
            .is_some_and(|m| m.trim().is_empty())
        {
            return Err(Error::invalid_config(
                "default_model",
                "the default deployment is empty",
            ));
        }
        Ok(())
    }

    /// What travels with every request, for the plain-HTTP rule: an Entra ID token is a
    /// personal identity token; an api-key or a credential-like custom header is a key.
    pub fn credential_kind(&self) -> CredentialKind {
        match self.auth {
            AzureAuth::EntraId(_) => CredentialKind::IdentityToken,
            AzureAuth::ApiKey(_) => CredentialKind::ApiKey,
        }
    }

    /// What works but deserves a look: an api-key (or a credential-like header) over plain
    /// HTTP to a remote host.
    pub fn warnings(&self) -> Vec<ConfigWarning> {
        let kind = match self.credential_kind() {
            CredentialKind::ApiKey => CredentialKind::ApiKey,
            _ if self.headers.iter().any(|(k, _)| is_credential_header(k)) => {
                CredentialKind::ApiKey
            }
            other => other,
        };
        check_plain_http(&self.endpoint.base_url(), "base_url", kind, false)
            .ok()
            .flatten()
            .into_iter()
            .collect()
    }
}

impl fmt::Debug for AzureConfig {
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
        f.debug_struct("AzureConfig")
            .field("endpoint", &self.endpoint.base_url().as_str())
            .field("api_version", &self.effective_api_version())
            .field("auth", &self.auth)
            .field("headers", &headers)
            .field("require_https", &self.require_https)
            .field("default_model", &self.default_model)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> EnvFn {
        crate::auth::env_from(pairs.iter().copied())
    }

    #[test]
    fn from_env_reads_the_openai_sdk_variables() {
        let c = AzureConfig::from_env_with(env(&[
            ("AZURE_OPENAI_ENDPOINT", "https://acme.openai.azure.com"),
            ("AZURE_OPENAI_API_KEY", "k"),
        ]))
        .unwrap();
        assert!(matches!(c.auth, AzureAuth::ApiKey(_)));
        assert_eq!(c.effective_api_version(), Some(DEFAULT_API_VERSION));
        let err = AzureConfig::from_env_with(env(&[])).unwrap_err();
        assert_eq!(err.field(), Some("AZURE_OPENAI_ENDPOINT"));
        let err =
            AzureConfig::from_env_with(env(&[("AZURE_OPENAI_ENDPOINT", "acme.openai.azure.com")]))
                .unwrap_err();
        assert_eq!(err.field(), Some("AZURE_OPENAI_ENDPOINT"));
    }

    #[test]
    fn api_version_precedence() {
        let c = AzureConfig::new(
            "https://a.openai.azure.com/openai/deployments/d?api-version=2024-06-01",
        )
        .unwrap();
        assert_eq!(c.effective_api_version(), Some("2024-06-01"));
        let c = c.api_version("2025-04-01-preview");
        assert_eq!(c.effective_api_version(), Some("2025-04-01-preview"));
        let v1 = AzureConfig::new("https://a.openai.azure.com/openai/v1").unwrap();
        assert_eq!(v1.effective_api_version(), None);
        assert_eq!(
            v1.clone().api_version("2024-10-21").effective_api_version(),
            None
        );
        assert_eq!(
            v1.api_version("preview").effective_api_version(),
            Some("preview")
        );
    }
}
