//! The issuer's answer on the sign-in redirect: `code`, `state`, `error`, read from the
//! callback's query string or from the address a person pastes, and checked in one place.
//!
//! Both ways in (the loopback callback server and [`ManualLogin`](super::ManualLogin)) go
//! through [`CallbackQuery`], so the rules are the same whichever way the code arrives:
//!
//! 1. a parameter that appears twice (`state`, `code`, `error`, `error_description`) refuses
//!    the whole answer: RFC 6749 §3.1 forbids repeats, and with two values "which one
//!    counts" is a choice an attacker should never get to make;
//! 2. `state` must equal this sign-in's, compared in constant time
//!    ([`state_matches`]);
//! 3. then the issuer's `error` (`access_denied`, and the "Codex is not enabled for your
//!    workspace" variant) wins over any `code`;
//! 4. then a non-empty `code`.
//!
//! The code is a credential (with the PKCE verifier it buys tokens): it is kept as a
//! [`SecretString`], never shown by `Debug`, and no error quotes it or the `state`.
//!
//! The module is public so that fuzzers and property tests drive the very parser the server
//! uses (`fuzz/`).
//!
//! ```
//! use cline_provider_codex::auth::callback_query::{CallbackQuery, Refusal};
//! use secrecy::ExposeSecret;
//!
//! let answer = CallbackQuery::parse("code=ac_123&state=s-1&scope=openid").unwrap();
//! assert_eq!(answer.verify("s-1").unwrap().expose_secret(), "ac_123");
//! let (why, err) = answer.verify("s-2").unwrap_err();
//! assert_eq!(why, Refusal::StateMismatch);
//! assert_eq!(err.field(), Some("state"));
//!
//! let pasted = CallbackQuery::from_pasted("http://localhost:1455/auth/callback?code=c&state=s").unwrap();
//! assert!(pasted.verify("s").is_ok());
//! assert!(CallbackQuery::parse("state=s&state=t&code=c").is_err());
//! ```

use std::fmt;

use cline_provider_core::{Error, ErrorKind, Result};
use secrecy::SecretString;
use url::Url;

use super::pkce::state_matches;

/// Where an answer came from; it chooses the wording of errors, never the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The browser's redirect to the loopback callback server.
    Callback,
    /// The address (or `code#state`) a person pasted.
    Pasted,
}

/// Why [`CallbackQuery::verify`] refused an answer; the callback server picks the page it
/// shows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// `state` is missing or belongs to another sign-in (a stale tab, or a forged request).
    StateMismatch,
    /// The issuer answered with an `error` (the person or the workspace declined).
    Issuer,
    /// No authorization code.
    MissingCode,
}

/// The parameters of one answer, parsed but not yet checked.
#[derive(Clone)]
pub struct CallbackQuery {
    source: Source,
    state: Option<String>,
    code: Option<SecretString>,
    error: Option<String>,
    error_description: Option<String>,
}

impl fmt::Debug for CallbackQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `state` is harmless once used, but it ties a tab to a sign-in in progress: leave it
        // out with the code.
        f.debug_struct("CallbackQuery")
            .field("source", &self.source)
            .field("has_state", &self.state.is_some())
            .field("has_code", &self.code.is_some())
            .field("error", &self.error)
            .field("error_description", &self.error_description)
            .finish()
    }
}

/// The parameters that decide the outcome; each may appear once.
const SINGLE: [&str; 4] = ["state", "code", "error", "error_description"];

impl CallbackQuery {
    /// Reads a callback's query string (without the `?`), as the callback server receives it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotSignedIn`] with field `redirect` when one of `state`, `code`, `error`
    /// or `error_description` appears more than once.
    pub fn parse(query: &str) -> Result<CallbackQuery> {
        CallbackQuery::from_pairs(
            url::form_urlencoded::parse(query.as_bytes()),
            Source::Callback,
        )
    }

    /// Reads what a person pasted: the whole address the browser ended on, its query string
    /// (with or without `?`), or `code#state`. Surrounding white space is ignored.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`] with field `redirect` for text that is none of these, and
    /// the errors of [`CallbackQuery::parse`].
    pub fn from_pasted(pasted: &str) -> Result<CallbackQuery> {
        let pasted = pasted.trim();
        if let Ok(url) = Url::parse(pasted) {
            return CallbackQuery::from_pairs(url.query_pairs(), Source::Pasted);
        }
        if pasted.contains('=') {
            let query = pasted.strip_prefix('?').unwrap_or(pasted);
            return CallbackQuery::from_pairs(
                url::form_urlencoded::parse(query.as_bytes()),
                Source::Pasted,
            );
        }
        if let Some((code, state)) = pasted.split_once('#') {
            return Ok(CallbackQuery {
                source: Source::Pasted,
                state: Some(state.to_owned()),
                code: Some(SecretString::from(code)),
                error: None,
                error_description: None,
            });
        }
        Err(Error::invalid_config(
            "redirect",
            "paste the whole address the browser ended on (it starts with \
             http://localhost:1455/auth/callback?code=…)",
        ))
    }

