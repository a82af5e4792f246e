//! Which credential the effective settings call for, read from the member's
//! [`SecretStore`]: [`Credential`] and [`EffectiveSettings::credential`], the one rule every
//! backend's connection and the settings report apply, so that no request ever leaves without
//! the credential the member expects it to carry.

use std::fmt;

use secrecy::SecretString;

use super::effective::EffectiveSettings;
use super::field::Field;
use crate::error::{Error, Result};
use crate::http::CredentialKind;
use crate::secrets::{SecretStore, OPENAI_API_KEY};

/// The credential a connection authenticates with.
///
/// `Debug` never shows the key.
#[derive(Clone)]
pub enum Credential {
    /// The member's API key, from the secret store.
    ApiKey(SecretString),
    /// The member's own Azure sign-in (Microsoft Entra ID): Azure Identity is on and the
    /// settings select Azure.
    AzureIdentity,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::ApiKey(_) => f.write_str("ApiKey(••••)"),
            Credential::AzureIdentity => f.write_str("AzureIdentity"),
        }
    }
}

impl Credential {
    /// What the credential is, for the plain-HTTP rule
    /// ([`check_plain_http`](crate::http::check_plain_http)).
    pub fn kind(&self) -> CredentialKind {
        match self {
            Credential::ApiKey(_) => CredentialKind::ApiKey,
            Credential::AzureIdentity => CredentialKind::IdentityToken,
        }
    }
}

impl EffectiveSettings {
    /// The name under which the API key is stored ([`OPENAI_API_KEY`]).
    pub fn api_key_name(&self) -> &'static str {
        OPENAI_API_KEY
    }

    /// The member's API key from `store`. Always the member's own: a policy never sets it.
    pub fn api_key(&self, store: &dyn SecretStore) -> Result<Option<SecretString>> {
        store.get(OPENAI_API_KEY)
    }

    /// The credential these settings authenticate with:
    ///
    /// - Azure Identity when it is on and the settings select Azure
    ///   ([`uses_azure`](EffectiveSettings::uses_azure));
    /// - otherwise the member's API key from `store`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) with a hint when there is
    /// no credential to send:
    /// - no API key is stored (field [`OPENAI_API_KEY`]);
    /// - Azure Identity is on but the endpoint is not Azure, so no Azure token can be used,
    ///   and no API key is stored (field `azureIdentity`): a request would otherwise leave with
    ///   no credential at all.
    ///
    /// Reading the store can also fail ([`ErrorKind::Io`](crate::ErrorKind::Io)).
    ///
    /// ```
    /// use cline_provider_core::policy::{resolve, MemberSettings};
    /// use cline_provider_core::secrets::MemorySecretStore;
    /// let m = MemberSettings::from_json(r#"{"openAiBaseUrl": "https://llm.example.com/v1", "azureIdentity": true}"#)?;
    /// let err = resolve(None, &m).credential(&MemorySecretStore::new()).unwrap_err();
    /// assert_eq!(err.field(), Some("azureIdentity"));
    /// # Ok::<(), cline_provider_core::Error>(())
    /// ```
    pub fn credential(&self, store: &dyn SecretStore) -> Result<Credential> {
        let identity = self.azure_identity().value;
        if identity && self.uses_azure() {
            return Ok(Credential::AzureIdentity);
        }
        if let Some(key) = self.api_key(store)? {
            return Ok(Credential::ApiKey(key));
        }
        if !identity {
            return Err(Error::invalid_config(
                OPENAI_API_KEY,
                "no API key is stored for this endpoint; enter your own API key (an organization \
                 never supplies it), or any placeholder if the server needs none",
            ));
        }
        let host = self
            .base_url()
            .value
            .as_ref()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "the endpoint".to_owned());
        let remedy = if self.is_locked(Field::AzureIdentity) {
            "enter an API key for this endpoint, or ask your administrator: the organization \
             turns Azure Identity on for an endpoint that is not Azure"
        } else {
            "enter an API key for this endpoint, or turn Azure Identity off"
        };
        Err(Error::invalid_config(
            Field::AzureIdentity.key(),
            format!(
                "Azure Identity is on, but {host} is not an Azure endpoint (a host under \
                 azure.com or azure.us, or an Azure API version set), so your Azure sign-in \
                 cannot be used there and no API key is stored; {remedy}"
            ),
        ))
    }
}
