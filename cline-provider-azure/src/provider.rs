//! [`AzureProvider`]: the [`Provider`] for Azure OpenAI (Azure Foundry) deployments, over
//! the OpenAI crate's body builder, stream decoder and model-list reader.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use cline_provider_core::auth::{send_renewing_after_401, CachedTokenSource, IssuedToken};
use cline_provider_core::http::sse::SseDecoder;
use cline_provider_core::http::{header_pair, read_body_capped, HttpClient, RequestSpec};
use cline_provider_core::telemetry::GenAiRequest;
use cline_provider_core::{
    ChatRequest, Error, ErrorKind, EventStream, ModelInfo, Provider, ProviderInfo, ProviderKind,
    Result, TimeoutPhase,
};
use cline_provider_openai::convert::build_body_bytes;
use cline_provider_openai::models::parse_model_list;
use http::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use secrecy::ExposeSecret;
use url::Url;

use crate::auth::api_key::api_key_header;
use crate::auth::{AzureAuth, CredentialChain, EntraTokenSource};
use crate::config::AzureConfig;
use crate::decode::AzureDecoder;
use crate::errors::{map_error, ErrorContext};
use crate::versions::body_options;

/// The largest model list read.
const MAX_MODEL_LIST_BYTES: usize = 8 * 1024 * 1024;

/// How a request is signed.
enum Signer {
    ApiKey(HeaderName, HeaderValue),
    Entra(Arc<CachedTokenSource>),
}

/// A connection to one Azure OpenAI resource.
///
/// - Chat requests go to the deployment URL with the `api-version` (or to the v1 API), with
///   the body fields that API version accepts ([`versions`](crate::versions)).
/// - **API key** goes out as `api-key`; **Entra ID** as `Authorization: Bearer`, from a
///   [`CachedTokenSource`] in front of the credential: refreshed two minutes before expiry,
///   one refresh in flight whatever the number of requests, and after a 401 one forced
///   refresh and one retry.
/// - Azure's stream quirks are read: a first chunk with empty `choices` and
///   `prompt_filter_results`, `content_filter_results` on chunks; a filtered prompt or reply
///   ends in a [`ContentFiltered`](ErrorKind::ContentFiltered) error.
///
/// ```no_run
/// use cline_provider_azure::{AzureConfig, AzureProvider};
/// use cline_provider_core::{ChatRequest, Message, Provider};
///
/// # async fn run() -> cline_provider_core::Result<()> {
/// // Entra ID: `az login` on a laptop, a managed identity on Azure; no key.
/// let provider = AzureProvider::new(AzureConfig::new("https://acme.openai.azure.com")?)?;
/// let reply = provider
///     .complete(ChatRequest::new("gpt-4o-prod").message(Message::user("Hello")))
///     .await?;
/// println!("{}", reply.text);
/// # Ok(())
/// # }
/// ```
pub struct AzureProvider {
    config: AzureConfig,
    client: HttpClient,
    signer: Signer,
    /// Custom headers, built once.
    headers: HeaderMap,
}

