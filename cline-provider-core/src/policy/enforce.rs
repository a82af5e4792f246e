//! [`EnforcedProvider`]: the one enforcement point of the organization's policy, in front of
//! every backend a connection hands out.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::connection::Backend;
use super::effective::EffectiveSettings;
use super::error::{PolicyError, PolicyErrorReason};
use super::field::Field;
use crate::error::{Error, Result};
use crate::http::validate_header;
use crate::model::ModelInfo;
use crate::provider::{Provider, ProviderInfo, ProviderKind};
use crate::request::ChatRequest;
use crate::stream::{ChatResponse, EventStream};

/// A backend's provider behind the effective settings' policy. Built by
/// [`Connection::new`](super::Connection::new), the one place a backend is wrapped.
///
/// Before a byte is sent, every request is checked against the effective settings it was
/// connected with:
///
/// - **model**: when the organization lists models, the request's model — from
///   [`ChatRequest::model`], or the extra body field `model`, which backends send in its place —
///   must be one of them, compared exactly as the endpoint compares ids (no case folding, no
///   trimming). An empty model becomes the effective model. A refusal is the same
///   [`PolicyError`] a refused [`Edit::Model`](super::Edit::Model) gives;
/// - **headers**: a request header may not replace a header the organization sets (a
///   [`PolicyError`] naming it), nor the header that carries the member's credential (an
///   [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) error naming it), and must
///   pass [`validate_header`];
/// - **model list**: [`Provider::list_models`] answers with the organization's models and
///   their info when it lists models; otherwise with the endpoint's list.
///
/// A refused request never reaches the backend.
///
/// ```
/// use async_trait::async_trait;
/// use cline_provider_core::policy::{resolve, Backend, Connection, Organization, Policy, MemberSettings};
/// use cline_provider_core::{ChatRequest, ErrorKind, EventStream, Message, ModelInfo, Provider, ProviderInfo, ProviderKind, Result};
///
/// /// A backend that must never be reached in this example.
/// struct Unreachable;
/// #[async_trait]
/// impl Provider for Unreachable {
///     fn info(&self) -> ProviderInfo {
///         ProviderInfo { kind: ProviderKind::OpenAiCompatible, base_url: None, default_model: None }
///     }
///     async fn list_models(&self) -> Result<Vec<ModelInfo>> { unreachable!() }
///     async fn stream(&self, _: ChatRequest) -> Result<EventStream> { unreachable!() }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<()> {
/// let policy = Policy::from_json(
///     r#"{"version": "1", "providerSettings": {"OpenAiCompatible": {"models": [{"id": "team-model"}]}}}"#,
///     Organization::new("org-1").with_name("Acme"),
/// )?;
/// let settings = resolve(Some(&policy), &MemberSettings::default());
/// let backend = Backend { provider: Box::new(Unreachable), credential_headers: vec![], warnings: vec![] };
/// let provider = Connection::new(&settings, backend).into_provider();
///
/// let refused = provider.stream(ChatRequest::new("gpt-4o").message(Message::user("hi"))).await.err().unwrap();
/// assert_eq!(refused.kind(), &ErrorKind::LockedByOrganization);
/// assert_eq!(refused.field(), Some("openAiModelId"));
/// assert_eq!(refused.available_models(), ["team-model"]);
/// assert_eq!(provider.list_models().await?[0].id, "team-model");
/// # Ok(())
/// # }
/// ```
pub struct EnforcedProvider {
    backend: Box<dyn Provider>,
    settings: Arc<EffectiveSettings>,
    /// The organization's headers, when it sets them.
    locked_headers: Vec<(String, String)>,
    credential_headers: Vec<String>,
}

impl std::fmt::Debug for EnforcedProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let locked: Vec<&str> = self
            .locked_headers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        f.debug_struct("EnforcedProvider")
            .field("backend", &self.backend.info())
            .field(
                "offered_models",
                &self.settings.offered_models().map(<[_]>::len),
            )
            .field("locked_headers", &locked)
            .field("credential_headers", &self.credential_headers)
            .finish()
    }
}

