//! Authentication per mode: Azure Identity (which credential of the chain answered, for which
//! tenant and scope) and the OpenAI Codex sign-in (who, and until when). The API key's check
//! is the settings report's ([`super::settings::credential`]).

use super::report::{Checklist, Step};
use super::settings::{human, CREDENTIAL};
use super::DoctorOptions;
use crate::policy::EffectiveSettings;

pub(crate) const AZURE_IDENTITY: &str = "auth.azure_identity";
pub(crate) const CODEX_SIGN_IN: &str = "auth.codex_sign_in";
pub(crate) const CODEX_TOKEN: &str = "auth.codex_token";

/// How long until `at`, or how long ago it passed.
pub(crate) fn until(at: std::time::SystemTime) -> String {
    match at.duration_since(std::time::SystemTime::now()) {
        Ok(left) => format!("valid for {}", human(left.as_secs())),
        Err(past) => format!("expired {} ago", human(past.duration().as_secs())),
    }
}

/// Asks the credential chain for a token for the resource's scope and says who answered. The
/// token cache it fills is handed to the connection, so the endpoint checks use the same
/// sign-in.
#[cfg(feature = "azure")]
pub(crate) async fn azure_identity(
    list: &mut Checklist,
    settings: &EffectiveSettings,
    options: &DoctorOptions<'_>,
) -> Option<crate::azure::EntraId> {
    use std::sync::Arc;

    use crate::auth::CachedTokenSource;
    use crate::azure::auth::{
        process_env, ChainOptions, CredentialChain, EntraIdentity, EntraTokenSource,
    };
    use crate::azure::{AzureConfig, EntraId};

    const TITLE: &str = "Azure Identity signs you in";
    if list.skip_unless(AZURE_IDENTITY, TITLE, &[CREDENTIAL, super::network::URL]) {
        return None;
    }
    let url = settings.base_url().value.as_ref()?;
    let config = match AzureConfig::new(url.as_str()) {
        Ok(c) => c,
        Err(e) => {
            list.push(Step::from_error(AZURE_IDENTITY, TITLE, &e));
            return None;
        }
    };
    let scope = config.scope();
    let chain_options = ChainOptions {
        env: options.env.clone().unwrap_or_else(process_env),
        http: Some(options.connect.http.clone()),
        us_government: config.endpoint.is_us_government(),
        ..ChainOptions::default()
    };
    let chain = match CredentialChain::from_options(&chain_options) {
        Ok(chain) => Arc::new(chain),
        Err(e) => {
            list.push(Step::from_error(AZURE_IDENTITY, TITLE, &e));
            return None;
        }
    };
    let source = EntraTokenSource::new(chain.clone(), scope.clone());
    let cache = Arc::new(CachedTokenSource::new(Arc::new(source)));
    match cache.token().await {
        Ok(issued) => {
            let who = EntraIdentity::read(&issued.token, &scope, chain.selected());
            let mut evidence = format!(
                "{} answered",
                who.credential.as_deref().unwrap_or("a credential")
            );
            if let Some(principal) = &who.principal {
                evidence.push_str(&format!(" for {principal}"));
            }
            evidence.push_str(&format!(
                "; tenant {}; scope {}",
                who.tenant_id.as_deref().unwrap_or("(not in the token)"),
                who.scope
            ));
            if let Some(at) = who.expires_at {
                evidence.push_str(&format!("; token {}", until(at)));
            }
            list.push(Step::ok(AZURE_IDENTITY, TITLE, evidence));
            Some(EntraId {
                cache: Some(cache),
                ..EntraId::default()
            })
        }
        Err(e) => {
            list.push(Step::from_error(AZURE_IDENTITY, TITLE, &e));
            None
        }
    }
}

/// Who is signed in to OpenAI Codex, and whether the sign-in still gives a token (refreshing
/// it when due, as a request would).
#[cfg(feature = "codex")]
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
                "Sign in with your ChatGPT account: `cargo run --example codex_login -- login` \
                 (add `--device` on a machine without a browser), or your application's sign-in \
                 button. If the browser does not open, copy the printed link into one.",
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
