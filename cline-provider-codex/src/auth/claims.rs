//! What the tokens say about the person: email, ChatGPT account id, plan, and when the access
//! token expires.
//!
//! The claims are read without checking the signature: the tokens came over TLS straight from
//! the issuer, and nothing here grants access on the strength of them; the API checks the
//! token itself. The account id (sent as `ChatGPT-Account-Id`) is looked up as Cline does:
//! the root claim `chatgpt_account_id`, then the `https://api.openai.com/auth` namespace, then
//! `organizations[0].id`.
//!
//! ```
//! use cline_provider_codex::auth::claims::IdClaims;
//! # use base64::Engine as _;
//! # let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
//! let payload = r#"{"email":"ada@example.com","https://api.openai.com/auth":{"chatgpt_account_id":"acc_1","chatgpt_plan_type":"plus"}}"#;
//! let jwt = format!("{}.{}.sig", b64(r#"{"alg":"RS256"}"#), b64(payload));
//! let claims = IdClaims::parse(&jwt).unwrap();
//! assert_eq!(claims.email.as_deref(), Some("ada@example.com"));
//! assert_eq!(claims.account_id.as_deref(), Some("acc_1"));
//! assert_eq!(claims.plan_type.as_deref(), Some("plus"));
//! ```

use std::time::{Duration, SystemTime};

use cline_provider_core::{Error, ErrorKind, Result};
use serde_json::{Map, Value};

const AUTH_NAMESPACE: &str = "https://api.openai.com/auth";
const PROFILE_NAMESPACE: &str = "https://api.openai.com/profile";

/// The claims of an ID token that matter here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdClaims {
    /// The person's email.
    pub email: Option<String>,
    /// The ChatGPT account (workspace) id.
    pub account_id: Option<String>,
    /// The ChatGPT plan: `plus`, `pro`, `team`, …
    pub plan_type: Option<String>,
    /// The ChatGPT user id.
    pub user_id: Option<String>,
}

impl IdClaims {
    /// Reads the claims of a JWT.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Protocol`] when `jwt` is not three dot-separated base64url parts whose
    /// middle one is a JSON object. The message never quotes the token.
    pub fn parse(jwt: &str) -> Result<IdClaims> {
        Ok(IdClaims::from_payload(&payload(jwt)?))
    }

    fn from_payload(p: &Map<String, Value>) -> IdClaims {
        let auth = p.get(AUTH_NAMESPACE).and_then(Value::as_object);
        let text = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let account_id = text(p.get("chatgpt_account_id"))
            .or_else(|| text(auth.and_then(|a| a.get("chatgpt_account_id"))))
            .or_else(|| {
                text(
                    p.get("organizations")
                        .and_then(Value::as_array)
                        .and_then(|orgs| orgs.first())
                        .and_then(|org| org.get("id")),
                )
            });
        let email = text(p.get("email")).or_else(|| {
            text(
                p.get(PROFILE_NAMESPACE)
                    .and_then(|profile| profile.get("email")),
            )
        });
        IdClaims {
            email,
            account_id,
            plan_type: text(auth.and_then(|a| a.get("chatgpt_plan_type"))),
            user_id: text(auth.and_then(|a| a.get("chatgpt_user_id")))
                .or_else(|| text(auth.and_then(|a| a.get("user_id")))),
        }
    }
}

/// When a JWT access token expires (`exp`), or `None` when it is not a JWT or has no `exp`.
pub fn expiry(jwt: &str) -> Option<SystemTime> {
    let exp = payload(jwt).ok()?.get("exp")?.as_f64()?;
    (exp.is_finite() && exp >= 0.0).then(|| SystemTime::UNIX_EPOCH + Duration::from_secs_f64(exp))
}

/// The account id an access token carries (Cline's fallback when the ID token has none).
pub fn account_id_of_access_token(jwt: &str) -> Option<String> {
    IdClaims::from_payload(&payload(jwt).ok()?).account_id
}

fn payload(jwt: &str) -> Result<Map<String, Value>> {
    let not_a_jwt = |why: &'static str| {
        Error::new(
            ErrorKind::Protocol,
            format!("the issuer's ID token is not a JWT ({why})"),
        )
        .with_field("id_token")
        .with_hint(
            "The sign-in server's answer is not what OpenAI's issuer sends. If \
             CLINE_CODEX_ISSUER is set, check that it points at auth.openai.com or a proxy that \
             passes its answers through unchanged; then sign in again.",
        )
    };
    cline_provider_core::auth::jwt_claims(jwt).map_err(not_a_jwt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    fn jwt(payload: &str) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn the_account_id_is_looked_up_in_clines_order() {
        let root = jwt(
            r#"{"chatgpt_account_id":"root","https://api.openai.com/auth":{"chatgpt_account_id":"ns"},"organizations":[{"id":"org"}]}"#,
        );
        assert_eq!(
            IdClaims::parse(&root).expect("jwt").account_id.as_deref(),
            Some("root")
        );
        let ns = jwt(
            r#"{"https://api.openai.com/auth":{"chatgpt_account_id":"ns"},"organizations":[{"id":"org"}]}"#,
        );
        assert_eq!(
            IdClaims::parse(&ns).expect("jwt").account_id.as_deref(),
            Some("ns")
        );
        let org = jwt(r#"{"organizations":[{"id":"org"},{"id":"other"}]}"#);
        assert_eq!(
            IdClaims::parse(&org).expect("jwt").account_id.as_deref(),
            Some("org")
        );
        let none = jwt(r#"{"email":"a@b"}"#);
        assert_eq!(IdClaims::parse(&none).expect("jwt").account_id, None);
    }

    #[test]
    fn email_falls_back_to_the_profile_namespace() {
        let t = jwt(r#"{"https://api.openai.com/profile":{"email":"p@example.com"}}"#);
        assert_eq!(
            IdClaims::parse(&t).expect("jwt").email.as_deref(),
            Some("p@example.com")
        );
    }

    #[test]
    fn expiry_comes_from_exp() {
        let t = jwt(r#"{"exp":1700000000}"#);
        assert_eq!(
            expiry(&t),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        assert_eq!(expiry(&jwt(r#"{"sub":"x"}"#)), None);
        assert_eq!(expiry("opaque-access-token"), None);
    }

    #[test]
    fn a_token_that_is_not_a_jwt_is_a_typed_error_without_the_token() {
        for bad in [
            "opaque-secret-value",
            "a.b",
            "a.b.c.d",
            "..",
            "eyJ.!!!.sig",
            &format!("h.{}.s", URL_SAFE_NO_PAD.encode("[1,2]")),
        ] {
            let err = IdClaims::parse(bad).expect_err(bad);
            assert_eq!(err.kind(), &ErrorKind::Protocol, "{bad}");
            assert_eq!(err.field(), Some("id_token"));
            assert!(!err.message().contains(bad), "{}", err.message());
            assert!(err.hint().contains("CLINE_CODEX_ISSUER"));
        }
    }
}
