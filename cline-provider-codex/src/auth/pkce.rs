//! PKCE (RFC 7636, method `S256`) and the `state` that ties a callback to its sign-in.
//!
//! The verifier is 64 random bytes, base64url without padding (86 characters), as the Codex
//! CLI makes it; the challenge is base64url(SHA-256(verifier)). `state` is 32 random bytes the
//! same way. Randomness comes from the operating system (`getrandom`), never from a
//! non-cryptographic generator.
//!
//! ```
//! use cline_provider_codex::auth::pkce::{generate_state, state_matches, PkceCodes};
//! use secrecy::ExposeSecret;
//!
//! let pkce = PkceCodes::generate().unwrap();
//! assert_eq!(pkce.verifier().expose_secret().len(), 86);
//! assert_eq!(pkce.challenge().len(), 43);
//! let state = generate_state().unwrap();
//! assert!(state_matches(&state, &state.clone()));
//! assert!(!state_matches(&state, "forged"));
//! ```

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cline_provider_core::{Error, ErrorKind, Result};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A PKCE verifier and its `S256` challenge.
#[derive(Clone)]
pub struct PkceCodes {
    verifier: SecretString,
    challenge: String,
}

impl std::fmt::Debug for PkceCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PkceCodes")
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

impl PkceCodes {
    /// A fresh verifier from 64 random bytes.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] if the operating system has no randomness to give.
    pub fn generate() -> Result<PkceCodes> {
        let verifier = random_token::<64>()?;
        Ok(PkceCodes::from_verifier(verifier))
    }

    /// The codes for a verifier the issuer handed back (the device flow does this).
    pub fn from_verifier(verifier: String) -> PkceCodes {
        let challenge = challenge_of(&verifier);
        PkceCodes {
            verifier: SecretString::from(verifier),
            challenge,
        }
    }

    /// The verifier, sent only in the code exchange.
    pub fn verifier(&self) -> &SecretString {
        &self.verifier
    }

    /// The challenge, sent on the authorize URL.
    pub fn challenge(&self) -> &str {
        &self.challenge
    }
}

/// base64url-nopad(SHA-256(verifier)).
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A fresh `state`: 32 random bytes, base64url without padding.
///
/// # Errors
///
/// [`ErrorKind::Io`] if the operating system has no randomness to give.
pub fn generate_state() -> Result<String> {
    random_token::<32>()
}

/// Compares a callback's `state` with the expected one in constant time, so the time taken
/// says nothing about how much of a guess was right.
pub fn state_matches(expected: &str, received: &str) -> bool {
    // Lengths are not secret (the format is public); contents are compared in constant time.
    expected.len() == received.len() && bool::from(expected.as_bytes().ct_eq(received.as_bytes()))
}

fn random_token<const N: usize>() -> Result<String> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("the operating system gave no random bytes: {e}"),
        )
    })?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    bytes.fill(0);
    Ok(token)
}

/// The verifier's text, for the form body of the exchange.
pub(crate) fn verifier_text(codes: &PkceCodes) -> &str {
    codes.verifier.expose_secret()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_rfc_7636s_example() {
        // RFC 7636, appendix B.
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn codes_and_states_are_fresh_each_time() {
        let a = PkceCodes::generate().expect("pkce");
        let b = PkceCodes::generate().expect("pkce");
        assert_ne!(a.challenge(), b.challenge());
        assert_ne!(
            generate_state().expect("state"),
            generate_state().expect("state")
        );
        assert!(a
            .verifier()
            .expose_secret()
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert!(!format!("{a:?}").contains(a.verifier().expose_secret()));
    }

    #[test]
    fn state_comparison_needs_every_byte() {
        assert!(state_matches("abc", "abc"));
        assert!(!state_matches("abc", "abd"));
        assert!(!state_matches("abc", "ab"));
        assert!(!state_matches("abc", ""));
    }
}
