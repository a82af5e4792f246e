//! [`RemoteConfigClient`]: the organization's policy as the admin API, the disk cache and the
//! schedule decide it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use secrecy::SecretString;

use super::admin_api::{AdminApi, OrgConfig};
use super::cache::PolicyCache;
use super::outcome::{ClearReason, RefreshOutcome};
use super::remote::{Organization, Policy, PolicySource, RemoteConfig};
use super::schedule::RefreshSchedule;
use crate::error::{Error, Result};
use crate::http::HttpConfig;

/// Fetches the organization's policy from the admin API, the way the original product does:
///
/// 1. discovery, `GET {api}/api/v1/users/me/remote-config` (bearer token), which names the
///    member's organization and may carry the policy itself;
/// 2. otherwise the organization endpoint, `GET {api}/api/v1/organizations/{id}/remote-config`,
///    answering `{enabled, value}`;
/// 3. a valid policy is applied and written to the [`PolicyCache`];
/// 4. only an explicit answer clears it (and its cache): `data: null`, `enabled: false`, or a
///    discovery that lists the member in no organization;
/// 5. anything else is a failed fetch — the network, an HTTP status, an answer without `data`
///    (`200 {}`, `{"success": true}`), a page that is not JSON (a captive portal), an empty
///    body, an invalid document — and falls back to the cached copy, or else keeps the policy
///    in effect, and says why. A failed fetch never deletes the cache.
///
/// **The envelope.** Both endpoints answer `{"success", "error", "data"}`; discovery's `data`
/// names the organization and may carry the policy document itself, as a JSON *string* in
/// `value`; the organization endpoint's `data` is `{"enabled", "value"}`. A working example,
/// against a local server playing the admin API:
///
/// ```
/// use cline_provider_core::policy::RemoteConfigClient;
/// use cline_provider_testkit::{Reply, TestServer};
/// use serde_json::json;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> cline_provider_core::Result<()> {
/// let admin = TestServer::start().await?;
/// let policy = json!({"version": "v1", "providerSettings": {"OpenAiCompatible": {
///     "openAiBaseUrl": "https://llm.acme.example/v1",
///     "models": [{"id": "gpt-4o"}]
/// }}});
/// admin.route("GET", "/api/v1/users/me/remote-config", Reply::json(200, json!({
///     "success": true,
///     "error": "",
///     "data": {
///         "organizationId": "org-acme",
///         "value": policy.to_string(),
///         "organizations": [{"organizationId": "org-acme", "name": "Acme"}]
///     }
/// })));
/// // Without `value` in discovery, the client asks the organization endpoint, which answers
/// // {"success": true, "data": {"enabled": true, "value": "…"}}; `"enabled": false` or
/// // `"data": null` there means the organization has no policy.
/// let client = RemoteConfigClient::new(&admin.url(), "member-token".to_owned().into())?;
/// let applied = client.refresh().await;
/// let policy = applied.policy().expect("applied");
/// assert_eq!(policy.organization.id, "org-acme");
/// # Ok(())
/// # }
/// ```
///
/// Nothing happens in the background unless the application asks: call
/// [`refresh`](RemoteConfigClient::refresh) when [`next_refresh_in`](RemoteConfigClient::next_refresh_in)
/// says so, use [`spawn_refresher`](super::spawn_refresher), or hold a
/// [`ManagedConnection`](super::ManagedConnection), which does both.
pub struct RemoteConfigClient {
    api: AdminApi,
    cache: Option<PolicyCache>,
    schedule: Mutex<RefreshSchedule>,
    current: RwLock<Option<Arc<Policy>>>,
    refresh_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for RemoteConfigClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteConfigClient")
            .field("api_base", &self.api.api_base().as_str())
            .field("token", &"••••")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl RemoteConfigClient {
    /// A client for the admin API at `api_base` (e.g. `https://api.cline.bot`), authenticating
    /// with `token`, over the SDK's HTTP engine (proxy from the environment, `SSL_CERT_FILE`,
    /// User-Agent) with a 10 s connect timeout and a 30 s request timeout. Redirects are
    /// followed only within the same origin, so the token never reaches another host.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) naming `admin_api_url` for
    /// an invalid URL, or plain `http://` to anything but loopback (the token would travel
    /// unencrypted); [`ErrorKind::NotSignedIn`](crate::ErrorKind::NotSignedIn) for an empty
    /// token.
    pub fn new(api_base: &str, token: SecretString) -> Result<Self> {
        Ok(Self::around(AdminApi::new(api_base, token)?))
    }

    /// Like [`new`](RemoteConfigClient::new) with the application's own HTTP settings (proxy,
    /// extra CA, timeouts, User-Agent): the same [`HttpConfig`] the providers take. Its
    /// redirect and retry settings are not used: the admin API follows same-origin redirects
    /// only, and a failed fetch is tried again by the schedule, not at once.
    ///
    /// # Errors
    ///
    /// As [`new`](RemoteConfigClient::new), and an invalid `config` (named field).
    pub fn with_http_config(
        api_base: &str,
        token: SecretString,
        config: HttpConfig,
    ) -> Result<Self> {
        Ok(Self::around(AdminApi::with_http_config(
            api_base, token, config,
        )?))
    }

    fn around(api: AdminApi) -> Self {
        RemoteConfigClient {
            api,
            cache: None,
            schedule: Mutex::new(RefreshSchedule::default()),
            current: RwLock::new(None),
            refresh_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Keeps the last known good copies in `dir` (typically
    /// [`ConfigDir::policy_cache_dir`](super::ConfigDir::policy_cache_dir)). Without a cache
    /// directory, nothing is written to disk.
    pub fn with_cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache = Some(PolicyCache::new(dir));
        self
    }

    /// Sets the refresh schedule.
    pub fn with_schedule(self, schedule: RefreshSchedule) -> Self {
        if let Ok(mut s) = self.schedule.lock() {
            *s = schedule;
        }
        self
    }

    /// Replaces the bearer token (after the member signs in again).
    pub fn set_token(&self, token: SecretString) {
        self.api.set_token(token);
    }

    /// The policy in effect, if any.
    pub fn current(&self) -> Option<Arc<Policy>> {
        self.current.read().ok().and_then(|c| c.clone())
    }

    /// The disk cache, when one is configured.
    pub fn cache(&self) -> Option<&PolicyCache> {
        self.cache.as_ref()
    }

    /// How long until the next refresh is due (zero before the first one).
    pub fn next_refresh_in(&self) -> Duration {
        self.schedule
            .lock()
            .map(|s| s.next_in(Instant::now()))
            .unwrap_or(Duration::ZERO)
    }

    fn set_current(&self, policy: Option<Arc<Policy>>) {
        if let Ok(mut c) = self.current.write() {
            *c = policy;
        }
    }

    /// Fetches the policy now and applies the result (see the type's documentation). Never
    /// fails: a failure is reported in the outcome and the policy in effect is kept. Concurrent
    /// calls run one at a time.
    pub async fn refresh(&self) -> RefreshOutcome {
        let _one_at_a_time = self.refresh_lock.lock().await;
        let outcome = self.refresh_inner().await;
        if let Ok(mut s) = self.schedule.lock() {
            s.record(Instant::now(), outcome.is_success());
        }
        match &outcome {
            RefreshOutcome::Applied {
                changed: true,
                policy,
                ..
            } => tracing::info!(
                organization = %policy.organization,
                version = %policy.config.version,
                "organization policy applied"
            ),
            RefreshOutcome::FromCache { error, .. } => tracing::warn!(
                error = %error,
                "admin API failed; using the last known good organization policy"
            ),
            RefreshOutcome::Kept { error, .. } => tracing::warn!(
                error = %error,
                "admin API failed; keeping the organization policy in effect"
            ),
            RefreshOutcome::Cleared { reason } => {
                tracing::info!(?reason, "organization policy cleared")
            }
            _ => {}
        }
        outcome
    }

    async fn refresh_inner(&self) -> RefreshOutcome {
        let discovery = match self.api.discover().await {
            Ok(Some(d)) => d,
            Ok(None) => return self.clear(ClearReason::NoOrganization, None),
            Err(e) => return self.fall_back(None, e),
        };
        let org = discovery.organization;

        let mut discovery_error = None;
        if let Some(raw) = discovery.value.filter(|v| !v.trim().is_empty()) {
            match RemoteConfig::from_json(&raw) {
                Ok(config) => return self.apply(org, config, &raw),
                Err(e) => discovery_error = Some(e),
            }
        }

        match self.api.fetch_organization(&org).await {
            Ok(OrgConfig::Disabled) => self.clear(
                ClearReason::Disabled {
                    organization: org.clone(),
                },
                Some(&org),
            ),
            Ok(OrgConfig::NotConfigured) => self.clear(
                ClearReason::NotConfigured {
                    organization: org.clone(),
                },
                Some(&org),
            ),
            Ok(OrgConfig::Enabled(raw)) => match RemoteConfig::from_json(&raw) {
                Ok(config) => self.apply(org, config, &raw),
                Err(e) => self.fall_back(Some(&org), e),
            },
            Err(e) => {
                let e = match discovery_error {
                    Some(d) => Error::new(
                        e.kind().clone(),
                        format!(
                            "{} (the discovered policy was invalid too: {})",
                            e.message(),
                            d.message()
                        ),
                    )
                    .with_field(e.field().unwrap_or_default().to_owned()),
                    None => e,
                };
                self.fall_back(Some(&org), e)
            }
        }
    }

    fn apply(&self, organization: Organization, config: RemoteConfig, raw: &str) -> RefreshOutcome {
        let changed = self
            .current()
            .is_none_or(|c| c.organization != organization || c.config != config);
        let cache_error = self
            .cache
            .as_ref()
            .and_then(|cache| cache.store(&organization, raw).err());
        let policy = Arc::new(Policy {
            organization,
            config,
            source: PolicySource::AdminApi,
        });
        self.set_current(Some(policy.clone()));
        RefreshOutcome::Applied {
            policy,
            changed,
            cache_error,
        }
    }

    fn clear(&self, reason: ClearReason, organization: Option<&Organization>) -> RefreshOutcome {
        self.set_current(None);
        if let Some(cache) = &self.cache {
            let forget = match organization {
                Some(o) => Some(o.clone()),
                None => cache.last_organization().ok().flatten(),
            };
            if let Some(o) = forget {
                if let Err(e) = cache.remove(&o.id) {
                    tracing::warn!(error = %e, "could not delete the cached organization policy");
                }
            }
        }
        RefreshOutcome::Cleared { reason }
    }

    fn fall_back(&self, organization: Option<&Organization>, error: Error) -> RefreshOutcome {
        let current = self.current();
        // The policy in effect is at least as new as the disk copy of the same organization.
        let keep_current = match (&current, organization) {
            (Some(c), Some(o)) => c.organization.id == o.id,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if keep_current {
            return RefreshOutcome::Kept {
                policy: current,
                error,
            };
        }
        let Some(cache) = &self.cache else {
            return RefreshOutcome::Kept {
                policy: current,
                error,
            };
        };
        let org = match organization {
            Some(o) => Some(o.clone()),
            None => cache.last_organization().unwrap_or_default(),
        };
        let Some(org) = org else {
            return RefreshOutcome::Kept {
                policy: current,
                error,
            };
        };
        match cache.load(&org) {
            Ok(Some(policy)) => {
                let policy = Arc::new(policy);
                self.set_current(Some(policy.clone()));
                RefreshOutcome::FromCache { policy, error }
            }
            Ok(None) => RefreshOutcome::Kept {
                policy: current,
                error,
            },
            Err(cache_error) => RefreshOutcome::Kept {
                policy: current,
                error: Error::new(
                    error.kind().clone(),
                    format!("{}; and {}", error.message(), cache_error.message()),
                )
                .with_field(error.field().unwrap_or_default().to_owned()),
            },
        }
    }
}
