//! [`EntraIdentity`]: who an Entra ID token was issued to, for a diagnosis or a settings
//! screen: which credential of the chain answered, the tenant, the principal and the scope.

use std::time::SystemTime;

use cline_provider_core::auth::{jwt_claims, AccessToken};
use serde_json::Value;

/// Who an Entra ID access token says is signed in. Read from the token's claims without
/// checking its signature (the resource checks the token; this only shows it to the person),
/// and never holding the token itself.
///
/// ```
/// use base64::Engine as _;
/// use cline_provider_azure::auth::EntraIdentity;
/// use cline_provider_core::auth::AccessToken;
/// let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
/// let claims = r#"{"tid":"tenant-1","upn":"ada@contoso.com","aud":"https://cognitiveservices.azure.com"}"#;
/// let token = AccessToken::new(format!("{}.{}.sig", b64("{}"), b64(claims)), None);
/// let who = EntraIdentity::read(&token, "https://cognitiveservices.azure.com/.default", Some("AzureCliCredential"));
/// assert_eq!(who.tenant_id.as_deref(), Some("tenant-1"));
/// assert_eq!(who.principal.as_deref(), Some("ada@contoso.com"));
/// assert_eq!(who.credential.as_deref(), Some("AzureCliCredential"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntraIdentity {
    /// The credential of the chain that produced the token
    /// ([`CredentialChain::selected`](super::CredentialChain::selected)), when known.
    pub credential: Option<String>,
    /// The tenant (`tid`).
    pub tenant_id: Option<String>,
    /// The person or application: `upn`, `preferred_username`, `unique_name`, else the
    /// application id (`appid`, `azp`) or object id (`oid`) of a service principal or
    /// managed identity.
    pub principal: Option<String>,
    /// The resource the token is for (`aud`).
    pub audience: Option<String>,
    /// The scope that was asked for.
    pub scope: String,
    /// When the token expires.
    pub expires_at: Option<SystemTime>,
}

impl EntraIdentity {
    /// Reads `token` (asked for `scope`, produced by `credential`). A token that is not a JWT
    /// gives only the scope, the credential and the expiry.
    pub fn read(token: &AccessToken, scope: &str, credential: Option<&str>) -> EntraIdentity {
        use secrecy::ExposeSecret;
        let claims = jwt_claims(token.token.expose_secret()).unwrap_or_default();
        let text = |keys: &[&str]| {
            keys.iter().find_map(|k| {
                claims
                    .get(*k)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            })
        };
        EntraIdentity {
            credential: credential.map(str::to_owned),
            tenant_id: text(&["tid"]),
            principal: text(&[
                "upn",
                "preferred_username",
                "unique_name",
                "appid",
                "azp",
                "oid",
            ]),
            audience: text(&["aud"]),
            scope: scope.to_owned(),
            expires_at: token.expires_at,
        }
    }
}
