//! Browser sign-in (authorization code + PKCE) and its manual variant, where the person
//! pastes the final redirect URL.
//!
//! The authorize URL carries the reference's parameters: `response_type=code`, the client
//! id, `redirect_uri=http://localhost:<port>/auth/callback`, `scope=openid profile email
//! offline_access`, the `S256` challenge, `id_token_add_organizations=true`,
//! `codex_cli_simplified_flow=true`, `state` and the application's `originator`.

use std::sync::Arc;

use cline_provider_core::{CancellationToken, Result};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::callback_query::CallbackQuery;
use super::callback_server::{CallbackServer, CodeHandler, SuccessPage};
use super::pkce::{generate_state, PkceCodes};
use super::{pages, AuthInner, SignInStatus};
use crate::config::{CodexConfig, SCOPES};

/// What a sign-in needs to finish: the PKCE codes, `state` and the redirect URI.
#[derive(Clone)]
pub(crate) struct Pending {
    pkce: PkceCodes,
    state: String,
    redirect_uri: String,
    url: Url,
}

/// Leaves out `state` and the authorize URL's query (which carries it): whoever learns the
/// state of a sign-in in progress can push their own authorization code into it.
impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut authorize = self.url.clone();
        authorize.set_query(None);
        f.debug_struct("Pending")
            .field("pkce", &self.pkce)
            .field("redirect_uri", &self.redirect_uri)
            .field("authorize", &authorize.as_str())
            .finish_non_exhaustive()
    }
}

impl Pending {
    fn new(config: &CodexConfig, port: u16) -> Result<Pending> {
        let pkce = PkceCodes::generate()?;
        let state = generate_state()?;
        let redirect_uri = format!("http://localhost:{port}/auth/callback");
        let mut url = config.endpoints().authorize.clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &config.client_id)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("scope", SCOPES)
            .append_pair("code_challenge", pkce.challenge())
            .append_pair("code_challenge_method", "S256")
            .append_pair("id_token_add_organizations", "true")
            .append_pair("codex_cli_simplified_flow", "true")
            .append_pair("state", &state)
            .append_pair("originator", &config.originator);
        Ok(Pending {
            pkce,
            state,
            redirect_uri,
            url,
        })
    }

    async fn exchange(&self, inner: &AuthInner, code: &str) -> Result<SignInStatus> {
        let tokens = inner
            .manager
            .issuer
            .exchange_code(code, &self.redirect_uri, &self.pkce)
            .await?;
        inner.persist(tokens).await
    }

    /// Reads a pasted redirect (the full URL, its query string, or `code#state`) and returns
    /// its code once the `state` matches.
    fn finish_pasted(&self, pasted: &str) -> Result<SecretString> {
        CallbackQuery::from_pasted(pasted)?
            .verify(&self.state)
            .map_err(|(_, err)| err)
    }
}

/// A browser sign-in in progress: the callback server is listening.
///
/// Show [`url`](BrowserLogin::url) to the person (it is opened in their browser when
/// possible), then [`wait`](BrowserLogin::wait). Dropping it, or the `wait` future, cancels
/// the sign-in and frees the port at once.
///
/// ```no_run
/// # async fn run() -> cline_provider_core::Result<()> {
/// let auth = cline_provider_codex::CodexAuth::from_env()?;
/// let login = auth.login_browser(true).await?;
/// eprintln!("Sign in at {}", login.url());
/// let status = login.wait().await?;
/// println!("{status}");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct BrowserLogin {
    inner: Arc<AuthInner>,
    pending: Pending,
    server: CallbackServer,
    browser_opened: bool,
    cancel: CancellationToken,
}

impl BrowserLogin {
    pub(crate) async fn start(inner: Arc<AuthInner>, open_browser: bool) -> Result<BrowserLogin> {
        let config = &inner.config;
        let server = CallbackServer::bind(config.callback_port, config.fallback_port).await?;
        let pending = Pending::new(config, server.port())?;
        let browser_opened = open_browser && open_in_browser(&pending.url);
        Ok(BrowserLogin {
            inner,
            pending,
            server,
            browser_opened,
            cancel: CancellationToken::new(),
        })
    }

    /// The authorize URL; print it when [`browser_opened`](BrowserLogin::browser_opened) is
    /// false, or always, for a person finishing on another machine.
    pub fn url(&self) -> &Url {
        &self.pending.url
    }

    /// The callback port actually bound (1455, or 1457 when 1455 stayed busy).
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// Whether a browser was started with the URL.
    pub fn browser_opened(&self) -> bool {
        self.browser_opened
    }

