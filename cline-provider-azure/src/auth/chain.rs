//! The default Entra ID credential chain, composed from `azure_identity`'s own credentials.
//!
//! `azure_identity` 1.x deliberately has no `DefaultAzureCredential`: its migration notes say
//! that trying developer and deployed credentials automatically can surprise. This SDK still
//! needs "whatever sign-in this machine has", so it composes the order the other Azure SDKs
//! use, from the crate's credentials (it never re-implements one), and says in every error
//! what each link answered:
//!
//! | link | answers when | why it is there |
//! |---|---|---|
//! | [`EnvironmentCredential`](ChainCredential::Environment) (`ClientSecretCredential`) | `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET` are set | CI jobs and servers with a service principal; `azure_identity` has no environment credential, so the chain reads the variables |
//! | [`WorkloadIdentityCredential`](ChainCredential::WorkloadIdentity) | `AZURE_FEDERATED_TOKEN_FILE` (+ tenant and client id) is set | Kubernetes pods with workload identity |
//! | [`ManagedIdentityCredential`](ChainCredential::ManagedIdentity) | on an Azure VM (IMDS) or App Service / Functions (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`) | deployed code with no secret at all |
//! | [`AzureCliCredential`](ChainCredential::AzureCli) | `az login` was run | a developer's laptop |
//! | [`AzureDeveloperCliCredential`](ChainCredential::AzureDeveloperCli) | `azd auth login` was run | a developer using azd |
//!
//! **`AZURE_TOKEN_CREDENTIALS`** narrows the chain as in the other Azure SDKs: `dev` (the two
//! CLIs), `prod` (environment, workload identity, managed identity), or one credential's name
//! (`EnvironmentCredential`, `WorkloadIdentityCredential`, `ManagedIdentityCredential`,
//! `AzureCliCredential`, `AzureDeveloperCliCredential`). Anything else is a configuration
//! error, not a silent fallback.
//!
//! **No waiting on a laptop.** The managed-identity credential's IMDS probe overrides the
//! caller's retry settings (measured: 101 s before it fails on a machine without IMDS), so
//! inside the chain it runs under [`ChainOptions::managed_identity_timeout`] (2 s by
//! default). The CLIs run under [`ChainOptions::developer_tool_timeout`].
//!
//! **Sticky.** Once a link has produced a token, later calls go to that link only, as the
//! other SDKs do: a working sign-in is never silently replaced by a different identity.
//!
//! **Environment.** Every variable is read through [`ChainOptions::env`], and the CLIs run
//! with it (`PATH`, `HOME`, `AZURE_CONFIG_DIR`, …). The one exception is the managed-identity
//! credential, which reads `IDENTITY_ENDPOINT`, `IDENTITY_HEADER` and `MSI_ENDPOINT` from the
//! process itself (`azure_identity` offers no way to pass them).

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use azure_core::error::ErrorKind as AzErrorKind;
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, AzureDeveloperCliCredential,
    AzureDeveloperCliCredentialOptions, ClientAssertionCredentialOptions, ClientSecretCredential,
    ClientSecretCredentialOptions, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use cline_provider_core::http::HttpConfig;
use cline_provider_core::Result;

use super::executor::EnvExecutor;
use super::transport::client_options;
use super::{process_env, EnvFn};
use super::{ChainCredential, WithDeadline};

/// The public cloud's authority host.
const PUBLIC_AUTHORITY: &str = "https://login.microsoftonline.com";
/// The US Government cloud's authority host.
const US_GOVERNMENT_AUTHORITY: &str = "https://login.microsoftonline.us";

/// How the default chain is built.
#[derive(Clone)]
pub struct ChainOptions {
    /// Where environment variables come from. Default: the process environment.
    pub env: EnvFn,
    /// The most a managed-identity attempt may take inside the chain. Default 2 s: IMDS
    /// answers in milliseconds where it exists, and a laptop must not wait for it.
    pub managed_identity_timeout: Duration,
    /// The most one `az` or `azd` run may take. Default 30 s.
    pub developer_tool_timeout: Duration,
    /// Proxy, extra root certificates and timeouts for the token endpoints (custom headers
    /// are never sent there). `None`: the provider's own settings.
    pub http: Option<HttpConfig>,
    /// Uses `https://login.microsoftonline.us` unless `AZURE_AUTHORITY_HOST` says otherwise
    /// (set for `*.azure.us` endpoints).
    pub us_government: bool,
}

