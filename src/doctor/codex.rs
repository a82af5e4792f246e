//! The OpenAI Codex sign-in: who, until when, and whether it still renews.

use super::report::{Checklist, Step};
use super::settings::{until, ENCRYPTED};
use super::DoctorOptions;

pub(crate) const CODEX_SIGN_IN: &str = "auth.codex_sign_in";
const ENCRYPTED_TITLE: &str = "Credentials travel encrypted";
pub(crate) const CODEX_TOKEN: &str = "auth.codex_token";

/// Who is signed in to OpenAI Codex, and whether the sign-in still gives a token (refreshing
/// it when due, as a request would).
pub(crate) async fn codex(
    list: &mut Checklist,
    options: &DoctorOptions<'_>,
) -> Option<crate::codex::CodexAuth> {
    use crate::codex::{CodexAuth, CodexConfig};

    const SIGN_IN: &str = "Signed in with OpenAI";
    const TOKEN: &str = "The sign-in gives a valid token";
    let auth = match options.codex.clone().map_or_else(CodexConfig::from_env, Ok) {
        Ok(config) => CodexAuth::new(config),
        Err(e) => Err(e),
    };
    let auth = match auth {
        Ok(auth) => auth,
        Err(e) => {
            list.push(Step::from_error(CODEX_SIGN_IN, SIGN_IN, &e));
            list.skip_unless(CODEX_TOKEN, TOKEN, &[CODEX_SIGN_IN]);
            return None;
        }
    };
    match auth.status() {
        Ok(status) if status.signed_in => {
            let mut evidence = format!(
                "as {}",
                status.email.as_deref().unwrap_or("(unknown email)")
            );
            if let Some(plan) = &status.plan_type {
                evidence.push_str(&format!(" (plan {plan})"));
            }
            if let Some(account) = &status.account_id {
                evidence.push_str(&format!(", account {account}"));
            }
            if let Some(at) = status.access_expires_at {
                evidence.push_str(&format!("; access token {}", until(at)));
            }
            if let Some(location) = &status.location {
                evidence.push_str(&format!("; stored in {location}"));
            }
            list.push(Step::ok(CODEX_SIGN_IN, SIGN_IN, evidence));
        }
        Ok(_) => {
            list.push(Step::failed(
                CODEX_SIGN_IN,
                SIGN_IN,
                "nobody is signed in to OpenAI Codex on this machine",
                format!(
                    "Sign in with your ChatGPT account: `{cmd}` (or `{cmd} --device` on a \
                     machine without a browser). If the browser does not open, copy the printed \
                     link into one, or use the device code. A Codex CLI sign-in (`codex login`) \
                     is used too.",
                    cmd = auth.config().login_command
                ),
            ));
        }
        Err(e) => list.push(Step::from_error(CODEX_SIGN_IN, SIGN_IN, &e)),
    }
    if list.skip_unless(CODEX_TOKEN, TOKEN, &[CODEX_SIGN_IN]) {
        return None;
    }
    match auth.token().await {
        Ok(token) => {
            let evidence = match token.expires_at() {
                Some(at) => format!("access token {}", until(at)),
                None => "an access token without an expiry".to_owned(),
            };
            list.push(Step::ok(CODEX_TOKEN, TOKEN, evidence));
            Some(auth)
        }
        Err(e) => {
            list.push(Step::failed(
                CODEX_TOKEN,
                TOKEN,
                format!("the sign-in could not be renewed: {}", e.message()),
                e.hint(),
            ));
            None
        }
    }
}

/// The plan's models as the Codex endpoint lists them, with the sign-in the checks read: the
/// smallest request that proves the endpoint accepts it. (The provider's `list_models` falls
/// back to the catalog, which would prove nothing.)
pub(crate) async fn plan_models(
    options: &DoctorOptions<'_>,
    parts: &crate::Parts,
) -> crate::Result<Vec<crate::ModelInfo>> {
    use crate::codex::{CodexAuth, CodexConfig, CodexProvider};

    let auth = match &parts.codex {
        Some(auth) => auth.clone(),
        None => CodexAuth::new(
            options
                .codex
                .clone()
                .map_or_else(CodexConfig::from_env, Ok)?,
        )?,
    };
    let client = crate::http::HttpClient::new(options.connect.http.clone())?;
    CodexProvider::with_client(auth, client)?
        .plan_models()
        .await
}

/// The sign-in's token goes to the Codex endpoint `url` encrypted (or to this machine only):
/// the engine's plain-HTTP rule for a personal identity token, which the connection applies.
pub(crate) fn encryption(list: &mut Checklist, url: Option<&url::Url>, require_https: bool) {
    use crate::http::{check_plain_http, CredentialKind};

    let Some(url) = url else {
        list.skip_unless(ENCRYPTED, ENCRYPTED_TITLE, &[super::network::URL]);
        return;
    };
    match check_plain_http(
        url,
        "CLINE_CODEX_BASE_URL",
        CredentialKind::IdentityToken,
        require_https,
    ) {
        Ok(_) if url.scheme() == "https" => list.push(Step::ok(
            ENCRYPTED,
            ENCRYPTED_TITLE,
            "the Codex endpoint uses HTTPS",
        )),
        Ok(_) => list.push(Step::ok(
            ENCRYPTED,
            ENCRYPTED_TITLE,
            "plain HTTP, but only to this machine (loopback)",
        )),
        Err(e) => list.push(Step::failed(
            ENCRYPTED,
            ENCRYPTED_TITLE,
            e.message(),
            "Set CLINE_CODEX_BASE_URL to the endpoint's https:// address (or unset it for \
             https://chatgpt.com/backend-api/codex): your sign-in never travels over plain HTTP \
             except to this machine.",
        )),
    }
}
