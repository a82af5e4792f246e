//! Fetching the organization's policy: [`RemoteConfigClient`] (discovery and organization
//! endpoints of the admin API), [`PolicyCache`] (last known good copy per organization on
//! disk), [`RefreshSchedule`] and [`spawn_refresher`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use super::json;
use super::remote::{read_text, Organization, Policy, PolicySource, RemoteConfig};
use crate::error::{Error, ErrorKind, Result, TimeoutPhase};

/// The most a policy response may weigh; larger bodies are refused, not buffered.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// What one [`RemoteConfigClient::refresh`] did.
#[derive(Debug)]
#[non_exhaustive]
pub enum RefreshOutcome {
    /// A valid policy was fetched and is now in effect (and cached on disk).
    Applied {
        /// The policy.
        policy: Arc<Policy>,
        /// Whether it differs from the one in effect before.
        changed: bool,
        /// Set when the policy could not be written to the disk cache (it is still in effect).
        cache_error: Option<Error>,
    },
    /// The admin API failed or sent an invalid policy; the last known good copy from disk is
    /// now in effect.
    FromCache {
        /// The cached policy.
        policy: Arc<Policy>,
        /// Why the fetch failed.
        error: Error,
    },
    /// The organization disabled its policy, or the member belongs to no organization with
    /// one: no policy is in effect any more.
    Cleared {
        /// Why.
        reason: ClearReason,
    },
    /// The fetch failed and no cached copy could replace it: the policy in effect before (if
    /// any) stays in effect.
    Kept {
        /// The policy still in effect.
        policy: Option<Arc<Policy>>,
        /// Why the fetch failed.
        error: Error,
    },
}

impl RefreshOutcome {
    /// The policy in effect after the refresh.
    pub fn policy(&self) -> Option<&Arc<Policy>> {
        match self {
            RefreshOutcome::Applied { policy, .. } | RefreshOutcome::FromCache { policy, .. } => {
                Some(policy)
            }
            RefreshOutcome::Kept { policy, .. } => policy.as_ref(),
            RefreshOutcome::Cleared { .. } => None,
        }
    }

    /// Why the fetch failed, if it did.
    pub fn error(&self) -> Option<&Error> {
        match self {
            RefreshOutcome::FromCache { error, .. } | RefreshOutcome::Kept { error, .. } => {
                Some(error)
            }
            _ => None,
        }
    }

    /// Whether the admin API answered with a usable result (a policy, or "none").
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            RefreshOutcome::Applied { .. } | RefreshOutcome::Cleared { .. }
        )
    }
}

/// Why a policy was cleared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClearReason {
    /// The organization's remote configuration is `enabled: false`.
    Disabled {
        /// The organization.
        organization: Organization,
    },
    /// The member belongs to no organization with a remote configuration.
    NoOrganization,
}

/// When to refresh next: every `interval` (default hourly, as the original), and sooner,
/// after `retry_after_failure`, when the last attempt failed.
///
/// Plain data over [`Instant`]s, so an application can drive it from its own loop.
///
/// ```
/// use std::time::{Duration, Instant};
/// use cline_provider_core::policy::RefreshSchedule;
/// let mut s = RefreshSchedule::default();
/// let t0 = Instant::now();
/// assert_eq!(s.next_in(t0), Duration::ZERO);
/// s.record(t0, true);
/// assert_eq!(s.next_in(t0 + Duration::from_secs(600)), Duration::from_secs(3000));
/// s.record(t0, false);
/// assert_eq!(s.next_in(t0), Duration::from_secs(300));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshSchedule {
    /// The gap between refreshes after a success.
    pub interval: Duration,
    /// The gap after a failure.
    pub retry_after_failure: Duration,
    last_attempt: Option<Instant>,
    last_failed: bool,
}

impl RefreshSchedule {
    /// One hour, as the original product.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(3600);
    /// Five minutes.
    pub const DEFAULT_RETRY_AFTER_FAILURE: Duration = Duration::from_secs(300);

    /// A schedule with these gaps (the failure gap is capped at `interval`).
    pub fn new(interval: Duration, retry_after_failure: Duration) -> Self {
        RefreshSchedule {
            interval,
            retry_after_failure: retry_after_failure.min(interval),
            last_attempt: None,
            last_failed: false,
        }
    }

    /// Notes an attempt made at `at`.
    pub fn record(&mut self, at: Instant, success: bool) {
        self.last_attempt = Some(at);
        self.last_failed = !success;
    }

    /// How long after `now` the next refresh is due (zero when due already).
    pub fn next_in(&self, now: Instant) -> Duration {
        let Some(last) = self.last_attempt else {
            return Duration::ZERO;
        };
        let gap = if self.last_failed {
            self.retry_after_failure
        } else {
            self.interval
        };
        (last + gap).saturating_duration_since(now)
    }
}

