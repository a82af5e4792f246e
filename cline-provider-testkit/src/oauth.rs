//! A fake OpenAI issuer (`auth.openai.com`): authorize redirect, token endpoint (code
//! exchange and rotating refresh tokens), device codes and revoke, on a [`TestServer`].
//!
//! It behaves as the real one does where the SDK depends on it:
//!
//! - `GET /oauth/authorize` checks the client id, `response_type=code`, the `S256` method and
//!   a loopback `redirect_uri`, then "signs the person in" at once and answers `302` to
//!   `redirect_uri?code=…&state=…` (or an error, per [`AuthorizeMode`]);
//! - `POST /oauth/token` (form-encoded or JSON) exchanges a code once, only with the verifier
//!   whose challenge was sent and the same redirect URI; refresh tokens rotate, and spending
//!   one twice answers OpenAI's `401 {"error":{"code":"refresh_token_reused"}}`; an unknown
//!   one gets the generic OAuth `400 {"error":"invalid_grant"}`;
//! - `POST /api/accounts/deviceauth/usercode` and `/deviceauth/token` run the device flow:
//!   `403 {"error":"authorization_pending"}` for the first polls, then the code and verifier;
//! - `POST /oauth/revoke` revokes a refresh token.
//!
//! Tokens are JWTs (unsigned: the SDK does not check signatures) with the claims OpenAI
//! puts in them: `email`, and under `https://api.openai.com/auth` the account id, plan and
//! user id; access tokens carry `exp`.
//!
//! ```
//! use cline_provider_testkit::oauth::FakeIssuer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let issuer = FakeIssuer::start().await?;
//! let tokens = issuer.issue_tokens(std::time::Duration::from_secs(3600));
//! assert!(tokens.refresh_token.starts_with("rt-"));
//! assert_eq!(issuer.refresh_requests(), 0);
//! # Ok(())
//! # }
//! ```

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::{RecordedRequest, Reply, TestServer};

#[path = "oauth_routes.rs"]
mod routes;
use routes::{
    authorize, device_token, lock, mint, params, revoke, token, user_code, Refresh, State,
};

/// The Codex CLI's public client id, which the fake issuer expects.
pub const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";

/// Who the fake issuer signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The email claim.
    pub email: String,
    /// `chatgpt_account_id`.
    pub account_id: String,
    /// `chatgpt_plan_type`.
    pub plan: String,
    /// `chatgpt_user_id`.
    pub user_id: String,
}

impl Default for Account {
    fn default() -> Self {
        Account {
            email: "ada@example.com".into(),
            account_id: "acc-test-1".into(),
            plan: "plus".into(),
            user_id: "user-test-1".into(),
        }
    }
}

/// What `GET /oauth/authorize` does once the person "signed in".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeMode {
    /// Redirect with a fresh code and the request's `state`.
    Approve,
    /// Redirect with `error` and `error_description` (and the request's `state`).
    Deny {
        /// The OAuth `error`, e.g. `access_denied`.
        error: String,
        /// The `error_description`, e.g. `missing_codex_entitlement`.
        description: String,
    },
    /// Redirect with `state` but no `code`.
    NoCode,
    /// Redirect with a code and a `state` that is not the request's.
    WrongState,
}

/// How the token endpoint answers a code exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeMode {
    /// ID, access and refresh token.
    Normal,
    /// No `refresh_token` in the answer.
    NoRefreshToken,
    /// An `id_token` that is not a JWT.
    OpaqueIdToken,
}

/// A set of tokens the fake issuer minted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedTokens {
    /// The ID token (JWT).
    pub id_token: String,
    /// The access token (JWT with `exp`).
    pub access_token: String,
    /// The refresh token (opaque, single use).
    pub refresh_token: String,
    /// The account id inside them.
    pub account_id: String,
}

impl IssuedTokens {
    /// The tokens as the Codex CLI's `auth.json`.
    pub fn cli_auth_json(&self) -> Value {
        json!({
            "auth_mode": "chatgpt",
            "OPENAI_API_KEY": null,
            "tokens": {
                "id_token": self.id_token,
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "account_id": self.account_id,
            },
            "last_refresh": "2026-01-01T00:00:00Z",
        })
    }
}

/// The fake issuer. Cloning shares it.
#[derive(Clone)]
pub struct FakeIssuer {
    server: TestServer,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for FakeIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeIssuer")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

impl FakeIssuer {
    /// Starts the issuer on `127.0.0.1:0`.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    pub async fn start() -> std::io::Result<FakeIssuer> {
        let server = TestServer::start().await?;
        let state = Arc::new(Mutex::new(State {
            account: Account::default(),
            access_lifetime: Duration::from_secs(3600),
            authorize: AuthorizeMode::Approve,
            exchange: ExchangeMode::Normal,
            counter: 0,
            salt: routes::random_salt(),
            codes: HashMap::new(),
            refresh: HashMap::new(),
            devices: HashMap::new(),
            pending_polls: 2,
            refresh_faults: VecDeque::new(),
            refresh_delay: None,
        }));
        let issuer = FakeIssuer { server, state };
        issuer.install();
        Ok(issuer)
    }

