//! What changed between two [`EffectiveSettings`], in words a settings screen can show
//! ("your organization changed the base URL"): [`SettingChange`] and
//! [`EffectiveSettings::changes_since`].
//!
//! The same comparison decides whether settings "re-resolve to the same values" in the
//! settings report's checks, so the two can never disagree.

use serde::Serialize;

use super::effective::EffectiveSettings;
use super::field::{Effective, Field, Origin};
use super::provider_id::ProviderId;
use crate::model::ModelInfo;

/// What a [`SettingChange`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeSubject {
    /// The policy itself: it appeared, was lifted, moved to another organization, or got a new
    /// version.
    Policy,
    /// One setting.
    Field(Field),
    /// The models the organization offers.
    OfferedModels,
    /// The providers the member may choose.
    AllowedProviders,
}

/// One difference between two effective settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingChange {
    /// What changed.
    pub subject: ChangeSubject,
    /// The change in a sentence for the member, secrets masked ("your organization changed
    /// the base URL (now `https://llm.acme.example/v1`)").
    pub message: String,
}

impl SettingChange {
    fn new(subject: ChangeSubject, message: String) -> Self {
        SettingChange { subject, message }
    }
}

fn same<T: PartialEq>(a: &Effective<T>, b: &Effective<T>) -> bool {
    a.value == b.value && a.origin == b.origin && a.locked == b.locked
}

fn ids(models: &[ModelInfo]) -> String {
    if models.is_empty() {
        return "no model".to_owned();
    }
    models
        .iter()
        .map(|m| m.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn labels(providers: &[ProviderId]) -> String {
    providers
        .iter()
        .map(|p| p.label())
        .collect::<Vec<_>>()
        .join(", ")
}

impl EffectiveSettings {
    /// Whether `field` has the same value, origin and lock in both.
    pub(crate) fn same_field(&self, other: &EffectiveSettings, field: Field) -> bool {
        match field {
            Field::Provider => same(self.provider(), other.provider()),
            Field::BaseUrl => same(self.base_url(), other.base_url()),
            Field::Headers => same(self.headers(), other.headers()),
            Field::AzureApiVersion => same(self.azure_api_version(), other.azure_api_version()),
            Field::AzureIdentity => same(self.azure_identity(), other.azure_identity()),
            Field::Model => same(self.model_id(), other.model_id()),
            Field::ModelInfo => same(self.model_info(), other.model_info()),
            Field::ReasoningEffort => same(self.reasoning_effort(), other.reasoning_effort()),
        }
    }

    /// What differs in these settings from `before`, in words for the member. Empty when both
    /// resolve to the same values (where a policy came from — the admin API or the cache —
    /// does not count; its version does).
    ///
    /// ```
    /// use cline_provider_core::policy::{resolve, ChangeSubject, Field, MemberSettings, Organization, Policy};
    /// let org = |url: &str| Policy::from_json(
    ///     &format!(r#"{{"version": "1", "providerSettings": {{"OpenAiCompatible": {{"openAiBaseUrl": "{url}"}}}}}}"#),
    ///     Organization::new("org-1").with_name("Acme"),
    /// ).unwrap();
    /// let member = MemberSettings::default();
    /// let before = resolve(Some(&org("https://a.example/v1")), &member);
    /// let after = resolve(Some(&org("https://b.example/v1")), &member);
    /// let changes = after.changes_since(&before);
    /// assert_eq!(changes[0].subject, ChangeSubject::Field(Field::BaseUrl));
    /// assert_eq!(changes[0].message, "your organization changed the base URL (now https://b.example/v1)");
    /// assert!(after.changes_since(&after.clone()).is_empty());
    /// ```
    pub fn changes_since(&self, before: &EffectiveSettings) -> Vec<SettingChange> {
        let mut out = Vec::new();
        match (before.policy(), self.policy()) {
            (None, Some(now)) => out.push(SettingChange::new(
                ChangeSubject::Policy,
                format!(
                    "your organization ({}) now manages your settings (policy version {})",
                    now.organization.display_name(),
                    now.config.version
                ),
            )),
            (Some(_), None) => out.push(SettingChange::new(
                ChangeSubject::Policy,
                "your organization's policy no longer applies; your own settings are in effect \
                 again"
                    .to_owned(),
            )),
            (Some(was), Some(now)) if was.organization.id != now.organization.id => {
                out.push(SettingChange::new(
                    ChangeSubject::Policy,
                    format!(
                        "your settings are now managed by {} instead of {} (policy version {})",
                        now.organization.display_name(),
                        was.organization.display_name(),
                        now.config.version
                    ),
                ))
            }
            (Some(was), Some(now)) if was.config.version != now.config.version => {
                out.push(SettingChange::new(
                    ChangeSubject::Policy,
                    format!(
                        "your organization updated its policy (version {} → {})",
                        was.config.version, now.config.version
                    ),
                ))
            }
            _ => {}
        }

        for field in Field::ALL {
            if self.same_field(before, field) {
                continue;
            }
            let (was, _) = before.status(field);
            let (now, _) = self.status(field);
            let noun = field.noun();
            let value = self.display_value(field);
            let message = match (was == Origin::Organization, now == Origin::Organization) {
                (true, true) => format!("your organization changed {noun} (now {value})"),
                (false, true) => format!("your organization now sets {noun} ({value})"),
                (true, false) => format!(
                    "your organization no longer sets {noun}; {} is in effect ({value})",
                    if now == Origin::Member {
                        "yours"
                    } else {
                        "the default"
                    }
                ),
                (false, false) => format!("{} changed to {value}", capitalized(&noun)),
            };
            out.push(SettingChange::new(ChangeSubject::Field(field), message));
        }

        match (before.offered_models(), self.offered_models()) {
            (was, now) if was == now => {}
            (None, Some(now)) => out.push(SettingChange::new(
                ChangeSubject::OfferedModels,
                format!("your organization now offers only: {}", ids(now)),
            )),
            (Some(_), None) => out.push(SettingChange::new(
                ChangeSubject::OfferedModels,
                "your organization no longer restricts the models".to_owned(),
            )),
            (_, Some(now)) => out.push(SettingChange::new(
                ChangeSubject::OfferedModels,
                format!("your organization now offers: {}", ids(now)),
            )),
            (_, None) => {}
        }

        if before.allowed_providers() != self.allowed_providers()
            || before.providers_restricted() != self.providers_restricted()
        {
            out.push(SettingChange::new(
                ChangeSubject::AllowedProviders,
                if self.providers_restricted() {
                    format!(
                        "your organization now allows: {}",
                        labels(self.allowed_providers())
                    )
                } else {
                    "your organization no longer restricts the providers".to_owned()
                },
            ));
        }
        out
    }
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
