//! What each Azure OpenAI API version accepts in a chat-completions body.
//!
//! Azure's dated API versions differ from OpenAI's API and from each other in the optional
//! fields a request may carry. The table below comes from Microsoft's published OpenAPI
//! descriptions (`Azure/azure-rest-api-specs`,
//! `specification/cognitiveservices/data-plane/AzureOpenAI/inference/{stable,preview}/<version>/inference.json`)
//! and the API-version changelog of the Azure OpenAI documentation:
//!
//! | API version | `stream_options.include_usage` | `max_completion_tokens` | `reasoning_effort`, `developer` role |
//! |---|---|---|---|
//! | GA `2024-06-01` and earlier, previews before `2024-09-01-preview` | no | no | no |
//! | previews `2024-09-01-preview`, `2024-10-01-preview` | yes | yes | no |
//! | GA `2024-10-21` (the default) | **no** | yes | no |
//! | previews from `2024-12-01-preview` on | yes | yes | yes |
//! | the v1 API (`/openai/v1`, no dated version) | yes | yes | yes |
//!
//! A version newer than any in the table is taken to accept everything (Azure adds fields, it
//! does not remove them), and so is a version this table cannot read.
//!
//! **What a version without a field loses.** Without `stream_options`, the stream reports no
//! token usage (no [`StreamEvent::Usage`](cline_provider_core::StreamEvent::Usage)); without
//! `reasoning_effort`, reasoning models use the deployment's default effort; without
//! `max_completion_tokens`, the output limit goes out as `max_tokens`, which o-series models
//! refuse; without the `developer` role, the system prompt goes out as `system`.

use cline_provider_openai::BodyOptions;

/// The API version used when the settings name none: `2024-10-21`, the newest generally
/// available dated version.
///
/// The original product defaulted to `2024-08-01-preview`. Preview versions are retired once
/// three newer previews exist, so a preview is a poor default: this SDK uses the GA version
/// instead, and sets it for deployment URLs only (the v1 API takes no dated version). The
/// price is that `2024-10-21` accepts no `stream_options`, so streams report no usage; set a
/// newer preview or use an `/openai/v1` URL for usage and `reasoning_effort`.
pub const DEFAULT_API_VERSION: &str = cline_provider_core::policy::AZURE_DEFAULT_API_VERSION;

/// The body options an API version accepts. `None` is the v1 API.
///
/// ```
/// use cline_provider_azure::versions::body_options;
/// assert!(!body_options(Some("2024-10-21")).stream_usage);
/// assert!(body_options(Some("2024-10-21")).max_completion_tokens);
/// assert!(body_options(Some("2025-04-01-preview")).reasoning_effort);
/// assert!(body_options(None).stream_usage);
/// ```
pub fn body_options(api_version: Option<&str>) -> BodyOptions {
    let all = BodyOptions::default();
    // Dated deployment URLs name the deployment in the path; the v1 API needs `model`.
    let Some(version) = api_version else {
        return all;
    };
    let Some((date, preview)) = parse(version) else {
        return BodyOptions {
            model: false,
            ..all
        };
    };
    let (usage, max_completion, reasoning) = if preview {
        (
            date >= (2024, 9, 1),
            date >= (2024, 9, 1),
            date >= (2024, 12, 1),
        )
    } else if date > (2024, 10, 21) {
        (true, true, true)
    } else {
        (false, date >= (2024, 10, 21), false)
    };
    BodyOptions {
        stream: true,
        model: false,
        stream_usage: usage,
        max_completion_tokens: max_completion,
        reasoning_effort: reasoning,
        developer_role: reasoning,
    }
}

/// `YYYY-MM-DD` or `YYYY-MM-DD-preview` as a date and whether it is a preview.
fn parse(version: &str) -> Option<((u16, u8, u8), bool)> {
    let v = version.trim().to_ascii_lowercase();
    let (date, preview) = match v.strip_suffix("-preview") {
        Some(d) => (d.to_owned(), true),
        None => (v, false),
    };
    let mut parts = date.split('-');
    let y = parts.next()?.parse().ok()?;
    let m = parts.next()?.parse().ok()?;
    let d = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(((y, m, d), preview))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(v: &str) -> (bool, bool, bool, bool) {
        let o = body_options(Some(v));
        (
            o.stream_usage,
            o.max_completion_tokens,
            o.reasoning_effort,
            o.developer_role,
        )
    }

    #[test]
    fn the_table() {
        assert_eq!(row("2024-06-01"), (false, false, false, false));
        assert_eq!(row("2024-02-01"), (false, false, false, false));
        assert_eq!(row("2024-08-01-preview"), (false, false, false, false));
        assert_eq!(row("2024-09-01-preview"), (true, true, false, false));
        assert_eq!(row("2024-10-01-preview"), (true, true, false, false));
        assert_eq!(row("2024-10-21"), (false, true, false, false));
        assert_eq!(row("2024-12-01-preview"), (true, true, true, true));
        assert_eq!(row("2025-04-01-preview"), (true, true, true, true));
        assert_eq!(row("2026-01-01"), (true, true, true, true));
        assert_eq!(row("latest"), (true, true, true, true));
        assert!(!body_options(Some("2024-10-21")).model);
        assert!(body_options(None).model);
    }
}