    /// The issuer URL (`http://127.0.0.1:PORT`), for `CLINE_CODEX_ISSUER`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The server, for its recorded requests.
    pub fn server(&self) -> &TestServer {
        &self.server
    }

    /// Replaces who signs in.
    pub fn set_account(&self, account: Account) {
        lock(&self.state).account = account;
    }

    /// How long new access tokens live. Default one hour.
    pub fn set_access_lifetime(&self, lifetime: Duration) {
        lock(&self.state).access_lifetime = lifetime;
    }

    /// What the authorize endpoint does.
    pub fn set_authorize(&self, mode: AuthorizeMode) {
        lock(&self.state).authorize = mode;
    }

    /// How code exchanges are answered.
    pub fn set_exchange(&self, mode: ExchangeMode) {
        lock(&self.state).exchange = mode;
    }

    /// How many device-token polls answer `authorization_pending` before approval. Default 2.
    pub fn set_pending_polls(&self, polls: usize) {
        lock(&self.state).pending_polls = polls;
    }

    /// Answers the next refresh with `reply` instead (queued; the token is not spent).
    pub fn fail_next_refresh(&self, reply: Reply) {
        lock(&self.state).refresh_faults.push_back(reply);
    }

    /// Delays every refresh answer (so concurrent refreshes overlap).
    pub fn delay_refreshes(&self, delay: Duration) {
        lock(&self.state).refresh_delay = Some(delay);
    }

    /// Mints a sign-in directly, as if the person had signed in, with access tokens valid for
    /// `lifetime` (zero: already expired).
    pub fn issue_tokens(&self, lifetime: Duration) -> IssuedTokens {
        let mut state = lock(&self.state);
        mint(&mut state, Some(lifetime))
    }

    /// Signs a Codex CLI in: fresh tokens (the access token valid for `lifetime`) written as
    /// `auth.json` in `codex_home`, which is created. Point `CODEX_HOME` (or
    /// `CodexConfig::codex_home`) at it.
    ///
    /// # Errors
    ///
    /// When the directory or the file cannot be written.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cline_provider_testkit::oauth::FakeIssuer;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let issuer = FakeIssuer::start().await?;
    /// let dir = std::env::temp_dir().join(format!("codex-home-doc-{}", std::process::id()));
    /// let tokens = issuer.sign_in_cli(&dir, Duration::from_secs(3600))?;
    /// assert!(std::fs::read_to_string(dir.join("auth.json"))?.contains(&tokens.refresh_token));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn sign_in_cli(
        &self,
        codex_home: &std::path::Path,
        lifetime: Duration,
    ) -> std::io::Result<IssuedTokens> {
        std::fs::create_dir_all(codex_home)?;
        let tokens = self.issue_tokens(lifetime);
        std::fs::write(
            codex_home.join("auth.json"),
            tokens.cli_auth_json().to_string(),
        )?;
        Ok(tokens)
    }

    /// Marks a refresh token as already spent (another program rotated it).
    pub fn spend(&self, refresh_token: &str) {
        lock(&self.state)
            .refresh
            .insert(refresh_token.to_owned(), Refresh::Used);
    }

    /// Whether a refresh token was revoked.
    pub fn is_revoked(&self, refresh_token: &str) -> bool {
        lock(&self.state).refresh.get(refresh_token) == Some(&Refresh::Revoked)
    }

    /// Refresh requests received (`grant_type=refresh_token`).
    pub fn refresh_requests(&self) -> usize {
        self.token_requests("refresh_token")
    }

    /// Code exchanges received (`grant_type=authorization_code`).
    pub fn exchange_requests(&self) -> usize {
        self.token_requests("authorization_code")
    }

    /// Requests to the revoke endpoint.
    pub fn revoke_requests(&self) -> Vec<RecordedRequest> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.path == "/oauth/revoke")
            .collect()
    }

    fn token_requests(&self, grant: &str) -> usize {
        self.server
            .requests()
            .iter()
            .filter(|r| {
                r.path == "/oauth/token"
                    && params(r).get("grant_type").map(String::as_str) == Some(grant)
            })
            .count()
    }

    fn install(&self) {
        let s = Arc::clone(&self.state);
        self.server
            .route_fn("GET", "/oauth/authorize", move |r| authorize(&s, r));
        let s = Arc::clone(&self.state);
        self.server
            .route_fn("POST", "/oauth/token", move |r| token(&s, r));
        let s = Arc::clone(&self.state);
        self.server
            .route_fn("POST", "/oauth/revoke", move |r| revoke(&s, r));
        let s = Arc::clone(&self.state);
        self.server
            .route_fn("POST", "/api/accounts/deviceauth/usercode", move |r| {
                user_code(&s, r)
            });
        let s = Arc::clone(&self.state);
        self.server
            .route_fn("POST", "/api/accounts/deviceauth/token", move |r| {
                device_token(&s, r)
            });
    }
}

/// An unsigned JWT with `claims`.
pub fn jwt(claims: &Value) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode("fake-signature")
    )
}
