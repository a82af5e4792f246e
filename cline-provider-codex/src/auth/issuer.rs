//! Calls to the issuer: code exchange, refresh, revoke, and the device-code endpoints.
//!
//! Every call goes through core's [`HttpClient`] (proxy, CA bundle, timeouts) with retries
//! off: a refresh token or an authorization code is spent by the first attempt the issuer
//! sees, so sending it again after a lost answer would only earn `refresh_token_reused`.
//! Token calls are form-encoded (RFC 6749; OpenAI's issuer accepts it, as Cline sends it);
//! revoke and the device endpoints take JSON, as the Codex CLI sends them.
//!
//! Refresh failures are classified here, once: `refresh_token_expired`,
//! `refresh_token_reused`, `refresh_token_invalidated` and `invalid_grant` (in OpenAI's
//! `{"error": {"code": …}}` shape or the generic OAuth `{"error": "…"}` one), and any HTTP
//! 401, are permanent and come back as [`ErrorKind::NotSignedIn`]; everything else (network,
//! 5xx, 429, a proxy's 403) is transient and keeps its own kind.

use std::time::Duration;

use cline_provider_core::http::{default_error_mapper, HttpClient, RequestSpec, RetryPolicy};
use cline_provider_core::{Error, ErrorKind, Result};
use http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use url::Url;

use super::claims::IdClaims;
use super::pkce::{verifier_text, PkceCodes};
use super::token_store::{now, TokenSet};
use crate::config::{CodexConfig, IssuerEndpoints};

/// The largest issuer answer read.
const MAX_ANSWER: usize = 1024 * 1024;

/// Refresh codes that no wait will fix: the refresh token is dead.
const PERMANENT_CODES: &[&str] = &[
    "refresh_token_expired",
    "refresh_token_reused",
    "refresh_token_invalidated",
    "invalid_grant",
];

/// The issuer's client.
#[derive(Debug, Clone)]
pub(crate) struct IssuerClient {
    http: HttpClient,
    endpoints: IssuerEndpoints,
    client_id: String,
    answer_timeout: Duration,
    revoke_timeout: Duration,
}

/// What a refresh brought: only the fields the issuer sent.
pub(crate) struct Refreshed {
    pub(crate) access_token: SecretString,
    pub(crate) id_token: Option<SecretString>,
    pub(crate) refresh_token: Option<SecretString>,
}

/// A device code to show the person.
#[derive(Clone)]
pub(crate) struct UserCode {
    pub(crate) device_auth_id: SecretString,
    pub(crate) user_code: String,
    pub(crate) interval: Duration,
}

/// One poll of the device-code endpoint.
pub(crate) enum DevicePoll {
    /// Not approved yet.
    Pending,
    /// Not approved yet, and asked to poll more slowly.
    SlowDown,
    /// Approved: exchange this code with this verifier.
    Approved { code: SecretString, pkce: PkceCodes },
}

impl IssuerClient {
    pub(crate) fn new(config: &CodexConfig) -> Result<IssuerClient> {
        let mut http = config.http.clone();
        http.retry = RetryPolicy::never();
        Ok(IssuerClient {
            http: HttpClient::new(http)?,
            endpoints: config.endpoints().clone(),
            client_id: config.client_id.clone(),
            answer_timeout: config.http.header_timeout,
            revoke_timeout: config.revoke_timeout,
        })
    }

    pub(crate) fn endpoints(&self) -> &IssuerEndpoints {
        &self.endpoints
    }

