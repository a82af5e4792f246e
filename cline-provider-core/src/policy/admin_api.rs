//! The admin API's two endpoints, and nothing else: [`AdminApi`] sends the requests (through
//! the engine, as every request of the SDK: its User-Agent, proxy, trusted roots, timeouts,
//! capped body reader and error rules, same-origin redirects only) and reads their envelopes. What to do with an answer (apply, fall back, clear) is
//! [`RemoteConfigClient`](super::RemoteConfigClient)'s business.

use std::sync::RwLock;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use super::json;
use super::remote::Organization;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{
    map_error_with, HttpClient, HttpConfig, RedirectPolicy, RequestSpec, RetryPolicy,
};

/// The most a policy response may weigh; larger bodies are refused, not buffered.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// What the organization endpoint said.
pub(super) enum OrgConfig {
    /// `enabled: false`.
    Disabled,
    /// `data: null`: the organization has no remote configuration.
    NotConfigured,
    /// The document, not yet validated.
    Enabled(String),
}

/// What discovery said: the member's organization, and the policy when it carries one.
pub(super) struct Discovery {
    pub(super) organization: Organization,
    pub(super) value: Option<String>,
}

/// The admin API at one base URL, with the member's account token.
pub(super) struct AdminApi {
    http: HttpClient,
    api_base: Url,
    token: RwLock<SecretString>,
}

/// What an admin API status means where it differs from an LLM endpoint's: the credential is
/// the member's sign-in (401), and a missing path is not a missing model (404).
const ADMIN_STATUSES: &[(u16, ErrorKind)] =
    &[(401, ErrorKind::NotSignedIn), (404, ErrorKind::BadRequest)];

/// The admin API's HTTP settings by default: 10 s to connect, 30 s for the whole request.
pub(super) fn default_http_config() -> HttpConfig {
    HttpConfig {
        connect_timeout: Duration::from_secs(10),
        header_timeout: Duration::from_secs(30),
        total_timeout: Some(Duration::from_secs(30)),
        ..HttpConfig::default()
    }
}

impl AdminApi {
    /// A client over the engine with [`default_http_config`].
    pub(super) fn new(api_base: &str, token: SecretString) -> Result<Self> {
        Self::with_http_config(api_base, token, default_http_config())
    }

    /// A client over the engine with `config` (proxy, extra CA, `SSL_CERT_FILE`, User-Agent,
    /// timeouts), following same-origin redirects only and retrying nothing: a failed fetch
    /// keeps the policy, and the schedule tries again. The token is refused over plain
    /// `http://` except to a loopback address.
    pub(super) fn with_http_config(
        api_base: &str,
        token: SecretString,
        config: HttpConfig,
    ) -> Result<Self> {
        let api_base = json::base_url(api_base, "admin_api_url")?;
        if crate::http::is_plain_http_to_remote(&api_base) {
            return Err(Error::invalid_config(
                "admin_api_url",
                "the admin API must use https:// (plain http is allowed only to localhost), \
                 because your account token travels with every request",
            ));
        }
        if token.expose_secret().trim().is_empty() {
            return Err(Error::new(
                ErrorKind::NotSignedIn,
                "the admin API token is empty",
            ));
        }
        let http = HttpClient::new(HttpConfig {
            redirects: RedirectPolicy::SameOrigin,
            retry: RetryPolicy::never(),
            ..config
        })?;
        Ok(AdminApi {
            http,
            api_base,
            token: RwLock::new(token),
        })
    }

    pub(super) fn api_base(&self) -> &Url {
        &self.api_base
    }

    pub(super) fn set_token(&self, token: SecretString) {
        if let Ok(mut t) = self.token.write() {
            *t = token;
        }
    }

    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.api_base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    async fn get_json(&self, url: Url) -> Result<Value> {
        let auth = {
            let token = self.token.read().map_err(|_| {
                Error::new(ErrorKind::NotSignedIn, "the admin API token is unavailable")
            })?;
            let mut v = http::HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
                .map_err(|_| {
                Error::new(
                    ErrorKind::NotSignedIn,
                    "the admin API token contains characters that cannot be sent in a header",
                )
            })?;
            v.set_sensitive(true);
            v
        };
        let build = |c: &reqwest::Client| {
            Ok(c.get(url.clone())
                .header(http::header::AUTHORIZATION, auth.clone())
                .header(http::header::ACCEPT, "application/json"))
        };
        let shown = url.path().to_owned();
        let map = |status: u16, headers: &http::HeaderMap, body: &[u8]| {
            map_error_with(ADMIN_STATUSES, status, headers, body)
                .with_context(format!("the admin API ({shown})"))
        };
        let fetched = self
            .http
            .fetch(&RequestSpec::new(&build, &map), MAX_BODY)
            .await?;
        serde_json::from_slice(&fetched.body).map_err(|_| {
            Error::new(
                ErrorKind::Protocol,
                format!(
                    "the admin API sent a response that is not JSON from {url} (a captive \
                     portal or a proxy's login page answers like this)"
                ),
            )
        })
    }

