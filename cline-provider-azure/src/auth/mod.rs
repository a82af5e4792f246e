//! How requests to Azure OpenAI authenticate: the `api-key` header ([`api_key`]), or a
//! Microsoft Entra ID bearer token from a credential chain ([`entra`], [`chain`]).

pub mod api_key;
pub mod chain;
mod deadline;
pub mod entra;
mod executor;
mod identity;
mod kind;
mod transport;

use std::fmt;
use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use cline_provider_core::auth::CachedTokenSource;
use secrecy::SecretString;

pub use chain::{ChainOptions, CredentialChain};
pub use deadline::WithDeadline;
pub use entra::EntraTokenSource;
pub use identity::EntraIdentity;
pub use kind::ChainCredential;

/// Reads one environment variable; `None` when unset. The default reads the process
/// environment; tests and embedding programs pass their own.
pub type EnvFn = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The process environment as an [`EnvFn`].
pub fn process_env() -> EnvFn {
    Arc::new(|name| std::env::var(name).ok())
}

/// An [`EnvFn`] holding exactly `vars`: for tests, and for programs that keep their settings
/// elsewhere than in the process environment.
///
/// ```
/// use cline_provider_azure::auth::env_from;
/// let env = env_from([("AZURE_TOKEN_CREDENTIALS", "dev")]);
/// assert_eq!(env("AZURE_TOKEN_CREDENTIALS").as_deref(), Some("dev"));
/// assert_eq!(env("PATH"), None);
/// ```
pub fn env_from<K: Into<String>, V: Into<String>>(vars: impl IntoIterator<Item = (K, V)>) -> EnvFn {
    let map: std::collections::HashMap<String, String> = vars
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    Arc::new(move |name| map.get(name).cloned())
}

/// How requests authenticate.
#[derive(Clone)]
pub enum AzureAuth {
    /// The resource's key, sent as the `api-key` header (never as `Authorization`).
    ApiKey(SecretString),
    /// A Microsoft Entra ID token for the member's own identity, sent as
    /// `Authorization: Bearer …`, cached and refreshed ahead of expiry.
    EntraId(Box<EntraId>),
}

/// Entra ID settings: which credential, and for which scope.
#[derive(Clone, Default)]
pub struct EntraId {
    /// A caller-supplied credential; `None` builds the default chain from
    /// [`chain`](Self::chain) (see [`CredentialChain`]).
    pub credential: Option<Arc<dyn TokenCredential>>,
    /// The scope to ask for. Default: `https://cognitiveservices.azure.com/.default`, or
    /// `https://cognitiveservices.azure.us/.default` for `*.azure.us` hosts.
    pub scope: Option<String>,
    /// How the default chain is built (environment, timeouts, HTTP settings).
    pub chain: ChainOptions,
    /// A token cache to use as it is, e.g. one shared by several providers for the same
    /// resource; its source then decides the credential and scope, and the fields above are
    /// not used. `None`: a new cache in front of the credential.
    pub cache: Option<Arc<CachedTokenSource>>,
}

impl EntraId {
    /// The default chain, reading the process environment.
    pub fn default_chain() -> Self {
        EntraId::default()
    }

    /// Uses `credential` instead of the default chain.
    pub fn with_credential(credential: Arc<dyn TokenCredential>) -> Self {
        EntraId {
            credential: Some(credential),
            ..EntraId::default()
        }
    }
}

impl fmt::Debug for AzureAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AzureAuth::ApiKey(_) => f.write_str("ApiKey([redacted])"),
            AzureAuth::EntraId(e) => f
                .debug_struct("EntraId")
                .field(
                    "credential",
                    &if e.credential.is_some() {
                        "caller-supplied"
                    } else {
                        "default chain"
                    },
                )
                .field("scope", &e.scope)
                .finish_non_exhaustive(),
        }
    }
}
