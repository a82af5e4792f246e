//! Azure's error responses, read on top of the core's
//! [`default_error_mapper`]: the same kinds,
//! with hints that name Azure's real causes.
//!
//! | Azure says | kind | hint |
//! |---|---|---|
//! | 401 | [`InvalidApiKey`](ErrorKind::InvalidApiKey) | the key (api-key auth) or the Entra ID token (tenant, audience) |
//! | 403 without the data-action permission | [`AccessDenied`](ErrorKind::AccessDenied) | assign "Cognitive Services OpenAI User" (or "Azure AI User" on Foundry projects) |
//! | 403 from the resource's network rules | [`AccessDenied`](ErrorKind::AccessDenied) | private endpoint / firewall |
//! | `DeploymentNotFound` (404) | [`ModelNotFound`](ErrorKind::ModelNotFound) | names the deployment |
//! | `content_filter` (400) | [`ContentFiltered`](ErrorKind::ContentFiltered) | lists categories and severities |
//! | 429 (with `retry-after-ms`) | [`RateLimited`](ErrorKind::RateLimited) | retried by the engine |

use cline_provider_core::http::default_error_mapper;
use cline_provider_core::{Error, ErrorKind};
use http::HeaderMap;
use serde_json::Value;

use crate::content_filter::{ContentFilterReport, FilteredPart};

/// How the failed request was authenticated and which deployment it addressed: what the
/// hints need.
#[derive(Debug, Clone, Copy)]
pub struct ErrorContext<'a> {
    /// The deployment the request went to (`None` for the v1 API's model list).
    pub deployment: Option<&'a str>,
    /// `true` for an Entra ID bearer token, `false` for an api-key.
    pub entra_id: bool,
}

/// Maps an Azure OpenAI error response to a typed [`Error`] with an Azure-specific hint.
///
/// ```
/// use cline_provider_azure::errors::{map_error, ErrorContext};
/// use cline_provider_core::ErrorKind;
/// let body = br#"{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}"#;
/// let ctx = ErrorContext { deployment: Some("gpt-4o-prod"), entra_id: false };
/// let err = map_error(404, &http::HeaderMap::new(), body, ctx);
/// assert_eq!(err.kind(), &ErrorKind::ModelNotFound);
/// assert!(err.message().contains("gpt-4o-prod"));
/// ```
pub fn map_error(status: u16, headers: &HeaderMap, body: &[u8], ctx: ErrorContext<'_>) -> Error {
    let err = default_error_mapper(status, headers, body);
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let inner = json.get("error").unwrap_or(&Value::Null);
    let code = err.code().unwrap_or("").to_ascii_lowercase();
    let inner_code = inner
        .pointer("/innererror/code")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();

    if code == "content_filter" || inner_code == "responsibleaipolicyviolation" {
        let results = inner
            .pointer("/innererror/content_filter_result")
            .or_else(|| inner.pointer("/innererror/content_filter_results"))
            .unwrap_or(&Value::Null);
        let report = ContentFilterReport::from_results(FilteredPart::Prompt, results);
        let mut filtered = report.into_error().with_status(status);
        if let Some(id) = err.request_id() {
            filtered = filtered.with_request_id(id);
        }
        return filtered;
    }

    let deployment = ctx.deployment.unwrap_or("(none)");
    match status {
        404 if code == "deploymentnotfound" || err.kind() == &ErrorKind::ModelNotFound => {
            let message = format!(
                "the deployment `{deployment}` does not exist on this Azure resource: {}",
                err.message()
            );
            rebuild(err, ErrorKind::ModelNotFound, message).with_hint(format!(
                "Azure routes each request to a deployment, and `{deployment}` is not one of this \
                 resource's. Use the deployment name shown under Deployments in the Azure AI \
                 Foundry portal as the model id (or put it in the URL as \
                 …/openai/deployments/<name>); a deployment created in the last few minutes may \
                 not be ready yet."
            ))
        }
        401 if ctx.entra_id => err.with_hint(
            "The resource rejected your Microsoft Entra ID token. Check that you signed in to \
             the tenant that owns the resource (az login --tenant <tenant>), and that the \
             resource has a custom domain (https://<name>.openai.azure.com), which Entra ID \
             needs.",
        ),
        401 => err.with_hint(
            "The resource rejected the api-key. Use KEY 1 or KEY 2 from the resource's \"Keys \
             and Endpoint\" page, for this same resource; keys of another resource do not work.",
        ),
        403 => {
            let lower = err.message().to_ascii_lowercase();
            if lower.contains("private endpoint")
                || lower.contains("virtual network")
                || lower.contains("firewall")
                || lower.contains("public access")
            {
                err.with_hint(
                    "The resource only accepts traffic from its private endpoint or allowed \
                     networks. Connect through the network your administrator configured (VPN, \
                     private endpoint), or ask them to allow your address.",
                )
            } else {
                err.with_hint(
                    "You are signed in, but your identity may not call this model. Ask an \
                     administrator to assign you the \"Cognitive Services OpenAI User\" role on \
                     the Azure OpenAI resource (or \"Azure AI User\" on an Azure AI Foundry \
                     project); a new role assignment can take a few minutes to apply.",
                )
            }
        }
        _ => err,
    }
}

/// The same error with another kind and message, keeping status, code, request id and wait.
fn rebuild(err: Error, kind: ErrorKind, message: String) -> Error {
    let mut out = Error::new(kind, message);
    if let Some(s) = err.status() {
        out = out.with_status(s);
    }
    if let Some(c) = err.code() {
        out = out.with_code(c);
    }
    if let Some(id) = err.request_id() {
        out = out.with_request_id(id);
    }
    if let Some(w) = err.retry_after() {
        out = out.with_retry_after(w);
    }
    out
}