impl Default for RefreshSchedule {
    fn default() -> Self {
        Self::new(Self::DEFAULT_INTERVAL, Self::DEFAULT_RETRY_AFTER_FAILURE)
    }
}

/// The last known good policy of each organization, one file per organization
/// (`remote_config_<orgId>.json`, mode `0600`, written atomically), plus a note of the last
/// organization whose policy was in effect, so a program that starts while the admin API is
/// down still enforces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyCache {
    dir: PathBuf,
}

impl PolicyCache {
    /// A cache in `dir` (created on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        PolicyCache { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file holding `organization_id`'s policy. Characters other than ASCII letters,
    /// digits, `-` and `_` are percent-encoded, so an id can never reach outside the directory.
    pub fn path_for(&self, organization_id: &str) -> PathBuf {
        let mut name = String::from("remote_config_");
        for b in organization_id.bytes() {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                name.push(char::from(b));
            } else {
                name.push_str(&format!("%{b:02X}"));
            }
        }
        name.push_str(".json");
        self.dir.join(name)
    }

    fn marker_path(&self) -> PathBuf {
        self.dir.join("last_organization.json")
    }

    /// Writes `raw`, a document that was just validated, as `organization`'s last known good
    /// copy, and notes `organization` as the last one in effect.
    pub fn store(&self, organization: &Organization, raw: &str) -> Result<()> {
        crate::fs::write_atomic(&self.path_for(&organization.id), raw.as_bytes())?;
        let marker = serde_json::json!({
            "organizationId": organization.id,
            "name": organization.name,
        });
        crate::fs::write_atomic(&self.marker_path(), marker.to_string().as_bytes())
    }

    /// `organization`'s cached policy; `Ok(None)` when there is none. A damaged file is an
    /// [`ErrorKind::InvalidConfig`] error naming the file and the JSON path.
    pub fn load(&self, organization: &Organization) -> Result<Option<Policy>> {
        let path = self.path_for(&organization.id);
        if !path.exists() {
            return Ok(None);
        }
        let text = read_text(&path)?;
        let config = RemoteConfig::from_json(&text)
            .map_err(|e| super::remote::in_file(e, &path))
            .map_err(|e| {
                Error::new(
                    ErrorKind::InvalidConfig,
                    format!("the cached policy is damaged: {}", e.message()),
                )
                .with_field(e.field().unwrap_or("$").to_owned())
            })?;
        Ok(Some(Policy {
            organization: organization.clone(),
            config,
            source: PolicySource::Cache(path),
        }))
    }

    /// The organization last noted by [`store`](PolicyCache::store), if any.
    pub fn last_organization(&self) -> Result<Option<Organization>> {
        let path = self.marker_path();
        let Some(bytes) = crate::fs::read_optional(&path)? else {
            return Ok(None);
        };
        let damaged = || {
            Error::invalid_config(
                path.display().to_string(),
                "the note of the last organization is damaged",
            )
        };
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| damaged())?;
        let id = v
            .get("organizationId")
            .and_then(Value::as_str)
            .ok_or_else(damaged)?;
        let mut org = Organization::new(id);
        org.name = v.get("name").and_then(Value::as_str).map(str::to_owned);
        Ok(Some(org))
    }

    /// Deletes `organization_id`'s cached policy (and the note, if it names it).
    pub fn remove(&self, organization_id: &str) -> Result<()> {
        crate::fs::remove_if_exists(&self.path_for(organization_id))?;
        if self
            .last_organization()
            .ok()
            .flatten()
            .is_some_and(|o| o.id == organization_id)
        {
            crate::fs::remove_if_exists(&self.marker_path())?;
        }
        Ok(())
    }
}

