//! [`Headers`]: custom HTTP headers whose secret-looking values never reach `Debug`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Custom HTTP headers sent with every request (`openAiHeaders`), sorted by name.
///
/// Values of headers whose name suggests a credential (`Authorization`, `api-key`,
/// `X-Gateway-Token`, `Cookie`, …) are masked in `Debug` and in the settings report.
///
/// ```
/// use cline_provider_core::policy::Headers;
/// let mut h = Headers::new();
/// h.insert("X-Team", "platform")?;
/// h.insert("Authorization", "Bearer very-secret")?;
/// assert_eq!(h.get("X-Team"), Some("platform"));
/// let shown = format!("{h:?}");
/// assert!(shown.contains("platform") && !shown.contains("very-secret"));
/// assert!(h.insert("Bad Name", "x").is_err());
/// # Ok::<(), cline_provider_core::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "BTreeMap<String, String>",
    into = "BTreeMap<String, String>"
)]
pub struct Headers(BTreeMap<String, String>);

impl TryFrom<BTreeMap<String, String>> for Headers {
    type Error = crate::Error;
    fn try_from(map: BTreeMap<String, String>) -> Result<Self> {
        let headers = Headers(map);
        headers.validate_at("headers")?;
        Ok(headers)
    }
}

impl From<Headers> for BTreeMap<String, String> {
    fn from(h: Headers) -> Self {
        h.0
    }
}

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a header after checking it (a valid token as name, no CR/LF or other
    /// control characters in the value).
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) -> Result<()> {
        let (name, value) = (name.into(), value.into());
        crate::http::validate_header(&name, &value)?;
        self.0.insert(name, value);
        Ok(())
    }

    /// Removes a header; returns whether it was there.
    pub fn remove(&mut self, name: &str) -> bool {
        self.0.remove(name).is_some()
    }

    /// The value of `name` (exact, case-sensitive match).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many headers there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The headers as `(name, value)` pairs, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Checks every header, naming the first bad one as `{path}.{name}`.
    pub(crate) fn validate_at(&self, path: &str) -> Result<()> {
        for (name, value) in self.iter() {
            super::json::header(name, value, &super::json::join(path, name))?;
        }
        Ok(())
    }

    /// A display form with secret-looking values masked.
    pub(crate) fn masked(&self) -> String {
        if self.is_empty() {
            return "(none)".into();
        }
        self.iter()
            .map(|(k, v)| format!("{k}: {}", mask_header_value(k, v)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(k, v)| (k, mask_header_value(k, v))))
            .finish()
    }
}

pub(crate) fn mask_header_value<'a>(name: &str, value: &'a str) -> std::borrow::Cow<'a, str> {
    if crate::http::is_credential_header(name) {
        "••••".into()
    } else {
        value.into()
    }
}