    /// A token that cancels this sign-in from elsewhere (a "Cancel" button while
    /// [`wait`](BrowserLogin::wait) runs in a task): `wait` then ends with
    /// [`ErrorKind::Cancelled`](cline_provider_core::ErrorKind::Cancelled) and the port is free at once.
    pub fn canceller(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Waits for the browser's callback, exchanges the code, stores the tokens.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::NotSignedIn`](cline_provider_core::ErrorKind::NotSignedIn) with field `state` for a callback of another attempt,
    ///   or field `code` for one without a code;
    /// - [`ErrorKind::AccessDenied`](cline_provider_core::ErrorKind::AccessDenied) when the person or the workspace declined (code
    ///   `missing_codex_entitlement` when Codex is not enabled for the workspace);
    /// - [`ErrorKind::Protocol`](cline_provider_core::ErrorKind::Protocol) when the issuer's answer is unusable (an ID token that is
    ///   not a JWT, no refresh token);
    /// - `Timeout(Total)` after the login timeout (5 minutes);
    /// - [`ErrorKind::Cancelled`](cline_provider_core::ErrorKind::Cancelled) when another sign-in asked this one to stop, or the
    ///   [`canceller`](BrowserLogin::canceller) fired.
    ///
    /// Nothing is stored unless the sign-in succeeds.
    ///
    /// # Cancellation
    ///
    /// Dropping the future stops the sign-in and closes the port at once.
    pub async fn wait(self) -> Result<SignInStatus> {
        let BrowserLogin {
            inner,
            pending,
            server,
            cancel,
            ..
        } = self;
        let timeout = inner.config.login_timeout;
        let state = pending.state.clone();
        let pending = Arc::new(pending);
        let on_code: CodeHandler<SignInStatus> = {
            let inner = Arc::clone(&inner);
            let pending = Arc::clone(&pending);
            Arc::new(move |code: SecretString| {
                let inner = Arc::clone(&inner);
                let pending = Arc::clone(&pending);
                Box::pin(async move { pending.exchange(&inner, code.expose_secret()).await })
            })
        };
        let success: SuccessPage<SignInStatus> =
            Arc::new(|status: &SignInStatus| pages::success(status.email.as_deref()));
        server.serve(state, on_code, success, timeout, cancel).await
    }

    /// Finishes with the address the browser ended on, pasted by the person (when the
    /// callback cannot reach this machine). Accepts the whole URL, its query string, or
    /// `code#state`. The server is closed first.
    ///
    /// # Errors
    ///
    /// As for [`ManualLogin::finish`].
    pub async fn finish_with_redirect(self, pasted: &str) -> Result<SignInStatus> {
        let BrowserLogin {
            inner,
            pending,
            server,
            ..
        } = self;
        drop(server);
        let code = pending.finish_pasted(pasted)?;
        pending.exchange(&inner, code.expose_secret()).await
    }
}

/// A sign-in finished by pasting the final redirect URL; no server listens.
///
/// ```no_run
/// # async fn run() -> cline_provider_core::Result<()> {
/// let auth = cline_provider_codex::CodexAuth::from_env()?;
/// let login = auth.login_manual()?;
/// eprintln!("Open {} and paste the address you end on:", login.url());
/// let mut pasted = String::new();
/// std::io::stdin().read_line(&mut pasted)?;
/// println!("{}", login.finish(&pasted).await?);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ManualLogin {
    inner: Arc<AuthInner>,
    pending: Pending,
}

impl ManualLogin {
    pub(crate) fn start(inner: Arc<AuthInner>) -> Result<ManualLogin> {
        let port = match inner.config.callback_port {
            0 => crate::config::DEFAULT_CALLBACK_PORT,
            p => p,
        };
        let pending = Pending::new(&inner.config, port)?;
        Ok(ManualLogin { inner, pending })
    }

    /// The authorize URL to open in any browser.
    pub fn url(&self) -> &Url {
        &self.pending.url
    }

    /// Checks the pasted address's `state`, exchanges its code, stores the tokens.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`](cline_provider_core::ErrorKind::InvalidConfig) (field `redirect`) for text that is no redirect,
    /// [`ErrorKind::NotSignedIn`](cline_provider_core::ErrorKind::NotSignedIn) (field `state` or `code`) for a wrong `state` or a missing
    /// code, [`ErrorKind::AccessDenied`](cline_provider_core::ErrorKind::AccessDenied) for an `error=access_denied`, and the exchange's
    /// errors as for [`BrowserLogin::wait`]. Nothing is stored on failure.
    pub async fn finish(&self, pasted: &str) -> Result<SignInStatus> {
        let code = self.pending.finish_pasted(pasted)?;
        self.pending
            .exchange(&self.inner, code.expose_secret())
            .await
    }
}

fn open_in_browser(url: &Url) -> bool {
    match webbrowser::open(url.as_str()) {
        Ok(()) => true,
        Err(e) => {
            tracing::info!(error = %e, "no browser could be opened; show the sign-in URL instead");
            false
        }
    }
}
