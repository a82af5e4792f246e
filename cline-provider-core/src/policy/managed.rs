//! [`ManagedConnection`]: the organization's policy, live, for an application that runs for
//! hours.

use std::sync::{Arc, Mutex, RwLock, Weak};

use async_trait::async_trait;
use secrecy::SecretString;
use tokio::sync::{watch, Notify};

use super::change::SettingChange;
use super::checks::CheckContext;
use super::connection::{ConnectOptions, Connection, Connector};
use super::edit::Edit;
use super::effective::EffectiveSettings;
use super::enforce::EnforcedProvider;
use super::fetch::RemoteConfigClient;
use super::member::ConfigDir;
use super::outcome::RefreshOutcome;
use super::report::SettingsReport;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{redacted_url, ConfigWarning};
use crate::model::ModelInfo;
use crate::provider::{Provider, ProviderInfo, ProviderKind};
use crate::request::ChatRequest;
use crate::secrets::SecretStore;
use crate::stream::{ChatResponse, EventStream};

/// Why subscribers are told about new settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpdateCause {
    /// The connection was opened (the first value a subscriber sees).
    Opened,
    /// The organization's policy changed (or was lifted).
    Organization,
    /// The member changed a setting.
    Member,
    /// The connection was made again with the same settings (after the member stored a
    /// credential, say).
    Reconnected,
}

/// What a [`ManagedConnection`] tells its subscribers when the settings in effect change.
#[derive(Debug, Clone)]
pub struct SettingsUpdate {
    /// The settings now in effect.
    pub settings: Arc<EffectiveSettings>,
    /// What changed, one sentence each (empty for [`UpdateCause::Opened`] and
    /// [`UpdateCause::Reconnected`]).
    pub changes: Vec<SettingChange>,
    /// Why.
    pub cause: UpdateCause,
    /// Why requests cannot be sent with these settings (no API key stored, say), if so.
    pub connect_error: Option<String>,
}

/// The organization's policy, live, for an application that runs for hours.
///
/// It owns the [`RemoteConfigClient`], the member's settings (in a [`ConfigDir`]) and the
/// [`SecretStore`], and hands out one [`provider`](ManagedConnection::provider) that always
/// reflects the current effective settings:
///
/// - a refresh that changes the policy (on the schedule, hourly by default; on
///   [`refresh_now`](ManagedConnection::refresh_now), at the start of a task say; after the
///   member [signs in](ManagedConnection::signed_in)) connects again and swaps the provider
///   atomically: requests started afterwards use the new URL, headers and offered models,
///   while a stream already in flight finishes on the settings it started with;
/// - a member's [edit](ManagedConnection::edit) goes through [`Edit`], is saved atomically and
///   re-resolved against the current policy; a refused one changes nothing, on disk or in
///   memory;
/// - [subscribers](ManagedConnection::subscribe) get a [`SettingsUpdate`] with the new
///   effective settings and what changed, in words a settings screen can show.
///
/// Core names no backend: the [`Connector`] (the facade's `cline_provider::connector()`)
/// builds the backend, and every connection goes through [`Connection::new`], the one place
/// the policy's enforcement is applied.
///
/// Cheap to clone; clones share the connection. The schedule runs on the Tokio runtime that
/// opened it until the last clone, and the last [`provider`](ManagedConnection::provider)
/// handed out, are dropped.
///
/// ```no_run
/// use std::sync::Arc;
/// use cline_provider_core::policy::{ConfigDir, ConnectOptions, Connector, Edit, ManagedConnection, RemoteConfigClient};
/// use cline_provider_core::{ChatRequest, Message};
///
/// # async fn run(connector: Connector) -> cline_provider_core::Result<()> {
/// // `connector` is `cline_provider::connector()`: the backends of the build.
/// let dir = ConfigDir::platform_default()?;
/// let remote = RemoteConfigClient::new("https://api.cline.bot", "account-token".to_owned().into())?
///     .with_cache_dir(dir.policy_cache_dir());
/// let secrets = Arc::new(dir.file_secret_store());
/// let managed = ManagedConnection::open(connector, Arc::new(remote), dir, secrets, ConnectOptions::default()).await?;
///
/// let mut updates = managed.subscribe();
/// tokio::spawn(async move {
///     while updates.changed().await.is_ok() {
///         for change in &updates.borrow_and_update().changes {
///             println!("{}", change.message);
///         }
///     }
/// });
///
/// let provider = managed.provider();
/// managed.refresh_now().await; // at the start of a task
/// let reply = provider.complete(ChatRequest::new("").message(Message::user("Hello"))).await?;
/// managed.edit(Edit::Model(Some("gpt-4o-mini".into()))).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ManagedConnection {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ManagedConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let current = self.inner.snapshot();
        f.debug_struct("ManagedConnection")
            .field("remote", &self.inner.remote)
            .field("config_dir", &self.inner.config_dir)
            .field("settings", &current.settings)
            .field("connected", &current.provider.is_ok())
            .finish_non_exhaustive()
    }
}

