//! Microsoft Entra ID as a [`TokenSource`]: any `azure_core` credential (the default chain
//! or the caller's own), asked for one scope. The SDK's
//! [`CachedTokenSource`](cline_provider_core::auth::CachedTokenSource) goes in front: the CLI
//! credentials cache nothing, and the others cache without refreshing ahead.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use cline_provider_core::auth::{AccessToken, TokenSource};
use cline_provider_core::{Error, ErrorKind, Result};
use secrecy::SecretString;

use super::chain::full_chain;

/// What the person should do when no credential produced a token.
pub const NOT_SIGNED_IN_HINT: &str = "No Microsoft Entra ID sign-in was found for Azure. On \
     your own machine, run `az login` (or `azd auth login`) and try again; in CI or on a \
     server, set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service \
     principal, or run on Azure with a managed identity. The message lists what each \
     credential said.";

/// Fetches Entra ID tokens for `scope` from a credential.
pub struct EntraTokenSource {
    credential: Arc<dyn TokenCredential>,
    scope: String,
}

impl EntraTokenSource {
    /// Tokens for `scope` (e.g. `https://cognitiveservices.azure.com/.default`).
    pub fn new(credential: Arc<dyn TokenCredential>, scope: impl Into<String>) -> Self {
        EntraTokenSource {
            credential,
            scope: scope.into(),
        }
    }

    /// The scope asked for.
    pub fn scope(&self) -> &str {
        &self.scope
    }
}

impl fmt::Debug for EntraTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraTokenSource")
            .field("credential", &self.credential)
            .field("scope", &self.scope)
            .finish()
    }
}

#[async_trait]
impl TokenSource for EntraTokenSource {
    /// # Errors
    ///
    /// [`NotSignedIn`](ErrorKind::NotSignedIn), whose message carries what every credential
    /// said (the whole cause chain), with [`NOT_SIGNED_IN_HINT`].
    async fn fetch_token(&self) -> Result<AccessToken> {
        match self.credential.get_token(&[&self.scope], None).await {
            Ok(token) => Ok(AccessToken::new(
                SecretString::from(token.token.secret().to_owned()),
                Some(SystemTime::from(token.expires_on)),
            )),
            Err(e) => Err(Error::new(
                ErrorKind::NotSignedIn,
                format!(
                    "could not get a Microsoft Entra ID token for {}: {}",
                    self.scope,
                    full_chain(&e)
                ),
            )
            .with_hint(NOT_SIGNED_IN_HINT)),
        }
    }
}
