//! [`WithDeadline`]: a bound on any credential's `get_token`, because some (the managed
//! identity's IMDS probe) override the caller's retry settings and can take minutes to fail.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::error::ErrorKind as AzErrorKind;

/// Bounds every `get_token` of `inner` by `limit`.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// use std::{sync::Arc, time::Duration};
/// use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
/// use cline_provider_azure::auth::WithDeadline;
///
/// #[derive(Debug)]
/// struct Hangs;
/// #[async_trait::async_trait]
/// impl TokenCredential for Hangs {
///     async fn get_token(&self, _: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
///         std::future::pending().await
///     }
/// }
/// let bounded = WithDeadline::new(Arc::new(Hangs), Duration::from_millis(20), "no answer");
/// let err = bounded.get_token(&["s/.default"], None).await.unwrap_err();
/// assert!(err.to_string().contains("20ms"));
/// # });
/// ```
pub struct WithDeadline {
    inner: Arc<dyn TokenCredential>,
    limit: Duration,
    what: String,
}

impl WithDeadline {
    /// `inner`, giving up after `limit`; `what` explains a timeout to the person.
    pub fn new(inner: Arc<dyn TokenCredential>, limit: Duration, what: impl Into<String>) -> Self {
        WithDeadline {
            inner,
            limit,
            what: what.into(),
        }
    }
}

impl fmt::Debug for WithDeadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithDeadline")
            .field("inner", &self.inner)
            .field("limit", &self.limit)
            .finish()
    }
}

#[async_trait::async_trait]
impl TokenCredential for WithDeadline {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        match tokio::time::timeout(self.limit, self.inner.get_token(scopes, options)).await {
            Ok(result) => result,
            Err(_) => Err(azure_core::Error::with_message(
                AzErrorKind::Credential,
                format!("no answer within {:?}: {}", self.limit, self.what),
            )),
        }
    }
}