/// Fetches the organization's policy from the admin API, the way the original product does:
///
/// 1. discovery, `GET {api}/api/v1/users/me/remote-config` (bearer token), which names the
///    member's organization and may carry the policy itself;
/// 2. otherwise the organization endpoint, `GET {api}/api/v1/organizations/{id}/remote-config`,
///    answering `{enabled, value}`;
/// 3. a valid policy is applied and written to the [`PolicyCache`]; `enabled: false` or no
///    organization clears it (and its cache); any failure — network, HTTP status, bad
///    envelope, invalid document — falls back to the cached copy, or else keeps the policy in
///    effect, and says why.
///
/// Nothing happens in the background unless the application asks: call
/// [`refresh`](RemoteConfigClient::refresh) when [`next_refresh_in`](RemoteConfigClient::next_refresh_in)
/// says so, or use [`spawn_refresher`].
pub struct RemoteConfigClient {
    http: reqwest::Client,
    api_base: Url,
    token: RwLock<SecretString>,
    cache: Option<PolicyCache>,
    schedule: Mutex<RefreshSchedule>,
    current: RwLock<Option<Arc<Policy>>>,
    refresh_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for RemoteConfigClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteConfigClient")
            .field("api_base", &self.api_base.as_str())
            .field("token", &"••••")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

enum OrgConfig {
    Disabled,
    Enabled(String),
}

struct Discovery {
    organization: Organization,
    value: Option<String>,
}

impl RemoteConfigClient {
    /// A client for the admin API at `api_base` (e.g. `https://api.cline.bot`), authenticating
    /// with `token`. Uses its own HTTP client with a 10 s connect timeout and a 30 s request
    /// timeout.
    ///
    /// The token is refused over plain `http://` except to a loopback address.
    pub fn new(api_base: &str, token: SecretString) -> Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("could not build the HTTP client: {e}"),
                )
            })?;
        Self::with_http_client(api_base, token, http)
    }

    /// Like [`new`](RemoteConfigClient::new) with the application's own `reqwest::Client`
    /// (proxy, custom CA, timeouts).
    pub fn with_http_client(
        api_base: &str,
        token: SecretString,
        http: reqwest::Client,
    ) -> Result<Self> {
        let api_base = json::base_url(api_base, "admin_api_url")?;
        if crate::http::is_plain_http_to_remote(&api_base) {
            return Err(Error::invalid_config(
                "admin_api_url",
                "the admin API must use https:// (plain http is allowed only to localhost), \
                 because your account token travels with every request",
            ));
        }
        if token.expose_secret().trim().is_empty() {
            return Err(Error::new(
                ErrorKind::NotSignedIn,
                "the admin API token is empty",
            ));
        }
        Ok(RemoteConfigClient {
            http,
            api_base,
            token: RwLock::new(token),
            cache: None,
            schedule: Mutex::new(RefreshSchedule::default()),
            current: RwLock::new(None),
            refresh_lock: tokio::sync::Mutex::new(()),
        })
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
        if let Ok(mut t) = self.token.write() {
            *t = token;
        }
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
        let discovery = match self.discover().await {
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

        match self.fetch_organization(&org).await {
            Ok(OrgConfig::Disabled) => self.clear(
                ClearReason::Disabled {
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

    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.api_base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    async fn get_json(&self, url: Url) -> Result<Value> {
        let auth = {
            let token = self.token.read().map_err(|_| {
                Error::new(ErrorKind::NotSignedIn, "the admin API token is unavailable")
            })?;
            let mut v = http::HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
                .map_err(|_| {
                Error::new(
                    ErrorKind::NotSignedIn,
                    "the admin API token contains characters that cannot be sent in a header",
                )
            })?;
            v.set_sensitive(true);
            v
        };
        let mut response = self
            .http
            .get(url.clone())
            .header(http::header::AUTHORIZATION, auth)
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| transport_error(&e, &url))?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| transport_error(&e, &url))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(Error::new(
                    ErrorKind::Protocol,
                    format!("the admin API response from {url} is larger than {MAX_BODY} bytes"),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        let parsed: Option<Value> = serde_json::from_slice(&body).ok();
        if !status.is_success() {
            let said = parsed
                .as_ref()
                .and_then(|v| v.get("error").or_else(|| v.get("message")))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(|s| format!(": {}", s.chars().take(200).collect::<String>()))
                .unwrap_or_default();
            let kind = match status.as_u16() {
                401 => ErrorKind::NotSignedIn,
                403 => ErrorKind::AccessDenied,
                404 => ErrorKind::BadRequest,
                429 => ErrorKind::RateLimited,
                s if s >= 500 => ErrorKind::Server,
                _ => ErrorKind::BadRequest,
            };
            return Err(Error::new(
                kind,
                format!("the admin API answered {status} for {url}{said}"),
            )
            .with_status(status.as_u16()));
        }
        parsed.ok_or_else(|| {
            Error::new(
                ErrorKind::Protocol,
                format!("the admin API sent a response that is not JSON from {url}"),
            )
        })
    }

    /// Unwraps `{success, error, data}`, naming the endpoint in errors.
    fn envelope(v: Value, what: &str) -> Result<Value> {
        let Value::Object(mut obj) = v else {
            return Err(Error::new(
                ErrorKind::Protocol,
                format!("the {what} response is not a JSON object"),
            ));
        };
        if obj.get("success").and_then(Value::as_bool) == Some(false) {
            let said = obj
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("no reason given");
            return Err(Error::new(
                ErrorKind::Server,
                format!(
                    "the admin API reported a failure for the {what}: {}",
                    said.chars().take(200).collect::<String>()
                ),
            ));
        }
        if obj.contains_key("success") || obj.contains_key("data") {
            return Ok(obj.remove("data").unwrap_or(Value::Null));
        }
        // A bare `data` object, as some deployments and the original's fixtures send it.
        Ok(Value::Object(obj))
    }

    async fn discover(&self) -> Result<Option<Discovery>> {
        let url = self.endpoint(&["api", "v1", "users", "me", "remote-config"]);
        let data = Self::envelope(self.get_json(url).await?, "remote configuration discovery")?;
        if data.is_null() {
            return Ok(None);
        }
        let protocol = |why: &str| {
            Error::new(
                ErrorKind::Protocol,
                format!("the remote configuration discovery response is malformed: {why}"),
            )
        };
        let obj = data
            .as_object()
            .ok_or_else(|| protocol("`data` is not an object"))?;
        let listed: Vec<Organization> = match obj.get("organizations") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|o| {
                    let id = o.get("organizationId")?.as_str()?;
                    let mut org = Organization::new(id);
                    org.name = o.get("name").and_then(Value::as_str).map(str::to_owned);
                    Some(org)
                })
                .collect(),
            Some(_) => return Err(protocol("`organizations` is not an array")),
        };
        let discovered = match obj.get("organizationId") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(protocol("`organizationId` is not a string")),
        };
        let value = match obj.get("value") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(protocol("`value` is not a string")),
        };
        Ok(match discovered {
            Some(id) => {
                let organization = listed
                    .into_iter()
                    .find(|o| o.id == id)
                    .unwrap_or_else(|| Organization::new(id));
                Some(Discovery {
                    organization,
                    value,
                })
            }
            // The discovered value belongs to no organization; the original then turns to the
            // first listed organization, without a value.
            None => listed.into_iter().next().map(|organization| Discovery {
                organization,
                value: None,
            }),
        })
    }

    async fn fetch_organization(&self, org: &Organization) -> Result<OrgConfig> {
        let url = self.endpoint(&["api", "v1", "organizations", &org.id, "remote-config"]);
        let data = Self::envelope(
            self.get_json(url).await?,
            "organization remote configuration",
        )?;
        let protocol = |why: &str| {
            Error::new(
                ErrorKind::Protocol,
                format!("the organization remote configuration response is malformed: {why}"),
            )
        };
        let obj = data
            .as_object()
            .ok_or_else(|| protocol("`data` is missing"))?;
        match obj.get("enabled") {
            Some(Value::Bool(false)) => return Ok(OrgConfig::Disabled),
            Some(Value::Bool(true)) | None => {}
            Some(_) => return Err(protocol("`enabled` is not true or false")),
        }
        match obj.get("value") {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(OrgConfig::Enabled(s.clone())),
            _ => Err(protocol("`value` is missing")),
        }
    }
}

