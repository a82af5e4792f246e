//! Device-code sign-in, for machines without a browser (SSH sessions, containers).
//!
//! As the Codex CLI does it: `POST {issuer}/api/accounts/deviceauth/usercode` with the client
//! id gives a user code and a polling interval; the person opens `{issuer}/codex/device` on
//! any device and types the code; `POST {issuer}/api/accounts/deviceauth/token` is polled at
//! the server's interval (403 or 404, or `authorization_pending`, mean "not yet";
//! `slow_down` adds 5 s to the interval) until it returns an authorization code with its
//! PKCE verifier, which is exchanged at `/oauth/token` with the redirect URI
//! `{issuer}/deviceauth/callback`. Codes expire after 15 minutes.

use std::sync::Arc;
use std::time::Duration;

use cline_provider_core::{Error, ErrorKind, Result, TimeoutPhase};
use secrecy::ExposeSecret;
use url::Url;

use super::issuer::{DevicePoll, UserCode};
use super::{AuthInner, SignInStatus};

/// A device-code sign-in in progress.
///
/// ```no_run
/// # async fn run() -> cline_provider_core::Result<()> {
/// let auth = cline_provider_codex::CodexAuth::from_env()?;
/// let device = auth.login_device().await?;
/// eprintln!("Open {} and enter {}", device.verification_url(), device.user_code());
/// println!("{}", device.wait().await?);
/// # Ok(()) }
/// ```
pub struct DeviceLogin {
    inner: Arc<AuthInner>,
    code: UserCode,
}

impl std::fmt::Debug for DeviceLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceLogin")
            .field("verification_url", &self.verification_url().as_str())
            .field("user_code", &self.code.user_code)
            .field("interval", &self.code.interval)
            .finish_non_exhaustive()
    }
}

impl DeviceLogin {
    pub(crate) async fn start(inner: Arc<AuthInner>) -> Result<DeviceLogin> {
        let code = inner.manager.issuer.device_user_code().await?;
        Ok(DeviceLogin { inner, code })
    }

    /// Where the person enters the code.
    pub fn verification_url(&self) -> &Url {
        &self.inner.manager.issuer.endpoints().device_verification
    }

    /// The one-time code to enter. Never share it: device codes are a phishing target.
    pub fn user_code(&self) -> &str {
        &self.code.user_code
    }

    /// How often the issuer is polled.
    pub fn interval(&self) -> Duration {
        self.code.interval
    }

    /// Polls until the person approves, then exchanges the code and stores the tokens.
    ///
    /// Network failures and 5xx answers while polling are retried at the next interval.
    ///
    /// # Errors
    ///
    /// `Timeout(Total)` after the device timeout (15 minutes);
    /// [`ErrorKind::NotSignedIn`] when the code expired; [`ErrorKind::AccessDenied`] when the
    /// sign-in was declined; the exchange's errors as for
    /// [`BrowserLogin::wait`](super::BrowserLogin::wait). Nothing is stored on failure.
    ///
    /// # Cancellation
    ///
    /// Dropping the future stops polling.
    pub async fn wait(self) -> Result<SignInStatus> {
        let limit = self.inner.config.device_timeout;
        let deadline = tokio::time::Instant::now() + limit;
        let mut interval = self.code.interval;
        let issuer = &self.inner.manager.issuer;
        loop {
            match issuer.device_poll(&self.code).await {
                Ok(DevicePoll::Approved { code, pkce }) => {
                    let redirect = issuer.endpoints().device_redirect.as_str().to_owned();
                    let tokens = issuer
                        .exchange_code(code.expose_secret(), &redirect, &pkce)
                        .await?;
                    return self.inner.persist(tokens).await;
                }
                Ok(DevicePoll::Pending) => {}
                Ok(DevicePoll::SlowDown) => interval += Duration::from_secs(5),
                Err(e) if e.is_retryable() => {
                    tracing::warn!(error = %e, "polling for the device sign-in failed; trying again");
                }
                Err(e) => return Err(e),
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(Error::new(
                    ErrorKind::Timeout(TimeoutPhase::Total),
                    format!(
                        "the device code was not approved within {} minutes",
                        limit.as_secs() / 60
                    ),
                )
                .with_hint(
                    "Nobody entered the code in time. Start `login --device` again and enter the \
                     new code at the address it shows.",
                ));
            }
            tokio::time::sleep(interval.min(deadline - now)).await;
        }
    }
}
