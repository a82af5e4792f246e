//! [`PolicyError`]: a change the organization's policy refuses, with the hint a person reads.

use super::field::Field;
use super::provider_id::ProviderId;
use super::remote::Organization;
use crate::error::{Error, ErrorKind};

/// Why the policy refused a member's change.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyErrorReason {
    /// The organization sets this field.
    Locked,
    /// The organization allows other providers only.
    ProviderNotAllowed {
        /// The provider the member asked for.
        requested: ProviderId,
    },
    /// The organization offers other models only.
    ModelNotAllowed {
        /// The model the member asked for.
        requested: String,
    },
    /// This SDK does not implement the provider (the organization may still configure it).
    UnsupportedProvider {
        /// The provider the member asked for.
        provider: ProviderId,
    },
    /// A request tried to replace a header the organization sets on every request.
    HeaderLocked {
        /// The header, as the request named it.
        header: String,
    },
}

/// A member's change, or a request, that the organization's policy refuses. Nothing was
/// changed, and nothing was sent.
///
/// Converts into [`Error`] (kind [`ErrorKind::LockedByOrganization`], with
/// [`field`](Error::field) and [`organization`](Error::organization) set; an unsupported
/// provider is [`ErrorKind::InvalidConfig`]). The `PolicyError` stays reachable as the
/// error's [`source`](std::error::Error::source).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct PolicyError {
    field: Field,
    organization: Option<String>,
    reason: PolicyErrorReason,
    allowed: Vec<String>,
}

impl PolicyError {
    pub(crate) fn new(
        field: Field,
        organization: Option<&Organization>,
        reason: PolicyErrorReason,
        allowed: Vec<String>,
    ) -> Self {
        PolicyError {
            field,
            organization: organization.map(|o| o.display_name().to_owned()),
            reason,
            allowed,
        }
    }

    /// The field the member tried to change.
    pub fn field(&self) -> Field {
        self.field
    }

    /// The organization whose policy refused it (its name, or its id when the name is
    /// unknown). `None` only for a provider this SDK does not implement, chosen without a
    /// policy.
    pub fn organization(&self) -> Option<&str> {
        self.organization.as_deref()
    }

    /// Why.
    pub fn reason(&self) -> &PolicyErrorReason {
        &self.reason
    }

    /// What the member may choose instead (provider labels or model ids), when that is the
    /// question.
    pub fn allowed(&self) -> &[String] {
        &self.allowed
    }

    fn allowed_list(&self) -> String {
        if self.allowed.is_empty() {
            "none".to_owned()
        } else {
            self.allowed.join(", ")
        }
    }

    fn org_phrase(&self) -> String {
        match &self.organization {
            Some(org) => format!("your organization ({org})"),
            None => "your organization".to_owned(),
        }
    }

    fn describe(&self) -> String {
        let org = self.org_phrase();
        match &self.reason {
            PolicyErrorReason::Locked => format!(
                "{} (`{}`) is managed by {org} and cannot be changed",
                self.field.label(),
                self.field.key()
            ),
            PolicyErrorReason::ProviderNotAllowed { requested } => format!(
                "{org} does not allow the provider {requested} (`{}`); allowed: {}",
                self.field.key(),
                self.allowed.join(", ")
            ),
            PolicyErrorReason::ModelNotAllowed { requested } => format!(
                "{org} does not offer the model `{requested}` (`{}`); offered: {}",
                self.field.key(),
                self.allowed_list()
            ),
            PolicyErrorReason::HeaderLocked { header } => format!(
                "the header `{header}` is set by {org} on every request (`{}`) and a request \
                 cannot replace it",
                self.field.key()
            ),
            PolicyErrorReason::UnsupportedProvider { provider } => match &self.organization {
                Some(_) => format!(
                    "{provider} is configured by {org} but this SDK does not implement it (`{}`)",
                    self.field.key()
                ),
                None => format!(
                    "{provider} is not implemented by this SDK (`{}`)",
                    self.field.key()
                ),
            },
        }
    }

    /// What the person can do about it.
    pub fn hint(&self) -> String {
        let org = self.org_phrase();
        match &self.reason {
            PolicyErrorReason::Locked => format!(
                "{} is set by {org} for every member. Ask your administrator if it needs to change.",
                self.field.label()
            ),
            PolicyErrorReason::ProviderNotAllowed { .. } => format!(
                "Choose one of the providers {org} allows: {}.",
                self.allowed.join(", ")
            ),
            PolicyErrorReason::ModelNotAllowed { .. } if self.allowed.is_empty() => format!(
                "{org} offers no model at all. Ask your administrator to list the models members \
                 may use."
            ),
            PolicyErrorReason::ModelNotAllowed { .. } => format!(
                "Choose one of the models {org} offers: {}. Ask your administrator to add the model \
                 if you need it.",
                self.allowed.join(", ")
            ),
            PolicyErrorReason::HeaderLocked { header } => format!(
                "{org} sets `{header}` on every request. Leave it out of the request; ask your \
                 administrator if it needs to change."
            ),
            PolicyErrorReason::UnsupportedProvider { .. } => {
                let choices: Vec<&str> = if self.allowed.is_empty() {
                    ProviderId::ALL
                        .iter()
                        .filter(|p| p.is_supported())
                        .map(|p| p.label())
                        .collect()
                } else {
                    self.allowed.iter().map(String::as_str).collect()
                };
                format!(
                    "This SDK connects to {} only. Use another client for this provider, or \
                     choose one of these.",
                    choices.join(", ")
                )
            }
        }
    }
}

impl From<PolicyError> for Error {
    fn from(e: PolicyError) -> Self {
        let kind = match e.reason {
            PolicyErrorReason::UnsupportedProvider { .. } => ErrorKind::InvalidConfig,
            _ => ErrorKind::LockedByOrganization,
        };
        let field = match &e.reason {
            PolicyErrorReason::HeaderLocked { header } => format!("{}.{header}", e.field.key()),
            _ => e.field.key().to_owned(),
        };
        let mut err = Error::new(kind, e.to_string()).with_field(field);
        if let Some(org) = &e.organization {
            err = err.with_organization(org.clone());
        }
        if matches!(e.reason, PolicyErrorReason::ModelNotAllowed { .. }) {
            err = err.with_available_models(e.allowed.clone());
        }
        err.with_source(e)
    }
}
