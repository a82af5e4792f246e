//! Redirects: none for LLM requests (credentials and prompts never follow a 3xx), same-origin
//! ones only where [`RedirectPolicy::SameOrigin`] asks; a redirect not followed is an error
//! naming where it pointed.

use super::config::RedirectPolicy;
use super::endpoint::redact_url;
use super::send_error::display_target;
use crate::error::{Error, ErrorKind};

/// The most same-origin redirects [`RedirectPolicy::SameOrigin`] follows.
const MAX_REDIRECTS: usize = 10;

pub(crate) fn redirect_policy(policy: RedirectPolicy) -> reqwest::redirect::Policy {
    match policy {
        RedirectPolicy::None => reqwest::redirect::Policy::none(),
        RedirectPolicy::SameOrigin => reqwest::redirect::Policy::custom(|attempt| {
            // `previous` starts with the URL first requested: every hop must stay on its origin.
            let same = attempt
                .previous()
                .first()
                .is_some_and(|first| first.origin() == attempt.url().origin());
            if !same {
                attempt.stop()
            } else if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error("more than 10 redirects")
            } else {
                attempt.follow()
            }
        }),
    }
}

/// A 3xx that was not followed, naming where it pointed (its credentials redacted).
pub(crate) fn redirect_error(response: &reqwest::Response) -> Error {
    let status = response.status();
    let from = display_target(response.url());
    let location = response
        .headers()
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| response.url().join(l).ok())
        .map(|u| redact_url(&u));
    let reason = status.canonical_reason().unwrap_or("Redirect");
    let mut err = match &location {
        Some(to) => Error::new(
            ErrorKind::Redirected,
            format!(
                "HTTP {} {reason}: {from} redirects to {to}; the redirect was not followed, so \
                 the request (with its credentials) was not sent there",
                status.as_u16()
            ),
        )
        .with_redirect_location(to.clone()),
        None => Error::new(
            ErrorKind::Redirected,
            format!(
                "HTTP {} {reason} from {from} without a usable Location; the redirect was not \
                 followed",
                status.as_u16()
            ),
        ),
    };
    err = err.with_status(status.as_u16());
    err
}
