//! [`RefreshSchedule`]: when the organization's policy is fetched again.

use std::time::{Duration, Instant};

/// When to refresh next: every `interval` (default hourly, as the original), and sooner,
/// after `retry_after_failure`, when the last attempt failed.
///
/// Plain data over [`Instant`]s, so an application can drive it from its own loop.
///
/// ```
/// use std::time::{Duration, Instant};
/// use cline_provider_core::policy::RefreshSchedule;
/// let mut s = RefreshSchedule::default();
/// let t0 = Instant::now();
/// assert_eq!(s.next_in(t0), Duration::ZERO);
/// s.record(t0, true);
/// assert_eq!(s.next_in(t0 + Duration::from_secs(600)), Duration::from_secs(3000));
/// s.record(t0, false);
/// assert_eq!(s.next_in(t0), Duration::from_secs(300));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshSchedule {
    /// The gap between refreshes after a success.
    pub interval: Duration,
    /// The gap after a failure.
    pub retry_after_failure: Duration,
    last_attempt: Option<Instant>,
    last_failed: bool,
}

impl RefreshSchedule {
    /// One hour, as the original product.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(3600);
    /// Five minutes.
    pub const DEFAULT_RETRY_AFTER_FAILURE: Duration = Duration::from_secs(300);

    /// A schedule with these gaps (the failure gap is capped at `interval`).
    pub fn new(interval: Duration, retry_after_failure: Duration) -> Self {
        RefreshSchedule {
            interval,
            retry_after_failure: retry_after_failure.min(interval),
            last_attempt: None,
            last_failed: false,
        }
    }

    /// Notes an attempt made at `at`.
    pub fn record(&mut self, at: Instant, success: bool) {
        self.last_attempt = Some(at);
        self.last_failed = !success;
    }

    /// How long after `now` the next refresh is due (zero when due already).
    pub fn next_in(&self, now: Instant) -> Duration {
        let Some(last) = self.last_attempt else {
            return Duration::ZERO;
        };
        let gap = if self.last_failed {
            self.retry_after_failure
        } else {
            self.interval
        };
        (last + gap).saturating_duration_since(now)
    }
}

impl Default for RefreshSchedule {
    fn default() -> Self {
        Self::new(Self::DEFAULT_INTERVAL, Self::DEFAULT_RETRY_AFTER_FAILURE)
    }
}
