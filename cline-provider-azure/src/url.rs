//! Azure OpenAI endpoint URLs: every form an administrator may paste, and the request URLs
//! built from them.
//!
//! | pasted | chat completions go to |
//! |---|---|
//! | `https://{r}.openai.azure.com` (or `/openai`, with or without `/`) | `…/openai/deployments/{model}/chat/completions?api-version={v}` |
//! | `https://{r}.cognitiveservices.azure.com`, `https://{r}.services.ai.azure.com` | the same |
//! | `…/openai/deployments/{name}` (optionally `…/chat/completions?api-version=…`) | `…/openai/deployments/{name}/chat/completions?api-version={v}`, whatever the model id |
//! | `…/openai/v1` | `…/openai/v1/chat/completions` (no `api-version`; the body names the deployment) |
//! | any other path (a gateway in front of Azure) | `{path}/deployments/{model}/chat/completions?api-version={v}` |
//!
//! US Government hosts (`*.azure.us`) are recognised for the Entra ID scope.

use cline_provider_core::http::check_endpoint_url;
use cline_provider_core::{Error, Result};
use url::Url;

/// The Entra ID scope for Azure OpenAI in the public cloud.
pub const SCOPE_PUBLIC: &str = "https://cognitiveservices.azure.com/.default";
/// The Entra ID scope for Azure OpenAI in the US Government cloud.
pub const SCOPE_US_GOVERNMENT: &str = "https://cognitiveservices.azure.us/.default";

/// A parsed Azure OpenAI endpoint.
///
/// ```
/// use cline_provider_azure::AzureEndpoint;
/// let e = AzureEndpoint::parse("https://acme.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-06-01")?;
/// assert_eq!(e.deployment(), Some("gpt-4o"));
/// assert_eq!(e.api_version_in_url(), Some("2024-06-01"));
/// let url = e.chat_url("ignored-model", Some("2024-10-21"));
/// assert_eq!(url.as_str(), "https://acme.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21");
/// # Ok::<(), cline_provider_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureEndpoint {
    /// `scheme://host[:port]` with an empty path.
    origin: Url,
    /// The path before `/deployments` or `/v1`, usually `/openai`; no trailing slash.
    prefix: String,
    deployment: Option<String>,
    v1: bool,
    api_version: Option<String>,
    /// Query pairs other than `api-version`, kept and sent with every request.
    extra_query: Vec<(String, String)>,
}

