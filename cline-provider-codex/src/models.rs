//! The models a ChatGPT subscription offers through Codex: a catalog kept as data
//! (`src/models.json`, one [`ModelInfo`] per entry), and the endpoint's own listing
//! (`GET {base}/models`), which wins when it answers.
//!
//! The catalog follows the original product's list of subscription models (context windows
//! and output limits as it states them; `gpt-5.5` at 400,000 tokens as its newer SDK sets it).
//! Prices are 0: a subscription has no per-token cost. Updating it means editing the JSON
//! file; a test checks every entry.
//!
//! The listing says what the member's plan offers today. When it answers, its models are the
//! list, each completed from the catalog (context window, limits, zero prices); when it does
//! not (no sign-in yet, an older endpoint), the catalog is.

use std::sync::OnceLock;

use cline_provider_core::wire::{Count, JsonStr};
use cline_provider_core::{Error, ErrorKind, ModelInfo, Result};
use serde::Deserialize;

/// The model used when neither the request nor the provider names one: the newest
/// subscription model in the catalog (the original product's default, `gpt-5.3-codex`, has
/// been retired by OpenAI).
pub const DEFAULT_MODEL: &str = "gpt-5.5";

const CATALOG: &str = include_str!("models.json");

/// The subscription models this SDK knows, with context windows and zero prices.
///
/// ```
/// let models = cline_provider_codex::catalog();
/// let default = models.iter().find(|m| m.id == cline_provider_codex::DEFAULT_MODEL).unwrap();
/// assert_eq!(default.input_price, Some(0.0));
/// assert!(default.context_window.unwrap() >= 400_000);
/// ```
pub fn catalog() -> &'static [ModelInfo] {
    static MODELS: OnceLock<Vec<ModelInfo>> = OnceLock::new();
    // The file is part of the crate and checked by its tests.
    MODELS.get_or_init(|| serde_json::from_str(CATALOG).expect("src/models.json is valid"))
}

/// The catalog's entry for `id`.
pub fn catalog_model(id: &str) -> Option<&'static ModelInfo> {
    catalog().iter().find(|m| m.id == id)
}

#[derive(Deserialize)]
struct Listing<'a> {
    #[serde(borrow, default)]
    models: Vec<Listed<'a>>,
}

#[derive(Deserialize)]
struct Listed<'a> {
    #[serde(borrow)]
    slug: JsonStr<'a>,
    #[serde(default)]
    context_window: Option<Count>,
    #[serde(borrow, default)]
    visibility: Option<JsonStr<'a>>,
    #[serde(default)]
    priority: Option<Count>,
    #[serde(borrow, default)]
    input_modalities: Option<Vec<JsonStr<'a>>>,
}

/// Reads the endpoint's listing (`{"models": [{"slug", "context_window", "visibility",
/// "priority", "input_modalities", …}]}`): the models it shows (not `visibility: "hide"`), in
/// its order of priority, each completed from the catalog, prices 0.
///
/// # Errors
///
/// [`ErrorKind::Protocol`] for a body that is not such a listing.
///
/// ```
/// let body = br#"{"models":[{"slug":"gpt-5.5","priority":1},{"slug":"gpt-6","context_window":500000,"priority":0},{"slug":"internal","visibility":"hide"}]}"#;
/// let models = cline_provider_codex::models::parse_listing(body).unwrap();
/// assert_eq!(models.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["gpt-6", "gpt-5.5"]);
/// assert_eq!(models[1].context_window, Some(400_000)); // from the catalog
/// assert_eq!(models[0].output_price, Some(0.0));
/// ```
pub fn parse_listing(body: &[u8]) -> Result<Vec<ModelInfo>> {
    let listing: Listing<'_> = serde_json::from_slice(body).map_err(|e| {
        Error::new(
            ErrorKind::Protocol,
            format!("the Codex endpoint's model listing could not be read: {e}"),
        )
    })?;
    let mut listed: Vec<(u64, ModelInfo)> = listing
        .models
        .into_iter()
        .filter(|m| {
            !matches!(
                m.visibility.as_ref().map(JsonStr::as_str),
                Some("hide" | "hidden" | "none")
            )
        })
        .map(|m| {
            let mut info = ModelInfo::new(m.slug.as_str());
            info.context_window = m
                .context_window
                .and_then(|c| u32::try_from(c.0).ok())
                .filter(|c| *c > 0);
            info.supports_images = m
                .input_modalities
                .map(|ms| ms.iter().any(|x| x.as_str() == "image"));
            info.input_price = Some(0.0);
            info.output_price = Some(0.0);
            let info = match catalog_model(&info.id) {
                Some(known) => info.or(known),
                None => info,
            };
            (m.priority.map_or(u64::MAX, |p| p.0), info)
        })
        .collect();
    listed.sort_by_key(|(priority, _)| *priority);
    Ok(listed.into_iter().map(|(_, m)| m).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_entry_is_a_priced_at_zero_subscription_model() {
        let models = catalog();
        assert!(models.len() >= 5);
        assert!(catalog_model(DEFAULT_MODEL).is_some());
        for m in models {
            assert!(m.id.starts_with("gpt-"), "{}", m.id);
            assert!(m.context_window.is_some_and(|c| c >= 100_000), "{}", m.id);
            assert_eq!(
                (m.input_price, m.output_price),
                (Some(0.0), Some(0.0)),
                "{}",
                m.id
            );
            assert_eq!(m.supports_reasoning, Some(true), "{}", m.id);
        }
        let mut ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), models.len(), "ids are unique");
    }

    #[test]
    fn a_listing_that_is_not_one_is_a_protocol_error() {
        let err = parse_listing(b"<html>").unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Protocol);
        assert!(parse_listing(br#"{"models":[]}"#).unwrap().is_empty());
    }
}
