//! [`SettingsReport`]: what a settings screen shows, as plain text and as data.

use std::fmt;

use secrecy::ExposeSecret;
use serde::Serialize;

use super::checks::{Check, CheckStatus};
use super::effective::EffectiveSettings;
use super::field::{Field, Origin};
use super::provider_id::ProviderId;
use super::remote::Organization;
use crate::model::ModelInfo;
use crate::secrets::{SecretStore, OPENAI_API_KEY};

/// The effective settings for a person to verify: every field with its (masked) value, origin
/// and lock, the allowed providers, the offered models, notes about overridden values, and the
/// checks an administrator runs after saving a policy.
///
/// `Display` gives plain text (🔒 marks a locked field); the struct serializes with serde for a
/// settings screen. No secret is ever part of it: header values that look like credentials
/// and the API key are masked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingsReport {
    /// The organization whose policy is in effect.
    pub organization: Option<Organization>,
    /// The policy's `version`.
    pub policy_version: Option<String>,
    /// Where the policy came from.
    pub policy_source: Option<String>,
    /// Every field.
    pub fields: Vec<FieldReport>,
    /// The providers the member may choose.
    pub allowed_providers: Vec<ProviderReport>,
    /// Whether the organization restricts the providers.
    pub providers_restricted: bool,
    /// The models the organization offers; empty when any model may be chosen.
    pub offered_models: Vec<ModelInfo>,
    /// Sentences about member values the organization replaces.
    pub notes: Vec<String>,
    /// Verification checks.
    pub checks: Vec<Check>,
}

/// One field of a [`SettingsReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldReport {
    /// The setting's key (`openAiBaseUrl`), or `openAiApiKey` for the API key.
    pub key: String,
    /// Its label (`Base URL`).
    pub label: String,
    /// The value as a person reads it, secrets masked.
    pub value: String,
    /// Where the value came from.
    pub origin: Origin,
    /// Whether the organization fixed it.
    pub locked: bool,
    /// The member's own value the organization replaces (masked like `value`).
    pub replaced_member_value: Option<String>,
}

/// One provider the member may choose.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProviderReport {
    /// The provider.
    pub id: ProviderId,
    /// Its name.
    pub label: String,
    /// Whether this SDK implements it.
    pub supported: bool,
    /// Whether it is the one in effect.
    pub selected: bool,
}

