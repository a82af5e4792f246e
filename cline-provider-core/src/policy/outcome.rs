//! [`RefreshOutcome`]: what one refresh of the organization's policy did, and [`ClearReason`].

use std::sync::Arc;

use super::remote::{Organization, Policy};
use crate::error::Error;

/// What one [`RemoteConfigClient::refresh`](super::RemoteConfigClient::refresh) did.
#[derive(Debug)]
#[non_exhaustive]
pub enum RefreshOutcome {
    /// A valid policy was fetched and is now in effect (and cached on disk).
    Applied {
        /// The policy.
        policy: Arc<Policy>,
        /// Whether it differs from the one in effect before.
        changed: bool,
        /// Set when the policy could not be written to the disk cache (it is still in effect).
        cache_error: Option<Error>,
    },
    /// The admin API failed or sent an invalid policy; the last known good copy from disk is
    /// now in effect.
    FromCache {
        /// The cached policy.
        policy: Arc<Policy>,
        /// Why the fetch failed.
        error: Error,
    },
    /// The organization disabled its policy, or the member belongs to no organization with
    /// one: no policy is in effect any more.
    Cleared {
        /// Why.
        reason: ClearReason,
    },
    /// The fetch failed and no cached copy could replace it: the policy in effect before (if
    /// any) stays in effect.
    Kept {
        /// The policy still in effect.
        policy: Option<Arc<Policy>>,
        /// Why the fetch failed.
        error: Error,
    },
}

impl RefreshOutcome {
    /// The policy in effect after the refresh.
    pub fn policy(&self) -> Option<&Arc<Policy>> {
        match self {
            RefreshOutcome::Applied { policy, .. } | RefreshOutcome::FromCache { policy, .. } => {
                Some(policy)
            }
            RefreshOutcome::Kept { policy, .. } => policy.as_ref(),
            RefreshOutcome::Cleared { .. } => None,
        }
    }

    /// Why the fetch failed, if it did.
    pub fn error(&self) -> Option<&Error> {
        match self {
            RefreshOutcome::FromCache { error, .. } | RefreshOutcome::Kept { error, .. } => {
                Some(error)
            }
            _ => None,
        }
    }

    /// Whether the admin API answered with a usable result (a policy, or "none").
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            RefreshOutcome::Applied { .. } | RefreshOutcome::Cleared { .. }
        )
    }
}

/// Why a policy was cleared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClearReason {
    /// The organization's remote configuration is `enabled: false`.
    Disabled {
        /// The organization.
        organization: Organization,
    },
    /// The organization endpoint answered `data: null`: the organization has no remote
    /// configuration.
    NotConfigured {
        /// The organization.
        organization: Organization,
    },
    /// The member belongs to no organization with a remote configuration (discovery answered
    /// `data: null`, or an empty list of organizations).
    NoOrganization,
}
