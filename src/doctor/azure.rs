//! Azure Identity: which credential of the chain answered, for which tenant and scope. The
//! API key's check is the settings report's ([`super::settings::credential`]).

use super::report::{Checklist, Step};
use super::settings::{until, CREDENTIAL};
use super::DoctorOptions;
use crate::policy::EffectiveSettings;

pub(crate) const AZURE_IDENTITY: &str = "auth.azure_identity";

/// Asks the credential chain for a token for the resource's scope and says who answered. The
/// token cache it fills is handed to the connection, so the endpoint checks use the same
/// sign-in.
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
