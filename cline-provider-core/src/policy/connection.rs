//! How effective settings become a provider: what an application asks for
//! ([`ConnectOptions`]), what a backend builds ([`Backend`]), the function that builds it
//! ([`Connector`]), and what the application gets ([`Connection`]: the backend behind the
//! policy's [`EnforcedProvider`], and the warnings about its configuration).
//!
//! Core names no backend: the facade's `connect_with` is a [`Connector`] that matches on the
//! provider kind, builds the bare [`Backend`], and hands it to [`Connection::new`], the one
//! place a backend is wrapped. A new backend adds an arm there and inherits the enforcement.

use std::fmt;
use std::sync::Arc;

use super::effective::EffectiveSettings;
use super::enforce::EnforcedProvider;
use crate::error::Result;
use crate::http::{ConfigWarning, HttpConfig, RetryCallback};
use crate::provider::Provider;
use crate::secrets::SecretStore;

/// What the application decides about its connections, beyond the member's settings.
///
/// ```
/// use std::time::Duration;
/// use cline_provider_core::http::HttpConfig;
/// use cline_provider_core::policy::ConnectOptions;
///
/// let options = ConnectOptions {
///     http: HttpConfig { connect_timeout: Duration::from_secs(5), ..HttpConfig::default() },
///     require_https: true,
///     ..ConnectOptions::default()
/// };
/// assert!(options.on_retry.is_none());
/// ```
#[derive(Clone, Default)]
pub struct ConnectOptions {
    /// Timeouts, retries, proxy, extra root certificates, user agent. Default
    /// [`HttpConfig::default`].
    pub http: HttpConfig,
    /// Refuse plain `http://` to any host other than loopback, credential or not. Default
    /// `false`: an API key may go to an internal plain-HTTP server, with a
    /// [`ConfigWarning::PlainHttpCredential`].
    pub require_https: bool,
    /// Called before every retry (for a "retrying in 4 s…" status line). Default none.
    pub on_retry: Option<RetryCallback>,
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("http", &self.http)
            .field("require_https", &self.require_https)
            .field("on_retry", &self.on_retry.as_ref().map(|_| "callback"))
            .finish()
    }
}

/// A bare backend built for the effective settings, and what the policy wrapper must know
/// about it.
pub struct Backend {
    /// The backend's provider, which enforces nothing.
    pub provider: Box<dyn Provider>,
    /// The headers that carry the member's credential (`Authorization`, `api-key`, …). A
    /// request may not set them: the credential comes from the member's secret store.
    pub credential_headers: Vec<String>,
    /// What works but deserves a look (a credential over plain HTTP, say).
    pub warnings: Vec<ConfigWarning>,
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backend")
            .field("provider", &self.provider.info())
            .field("credential_headers", &self.credential_headers)
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// Builds the bare [`Backend`] the effective settings call for (the facade's connector knows
/// every backend of the build). [`ManagedConnection`](super::ManagedConnection) calls it again
/// whenever the settings change.
pub type Connector = Arc<
    dyn Fn(&EffectiveSettings, &dyn SecretStore, &ConnectOptions) -> Result<Backend> + Send + Sync,
>;

/// A provider connected under the effective settings: the backend behind the policy's
/// [`EnforcedProvider`], and the warnings about its configuration (returned, never only
/// logged, so a settings screen can show them).
#[derive(Debug)]
pub struct Connection {
    provider: EnforcedProvider,
    warnings: Vec<ConfigWarning>,
}

impl Connection {
    /// Puts `backend` behind the enforcement of `settings`. This is the one place a backend is
    /// wrapped; every connection the SDK hands out passes through it.
    pub fn new(settings: &EffectiveSettings, backend: Backend) -> Self {
        let warnings = backend.warnings.clone();
        Connection {
            provider: EnforcedProvider::new(settings, backend),
            warnings,
        }
    }

    /// The provider to send requests through.
    pub fn provider(&self) -> &EnforcedProvider {
        &self.provider
    }

    /// The provider, consuming the connection.
    pub fn into_provider(self) -> EnforcedProvider {
        self.provider
    }

    /// What works but deserves a look.
    pub fn warnings(&self) -> &[ConfigWarning] {
        &self.warnings
    }
}