    /// Exchanges an authorization code. The answer must carry an ID token (a JWT), an access
    /// token and a refresh token.
    pub(crate) async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        pkce: &PkceCodes,
    ) -> Result<TokenSet> {
        let body = form(&[
            ("grant_type", "authorization_code"),
            ("client_id", &self.client_id),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier_text(pkce)),
        ]);
        let answer = self
            .post(&self.endpoints.token, Body::Form(body), &exchange_error)
            .await?;
        let access_token = required(&answer, "access_token")?;
        let id_token = required(&answer, "id_token")?;
        let refresh_token = required(&answer, "refresh_token")?;
        let claims = IdClaims::parse(id_token.expose_secret())?;
        Ok(TokenSet {
            id_token,
            access_token,
            refresh_token,
            account_id: claims.account_id,
            last_refresh: Some(now()),
        })
    }

    /// Spends `refresh_token` for new tokens.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotSignedIn`] when the refresh token is dead (permanent); any other kind
    /// is transient.
    pub(crate) async fn refresh(&self, refresh_token: &SecretString) -> Result<Refreshed> {
        let body = form(&[
            ("grant_type", "refresh_token"),
            ("client_id", &self.client_id),
            ("refresh_token", refresh_token.expose_secret()),
        ]);
        let answer = self
            .post(&self.endpoints.token, Body::Form(body), &refresh_error)
            .await?;
        Ok(Refreshed {
            access_token: required(&answer, "access_token")?,
            id_token: optional(&answer, "id_token"),
            refresh_token: optional(&answer, "refresh_token"),
        })
    }

    /// Revokes a refresh token, waiting at most the revoke timeout.
    pub(crate) async fn revoke(&self, refresh_token: &SecretString) -> Result<()> {
        let body = json!({
            "token": refresh_token.expose_secret(),
            "token_type_hint": "refresh_token",
            "client_id": self.client_id,
        });
        let call = self.post(
            &self.endpoints.revoke,
            Body::Json(body),
            &default_error_mapper,
        );
        match tokio::time::timeout(self.revoke_timeout, call).await {
            Ok(result) => result.map(|_| ()),
            Err(_) => Err(Error::timeout(
                cline_provider_core::TimeoutPhase::Total,
                self.revoke_timeout,
            )),
        }
    }

    /// Asks for a device code.
    pub(crate) async fn device_user_code(&self) -> Result<UserCode> {
        let body = json!({ "client_id": self.client_id });
        let answer = self
            .post(
                &self.endpoints.device_user_code,
                Body::Json(body),
                &device_error,
            )
            .await?;
        let user_code = answer
            .get("user_code")
            .or_else(|| answer.get("usercode"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing("user_code"))?
            .to_owned();
        // The issuer sends the interval as a string ("5"); accept a number too.
        let interval = match answer.get("interval") {
            Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
            Some(Value::Number(n)) => n.as_u64(),
            _ => None,
        };
        Ok(UserCode {
            device_auth_id: required(&answer, "device_auth_id")?,
            user_code,
            // RFC 8628's default is 5 s; never poll faster than once a second.
            interval: Duration::from_secs(interval.unwrap_or(5).max(1)),
        })
    }

    /// Polls once for the person's approval of a device code.
    pub(crate) async fn device_poll(&self, code: &UserCode) -> Result<DevicePoll> {
        let body = json!({
            "device_auth_id": code.device_auth_id.expose_secret(),
            "user_code": code.user_code,
        });
        let answer = match self
            .post(
                &self.endpoints.device_token,
                Body::Json(body),
                &device_error,
            )
            .await
        {
            Ok(answer) => answer,
            Err(e) if e.code() == Some("slow_down") => return Ok(DevicePoll::SlowDown),
            // The issuer answers 403 or 404 while the code waits for approval.
            Err(e)
                if e.code() == Some("authorization_pending")
                    || (matches!(e.status(), Some(403 | 404))
                        && !matches!(e.code(), Some("expired_token" | "access_denied"))) =>
            {
                return Ok(DevicePoll::Pending)
            }
            Err(e) => return Err(e),
        };
        let code = required(&answer, "authorization_code")?;
        let verifier: SecretString = required(&answer, "code_verifier")?;
        let pkce = PkceCodes::from_verifier(verifier.expose_secret().to_owned());
        if let Some(challenge) = answer.get("code_challenge").and_then(Value::as_str) {
            if challenge != pkce.challenge() {
                return Err(Error::new(
                    ErrorKind::Protocol,
                    "the issuer's device-code answer has a code_challenge that does not match its code_verifier",
                )
                .with_hint(issuer_hint()));
            }
        }
        Ok(DevicePoll::Approved { code, pkce })
    }

    async fn post(
        &self,
        url: &Url,
        body: Body,
        map_error: &(dyn Fn(u16, &HeaderMap, &[u8]) -> Error + Send + Sync),
    ) -> Result<Value> {
        let build = |c: &reqwest::Client| {
            let request = c
                .post(url.clone())
                .header(http::header::ACCEPT, "application/json");
            Ok(match &body {
                Body::Form(text) => request
                    .header(
                        http::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(text.expose_secret().to_owned()),
                Body::Json(value) => request
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(value.to_string()),
            })
        };
        let spec = RequestSpec::new(&build, map_error);
        let mut response = self.http.send(&spec).await?;
        let mut bytes = Vec::new();
        let read = async {
            while let Some(chunk) = response.chunk().await? {
                if bytes.len() + chunk.len() > MAX_ANSWER {
                    return Ok(false);
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok::<bool, reqwest::Error>(true)
        };
        let complete = match tokio::time::timeout(self.answer_timeout, read).await {
            Ok(Ok(complete)) => complete,
            Ok(Err(e)) => {
                return Err(Error::new(
                    ErrorKind::Unreachable,
                    "the connection to the issuer broke while its answer was read",
                )
                .with_source(e.without_url()))
            }
            Err(_) => {
                return Err(Error::timeout(
                    cline_provider_core::TimeoutPhase::Total,
                    self.answer_timeout,
                ))
            }
        };
        if !complete {
            return Err(
                Error::new(ErrorKind::Protocol, "the issuer's answer is too large")
                    .with_hint(issuer_hint()),
            );
        }
        let parsed = serde_json::from_slice::<Value>(&bytes);
        secrecy::zeroize::Zeroize::zeroize(&mut bytes);
        match parsed {
            Ok(value @ Value::Object(_)) => Ok(value),
            _ => Err(Error::new(
                ErrorKind::Protocol,
                "the issuer's answer is not a JSON object",
            )
            .with_hint(issuer_hint())),
        }
    }
}

enum Body {
    // A secret: it carries a code, a verifier or a refresh token.
    Form(SecretString),
    Json(Value),
}

fn form(pairs: &[(&str, &str)]) -> SecretString {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    SecretString::from(s.finish())
}

fn required(answer: &Value, field: &str) -> Result<SecretString> {
    optional(answer, field).ok_or_else(|| missing(field))
}

fn optional(answer: &Value, field: &str) -> Option<SecretString> {
    answer
        .get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(|s| SecretString::from(s.to_owned()))
}

fn missing(field: &str) -> Error {
    let hint = if field == "refresh_token" {
        "The issuer signed you in but gave no refresh token, so the sign-in could not last. \
         The sign-in asks for the `offline_access` scope; if CLINE_CODEX_ISSUER points at a \
         proxy, check that it passes the issuer's answer through. Then sign in again."
            .to_owned()
    } else {
        issuer_hint().to_owned()
    };
    Error::new(
        ErrorKind::Protocol,
        format!("the issuer's answer has no `{field}`"),
    )
    .with_field(field.to_owned())
    .with_hint(hint)
}

fn issuer_hint() -> &'static str {
    "The sign-in server's answer is not what OpenAI's issuer sends. If CLINE_CODEX_ISSUER is \
     set, check that it points at auth.openai.com or a proxy that passes its answers through \
     unchanged; then sign in again."
}

/// The OAuth error code of a body: OpenAI's `error.code`, RFC 6749's `error` string, or a
/// root `code`.
pub(crate) fn oauth_code(body: &[u8]) -> Option<String> {
    let value = serde_json::from_slice::<Value>(body).ok()?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    match value.get("error") {
        Some(Value::Object(e)) => text(e.get("code")).or_else(|| text(e.get("type"))),
        Some(Value::String(s)) => Some(s.clone()),
        _ => text(value.get("code")),
    }
    .filter(|c| !c.is_empty())
}

/// RFC 6749's `error_description`, else the message core reads.
fn oauth_message(body: &[u8]) -> String {
    let described = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        v.get("error_description")
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    described.unwrap_or_else(|| cline_provider_core::http::ErrorDetails::parse(body).describe())
}

fn refresh_error(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let code = oauth_code(body);
    let permanent = status == 401
        || code
            .as_deref()
            .is_some_and(|c| PERMANENT_CODES.contains(&c));
    if !permanent {
        return default_error_mapper(status, headers, body);
    }
    let why = match code.as_deref() {
        Some("refresh_token_expired") => "the sign-in has expired",
        Some("refresh_token_reused") => {
            "its refresh token was already used, by another program refreshing the same sign-in"
        }
        Some("refresh_token_invalidated") => {
            "it was revoked (signed out elsewhere, or the password changed)"
        }
        Some("invalid_grant") => "the issuer no longer accepts its refresh token",
        _ => "the issuer refused its refresh token",
    };
    let mut err = Error::new(
        ErrorKind::NotSignedIn,
        format!(
            "the Codex sign-in can no longer be refreshed: {why} (HTTP {status}: {})",
            oauth_message(body)
        ),
    )
    .with_status(status)
    .with_hint(
        "Your OpenAI sign-in has ended and its stored tokens were removed. Sign in again \
         (`login`, or `login --device` on a machine without a browser).",
    );
    if let Some(code) = code {
        err = err.with_code(code);
    }
    err
}

fn exchange_error(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    if status >= 500 || status == 429 {
        return default_error_mapper(status, headers, body);
    }
    let mut err = Error::new(
        ErrorKind::NotSignedIn,
        format!(
            "the issuer refused to finish the sign-in (HTTP {status}: {})",
            oauth_message(body)
        ),
    )
    .with_status(status)
    .with_hint(
        "The sign-in code was refused: it may have expired or been used already. Start the \
         sign-in again and finish it within a few minutes.",
    );
    if let Some(code) = oauth_code(body) {
        err = err.with_code(code);
    }
    err
}

fn device_error(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let code = oauth_code(body);
    let mut err = match (status, code.as_deref()) {
        (_, Some("expired_token")) => Error::new(
            ErrorKind::NotSignedIn,
            "the device code expired before it was approved",
        )
        .with_hint("Start `login --device` again and enter the new code within 15 minutes."),
        (_, Some("access_denied")) => {
            Error::new(ErrorKind::AccessDenied, "the device sign-in was declined")
                .with_hint("The sign-in was declined in the browser. Start it again to retry.")
        }
        _ => default_error_mapper(status, headers, body),
    }
    .with_status(status);
    if let Some(code) = code {
        err = err.with_code(code);
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_shapes_of_a_dead_refresh_token_are_permanent() {
        let h = HeaderMap::new();
        let openai = br#"{"error":{"message":"Your refresh token has already been used to generate a new access token. Please try signing in again.","type":"invalid_request_error","param":null,"code":"refresh_token_reused"}}"#;
        let err = refresh_error(401, &h, openai);
        assert_eq!(err.kind(), &ErrorKind::NotSignedIn);
        assert_eq!(err.code(), Some("refresh_token_reused"));
        assert!(err.message().contains("already used"));
        let generic = br#"{"error":"invalid_grant","error_description":"token revoked"}"#;
        let err = refresh_error(400, &h, generic);
        assert_eq!(err.kind(), &ErrorKind::NotSignedIn);
        assert_eq!(err.code(), Some("invalid_grant"));
        assert!(err.message().contains("token revoked"));
        for code in ["refresh_token_expired", "refresh_token_invalidated"] {
            let body = format!(r#"{{"error":{{"code":"{code}","message":"x"}}}}"#);
            assert_eq!(
                refresh_error(400, &h, body.as_bytes()).kind(),
                &ErrorKind::NotSignedIn,
                "{code}"
            );
        }
        assert_eq!(refresh_error(401, &h, b"").kind(), &ErrorKind::NotSignedIn);
    }

    #[test]
    fn other_refresh_failures_are_transient() {
        let h = HeaderMap::new();
        for (status, body, kind) in [
            (500, &b"oops"[..], ErrorKind::Server),
            (503, &b"<html>busy</html>"[..], ErrorKind::Server),
            (
                429,
                &br#"{"error":"slow_down"}"#[..],
                ErrorKind::RateLimited,
            ),
            (403, &b"blocked by proxy"[..], ErrorKind::AccessDenied),
            (
                400,
                &br#"{"error":"invalid_request"}"#[..],
                ErrorKind::BadRequest,
            ),
        ] {
            let err = refresh_error(status, &h, body);
            assert_eq!(err.kind(), &kind, "{status}");
            assert_ne!(err.kind(), &ErrorKind::NotSignedIn);
        }
    }

    #[test]
    fn the_oauth_code_is_read_from_every_shape() {
        assert_eq!(
            oauth_code(br#"{"error":{"code":"a"}}"#).as_deref(),
            Some("a")
        );
        assert_eq!(oauth_code(br#"{"error":"b"}"#).as_deref(), Some("b"));
        assert_eq!(oauth_code(br#"{"code":"c"}"#).as_deref(), Some("c"));
        assert_eq!(oauth_code(b"nope"), None);
    }
}