impl Default for ChainOptions {
    fn default() -> Self {
        ChainOptions {
            env: process_env(),
            managed_identity_timeout: Duration::from_secs(2),
            developer_tool_timeout: Duration::from_secs(30),
            http: None,
            us_government: false,
        }
    }
}

impl fmt::Debug for ChainOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainOptions")
            .field("managed_identity_timeout", &self.managed_identity_timeout)
            .field("developer_tool_timeout", &self.developer_tool_timeout)
            .field("us_government", &self.us_government)
            .finish_non_exhaustive()
    }
}

/// One link: a credential, or why it is not configured here.
struct Link {
    name: String,
    credential: std::result::Result<Arc<dyn TokenCredential>, String>,
}

/// A chain of credentials tried in order; see the [module docs](self) for the default one.
///
/// The first link that produces a token answers this and every later call. When none does,
/// the error lists what each link said, its whole cause chain included.
///
/// ```
/// use cline_provider_azure::auth::{ChainOptions, CredentialChain, ChainCredential};
/// use std::sync::Arc;
///
/// let env = Arc::new(|name: &str| match name {
///     "AZURE_TOKEN_CREDENTIALS" => Some("dev".to_owned()),
///     _ => None,
/// });
/// let chain = CredentialChain::from_options(&ChainOptions { env, ..ChainOptions::default() })?;
/// assert_eq!(chain.names(), vec!["AzureCliCredential", "AzureDeveloperCliCredential"]);
/// # Ok::<(), cline_provider_core::Error>(())
/// ```
pub struct CredentialChain {
    links: Vec<Link>,
    sticky: Mutex<Option<usize>>,
}

impl fmt::Debug for CredentialChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialChain")
            .field("links", &self.names())
            .finish_non_exhaustive()
    }
}

impl CredentialChain {
    /// The default chain, narrowed by `AZURE_TOKEN_CREDENTIALS`.
    ///
    /// # Errors
    ///
    /// [`InvalidConfig`](cline_provider_core::ErrorKind::InvalidConfig) for a bad
    /// `AZURE_TOKEN_CREDENTIALS`, or an HTTP setting the identity client cannot use. A link
    /// that is not configured is kept, with the reason, for the error message.
    pub fn from_options(options: &ChainOptions) -> Result<CredentialChain> {
        let env = &options.env;
        let kinds = ChainCredential::select(env("AZURE_TOKEN_CREDENTIALS").as_deref())?;
        let alone = kinds.len() == 1;
        let mut links = Vec::with_capacity(kinds.len());
        for kind in kinds {
            let credential = build(kind, options, alone)?;
            links.push(Link {
                name: kind.name().to_owned(),
                credential,
            });
        }
        Ok(CredentialChain {
            links,
            sticky: Mutex::new(None),
        })
    }

    /// A chain of the given credentials, tried in order (for tests, or a program's own
    /// order).
    pub fn from_credentials(
        credentials: impl IntoIterator<Item = (String, Arc<dyn TokenCredential>)>,
    ) -> CredentialChain {
        CredentialChain {
            links: credentials
                .into_iter()
                .map(|(name, c)| Link {
                    name,
                    credential: Ok(c),
                })
                .collect(),
            sticky: Mutex::new(None),
        }
    }

    /// The links' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.links.iter().map(|l| l.name.as_str()).collect()
    }

    /// For each link, its name and whether it is configured here (with the reason when not).
    pub fn describe(&self) -> Vec<(String, std::result::Result<(), String>)> {
        self.links
            .iter()
            .map(|l| {
                (
                    l.name.clone(),
                    l.credential.as_ref().map(|_| ()).map_err(Clone::clone),
                )
            })
            .collect()
    }

    /// The link that answered, once one has.
    pub fn selected(&self) -> Option<&str> {
        let sticky = *self.sticky.lock().unwrap_or_else(|p| p.into_inner());
        sticky.map(|i| self.links[i].name.as_str())
    }
}