impl std::fmt::Debug for AzureProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureProvider")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AzureProvider {
    /// Checks `config` and builds the provider with its own HTTP client.
    ///
    /// # Errors
    ///
    /// [`InvalidConfig`](ErrorKind::InvalidConfig) naming the field (see
    /// [`AzureConfig::validate`]), or `AZURE_TOKEN_CREDENTIALS` for a bad chain selection.
    pub fn new(config: AzureConfig) -> Result<Self> {
        let client = HttpClient::new(config.http.clone())?;
        Self::with_client(config, client)
    }

    /// Like [`new`](Self::new), sharing an existing client for the resource's requests.
    pub fn with_client(config: AzureConfig, client: HttpClient) -> Result<Self> {
        config.validate()?;
        for warning in config.warnings() {
            tracing::warn!(host = %config.endpoint.host(), "{warning}");
        }
        if let (true, Some(v)) = (config.endpoint.is_v1(), config.api_version.as_deref()) {
            if config.effective_api_version().is_none() {
                tracing::warn!(
                    api_version = v,
                    "the v1 API takes no dated api-version; `{v}` is not sent"
                );
            }
        }
        let signer = match &config.auth {
            AzureAuth::ApiKey(key) => {
                let (name, value) = api_key_header(key)?;
                Signer::ApiKey(name, value)
            }
            AzureAuth::EntraId(entra) if entra.cache.is_none() => {
                let credential = match &entra.credential {
                    Some(c) => c.clone(),
                    None => {
                        let mut chain = entra.chain.clone();
                        chain.us_government |= config.endpoint.is_us_government();
                        if chain.http.is_none() {
                            chain.http = Some(client.config().clone());
                        }
                        Arc::new(CredentialChain::from_options(&chain)?)
                    }
                };
                let source = EntraTokenSource::new(credential, config.scope());
                Signer::Entra(Arc::new(CachedTokenSource::new(Arc::new(source))))
            }
            AzureAuth::EntraId(entra) => Signer::Entra(entra.cache.clone().ok_or_else(|| {
                Error::invalid_config("auth", "the Entra ID token cache is missing")
            })?),
        };
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            let (name, value) = header_pair(name, value)?;
            headers.insert(name, value);
        }
        Ok(AzureProvider {
            config,
            client,
            signer,
            headers,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &AzureConfig {
        &self.config
    }

    /// The token cache, when Entra ID signs the requests (to share or to clear on sign-out).
    pub fn token_cache(&self) -> Option<&Arc<CachedTokenSource>> {
        match &self.signer {
            Signer::Entra(cache) => Some(cache),
            Signer::ApiKey(..) => None,
        }
    }

    fn deployment_for(&self, model: &str) -> String {
        self.config
            .endpoint
            .deployment()
            .unwrap_or(model)
            .to_owned()
    }

    /// Headers of one request: accept, custom headers, the request's own, then the
    /// credential (which no custom header may replace).
    fn headers(
        &self,
        extra: &[(String, String)],
        accept: &'static str,
        token: Option<&IssuedToken>,
    ) -> Result<HeaderMap> {
        let mut h = HeaderMap::with_capacity(self.headers.len() + extra.len() + 3);
        h.insert(ACCEPT, HeaderValue::from_static(accept));
        for (name, value) in &self.headers {
            h.insert(name.clone(), value.clone());
        }
        for (name, value) in extra {
            let (name, value) = header_pair(name, value)?;
            h.insert(name, value);
        }
        match (&self.signer, token) {
            (Signer::ApiKey(name, value), _) => {
                h.remove(AUTHORIZATION);
                h.insert(name.clone(), value.clone());
            }
            (Signer::Entra(_), Some(token)) => {
                let mut value =
                    HeaderValue::from_str(&format!("Bearer {}", token.token.token.expose_secret()))
                        .map_err(|_| {
                            Error::new(
                        ErrorKind::NotSignedIn,
                        "the Entra ID token contains characters that cannot be sent in a header",
                    )
                        })?;
                value.set_sensitive(true);
                h.remove("api-key");
                h.insert(AUTHORIZATION, value);
            }
            (Signer::Entra(_), None) => {}
        }
        Ok(h)
    }

    async fn token(&self) -> Result<Option<IssuedToken>> {
        match &self.signer {
            Signer::Entra(cache) => cache.token().await.map(Some),
            Signer::ApiKey(..) => Ok(None),
        }
    }

    /// The Entra ID token to send with once more after the resource refused `rejected` (401);
    /// `None` (no second send) for an API key.
    async fn renewed(&self, rejected: Option<IssuedToken>) -> Result<Option<Option<IssuedToken>>> {
        match (&self.signer, rejected) {
            (Signer::Entra(cache), Some(rejected)) => cache
                .refresh_after_unauthorized(&rejected)
                .await
                .map(|fresh| Some(Some(fresh))),
            _ => Ok(None),
        }
    }

    async fn fetch_models(&self) -> Result<Vec<ModelInfo>> {
        let body = send_renewing_after_401(
            self.token().await?,
            |token, _| async move { self.models_once(token.as_ref()).await },
            |rejected| self.renewed(rejected),
            |e| e,
        )
        .await?;
        let mut models = parse_model_list(&body)?;
        if let Some(info) = &self.config.model_info {
            for m in models.iter_mut().filter(|m| m.id == info.id) {
                *m = info.clone().or(m);
            }
        }
        Ok(models)
    }

    async fn models_once(&self, token: Option<&IssuedToken>) -> Result<Vec<u8>> {
        let url = self.config.endpoint.models_url();
        let entra = matches!(self.signer, Signer::Entra(_));
        let headers = self.headers(&[], "application/json", token)?;
        let build = |c: &reqwest::Client| Ok(c.get(url.clone()).headers(headers.clone()));
        let map = |status: u16, h: &HeaderMap, body: &[u8]| {
            if status == 404 {
                Error::invalid_config(
                    "model",
                    format!(
                        "this resource offers no model list ({} answered 404) and no model list is configured; name the deployment to use as the model id",
                        display_url(&url)
                    ),
                )
                .with_status(404)
            } else {
                map_error(
                    status,
                    h,
                    body,
                    ErrorContext {
                        deployment: None,
                        entra_id: entra,
                    },
                )
            }
        };
        let spec = RequestSpec::new(&build, &map);
        let response = self.client.send(&spec).await?;
        let wait = self.client.config().header_timeout;
        tokio::time::timeout(
            wait,
            read_body_capped(response, MAX_MODEL_LIST_BYTES, "model list"),
        )
        .await
        .map_err(|_| Error::timeout(TimeoutPhase::Total, wait))?
    }

    /// One attempt at a chat stream, signed with `token`; `resends` is how many times this
    /// call was sent before (once more after a 401 with a renewed token), for its span.
    async fn stream_once(
        &self,
        req: &Prepared<'_>,
        token: Option<&IssuedToken>,
        resends: u32,
    ) -> Result<EventStream> {
        let mut headers = self.headers(req.extra_headers, "text/event-stream", token)?;
        if !headers.contains_key(CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let build = |c: &reqwest::Client| {
            Ok(c.post(req.url.clone())
                .headers(headers.clone())
                .body(req.body.clone()))
        };
        let entra = matches!(self.signer, Signer::Entra(_));
        let map = |status: u16, h: &HeaderMap, b: &[u8]| {
            map_error(
                status,
                h,
                b,
                ErrorContext {
                    deployment: Some(&req.deployment),
                    entra_id: entra,
                },
            )
        };
        let spec = RequestSpec::new(&build, &map)
            .with_cancel(req.cancel.clone())
            .with_gen_ai(
                GenAiRequest::chat("azure.ai.openai", req.request)
                    .server(&req.url)
                    .resent(resends),
            );
        let new_decoder = || -> Box<dyn SseDecoder> { Box::new(AzureDecoder::new()) };
        self.client.stream_sse(&spec, &new_decoder).await
    }
}

/// A chat request ready to send (body encoded once, sent up to twice).
struct Prepared<'a> {
    request: &'a ChatRequest,
    url: Url,
    body: Bytes,
    deployment: String,
    extra_headers: &'a [(String, String)],
    cancel: Option<cline_provider_core::CancellationToken>,
}

#[async_trait]
impl Provider for AzureProvider {
    fn info(&self) -> ProviderInfo {
        ProviderInfo {
            kind: ProviderKind::AzureFoundry,
            base_url: Some(self.config.endpoint.base_url()),
            default_model: self
                .config
                .endpoint
                .deployment()
                .map(str::to_owned)
                .or_else(|| self.config.default_model.clone()),
        }
    }

    /// The organization's list when it has one; the deployment the URL names; else the
    /// resource's v1 model list.
    ///
    /// # Errors
    ///
    /// [`InvalidConfig`](ErrorKind::InvalidConfig) naming `model` when the resource offers no
    /// list (its v1 route answered 404), and the mapped HTTP error otherwise.
    async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        if let Some(models) = &self.config.models {
            return Ok(models.clone());
        }
        if let Some(d) = self.config.endpoint.deployment() {
            let info = self
                .config
                .model_info
                .clone()
                .filter(|i| i.id.is_empty() || i.id == d)
                .map(|mut i| {
                    i.id = d.to_owned();
                    i
                })
                .unwrap_or_else(|| ModelInfo::new(d));
            return Ok(vec![info]);
        }
        self.fetch_models().await
    }

    async fn stream(&self, mut request: ChatRequest) -> Result<EventStream> {
        if request.model.trim().is_empty() {
            if let Some(model) = self
                .config
                .endpoint
                .deployment()
                .map(str::to_owned)
                .or_else(|| self.config.default_model.clone())
            {
                request.model = model;
            }
        }
        if request.reasoning_effort.is_none() {
            request.reasoning_effort = self.config.reasoning_effort;
        }
        let deployment = self.deployment_for(&request.model);
        let api_version = self.config.effective_api_version();
        let options = body_options(api_version);
        let model_info = self
            .config
            .model_info
            .as_ref()
            .filter(|i| i.id.is_empty() || i.id == request.model || i.id == deployment);
        // On the v1 API the body's `model` is the deployment, which is the model id there.
        let body = Bytes::from(build_body_bytes(&request, model_info, &options)?);
        let url = self.config.endpoint.chat_url(&deployment, api_version);
        tracing::debug!(
            host = url.host_str().unwrap_or(""),
            path = url.path(),
            deployment = %deployment,
            "Azure chat completion request"
        );
        let prepared = Prepared {
            request: &request,
            url,
            body,
            deployment,
            extra_headers: &request.extra_headers,
            cancel: request.cancel.as_ref().map(|c| c.0.clone()),
        };
        let prepared = &prepared;
        send_renewing_after_401(
            self.token().await?,
            |token, resends| async move { self.stream_once(prepared, token.as_ref(), resends).await },
            |rejected| self.renewed(rejected),
            |e| e,
        )
        .await
    }
}

fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.to_string()
}