impl EnforcedProvider {
    pub(super) fn new(settings: &EffectiveSettings, backend: Backend) -> Self {
        let headers = settings.headers();
        let locked_headers = if headers.locked {
            headers
                .value
                .iter()
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect()
        } else {
            Vec::new()
        };
        EnforcedProvider {
            backend: backend.provider,
            settings: Arc::new(settings.clone()),
            locked_headers,
            credential_headers: backend.credential_headers,
        }
    }

    /// The settings this provider enforces.
    pub fn settings(&self) -> &EffectiveSettings {
        &self.settings
    }

    /// The bare backend, which enforces nothing: for asking the endpoint itself (its own model
    /// listing, say), never for sending a member's request.
    pub fn endpoint(&self) -> &dyn Provider {
        self.backend.as_ref()
    }

    /// What [`stream`](Provider::stream) does before sending: fills an empty model with the
    /// effective one and checks the request against the policy (see
    /// [`EnforcedProvider`]).
    ///
    /// # Errors
    ///
    /// A [`PolicyError`] (as [`Error`], kind
    /// [`LockedByOrganization`](crate::ErrorKind::LockedByOrganization)) for a model the
    /// organization does not offer or a header it sets; an
    /// [`InvalidConfig`](crate::ErrorKind::InvalidConfig) error naming the header for the
    /// credential header or a header [`validate_header`] refuses.
    pub fn enforce(&self, request: &mut ChatRequest) -> Result<()> {
        if request.model.trim().is_empty() {
            if let Some(model) = &self.settings.model_id().value {
                request.model = model.clone();
            }
        }
        if let Some(offered) = self.settings.offered_models() {
            self.check_model(offered, &request.model)?;
            match request.extra_body.get("model") {
                None => {}
                Some(Value::String(id)) => self.check_model(offered, id)?,
                Some(other) => self.check_model(offered, &other.to_string())?,
            }
        }
        for (name, value) in &request.extra_headers {
            validate_header(name, value)?;
            if let Some((_, locked)) = self
                .locked_headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                if locked != value {
                    return Err(PolicyError::new(
                        Field::Headers,
                        self.settings.organization(),
                        PolicyErrorReason::HeaderLocked {
                            header: name.clone(),
                        },
                        Vec::new(),
                    )
                    .into());
                }
            }
            if self
                .credential_headers
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name))
            {
                let credential = match self.settings.provider_kind() {
                    Ok(ProviderKind::OpenAiCodex) => {
                        "the member's sign-in with OpenAI; sign in again to change it".to_owned()
                    }
                    _ => format!(
                        "the member's stored {}; change the stored credential instead",
                        self.settings.api_key_name()
                    ),
                };
                return Err(Error::invalid_config(
                    format!("headers.{name}"),
                    format!(
                        "`{name}` carries this connection's credential ({credential}), so a \
                         request cannot set it"
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check_model(&self, offered: &[ModelInfo], id: &str) -> Result<()> {
        if offered.iter().any(|m| m.id == id) {
            return Ok(());
        }
        Err(PolicyError::new(
            Field::Model,
            self.settings.organization(),
            PolicyErrorReason::ModelNotAllowed {
                requested: id.to_owned(),
            },
            offered.iter().map(|m| m.id.clone()).collect(),
        )
        .into())
    }
}

#[async_trait]
impl Provider for EnforcedProvider {
    fn info(&self) -> ProviderInfo {
        ProviderInfo {
            default_model: self.settings.model_id().value.clone(),
            ..self.backend.info()
        }
    }

    /// The organization's models with its model info when it lists models; otherwise the
    /// endpoint's own list.
    async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        match self.settings.offered_models() {
            Some(offered) => Ok(offered.to_vec()),
            None => self.backend.list_models().await,
        }
    }

    async fn stream(&self, mut request: ChatRequest) -> Result<EventStream> {
        self.enforce(&mut request)?;
        self.backend.stream(request).await
    }

    /// The backend's model info (its prices price the replies).
    fn model_info(&self, model: &str) -> Option<ModelInfo> {
        self.backend.model_info(model)
    }

    /// The same checks as [`stream`](Provider::stream), then the backend's own whole-reply
    /// request (a non-streaming one for the OpenAI Compatible backend).
    async fn complete(&self, mut request: ChatRequest) -> Result<ChatResponse> {
        self.enforce(&mut request)?;
        self.backend.complete(request).await
    }
}