    fn from_pairs<'a>(
        pairs: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
        source: Source,
    ) -> Result<CallbackQuery> {
        let mut slots: [Option<String>; 4] = Default::default();
        for (key, value) in pairs {
            let Some(at) = SINGLE.iter().position(|name| *name == key) else {
                continue; // `scope`, `iss` and others say nothing this flow acts on
            };
            if slots[at].replace(value.into_owned()).is_some() {
                return Err(Error::new(
                    ErrorKind::NotSignedIn,
                    format!("the sign-in answer carries `{}` more than once", SINGLE[at]),
                )
                .with_field("redirect")
                .with_hint(
                    "The address the sign-in ended on is not one the issuer sends (a parameter \
                     is repeated), so it was not trusted. Start the sign-in again and finish it \
                     in the tab it opens.",
                ));
            }
        }
        let [state, code, error, error_description] = slots;
        Ok(CallbackQuery {
            source,
            state,
            code: code.map(SecretString::from),
            error,
            error_description,
        })
    }

    /// Where the answer came from.
    pub fn source(&self) -> Source {
        self.source
    }

    /// The issuer's `error` code, when it sent one (not empty).
    pub fn issuer_error(&self) -> Option<&str> {
        self.error.as_deref().filter(|e| !e.is_empty())
    }

    /// The issuer's `error_description`, when it sent one.
    pub fn issuer_error_description(&self) -> Option<&str> {
        self.error_description.as_deref()
    }

    /// Checks the answer against this sign-in's `state` and returns its authorization code.
    ///
    /// # Errors
    ///
    /// With the [`Refusal`] for the page:
    /// - [`ErrorKind::NotSignedIn`], field `state`, when `state` is missing or differs (an
    ///   empty `expected_state` matches nothing);
    /// - the issuer's refusal ([`issuer_refusal`]) when it sent an `error`;
    /// - [`ErrorKind::NotSignedIn`], field `code`, when there is no code.
    pub fn verify(
        &self,
        expected_state: &str,
    ) -> std::result::Result<SecretString, (Refusal, Error)> {
        // A missing `state` never matches, not even an empty expected one.
        let matches = self.state.as_deref().is_some_and(|received| {
            !expected_state.is_empty() && state_matches(expected_state, received)
        });
        if !matches {
            let (message, hint) = match self.source {
                Source::Callback => (
                    "the sign-in callback's `state` does not match this sign-in",
                    "The browser answered for another sign-in attempt (an old tab) or the \
                     request was forged. Start the sign-in again and finish it in the tab it \
                     opens.",
                ),
                Source::Pasted => (
                    "the pasted address's `state` does not match this sign-in",
                    "That address belongs to another sign-in attempt. Open the sign-in link \
                     shown for this attempt and paste the address it ends on.",
                ),
            };
            let err = Error::new(ErrorKind::NotSignedIn, message)
                .with_field("state")
                .with_hint(hint);
            return Err((Refusal::StateMismatch, err));
        }
        if let Some(code) = self.issuer_error() {
            let err = issuer_refusal(code, self.issuer_error_description()).0;
            return Err((Refusal::Issuer, err));
        }
        match &self.code {
            Some(code) if !secrecy::ExposeSecret::expose_secret(code).is_empty() => {
                Ok(code.clone())
            }
            _ => {
                let (message, hint) = match self.source {
                    Source::Callback => (
                        "the sign-in callback has no authorization `code`",
                        "The issuer sent the browser back without an authorization code. Start \
                         the sign-in again; if it keeps happening, check CLINE_CODEX_ISSUER.",
                    ),
                    Source::Pasted => (
                        "the pasted address has no authorization `code`",
                        "Paste the whole address the browser ended on, including `?code=…`.",
                    ),
                };
                let err = Error::new(ErrorKind::NotSignedIn, message)
                    .with_field("code")
                    .with_hint(hint);
                Err((Refusal::MissingCode, err))
            }
        }
    }
}