fn transport_error(e: &reqwest::Error, url: &Url) -> Error {
    if e.is_timeout() {
        Error::new(
            ErrorKind::Timeout(TimeoutPhase::Total),
            format!("the admin API request to {url} timed out"),
        )
    } else if e.is_connect() {
        Error::new(
            ErrorKind::Unreachable,
            format!("could not reach the admin API at {url}"),
        )
    } else {
        Error::new(
            ErrorKind::Unreachable,
            format!("the admin API request to {url} failed: {e}"),
        )
    }
}

/// A background refresher started by [`spawn_refresher`]; dropping it stops the refreshes.
#[derive(Debug)]
pub struct RefresherHandle {
    task: tokio::task::JoinHandle<()>,
    wake: Arc<tokio::sync::Notify>,
}

impl RefresherHandle {
    /// Refreshes now rather than at the next scheduled time (after a sign-in, an organization
    /// switch or at the start of a task, as the original does).
    pub fn refresh_now(&self) {
        self.wake.notify_one();
    }
}

impl Drop for RefresherHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Refreshes `client` now and then whenever its schedule says, on the current tokio runtime,
/// handing every outcome to `on_outcome` (to re-resolve the member's settings with
/// [`EffectiveSettings::set_policy`](super::EffectiveSettings::set_policy), say).
///
/// Must be called within a tokio runtime. Dropping the handle stops it.
pub fn spawn_refresher<F>(client: Arc<RemoteConfigClient>, mut on_outcome: F) -> RefresherHandle
where
    F: FnMut(RefreshOutcome) + Send + 'static,
{
    let wake = Arc::new(tokio::sync::Notify::new());
    let woken = wake.clone();
    let task = tokio::spawn(async move {
        loop {
            let outcome = client.refresh().await;
            on_outcome(outcome);
            let wait = client.next_refresh_in();
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = woken.notified() => {}
            }
        }
    });
    RefresherHandle { task, wake }
}