#[async_trait::async_trait]
impl TokenCredential for CredentialChain {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let sticky = *self.sticky.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = sticky {
            if let Ok(c) = &self.links[i].credential {
                return c.get_token(scopes, options).await.map_err(|e| {
                    let said = full_chain(&e);
                    azure_core::Error::with_message(
                        AzErrorKind::Credential,
                        format!("{}: {said}", self.links[i].name),
                    )
                });
            }
        }
        let mut said = Vec::with_capacity(self.links.len());
        for (i, link) in self.links.iter().enumerate() {
            match &link.credential {
                Err(why) => said.push(format!("{}: not configured ({why})", link.name)),
                Ok(c) => match c.get_token(scopes, options.clone()).await {
                    Ok(token) => {
                        tracing::debug!(credential = %link.name, "Entra ID token obtained");
                        *self.sticky.lock().unwrap_or_else(|p| p.into_inner()) = Some(i);
                        return Ok(token);
                    }
                    Err(e) => said.push(format!("{}: {}", link.name, full_chain(&e))),
                },
            }
        }
        Err(azure_core::Error::with_message(
            AzErrorKind::Credential,
            format!(
                "no credential in the chain produced a token:\n  - {}",
                said.join("\n  - ")
            ),
        ))
    }
}

/// An error and its causes on one line: `azure_identity` puts the useful part (a refused
/// certificate, a missing `az`) below its own top line.
pub(crate) fn full_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let text = err.to_string().replace('\n', " ");
        let text = text.trim().to_owned();
        if !text.is_empty() && parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
        cur = err.source();
    }
    parts.join(": ")
}

fn var(env: &EnvFn, name: &str) -> Option<String> {
    env(name).filter(|v| !v.trim().is_empty())
}

/// The variables of `names` that are unset or empty.
fn missing<'n>(env: &EnvFn, names: &[&'n str]) -> Vec<&'n str> {
    names
        .iter()
        .copied()
        .filter(|n| var(env, n).is_none())
        .collect()
}

/// A developer tool's credential, bounded by the tool timeout.
fn bounded_tool(
    credential: azure_core::Result<Arc<dyn TokenCredential>>,
    limit: Duration,
    what: &str,
) -> std::result::Result<Arc<dyn TokenCredential>, String> {
    match credential {
        Ok(c) => Ok(Arc::new(WithDeadline::new(c, limit, what))),
        Err(e) => Err(full_chain(&e)),
    }
}

/// The authority host for service principals: `AZURE_AUTHORITY_HOST`, else the cloud's.
fn cloud(options: &ChainOptions) -> Arc<CloudConfiguration> {
    let mut custom = CustomConfiguration::default();
    custom.authority_host = var(&options.env, "AZURE_AUTHORITY_HOST").unwrap_or_else(|| {
        if options.us_government {
            US_GOVERNMENT_AUTHORITY.to_owned()
        } else {
            PUBLIC_AUTHORITY.to_owned()
        }
    });
    Arc::new(custom.into())
}

