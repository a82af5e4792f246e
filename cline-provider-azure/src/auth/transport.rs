//! The HTTP client the Entra ID credentials use: the SDK's own (its proxy, its extra root
//! certificates and `SSL_CERT_FILE`, no redirects), without the headers meant for the model
//! endpoint.

use std::sync::Arc;

use azure_core::http::{ClientOptions, RetryOptions, Transport};
use cline_provider_core::http::{HttpClient, HttpConfig};
use cline_provider_core::Result;

use super::EnvFn;

/// Client options for one credential. Connection and TLS failures are not retried inside
/// `azure_identity` (it would retry them silently for over a minute): the token cache retries
/// instead, and the failure reaches the person while it still says what went wrong.
pub(crate) fn client_options(http: Option<&HttpConfig>, env: &EnvFn) -> Result<ClientOptions> {
    let config = HttpConfig {
        default_headers: Vec::new(),
        ..http.cloned().unwrap_or_default()
    };
    let client = HttpClient::with_env(config, &|name| env(name))?;
    Ok(ClientOptions {
        transport: Some(Transport::new(Arc::new(client.reqwest().clone()))),
        retry: RetryOptions::none(),
        ..ClientOptions::default()
    })
}