struct Inner {
    remote: Arc<RemoteConfigClient>,
    config_dir: ConfigDir,
    secrets: Arc<dyn SecretStore>,
    connector: Connector,
    options: ConnectOptions,
    /// Serializes the changes (a refresh being applied, an edit, a reconnect); readers never
    /// wait for it.
    writer: tokio::sync::Mutex<()>,
    current: RwLock<Arc<Snapshot>>,
    updates: watch::Sender<SettingsUpdate>,
    wake: Arc<Notify>,
    refresher: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(mut task) = self.refresher.lock() {
            if let Some(task) = task.take() {
                task.abort();
            }
        }
    }
}

/// The settings in effect and the connection made for them, swapped as one.
struct Snapshot {
    settings: Arc<EffectiveSettings>,
    provider: std::result::Result<Arc<EnforcedProvider>, Arc<Error>>,
    warnings: Vec<ConfigWarning>,
}

impl ManagedConnection {
    /// Loads the member's settings from `config_dir` (with `secrets`), fetches the policy once
    /// (falling back to the cached copy when the admin API fails, as
    /// [`RemoteConfigClient::refresh`] does), connects, and starts refreshing on `remote`'s
    /// schedule.
    ///
    /// A connection that cannot be made yet (no API key stored, say) does not fail `open`:
    /// requests fail with that error, [`connect_error`](Self::connect_error) says it, and an
    /// edit, a refresh or [`reconnect`](Self::reconnect) tries again.
    ///
    /// # Errors
    ///
    /// A damaged settings file ([`ErrorKind::InvalidConfig`] naming the JSON path), or one
    /// that cannot be read ([`ErrorKind::Io`]).
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime (the schedule runs as a task on it).
    pub async fn open(
        connector: Connector,
        remote: Arc<RemoteConfigClient>,
        config_dir: ConfigDir,
        secrets: Arc<dyn SecretStore>,
        options: ConnectOptions,
    ) -> Result<Self> {
        let member = {
            let (dir, store) = (config_dir.clone(), secrets.clone());
            blocking(move || dir.load_member_settings(&*store)).await?
        };
        remote.refresh().await;
        let settings = EffectiveSettings::new(remote.current(), member);
        let snapshot = connect(&connector, &settings, &*secrets, &options);
        let (updates, _) = watch::channel(update(&snapshot, Vec::new(), UpdateCause::Opened));
        let inner = Arc::new(Inner {
            remote,
            config_dir,
            secrets,
            connector,
            options,
            writer: tokio::sync::Mutex::new(()),
            current: RwLock::new(Arc::new(snapshot)),
            updates,
            wake: Arc::new(Notify::new()),
            refresher: Mutex::new(None),
        });
        let task = tokio::spawn(run_schedule(Arc::downgrade(&inner), inner.wake.clone()));
        if let Ok(mut slot) = inner.refresher.lock() {
            *slot = Some(task);
        }
        Ok(ManagedConnection { inner })
    }

    /// The provider to send requests through. Every request uses the settings in effect when
    /// it starts; the same provider follows every later change.
    pub fn provider(&self) -> Arc<dyn Provider> {
        Arc::new(LiveProvider {
            inner: self.inner.clone(),
        })
    }

    /// The connection made for the settings in effect now, pinned: it does not follow later
    /// changes (for [`EnforcedProvider::endpoint`], say).
    ///
    /// # Errors
    ///
    /// Why no connection could be made for the current settings.
    pub fn current_provider(&self) -> Result<Arc<EnforcedProvider>> {
        self.inner
            .snapshot()
            .provider
            .clone()
            .map_err(|e| replay(&e))
    }

    /// Why requests cannot be sent with the current settings, if so.
    pub fn connect_error(&self) -> Option<Error> {
        self.inner
            .snapshot()
            .provider
            .as_ref()
            .err()
            .map(|e| replay(e))
    }

    /// The settings in effect.
    pub fn settings(&self) -> Arc<EffectiveSettings> {
        self.inner.snapshot().settings.clone()
    }

