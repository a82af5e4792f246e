//! What an endpoint says about the caller's limits when it answers: [`RateLimits`].
//!
//! Purely information for the person (a "78 % of your 5-hour limit used" line): the SDK
//! never waits on it. A limit that is actually hit arrives as an error
//! ([`ErrorKind::RateLimited`](crate::ErrorKind::RateLimited) or
//! [`ErrorKind::SubscriptionLimit`](crate::ErrorKind::SubscriptionLimit)).

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// The limits an endpoint reported with a reply (from its response headers, or an event in
/// the stream), as [`StreamEvent::RateLimits`](crate::StreamEvent::RateLimits) and on
/// [`ChatResponse::rate_limits`](crate::ChatResponse::rate_limits).
///
/// ```
/// use std::time::Duration;
/// use cline_provider_core::{RateLimitWindow, RateLimits};
/// let limits = RateLimits {
///     windows: vec![RateLimitWindow {
///         name: "primary".into(),
///         used_percent: Some(42.0),
///         window: Some(Duration::from_secs(5 * 3600)),
///         resets_at: None,
///     }],
///     ..RateLimits::default()
/// };
/// assert_eq!(limits.to_string(), "primary: 42% of a 5 h window used");
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RateLimits {
    /// Each limit window, in the order the endpoint reported them.
    pub windows: Vec<RateLimitWindow>,
    /// The plan the limits belong to (`plus`, `pro`, …), when the endpoint said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
}

/// One limit: how much of a rolling window is used, and when it resets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimitWindow {
    /// Which limit (`primary`, `secondary`, or the endpoint's own name for it).
    pub name: String,
    /// How much of the window is used, in percent (0–100).
    pub used_percent: Option<f64>,
    /// The window's length.
    pub window: Option<Duration>,
    /// When the window resets.
    pub resets_at: Option<SystemTime>,
}

impl RateLimits {
    /// Whether the endpoint reported anything.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }
}

impl fmt::Display for RateLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, w) in self.windows.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{w}")?;
        }
        if let Some(plan) = &self.plan {
            write!(f, " (plan: {plan})")?;
        }
        Ok(())
    }
}

impl fmt::Display for RateLimitWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.name)?;
        match self.used_percent {
            Some(p) => write!(f, "{}%", (p * 10.0).round() / 10.0)?,
            None => f.write_str("?%")?,
        }
        match self.window {
            Some(w) => write!(f, " of a {} window used", span(w))?,
            None => f.write_str(" used")?,
        }
        if let Some(at) = self.resets_at {
            match at.duration_since(SystemTime::now()) {
                Ok(left) => write!(f, ", resets in {}", span(left))?,
                Err(_) => f.write_str(", reset already")?,
            }
        }
        Ok(())
    }
}

/// A span in the largest whole unit: `5 h`, `7 d`, `90 min`.
fn span(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{} d", s / 86_400),
        s if s >= 3_600 && s % 3_600 == 0 => format!("{} h", s / 3_600),
        s if s >= 60 => format!("{} min", s.div_ceil(60)),
        s => format!("{s} s"),
    }
}