/// Builds one link. `Ok(Err(reason))` is a link that is not configured here.
fn build(
    kind: ChainCredential,
    options: &ChainOptions,
    alone: bool,
) -> Result<std::result::Result<Arc<dyn TokenCredential>, String>> {
    let env = &options.env;
    let not_configured = |missing: Vec<&str>| Ok(Err(format!("{} not set", missing.join(", "))));
    let failed = |e: azure_core::Error| Ok(Err(full_chain(&e)));
    match kind {
        ChainCredential::Environment => {
            let missing = missing(
                env,
                &["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"],
            );
            if !missing.is_empty() {
                return not_configured(missing);
            }
            let mut client = client_options(options.http.as_ref(), env)?;
            client.cloud = Some(cloud(options));
            let tenant = var(env, "AZURE_TENANT_ID").unwrap_or_default();
            let credential = ClientSecretCredential::new(
                tenant.trim(),
                var(env, "AZURE_CLIENT_ID")
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
                Secret::new(var(env, "AZURE_CLIENT_SECRET").unwrap_or_default()),
                Some(ClientSecretCredentialOptions {
                    client_options: client,
                }),
            );
            match credential {
                Ok(c) => Ok(Ok(c)),
                Err(e) => failed(e),
            }
        }
        ChainCredential::WorkloadIdentity => {
            let missing = missing(
                env,
                &[
                    "AZURE_FEDERATED_TOKEN_FILE",
                    "AZURE_TENANT_ID",
                    "AZURE_CLIENT_ID",
                ],
            );
            if !missing.is_empty() {
                return not_configured(missing);
            }
            let mut client = client_options(options.http.as_ref(), env)?;
            client.cloud = Some(cloud(options));
            let credential =
                WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                    credential_options: ClientAssertionCredentialOptions {
                        client_options: client,
                    },
                    client_id: var(env, "AZURE_CLIENT_ID"),
                    tenant_id: var(env, "AZURE_TENANT_ID"),
                    token_file_path: var(env, "AZURE_FEDERATED_TOKEN_FILE").map(Into::into),
                }));
            match credential {
                Ok(c) => Ok(Ok(c)),
                Err(e) => failed(e),
            }
        }
        ChainCredential::ManagedIdentity => {
            let mut client = client_options(options.http.as_ref(), env)?;
            // App Service answers at once; IMDS retries on its own schedule.
            client.retry = azure_core::http::RetryOptions::default();
            let user_assigned_id = var(env, "AZURE_CLIENT_ID").map(UserAssignedId::ClientId);
            let credential =
                ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                    user_assigned_id,
                    client_options: client,
                }));
            let credential: Arc<dyn TokenCredential> = match credential {
                Ok(c) => c,
                // Service Fabric, Azure ML or a bare MSI_ENDPOINT: not supported by the crate.
                Err(e) => return failed(e),
            };
            if alone {
                return Ok(Ok(credential));
            }
            let where_ = if var(env, "IDENTITY_ENDPOINT").is_some() {
                "the managed-identity endpoint (IDENTITY_ENDPOINT) did not answer"
            } else {
                "no managed-identity endpoint (IMDS) answered; this is not an Azure VM"
            };
            Ok(Ok(Arc::new(WithDeadline::new(
                credential,
                options.managed_identity_timeout,
                where_,
            ))))
        }
        ChainCredential::AzureCli => Ok(bounded_tool(
            AzureCliCredential::new(Some(AzureCliCredentialOptions {
                executor: Some(Arc::new(EnvExecutor::new(env.clone()))),
                ..AzureCliCredentialOptions::default()
            }))
            .map(|c| c as Arc<dyn TokenCredential>),
            options.developer_tool_timeout,
            "`az account get-access-token` did not finish",
        )),
        ChainCredential::AzureDeveloperCli => Ok(bounded_tool(
            AzureDeveloperCliCredential::new(Some(AzureDeveloperCliCredentialOptions {
                executor: Some(Arc::new(EnvExecutor::new(env.clone()))),
                ..AzureDeveloperCliCredentialOptions::default()
            }))
            .map(|c| c as Arc<dyn TokenCredential>),
            options.developer_tool_timeout,
            "`azd auth token` did not finish",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> EnvFn {
        crate::auth::env_from(pairs.iter().copied())
    }

    #[test]
    fn managed_identity_runs_under_the_deadline_inside_the_chain_only() {
        let options = ChainOptions {
            env: env_of(&[]),
            managed_identity_timeout: Duration::from_millis(1500),
            ..ChainOptions::default()
        };
        let in_chain = build(ChainCredential::ManagedIdentity, &options, false)
            .unwrap()
            .unwrap();
        let shown = format!("{in_chain:?}");
        assert!(
            shown.starts_with("WithDeadline") && shown.contains("1.5s"),
            "{shown}"
        );
        let alone = build(ChainCredential::ManagedIdentity, &options, true)
            .unwrap()
            .unwrap();
        assert!(!format!("{alone:?}").contains("WithDeadline"));
    }

    #[test]
    fn authority_host_by_cloud_and_override() {
        let host = |env: EnvFn, gov: bool| match &*cloud(&ChainOptions {
            env,
            us_government: gov,
            ..ChainOptions::default()
        }) {
            CloudConfiguration::Custom(c) => c.authority_host.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(host(env_of(&[]), false), PUBLIC_AUTHORITY);
        assert_eq!(host(env_of(&[]), true), US_GOVERNMENT_AUTHORITY);
        assert_eq!(
            host(
                env_of(&[("AZURE_AUTHORITY_HOST", "https://login.example")]),
                true
            ),
            "https://login.example"
        );
    }

    #[test]
    fn unconfigured_links_say_which_variables_are_missing() {
        let options = ChainOptions {
            env: env_of(&[("AZURE_TENANT_ID", "t")]),
            ..ChainOptions::default()
        };
        let why = build(ChainCredential::Environment, &options, false)
            .unwrap()
            .err()
            .unwrap();
        assert_eq!(why, "AZURE_CLIENT_ID, AZURE_CLIENT_SECRET not set");
        let why = build(ChainCredential::WorkloadIdentity, &options, false)
            .unwrap()
            .err()
            .unwrap();
        assert_eq!(why, "AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID not set");
    }
}