    /// What works but deserves a look in the current connection (a credential over plain
    /// HTTP, say).
    pub fn warnings(&self) -> Vec<ConfigWarning> {
        self.inner.snapshot().warnings.clone()
    }

    /// The admin API client.
    pub fn remote(&self) -> &Arc<RemoteConfigClient> {
        &self.inner.remote
    }

    /// Notifications of every change to the settings in effect. The receiver starts with the
    /// current state (cause [`UpdateCause::Opened`], or the latest update).
    pub fn subscribe(&self) -> watch::Receiver<SettingsUpdate> {
        self.inner.updates.subscribe()
    }

    /// Fetches the policy now (at the start of a task, as the original does) and applies it.
    /// Never fails: a failed fetch keeps the policy in effect, and the outcome says why.
    ///
    /// # Cancellation
    ///
    /// Dropping the future may leave the fetched policy unapplied until the next refresh;
    /// the settings in effect stay consistent.
    pub async fn refresh_now(&self) -> RefreshOutcome {
        let outcome = self.inner.refresh().await;
        // The schedule counts from this refresh.
        self.inner.wake.notify_one();
        outcome
    }

    /// The member signed in (again) to the admin API with `token`: uses it from now on and
    /// refreshes at once.
    pub async fn signed_in(&self, token: SecretString) -> RefreshOutcome {
        self.inner.remote.set_token(token);
        self.refresh_now().await
    }

    /// Applies a member's change: checked through [`EffectiveSettings::edit`] against the
    /// current policy, saved atomically to the settings file (credential-like header values
    /// to the secret store), then connected with and announced.
    ///
    /// # Errors
    ///
    /// The refusal of [`EffectiveSettings::edit`] (a locked field, a model the organization
    /// does not offer, an invalid value), or a failed save. Either way nothing changed: not
    /// the settings file, not the settings in effect.
    pub async fn edit(&self, edit: Edit) -> Result<()> {
        let inner = &self.inner;
        let _one_at_a_time = inner.writer.lock().await;
        let before = inner.snapshot();
        let mut settings = (*before.settings).clone();
        settings.set_policy(inner.remote.current());
        settings.edit(edit)?;
        let (dir, store, member) = (
            inner.config_dir.clone(),
            inner.secrets.clone(),
            settings.member().clone(),
        );
        blocking(move || dir.save_member_settings(&member, &*store)).await?;
        let changes = settings.changes_since(&before.settings);
        inner.install(settings, changes, UpdateCause::Member);
        Ok(())
    }

    /// Stores the member's API key in the secret store and connects with it.
    ///
    /// # Errors
    ///
    /// The secret store's, when it cannot save the key.
    pub async fn set_api_key(&self, key: SecretString) -> Result<()> {
        let store = self.inner.secrets.clone();
        let name = self.settings().api_key_name();
        blocking(move || store.set(name, key)).await?;
        self.reconnect().await;
        Ok(())
    }

    /// Connects again with the current settings and secrets, and announces it
    /// ([`UpdateCause::Reconnected`]). Returns why the connection still cannot be made, if so.
    pub async fn reconnect(&self) -> Option<Error> {
        let inner = &self.inner;
        let _one_at_a_time = inner.writer.lock().await;
        let settings = (*inner.snapshot().settings).clone();
        inner.install(settings, Vec::new(), UpdateCause::Reconnected);
        self.connect_error()
    }

    /// The settings report with every check made: the settings file and the cached policy
    /// compared with the settings in effect, the credential looked up, and each model checked
    /// against the endpoint's own listing.
    pub async fn report(&self) -> SettingsReport {
        let current = self.inner.snapshot();
        let endpoint = current.provider.as_ref().ok().cloned();
        current
            .settings
            .verify(&CheckContext {
                secrets: Some(&*self.inner.secrets),
                config_dir: Some(&self.inner.config_dir),
                policy_cache: self.inner.remote.cache(),
                endpoint: endpoint.as_deref(),
            })
            .await
    }
}

