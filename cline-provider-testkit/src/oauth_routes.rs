//! The fake issuer's state and its route handlers (see [`FakeIssuer`](super::FakeIssuer)).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{jwt, Account, AuthorizeMode, ExchangeMode, IssuedTokens, CLIENT_ID};
use crate::{RecordedRequest, Reply};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Refresh {
    Active,
    Used,
    Revoked,
}

pub(super) struct PendingCode {
    pub(super) redirect_uri: String,
    pub(super) challenge: String,
}

pub(super) struct DeviceCode {
    pub(super) user_code: String,
    pub(super) polls_left: usize,
}

pub(super) struct State {
    pub(super) account: Account,
    pub(super) access_lifetime: Duration,
    pub(super) authorize: AuthorizeMode,
    pub(super) exchange: ExchangeMode,
    pub(super) counter: u64,
    /// Random per issuer: two fake issuers (two test processes sharing a token file, say)
    /// never hand out the same token, as two real sign-ins never do.
    pub(super) salt: u64,
    pub(super) codes: HashMap<String, PendingCode>,
    pub(super) refresh: HashMap<String, Refresh>,
    pub(super) devices: HashMap<String, DeviceCode>,
    pub(super) pending_polls: usize,
    pub(super) refresh_faults: VecDeque<Reply>,
    pub(super) refresh_delay: Option<Duration>,
}

pub(super) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

pub(super) fn mint(state: &mut State, lifetime: Option<Duration>) -> IssuedTokens {
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
        "jti": format!("at-{}", unique(state.salt, n)),
        "https://api.openai.com/auth": auth,
    }));
    let refresh_token = format!("rt-{}", unique(state.salt, n));
    state.refresh.insert(refresh_token.clone(), Refresh::Active);
    IssuedTokens {
        id_token,
        access_token,
        refresh_token,
        account_id: a.account_id.clone(),
    }
}

/// A value unique to this issuer's `n`-th mint, and to this issuer, long enough to search
/// logs for.
fn unique(salt: u64, n: u64) -> String {
    format!(
        "{n}-{:016x}",
        n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5DEE_CE66_D1CE_4E5B ^ salt
    )
}

/// A random `salt` for [`State`], from the standard library's randomly keyed hasher.
pub(super) fn random_salt() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

/// The request's parameters: query for GET, form or JSON body for POST.
pub(super) fn params(r: &RecordedRequest) -> HashMap<String, String> {
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

pub(super) fn authorize(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
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
            let code = format!("code-{}", unique(s.salt, s.counter));
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

pub(super) fn token(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
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

pub(super) fn revoke(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let p = params(r);
    let token = p.get("token").cloned().unwrap_or_default();
    let mut s = lock(state);
    if let Some(entry) = s.refresh.get_mut(&token) {
        *entry = Refresh::Revoked;
    }
    Reply::json(200, json!({}))
}

pub(super) fn user_code(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let p = params(r);
    if p.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return oauth_error(400, "invalid_client", "unknown client_id");
    }
    let mut s = lock(state);
    s.counter += 1;
    let id = format!("deviceauth-{}", unique(s.salt, s.counter));
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

pub(super) fn device_token(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
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
    let code = format!("devcode-{}", unique(s.salt, n));
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
