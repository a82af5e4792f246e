//! Which credential the effective settings call for, read from the member's
//! [`SecretStore`].

use secrecy::SecretString;

use super::effective::EffectiveSettings;
use crate::error::Result;
use crate::secrets::{SecretStore, OPENAI_API_KEY};

impl EffectiveSettings {
    /// The name under which the API key is stored ([`OPENAI_API_KEY`]).
    pub fn api_key_name(&self) -> &'static str {
        OPENAI_API_KEY
    }

    /// The member's API key from `store`. Always the member's own: a policy never sets it.
    pub fn api_key(&self, store: &dyn SecretStore) -> Result<Option<SecretString>> {
        store.get(OPENAI_API_KEY)
    }
}