impl AzureEndpoint {
    /// Parses a pasted endpoint. Errors name the field `base_url`: an unparsable URL, a scheme
    /// other than `http`/`https`, no host, or credentials inside the URL.
    pub fn parse(raw: &str) -> Result<AzureEndpoint> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(Error::invalid_config(
                "base_url",
                "the Azure endpoint is empty; paste the resource's endpoint, e.g. https://my-resource.openai.azure.com",
            ));
        }
        let url = Url::parse(raw).map_err(|e| {
            let why = if raw.contains("://") {
                format!("`{raw}` is not a valid URL ({e})")
            } else {
                format!("`{raw}` has no scheme; write it as https://…")
            };
            Error::invalid_config("base_url", why)
        })?;
        check_endpoint_url(&url, "base_url")?;

        let mut api_version = None;
        let mut extra_query = Vec::new();
        for (k, v) in url.query_pairs() {
            if k.eq_ignore_ascii_case("api-version") {
                api_version = Some(v.into_owned()).filter(|v| !v.trim().is_empty());
            } else {
                extra_query.push((k.into_owned(), v.into_owned()));
            }
        }

        let mut segments: Vec<String> = url
            .path_segments()
            .map(|s| s.filter(|s| !s.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        let ends_with = |segs: &[String], tail: &[&str]| {
            segs.len() >= tail.len()
                && segs[segs.len() - tail.len()..]
                    .iter()
                    .zip(tail)
                    .all(|(a, b)| a.eq_ignore_ascii_case(b))
        };
        for tail in [&["chat", "completions"][..], &["completions"][..]] {
            if ends_with(&segments, tail) {
                segments.truncate(segments.len() - tail.len());
                break;
            }
        }
        let mut deployment = None;
        let mut v1 = false;
        if let Some(i) = segments
            .iter()
            .rposition(|s| s.eq_ignore_ascii_case("deployments"))
        {
            if i + 1 < segments.len() {
                let name = percent_decode(&segments[i + 1]);
                deployment = Some(name).filter(|n| !n.trim().is_empty());
            }
            segments.truncate(i);
        } else if ends_with(&segments, &["openai", "v1"]) {
            v1 = true;
            segments.pop();
        }
        if segments.is_empty() {
            segments.push("openai".into());
        }
        let prefix = format!("/{}", segments.join("/"));
        let mut origin = url.clone();
        origin.set_path("");
        origin.set_query(None);
        origin.set_fragment(None);
        Ok(AzureEndpoint {
            origin,
            prefix,
            deployment,
            v1,
            api_version,
            extra_query,
        })
    }

    /// The deployment the URL names, if any: it is used whatever the request's model says.
    pub fn deployment(&self) -> Option<&str> {
        self.deployment.as_deref()
    }

    /// Whether the URL is the v1 API (`/openai/v1`), which takes no dated `api-version`.
    pub fn is_v1(&self) -> bool {
        self.v1
    }

    /// The `api-version` pasted in the URL, if any.
    pub fn api_version_in_url(&self) -> Option<&str> {
        self.api_version.as_deref()
    }

    /// The host, lower-cased.
    pub fn host(&self) -> String {
        self.origin.host_str().unwrap_or("").to_ascii_lowercase()
    }

    /// Whether the host is in the US Government cloud (`*.azure.us`).
    pub fn is_us_government(&self) -> bool {
        let host = self.host();
        let host = host.trim_end_matches('.');
        host.ends_with(".azure.us") || host == "azure.us"
    }

    /// Whether the host is one of Azure's (`*.azure.com`, `*.azure.us`).
    pub fn is_azure_host(&self) -> bool {
        let host = self.host();
        let host = host.trim_end_matches('.');
        host.ends_with(".azure.com") || self.is_us_government()
    }

    /// The Entra ID scope for this host: [`SCOPE_US_GOVERNMENT`] for `*.azure.us`, else
    /// [`SCOPE_PUBLIC`].
    pub fn default_scope(&self) -> &'static str {
        if self.is_us_government() {
            SCOPE_US_GOVERNMENT
        } else {
            SCOPE_PUBLIC
        }
    }

    /// The endpoint as a URL (origin and prefix), for [`ProviderInfo`](cline_provider_core::ProviderInfo).
    pub fn base_url(&self) -> Url {
        let mut u = self.origin.clone();
        u.set_path(&self.prefix);
        u
    }

    /// The URL for a chat completion with `model` (the deployment, unless the URL names one)
    /// and `api_version` (`None` for the v1 API; with a v1 URL it is sent only when it is
    /// `preview` or `latest`, the labels v1 knows).
    pub fn chat_url(&self, model: &str, api_version: Option<&str>) -> Url {
        if self.v1 {
            return self.url(&["v1", "chat", "completions"], api_version);
        }
        let deployment = self.deployment.as_deref().unwrap_or(model);
        self.url(
            &["deployments", deployment, "chat", "completions"],
            api_version,
        )
    }

    /// The v1 model list of the resource, `{origin}/openai/v1/models`.
    pub fn models_url(&self) -> Url {
        self.url(&["v1", "models"], None)
    }

    /// `{origin}{prefix}/{route…}`, each segment escaped, with the query.
    fn url(&self, route: &[&str], api_version: Option<&str>) -> Url {
        let mut url = self.origin.clone();
        {
            let mut path = url.path_segments_mut().expect("an http(s) URL has a path");
            path.clear();
            path.extend(self.prefix.split('/').filter(|s| !s.is_empty()));
            path.extend(route);
        }
        self.finish_query(&mut url, api_version);
        url
    }

    fn finish_query(&self, url: &mut Url, api_version: Option<&str>) {
        let version = match api_version {
            Some(v) if self.v1 => matches!(v, "preview" | "latest").then_some(v),
            other => other,
        };
        if version.is_none() && self.extra_query.is_empty() {
            url.set_query(None);
            return;
        }
        let mut q = url.query_pairs_mut();
        q.clear();
        for (k, v) in &self.extra_query {
            q.append_pair(k, v);
        }
        if let Some(v) = version {
            q.append_pair("api-version", v);
        }
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(raw: &str, model: &str, v: Option<&str>) -> String {
        AzureEndpoint::parse(raw)
            .unwrap()
            .chat_url(model, v)
            .to_string()
    }

    const V: Option<&str> = Some("2024-10-21");

    #[test]
    fn resource_forms() {
        let want = "https://acme.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21";
        for raw in [
            "https://acme.openai.azure.com",
            "https://acme.openai.azure.com/",
            "https://acme.openai.azure.com/openai",
            "https://acme.openai.azure.com/openai/",
            "  https://ACME.openai.azure.com/OpenAI  ",
        ] {
            let got = chat(raw, "gpt-4o", V);
            assert_eq!(got.to_ascii_lowercase(), want.to_ascii_lowercase(), "{raw}");
        }
        assert_eq!(
            chat("https://acme.cognitiveservices.azure.com", "m", V),
            "https://acme.cognitiveservices.azure.com/openai/deployments/m/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(
            chat("https://acme.services.ai.azure.com/openai", "m", V),
            "https://acme.services.ai.azure.com/openai/deployments/m/chat/completions?api-version=2024-10-21"
        );
    }

    #[test]
    fn deployment_forms() {
        let want = "https://acme.openai.azure.com/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21";
        for raw in [
            "https://acme.openai.azure.com/openai/deployments/prod-4o",
            "https://acme.openai.azure.com/openai/deployments/prod-4o/",
            "https://acme.openai.azure.com/openai/deployments/prod-4o/chat/completions",
            "https://acme.openai.azure.com/openai/deployments/prod-4o/chat/completions?api-version=2024-06-01",
        ] {
            assert_eq!(chat(raw, "other-model", V), want, "{raw}");
        }
        let e = AzureEndpoint::parse(
            "https://acme.openai.azure.com/openai/deployments/prod-4o/chat/completions?api-version=2024-06-01",
        )
        .unwrap();
        assert_eq!(e.api_version_in_url(), Some("2024-06-01"));
        assert_eq!(e.deployment(), Some("prod-4o"));
        // Names that need escaping in a path survive.
        assert_eq!(
            chat("https://a.openai.azure.com/openai", "my model/x", V),
            "https://a.openai.azure.com/openai/deployments/my%20model%2Fx/chat/completions?api-version=2024-10-21"
        );
    }

    #[test]
    fn v1_form() {
        for raw in [
            "https://acme.openai.azure.com/openai/v1",
            "https://acme.openai.azure.com/openai/v1/",
            "https://acme.openai.azure.com/openai/v1/chat/completions",
        ] {
            let e = AzureEndpoint::parse(raw).unwrap();
            assert!(e.is_v1(), "{raw}");
            assert_eq!(
                e.chat_url("gpt-4o", None).as_str(),
                "https://acme.openai.azure.com/openai/v1/chat/completions"
            );
            // A dated version has no meaning on v1; its labels do.
            assert_eq!(
                e.chat_url("gpt-4o", V).as_str(),
                "https://acme.openai.azure.com/openai/v1/chat/completions"
            );
            assert_eq!(
                e.chat_url("gpt-4o", Some("preview")).as_str(),
                "https://acme.openai.azure.com/openai/v1/chat/completions?api-version=preview"
            );
        }
    }

    #[test]
    fn gateways_keep_their_path_and_query() {
        assert_eq!(
            chat("https://gw.corp.example/azure/east?team=a", "m", V),
            "https://gw.corp.example/azure/east/deployments/m/chat/completions?team=a&api-version=2024-10-21"
        );
        assert_eq!(
            chat("http://127.0.0.1:8080/openai", "m", V),
            "http://127.0.0.1:8080/openai/deployments/m/chat/completions?api-version=2024-10-21"
        );
    }

    #[test]
    fn government_cloud_and_scopes() {
        let gov = AzureEndpoint::parse("https://acme.openai.azure.us").unwrap();
        assert!(gov.is_us_government() && gov.is_azure_host());
        assert_eq!(gov.default_scope(), SCOPE_US_GOVERNMENT);
        assert_eq!(
            gov.chat_url("m", V).as_str(),
            "https://acme.openai.azure.us/openai/deployments/m/chat/completions?api-version=2024-10-21"
        );
        let public = AzureEndpoint::parse("https://acme.openai.azure.com").unwrap();
        assert_eq!(public.default_scope(), SCOPE_PUBLIC);
        // A host that merely contains the letters is not Azure's.
        let fake = AzureEndpoint::parse("https://azure.us.evil.example").unwrap();
        assert!(!fake.is_us_government() && !fake.is_azure_host());
    }

    #[test]
    fn models_url() {
        let e = AzureEndpoint::parse("https://acme.openai.azure.com/openai/deployments/x").unwrap();
        assert_eq!(
            e.models_url().as_str(),
            "https://acme.openai.azure.com/openai/v1/models"
        );
    }

    #[test]
    fn bad_urls_name_the_field() {
        for raw in [
            "",
            "acme.openai.azure.com",
            "ftp://x",
            "https://u:p@acme.openai.azure.com",
        ] {
            let err = AzureEndpoint::parse(raw).unwrap_err();
            assert_eq!(err.field(), Some("base_url"), "{raw}");
        }
    }
}