    /// Discovery, `GET {api}/api/v1/users/me/remote-config`: the member's organization, or
    /// `None` when the answer says explicitly that there is none.
    pub(super) async fn discover(&self) -> Result<Option<Discovery>> {
        let url = self.endpoint(&["api", "v1", "users", "me", "remote-config"]);
        parse_discovery(self.get_json(url).await?)
    }

    /// The organization endpoint, `GET {api}/api/v1/organizations/{id}/remote-config`.
    pub(super) async fn fetch_organization(&self, org: &Organization) -> Result<OrgConfig> {
        let url = self.endpoint(&["api", "v1", "organizations", &org.id, "remote-config"]);
        parse_org_config(self.get_json(url).await?)
    }
}

/// Unwraps `{success, error, data}`, naming the endpoint in errors.
///
/// Only an answer that carries `data` is an answer: `{}`, `{"success": true}` or any other
/// object without it is a failed fetch, never "no policy", so that a proxy or a broken
/// deployment answering `200 {}` cannot unlock every member. `data: null` is returned as
/// `Null`: that is the API saying "none".
fn envelope(v: Value, what: &str) -> Result<Value> {
    let Value::Object(mut obj) = v else {
        return Err(Error::new(
            ErrorKind::Protocol,
            format!("the {what} response is not a JSON object"),
        ));
    };
    if obj.get("success").and_then(Value::as_bool) == Some(false) {
        let said = obj
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("no reason given");
        return Err(Error::new(
            ErrorKind::Server,
            format!(
                "the admin API reported a failure for the {what}: {}",
                said.chars().take(200).collect::<String>()
            ),
        ));
    }
    obj.remove("data").ok_or_else(|| {
        Error::new(
            ErrorKind::Protocol,
            format!(
                "the {what} response has no `data`, so it says nothing about the policy; \
                 it counts as a failed fetch"
            ),
        )
    })
}

/// The envelope's `data` as an object, or `None` for `data: null`.
fn envelope_object(body: Value, what: &str) -> Result<Option<serde_json::Map<String, Value>>> {
    match envelope(body, what)? {
        Value::Null => Ok(None),
        Value::Object(obj) => Ok(Some(obj)),
        _ => Err(malformed(what, "`data` is not an object")),
    }
}

fn malformed(what: &str, why: &str) -> Error {
    Error::new(
        ErrorKind::Protocol,
        format!("the {what} response is malformed: {why}"),
    )
}

/// Reads a discovery answer. `data: null` means no organization has a configuration for the
/// member (`None`); so does an explicit list of organizations without a discovered one, when
/// the list is empty (the member left the organization). An answer naming neither an
/// organization nor a list is malformed.
pub(super) fn parse_discovery(body: Value) -> Result<Option<Discovery>> {
    const WHAT: &str = "remote configuration discovery";
    let Some(obj) = envelope_object(body, WHAT)? else {
        return Ok(None);
    };
    let protocol = |why: &str| malformed(WHAT, why);
    let listed: Option<Vec<Organization>> = match obj.get("organizations") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .filter_map(|o| {
                    let id = o.get("organizationId")?.as_str()?;
                    let mut org = Organization::new(id);
                    org.name = o.get("name").and_then(Value::as_str).map(str::to_owned);
                    Some(org)
                })
                .collect(),
        ),
        Some(_) => return Err(protocol("`organizations` is not an array")),
    };
    let discovered = match obj.get("organizationId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(protocol("`organizationId` is not a string")),
    };
    if discovered.is_none() && listed.is_none() {
        return Err(protocol(
            "it names neither an organization (`organizationId`) nor a list of organizations",
        ));
    }
    let value = match obj.get("value") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(protocol("`value` is not a string")),
    };
    let listed = listed.unwrap_or_default();
    Ok(match discovered {
        Some(id) => {
            let organization = listed
                .into_iter()
                .find(|o| o.id == id)
                .unwrap_or_else(|| Organization::new(id));
            Some(Discovery {
                organization,
                value,
            })
        }
        // The discovered value belongs to no organization; the original then turns to the
        // first listed organization, without a value.
        None => listed.into_iter().next().map(|organization| Discovery {
            organization,
            value: None,
        }),
    })
}

/// Reads the organization endpoint's answer: `data: null` or `enabled: false` mean the
/// organization has no policy in force; otherwise `value` must hold the document.
pub(super) fn parse_org_config(body: Value) -> Result<OrgConfig> {
    const WHAT: &str = "organization remote configuration";
    let Some(obj) = envelope_object(body, WHAT)? else {
        return Ok(OrgConfig::NotConfigured);
    };
    let protocol = |why: &str| malformed(WHAT, why);
    match obj.get("enabled") {
        Some(Value::Bool(false)) => return Ok(OrgConfig::Disabled),
        Some(Value::Bool(true)) | None => {}
        Some(_) => return Err(protocol("`enabled` is not true or false")),
    }
    match obj.get("value") {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(OrgConfig::Enabled(s.clone())),
        _ => Err(protocol("`value` is missing")),
    }
}