impl Inner {
    fn snapshot(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Connects for `settings`, swaps the snapshot and notifies. Called with `writer` held.
    fn install(
        &self,
        settings: EffectiveSettings,
        changes: Vec<SettingChange>,
        cause: UpdateCause,
    ) {
        let snapshot = connect(&self.connector, &settings, &*self.secrets, &self.options);
        if let Err(e) = &snapshot.provider {
            tracing::warn!(error = %e, "the new settings cannot connect; requests will fail until they can");
        }
        let note = update(&snapshot, changes, cause);
        let snapshot = Arc::new(snapshot);
        match self.current.write() {
            Ok(mut c) => *c = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
        self.updates.send_replace(note);
    }

    async fn refresh(&self) -> RefreshOutcome {
        let outcome = self.remote.refresh().await;
        let _one_at_a_time = self.writer.lock().await;
        let before = self.snapshot();
        let mut settings = (*before.settings).clone();
        settings.set_policy(self.remote.current());
        if settings != *before.settings {
            let changes = settings.changes_since(&before.settings);
            if changes.is_empty() {
                // The same values from another source (the cache, then the admin API again):
                // nothing to reconnect or announce, but show the source.
                let snapshot = Snapshot {
                    settings: Arc::new(settings),
                    provider: before.provider.clone(),
                    warnings: before.warnings.clone(),
                };
                if let Ok(mut c) = self.current.write() {
                    *c = Arc::new(snapshot);
                }
            } else {
                tracing::info!(
                    changes = changes.len(),
                    "organization policy changed; reconnecting"
                );
                self.install(settings, changes, UpdateCause::Organization);
            }
        }
        outcome
    }
}

/// Waits for each scheduled refresh, or for a nudge to look at the schedule again, until the
/// connection is dropped.
async fn run_schedule(inner: Weak<Inner>, wake: Arc<Notify>) {
    loop {
        let Some(wait) = inner.upgrade().map(|i| i.remote.next_refresh_in()) else {
            return;
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {
                let Some(inner) = inner.upgrade() else { return };
                inner.refresh().await;
            }
            () = wake.notified() => {}
        }
    }
}

fn connect(
    connector: &Connector,
    settings: &EffectiveSettings,
    secrets: &dyn SecretStore,
    options: &ConnectOptions,
) -> Snapshot {
    match connector(settings, secrets, options) {
        Ok(backend) => {
            let connection = Connection::new(settings, backend);
            let warnings = connection.warnings().to_vec();
            Snapshot {
                settings: Arc::new(settings.clone()),
                provider: Ok(Arc::new(connection.into_provider())),
                warnings,
            }
        }
        Err(e) => Snapshot {
            settings: Arc::new(settings.clone()),
            provider: Err(Arc::new(e)),
            warnings: Vec::new(),
        },
    }
}

fn update(snapshot: &Snapshot, changes: Vec<SettingChange>, cause: UpdateCause) -> SettingsUpdate {
    SettingsUpdate {
        settings: snapshot.settings.clone(),
        changes,
        cause,
        connect_error: snapshot.provider.as_ref().err().map(|e| e.to_string()),
    }
}

/// A fresh copy of a stored connection error, for each request that meets it.
fn replay(e: &Error) -> Error {
    if let Some(policy) = e.policy_error() {
        return policy.clone().into();
    }
    let mut out = Error::new(e.kind().clone(), e.message());
    if let Some(field) = e.field() {
        out = out.with_field(field);
    }
    if let Some(org) = e.organization() {
        out = out.with_organization(org);
    }
    if let Some(status) = e.status() {
        out = out.with_status(status);
    }
    out
}

/// Runs file and secret-store I/O off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(Error::new(
            ErrorKind::Io,
            format!("saving or loading the settings did not finish: {e}"),
        ))
    })
}

/// The provider [`ManagedConnection::provider`] hands out: each call takes the connection in
/// effect at that moment.
struct LiveProvider {
    inner: Arc<Inner>,
}

impl LiveProvider {
    fn current(&self) -> Result<Arc<EnforcedProvider>> {
        self.inner
            .snapshot()
            .provider
            .clone()
            .map_err(|e| replay(&e))
    }
}

#[async_trait]
impl Provider for LiveProvider {
    fn info(&self) -> ProviderInfo {
        let snapshot = self.inner.snapshot();
        match &snapshot.provider {
            Ok(p) => p.info(),
            Err(_) => ProviderInfo {
                kind: snapshot
                    .settings
                    .provider_kind()
                    .unwrap_or(ProviderKind::OpenAiCompatible),
                base_url: snapshot
                    .settings
                    .base_url()
                    .value
                    .as_ref()
                    .map(redacted_url),
                default_model: snapshot.settings.model_id().value.clone(),
            },
        }
    }

    fn model_info(&self, model: &str) -> Option<ModelInfo> {
        self.current().ok()?.model_info(model)
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        self.current()?.list_models().await
    }

    async fn stream(&self, request: ChatRequest) -> Result<EventStream> {
        // The connection is taken once: the whole request, and its stream, stay on it.
        self.current()?.stream(request).await
    }

    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse> {
        self.current()?.complete(request).await
    }
}
