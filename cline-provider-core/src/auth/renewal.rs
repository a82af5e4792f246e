//! The one rule for a server that refuses a short-lived token: renew it once, send once more.

use std::future::Future;

use crate::error::{Error, Result};

/// Sends a call signed with `token`; when the server answers HTTP 401, asks `renew` for a
/// token to replace the rejected one and sends once more with it.
///
/// `send` receives the token and how many times this call was sent before (0, then 1), which
/// the engine's span for the call records as its resend count. `renew` receives the rejected
/// token and returns `None` when no renewal applies (a static API key): the 401 is then the
/// answer. When the renewed token is refused too, `after_second_401` turns that error into
/// the one the caller shows (the identity's "sign in again" hint, say); any other outcome of
/// the second send is returned as it is. There is never a third send.
///
/// Every backend that signs with an expiring token (Entra ID, "Sign in with OpenAI") goes
/// through here, usually with [`CachedTokenSource::refresh_after_unauthorized`](
/// super::CachedTokenSource::refresh_after_unauthorized) inside `renew`, so concurrent calls
/// that all saw the 401 share one refresh.
///
/// ```
/// use cline_provider_core::auth::send_renewing_after_401;
/// use cline_provider_core::{Error, ErrorKind};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let reply = send_renewing_after_401(
///     "old",
///     |token, resends| async move {
///         if token == "old" {
///             Err(Error::new(ErrorKind::NotSignedIn, "expired").with_status(401))
///         } else {
///             Ok(format!("sent with {token} after {resends} resend"))
///         }
///     },
///     |_rejected| async { Ok(Some("new")) },
///     |second| second,
/// )
/// .await;
/// assert_eq!(reply.unwrap(), "sent with new after 1 resend");
/// # }
/// ```
///
/// # Errors
///
/// The first send's error when it is not a 401, or when `renew` gives no token; `renew`'s
/// own error (the refresh failed); the second send's error, through `after_second_401` when
/// it is a 401.
pub async fn send_renewing_after_401<Tok, T, Send, Sent, Renew, Renewed>(
    token: Tok,
    send: Send,
    renew: Renew,
    after_second_401: impl FnOnce(Error) -> Error,
) -> Result<T>
where
    Tok: Clone,
    Send: Fn(Tok, u32) -> Sent,
    Sent: Future<Output = Result<T>>,
    Renew: FnOnce(Tok) -> Renewed,
    Renewed: Future<Output = Result<Option<Tok>>>,
{
    let refused = match send(token.clone(), 0).await {
        Err(e) if e.status() == Some(401) => e,
        other => return other,
    };
    let Some(fresh) = renew(token).await? else {
        return Err(refused);
    };
    tracing::debug!(
        "the server refused the token (HTTP 401); sending once more with a renewed one"
    );
    match send(fresh, 1).await {
        Err(e) if e.status() == Some(401) => Err(after_second_401(e)),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::error::ErrorKind;

    fn unauthorized() -> Error {
        Error::new(ErrorKind::NotSignedIn, "refused").with_status(401)
    }

    #[tokio::test]
    async fn a_401_renews_once_and_a_second_401_goes_through_the_mapper() {
        let sends = AtomicU32::new(0);
        let renewals = AtomicU32::new(0);
        let result: Result<()> = send_renewing_after_401(
            1u32,
            |_, resends| {
                assert_eq!(resends, sends.fetch_add(1, Ordering::SeqCst));
                async { Err(unauthorized()) }
            },
            |rejected| {
                assert_eq!(rejected, 1);
                renewals.fetch_add(1, Ordering::SeqCst);
                async { Ok(Some(2)) }
            },
            |e| Error::new(ErrorKind::NotSignedIn, "sign in again").with_source(e),
        )
        .await;
        assert_eq!(sends.load(Ordering::SeqCst), 2);
        assert_eq!(renewals.load(Ordering::SeqCst), 1);
        assert_eq!(result.unwrap_err().to_string(), "sign in again");
    }

    #[tokio::test]
    async fn other_errors_and_no_renewal_are_the_answer_with_a_single_send() {
        for (status, renewal) in [(Some(500), Some(2)), (Some(401), None), (None, Some(2))] {
            let sends = AtomicU32::new(0);
            let result: Result<()> = send_renewing_after_401(
                1u32,
                |_, _| {
                    sends.fetch_add(1, Ordering::SeqCst);
                    let mut e = Error::new(ErrorKind::Server, "first");
                    if let Some(s) = status {
                        e = e.with_status(s);
                    }
                    async { Err(e) }
                },
                |_| async move { Ok(renewal) },
                |_| panic!("no second send happened"),
            )
            .await;
            assert_eq!(sends.load(Ordering::SeqCst), 1, "status {status:?}");
            assert_eq!(result.unwrap_err().to_string(), "first");
        }
    }
}