/// The issuer's `error` on the redirect, as an error, a page title and a page text.
///
/// `access_denied` is [`ErrorKind::AccessDenied`] (with code `missing_codex_entitlement` when
/// the description says Codex is not enabled for the workspace); any other code is
/// [`ErrorKind::NotSignedIn`]. The texts quote the issuer's description, which the page
/// escapes.
pub fn issuer_refusal(code: &str, description: Option<&str>) -> (Error, &'static str, String) {
    let description = description.map(str::trim).filter(|d| !d.is_empty());
    let entitlement = code == "access_denied"
        && description
            .is_some_and(|d| d.to_ascii_lowercase().contains("missing_codex_entitlement"));
    if entitlement {
        let err = Error::new(
            ErrorKind::AccessDenied,
            "Codex is not enabled for your ChatGPT workspace (access_denied: missing_codex_entitlement)",
        )
        .with_code("missing_codex_entitlement")
        .with_hint(
            "Codex is not enabled for your workspace. Ask your workspace administrator to give \
             you access to Codex (it needs a ChatGPT Plus, Pro, Team or Enterprise plan), then \
             sign in again.",
        );
        return (
            err,
            "You do not have access to Codex",
            "This account is not allowed to use Codex in this workspace. Ask your workspace \
             administrator for access."
                .into(),
        );
    }
    let shown = description.unwrap_or(code);
    let kind = if code == "access_denied" {
        ErrorKind::AccessDenied
    } else {
        ErrorKind::NotSignedIn
    };
    let hint = if code == "access_denied" {
        "The sign-in was declined, in the browser or by your workspace. Start it again and \
         approve access, or ask your workspace administrator."
    } else {
        "The issuer could not complete the sign-in. Start it again; if it keeps happening, the \
         issuer's message says why."
    };
    let err = Error::new(kind, format!("the sign-in failed: {code}: {shown}"))
        .with_code(code.to_owned())
        .with_hint(hint);
    (err, "Sign-in failed", format!("Sign-in failed: {shown}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn every_pasted_form_gives_the_same_answer() {
        for pasted in [
            "http://localhost:1455/auth/callback?code=ac&state=st",
            "  http://localhost:1455/auth/callback?state=st&code=ac&scope=x \n",
            "?code=ac&state=st",
            "code=ac&state=st",
            "ac#st",
        ] {
            let q = CallbackQuery::from_pasted(pasted).expect(pasted);
            assert_eq!(q.source(), Source::Pasted);
            assert_eq!(q.verify("st").expect(pasted).expose_secret(), "ac");
        }
        let err = CallbackQuery::from_pasted("just some words").expect_err("no redirect");
        assert_eq!(err.field(), Some("redirect"));
    }

    #[test]
    fn state_is_checked_before_the_issuers_error_and_the_code() {
        let q = CallbackQuery::parse("error=access_denied&code=ac&state=other").expect("parse");
        let (why, err) = q.verify("st").expect_err("wrong state");
        assert_eq!(why, Refusal::StateMismatch);
        assert_eq!(err.field(), Some("state"));
        let q = CallbackQuery::parse("code=ac").expect("parse");
        assert_eq!(
            q.verify("st").expect_err("no state").0,
            Refusal::StateMismatch
        );
        assert_eq!(
            q.verify("").expect_err("no state").0,
            Refusal::StateMismatch
        );
        let q = CallbackQuery::parse("code=ac&state=").expect("parse");
        assert_eq!(
            q.verify("").expect_err("empty state").0,
            Refusal::StateMismatch
        );
        let q = CallbackQuery::parse("error=access_denied&code=ac&state=st").expect("parse");
        let (why, err) = q.verify("st").expect_err("declined");
        assert_eq!(why, Refusal::Issuer);
        assert_eq!(err.kind(), &ErrorKind::AccessDenied);
        let q = CallbackQuery::parse("state=st&code=").expect("parse");
        let (why, err) = q.verify("st").expect_err("empty code");
        assert_eq!(why, Refusal::MissingCode);
        assert_eq!(err.field(), Some("code"));
    }

    #[test]
    fn a_repeated_parameter_refuses_the_whole_answer() {
        for query in [
            "state=st&code=ac&state=st",
            "code=ac&state=st&code=other",
            "state=st&code=ac&error=a&error=b",
            "state=st&error_description=a&error_description=b",
        ] {
            let err = CallbackQuery::parse(query).expect_err(query);
            assert_eq!(err.kind(), &ErrorKind::NotSignedIn, "{query}");
            assert_eq!(err.field(), Some("redirect"));
            assert!(!err.message().contains("ac"), "{}", err.message());
        }
        // Other parameters may repeat: they decide nothing.
        assert!(CallbackQuery::parse("scope=a&scope=b&state=st&code=ac").is_ok());
    }

    #[test]
    fn neither_debug_nor_errors_show_the_code_or_the_state() {
        let q = CallbackQuery::parse("code=secret-code-123&state=secret-state-456").expect("parse");
        let debug = format!("{q:?}");
        assert!(!debug.contains("secret-code-123") && !debug.contains("secret-state-456"));
        let (_, err) = q.verify("another-state").expect_err("mismatch");
        for text in [err.to_string(), err.hint().to_owned(), format!("{err:?}")] {
            assert!(!text.contains("secret-code-123"), "{text}");
            assert!(!text.contains("secret-state-456"), "{text}");
        }
    }
}
