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
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{RecordedRequest, Reply, TestServer};

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

#[derive(Debug, Clone, PartialEq, Eq)]
enum Refresh {
    Active,
    Used,
    Revoked,
}

struct PendingCode {
    redirect_uri: String,
    challenge: String,
}

struct DeviceCode {
    user_code: String,
    polls_left: usize,
}

struct State {
    account: Account,
    access_lifetime: Duration,
    authorize: AuthorizeMode,
    exchange: ExchangeMode,
    counter: u64,
    codes: HashMap<String, PendingCode>,
    refresh: HashMap<String, Refresh>,
    devices: HashMap<String, DeviceCode>,
    pending_polls: usize,
    refresh_faults: VecDeque<Reply>,
    refresh_delay: Option<Duration>,
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

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
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

fn mint(state: &mut State, lifetime: Option<Duration>) -> IssuedTokens {
    state.counter += 1;
    let n = state.counter;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let exp = now + lifetime.unwrap_or(state.access_lifetime).as_secs();
    let a = &state.account;
    let auth = json!({
        "chatgpt_account_id": a.account_id,
        "chatgpt_plan_type": a.plan,
        "chatgpt_user_id": a.user_id,
    });
    let id_token = jwt(&json!({
        "iss": "https://auth.openai.com",
        "aud": [CLIENT_ID],
        "email": a.email,
        "exp": now + 3600,
        "iat": now,
        "https://api.openai.com/auth": auth,
    }));
    let access_token = jwt(&json!({
        "exp": exp,
        "iat": now,
        "jti": format!("at-{n}"),
        "https://api.openai.com/auth": auth,
    }));
    let refresh_token = format!("rt-{}", unique(n));
    state.refresh.insert(refresh_token.clone(), Refresh::Active);
    IssuedTokens {
        id_token,
        access_token,
        refresh_token,
        account_id: a.account_id.clone(),
    }
}

/// A value unique to this issuer's `n`-th mint, long enough to search logs for.
fn unique(n: u64) -> String {
    format!(
        "{n}-{:016x}",
        n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5DEE_CE66_D1CE_4E5B
    )
}

/// The request's parameters: query for GET, form or JSON body for POST.
fn params(r: &RecordedRequest) -> HashMap<String, String> {
    if r.method == "GET" {
        return url_decode(r.query.as_deref().unwrap_or(""));
    }
    if let Some(Value::Object(map)) = r.json() {
        return map
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
            .collect();
    }
    url_decode(&r.body_text())
}

fn url_decode(text: &str) -> HashMap<String, String> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn oauth_error(status: u16, error: &str, description: &str) -> Reply {
    Reply::json(
        status,
        json!({"error": error, "error_description": description}),
    )
}

fn authorize(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let p = params(r);
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    if get("client_id") != CLIENT_ID {
        return oauth_error(400, "invalid_client", "unknown client_id");
    }
    if get("response_type") != "code" || get("code_challenge_method") != "S256" {
        return oauth_error(
            400,
            "invalid_request",
            "response_type=code and S256 are required",
        );
    }
    let redirect = get("redirect_uri");
    let loopback =
        redirect.starts_with("http://localhost:") || redirect.starts_with("http://127.0.0.1:");
    if !loopback || !redirect.ends_with("/auth/callback") || get("code_challenge").is_empty() {
        return oauth_error(
            400,
            "invalid_request",
            "redirect_uri or code_challenge not allowed",
        );
    }
    let mut s = lock(state);
    let state_param = encode(get("state"));
    let location = match s.authorize.clone() {
        AuthorizeMode::Approve | AuthorizeMode::WrongState => {
            s.counter += 1;
            let code = format!("code-{}", unique(s.counter));
            s.codes.insert(
                code.clone(),
                PendingCode {
                    redirect_uri: redirect.to_owned(),
                    challenge: get("code_challenge").to_owned(),
                },
            );
            let shown_state = if s.authorize == AuthorizeMode::WrongState {
                "not-the-state".to_owned()
            } else {
                state_param
            };
            format!("{redirect}?code={code}&state={shown_state}")
        }
        AuthorizeMode::Deny { error, description } => format!(
            "{redirect}?error={}&error_description={}&state={state_param}",
            encode(&error),
            encode(&description)
        ),
        AuthorizeMode::NoCode => format!("{redirect}?state={state_param}"),
    };
    Reply::status(302).header("location", &location)
}

fn token(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let p = params(r);
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    if get("client_id") != CLIENT_ID {
        return oauth_error(401, "invalid_client", "unknown client_id");
    }
    let mut s = lock(state);
    match get("grant_type") {
        "authorization_code" => {
            if p.contains_key("state") {
                return oauth_error(400, "invalid_request", "state is not allowed here");
            }
            let Some(pending) = s.codes.remove(get("code")) else {
                return oauth_error(400, "invalid_grant", "unknown or used authorization code");
            };
            let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(get("code_verifier").as_bytes()));
            if pending.redirect_uri != get("redirect_uri") || pending.challenge != challenge {
                return oauth_error(
                    400,
                    "invalid_grant",
                    "code_verifier or redirect_uri mismatch",
                );
            }
            let tokens = mint(&mut s, None);
            let mut body = json!({
                "id_token": tokens.id_token,
                "access_token": tokens.access_token,
                "refresh_token": tokens.refresh_token,
                "expires_in": s.access_lifetime.as_secs(),
                "token_type": "Bearer",
            });
            match s.exchange {
                ExchangeMode::Normal => {}
                ExchangeMode::NoRefreshToken => {
                    body.as_object_mut().map(|o| o.remove("refresh_token"));
                }
                ExchangeMode::OpaqueIdToken => body["id_token"] = json!("opaque-id-token"),
            }
            Reply::json(200, body)
        }
        "refresh_token" => {
            let delay = s.refresh_delay;
            let reply = match s.refresh_faults.pop_front() {
                Some(fault) => fault,
                None => {
                    let rt = get("refresh_token").to_owned();
                    match s.refresh.get(&rt).cloned() {
                        Some(Refresh::Active) => {
                            s.refresh.insert(rt, Refresh::Used);
                            let tokens = mint(&mut s, None);
                            Reply::json(
                                200,
                                json!({
                                    "id_token": tokens.id_token,
                                    "access_token": tokens.access_token,
                                    "refresh_token": tokens.refresh_token,
                                    "expires_in": s.access_lifetime.as_secs(),
                                }),
                            )
                        }
                        Some(Refresh::Used) => Reply::json(
                            401,
                            json!({"error": {
                                "message": "Your refresh token has already been used to generate a new access token. Please try signing in again.",
                                "type": "invalid_request_error",
                                "param": null,
                                "code": "refresh_token_reused"
                            }}),
                        ),
                        Some(Refresh::Revoked) => Reply::json(
                            401,
                            json!({"error": {
                                "message": "Your refresh token has been invalidated.",
                                "type": "invalid_request_error",
                                "code": "refresh_token_invalidated"
                            }}),
                        ),
                        None => oauth_error(400, "invalid_grant", "unknown refresh token"),
                    }
                }
            };
            match delay {
                Some(d) => reply.delay_headers(d),
                None => reply,
            }
        }
        _ => oauth_error(400, "unsupported_grant_type", "unsupported grant_type"),
    }
}

