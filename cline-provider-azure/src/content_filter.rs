//! Azure's content filtering: the `prompt_filter_results` and `content_filter_results` that
//! Azure adds to chat-completion chunks, and the `content_filter` error of a blocked prompt.
//!
//! Shapes follow Microsoft's `contentFilterPromptResults` and `contentFilterChoiceResults`
//! (API version 2024-10-21): severity categories (`hate`, `sexual`, `violence`, `self_harm`,
//! each `{filtered, severity}`), detection categories (`profanity`, `jailbreak`,
//! `protected_material_text`, `protected_material_code`, each `{filtered, detected}`) and
//! `custom_blocklists`.

use std::fmt;

use cline_provider_core::{Error, ErrorKind};
use serde_json::Value;

/// What was filtered: the prompt (the request) or the completion (the reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilteredPart {
    /// The request was blocked before the model saw it.
    Prompt,
    /// The reply was stopped.
    Completion,
}

/// One category the filter reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterCategory {
    /// `hate`, `sexual`, `violence`, `self_harm`, `jailbreak`, `profanity`,
    /// `protected_material_text`, `protected_material_code`, `custom_blocklists`, …
    pub name: String,
    /// `safe`, `low`, `medium` or `high` for the severity categories.
    pub severity: Option<String>,
    /// Whether this category blocked the content.
    pub filtered: bool,
}

/// The content filter's verdict, carried as the [`source`](std::error::Error::source) of a
/// [`ContentFiltered`](ErrorKind::ContentFiltered) error.
///
/// ```
/// use cline_provider_azure::content_filter::{ContentFilterReport, FilteredPart};
/// let json = serde_json::json!({"hate": {"filtered": true, "severity": "high"},
///                               "violence": {"filtered": false, "severity": "safe"}});
/// let report = ContentFilterReport::from_results(FilteredPart::Completion, &json);
/// assert_eq!(report.filtered().count(), 1);
/// let err = report.into_error();
/// assert!(err.message().contains("hate (severity high)"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentFilterReport {
    /// What was blocked.
    pub part: FilteredPart,
    /// Every category reported, filtered or not.
    pub categories: Vec<FilterCategory>,
}

impl ContentFilterReport {
    /// Reads one `content_filter_results` (or `content_filter_result`) object.
    pub fn from_results(part: FilteredPart, results: &Value) -> ContentFilterReport {
        let mut categories = Vec::new();
        if let Some(map) = results.as_object() {
            for (name, v) in map {
                if name == "error" {
                    continue;
                }
                let filtered = match v {
                    Value::Object(o) => o.get("filtered").and_then(Value::as_bool) == Some(true),
                    // `custom_blocklists` is an object with `details`, or (older) a list.
                    Value::Array(items) => items
                        .iter()
                        .any(|i| i.get("filtered").and_then(Value::as_bool) == Some(true)),
                    _ => continue,
                };
                categories.push(FilterCategory {
                    name: name.clone(),
                    severity: v.get("severity").and_then(Value::as_str).map(str::to_owned),
                    filtered,
                });
            }
        }
        ContentFilterReport { part, categories }
    }

    /// The categories that blocked the content.
    pub fn filtered(&self) -> impl Iterator<Item = &FilterCategory> {
        self.categories.iter().filter(|c| c.filtered)
    }

    /// Whether anything was blocked.
    pub fn any_filtered(&self) -> bool {
        self.filtered().next().is_some()
    }

    /// The typed error, with this report as its source.
    pub fn into_error(self) -> Error {
        let what = match self.part {
            FilteredPart::Prompt => "the prompt",
            FilteredPart::Completion => "the reply",
        };
        let message = format!("Azure's content filter blocked {what}: {self}");
        Error::new(ErrorKind::ContentFiltered, message)
            .with_code("content_filter")
            .with_source(self)
    }
}

impl fmt::Display for ContentFilterReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<String> = self
            .filtered()
            .map(|c| match &c.severity {
                Some(s) => format!("{} (severity {s})", c.name),
                None => c.name.clone(),
            })
            .collect();
        if shown.is_empty() {
            f.write_str("no category was named")
        } else {
            f.write_str(&shown.join(", "))
        }
    }
}

impl std::error::Error for ContentFilterReport {}

/// Whether a chunk's text says something was filtered. Azure sends
/// `content_filter_results` with `"filtered":false` in most chunks; only a `true` is worth a
/// second look at the chunk, so the common case costs one substring scan.
pub(crate) fn mentions_filtered_true(data: &str) -> bool {
    let mut rest = data;
    while let Some(i) = rest.find("\"filtered\"") {
        let after = rest[i + 10..].trim_start();
        if let Some(value) = after.strip_prefix(':') {
            if value.trim_start().starts_with("true") {
                return true;
            }
        }
        rest = &rest[i + 10..];
    }
    false
}

/// The filter's verdict in one streamed chunk, if it blocked something: the prompt
/// (`prompt_filter_results`) or choice 0 (`choices[0].content_filter_results`).
pub(crate) fn report_in_chunk(data: &str, finished_by_filter: bool) -> Option<ContentFilterReport> {
    let chunk: Value = serde_json::from_str(data).ok()?;
    for p in chunk
        .get("prompt_filter_results")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(r) = p.get("content_filter_results") {
            let report = ContentFilterReport::from_results(FilteredPart::Prompt, r);
            if report.any_filtered() {
                return Some(report);
            }
        }
    }
    let choice = chunk
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| {
            c.iter()
                .find(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0)
        });
    if let Some(r) = choice.and_then(|c| c.get("content_filter_results")) {
        let report = ContentFilterReport::from_results(FilteredPart::Completion, r);
        if report.any_filtered() || finished_by_filter {
            return Some(report);
        }
    }
    finished_by_filter.then(|| ContentFilterReport {
        part: FilteredPart::Completion,
        categories: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_finds_only_true() {
        assert!(mentions_filtered_true(r#"{"hate":{"filtered":true}}"#));
        assert!(mentions_filtered_true(r#"{"hate":{"filtered" : true}}"#));
        assert!(!mentions_filtered_true(
            r#"{"hate":{"filtered":false,"severity":"safe"}}"#
        ));
        assert!(!mentions_filtered_true(
            r#"{"content":"\"filtered\" is a word"}"#
        ));
        assert!(!mentions_filtered_true(""));
    }

    #[test]
    fn a_finish_by_filter_without_categories_still_reports() {
        let r = report_in_chunk(
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"content_filter"}]}"#,
            true,
        )
        .unwrap();
        assert_eq!(r.to_string(), "no category was named");
    }
}
