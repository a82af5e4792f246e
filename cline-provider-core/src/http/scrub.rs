//! The credentials a request carries, kept so that none of them comes back inside an error:
//! servers echo keys in their messages ("Incorrect API key provided: sk-…").

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use crate::error::Error;

/// The credentials one attempt carried, to scrub from whatever the server says back.
pub(crate) type Secrets = Arc<[SecretString]>;

pub(crate) fn scrub(err: Error, secrets: &Secrets) -> Error {
    if secrets.is_empty() {
        return err;
    }
    err.scrub(secrets.iter().map(|s| s.expose_secret()))
}

/// Adds a credential value, and for `Scheme token` values the token on its own (servers echo
/// the token without the scheme).
pub(crate) fn push_secret(out: &mut Vec<SecretString>, value: &str) {
    let value = value.trim();
    if value.is_empty() {
        return;
    }
    out.push(value.into());
    if let Some((_, token)) = value.split_once(' ') {
        let token = token.trim();
        if !token.is_empty() {
            out.push(token.into());
        }
    }
}