fn revoke(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let p = params(r);
    let token = p.get("token").cloned().unwrap_or_default();
    let mut s = lock(state);
    if let Some(entry) = s.refresh.get_mut(&token) {
        *entry = Refresh::Revoked;
    }
    Reply::json(200, json!({}))
}

fn user_code(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let p = params(r);
    if p.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return oauth_error(400, "invalid_client", "unknown client_id");
    }
    let mut s = lock(state);
    s.counter += 1;
    let id = format!("deviceauth-{}", unique(s.counter));
    let user_code = format!("ABCD-{:04}", s.counter % 10_000);
    let polls_left = s.pending_polls;
    s.devices.insert(
        id.clone(),
        DeviceCode {
            user_code: user_code.clone(),
            polls_left,
        },
    );
    Reply::json(
        200,
        json!({"device_auth_id": id, "user_code": user_code, "interval": "1"}),
    )
}

fn device_token(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let p = params(r);
    let id = p.get("device_auth_id").cloned().unwrap_or_default();
    let mut s = lock(state);
    s.counter += 1;
    let n = s.counter;
    let Some(device) = s.devices.get_mut(&id) else {
        return oauth_error(404, "not_found", "unknown device code");
    };
    if p.get("user_code") != Some(&device.user_code) {
        return oauth_error(400, "invalid_request", "user_code does not match");
    }
    if device.polls_left > 0 {
        device.polls_left -= 1;
        return oauth_error(
            403,
            "authorization_pending",
            "the user has not approved yet",
        );
    }
    s.devices.remove(&id);
    let verifier = format!("device-verifier-{n}-{}", "x".repeat(43));
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let code = format!("devcode-{}", unique(n));
    let issuer = format!("http://{}", r.header("host").unwrap_or("127.0.0.1"));
    s.codes.insert(
        code.clone(),
        PendingCode {
            redirect_uri: format!("{issuer}/deviceauth/callback"),
            challenge: challenge.clone(),
        },
    );
    Reply::json(
        200,
        json!({"authorization_code": code, "code_challenge": challenge, "code_verifier": verifier}),
    )
}