impl SettingsReport {
    /// Whether no check failed (a warning or a skipped check is not a failure).
    pub fn all_checks_pass(&self) -> bool {
        self.checks.iter().all(|c| c.status != CheckStatus::Fail)
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        // Every part is plain data with string keys; serialization cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Masks a secret for display: `sk-…abcd` for long keys, `••••` for short ones.
///
/// ```
/// use cline_provider_core::policy::mask_secret;
/// assert_eq!(mask_secret("sk-proj-1234567890abcd"), "sk-…abcd");
/// assert_eq!(mask_secret("short"), "••••");
/// ```
pub fn mask_secret(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 16 {
        return "••••".to_owned();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

pub(crate) fn describe_model(m: &ModelInfo) -> String {
    let mut parts = Vec::new();
    if let Some(c) = m.context_window {
        parts.push(format!("context {c}"));
    }
    if let Some(t) = m.max_output_tokens {
        parts.push(format!("max output {t}"));
    }
    if let Some(t) = m.temperature {
        parts.push(format!("temperature {t}"));
    }
    match (m.input_price, m.output_price) {
        (None, None) => {}
        (i, o) => parts.push(format!(
            "${} in / ${} out per 1M",
            i.map_or("?".to_owned(), |p| p.to_string()),
            o.map_or("?".to_owned(), |p| p.to_string())
        )),
    }
    if let Some(images) = m.supports_images {
        parts.push(if images { "images" } else { "no images" }.to_owned());
    }
    if m.r1_format == Some(true) {
        parts.push("R1 format".to_owned());
    }
    if parts.is_empty() {
        "(defaults)".to_owned()
    } else {
        parts.join(", ")
    }
}

impl EffectiveSettings {
    /// The report of these settings with `checks`, showing the API key from `store` (masked)
    /// when one is given.
    pub(crate) fn build_report(
        &self,
        store: Option<&dyn SecretStore>,
        checks: Vec<Check>,
    ) -> SettingsReport {
        let mut fields: Vec<FieldReport> = Field::ALL
            .into_iter()
            .map(|f| {
                let (origin, locked) = self.status(f);
                FieldReport {
                    key: f.key().to_owned(),
                    label: f.label().to_owned(),
                    value: self.display_value(f),
                    origin,
                    locked,
                    replaced_member_value: self.overridden_display(f),
                }
            })
            .collect();

        if let Some(store) = store {
            let (value, present) = match self.api_key(store) {
                Ok(Some(key)) => (mask_secret(key.expose_secret()), true),
                Ok(None) => ("(not set)".to_owned(), false),
                Err(e) => (format!("(could not be read: {})", e.message()), false),
            };
            fields.push(FieldReport {
                key: OPENAI_API_KEY.to_owned(),
                label: "API key".to_owned(),
                value,
                origin: if present {
                    Origin::Member
                } else {
                    Origin::Default
                },
                locked: false,
                replaced_member_value: None,
            });
        }

        let policy = self.policy();
        SettingsReport {
            organization: self.organization().cloned(),
            policy_version: policy.map(|p| p.config.version.clone()),
            policy_source: policy.map(|p| p.source.to_string()),
            fields,
            allowed_providers: self
                .allowed_providers()
                .iter()
                .map(|&p| ProviderReport {
                    id: p,
                    label: p.label().to_owned(),
                    supported: p.is_supported(),
                    selected: p == self.provider().value,
                })
                .collect(),
            providers_restricted: self.providers_restricted(),
            offered_models: self
                .offered_models()
                .map(<[ModelInfo]>::to_vec)
                .unwrap_or_default(),
            notes: self.override_notes(),
            checks,
        }
    }
}

impl fmt::Display for SettingsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.organization {
            Some(org) => {
                write!(f, "Settings managed by {org}")?;
                if let Some(v) = &self.policy_version {
                    write!(f, ", policy version {v}")?;
                }
                if let Some(s) = &self.policy_source {
                    write!(f, " ({s})")?;
                }
                writeln!(f)?;
            }
            None => writeln!(f, "Settings (no organization policy)")?,
        }

        let label_width = self
            .fields
            .iter()
            .map(|r| r.label.chars().count())
            .max()
            .unwrap_or(0);
        let value_width = self
            .fields
            .iter()
            .map(|r| r.value.chars().count())
            .max()
            .unwrap_or(0)
            .min(40);
        for r in &self.fields {
            let lock = if r.locked { " 🔒" } else { "" };
            writeln!(
                f,
                "  {:lw$}  {:vw$}  [{}]{lock}",
                r.label,
                r.value,
                r.origin,
                lw = label_width,
                vw = value_width
            )?;
        }

        let providers: Vec<String> = self
            .allowed_providers
            .iter()
            .map(|p| {
                let mut s = p.label.clone();
                if !p.supported {
                    s.push_str(" (not implemented by this SDK)");
                }
                if p.selected {
                    s.push_str(" ← in use");
                }
                s
            })
            .collect();
        let lock = if self.providers_restricted {
            " 🔒"
        } else {
            ""
        };
        writeln!(f, "Allowed providers{lock}: {}", providers.join(", "))?;

        if self.offered_models.is_empty() {
            writeln!(f, "Offered models: any")?;
        } else {
            writeln!(f, "Offered models 🔒:")?;
            for m in &self.offered_models {
                writeln!(f, "  - {}: {}", m.id, describe_model(m))?;
            }
        }

        if !self.notes.is_empty() {
            writeln!(
                f,
                "Replaced by your organization (kept, and back in effect if the policy is lifted):"
            )?;
            for n in &self.notes {
                writeln!(f, "  - {n}")?;
            }
        }

        writeln!(f, "Checks:")?;
        for c in &self.checks {
            let mark = match c.status {
                CheckStatus::Pass => "✓",
                CheckStatus::Fail => "✗",
                CheckStatus::Warn => "!",
                CheckStatus::Skipped => "○",
                CheckStatus::NotApplicable => "–",
            };
            writeln!(f, "  {mark} {}: {}", c.name, c.detail)?;
        }
        Ok(())
    }
}
