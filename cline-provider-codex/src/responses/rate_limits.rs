//! The Codex endpoint's plan-limit headers, read into core's [`RateLimits`].
//!
//! With every answer the endpoint reports how much of the plan's rolling windows is used, in
//! the header family the Codex CLI reads (`x-codex-…`):
//!
//! - `x-codex-primary-used-percent`, `x-codex-primary-window-minutes`,
//!   `x-codex-primary-reset-at` (Unix seconds) or `x-codex-primary-reset-after-seconds`;
//! - the same for `secondary`;
//! - `x-codex-plan-type` when the endpoint names the plan.
//!
//! A window is reported only when its `used-percent` is a finite number. Nothing is waited
//! on here: this is information for the person.

use std::time::{Duration, SystemTime};

use cline_provider_core::{RateLimitWindow, RateLimits};
use http::HeaderMap;

const WINDOWS: [&str; 2] = ["primary", "secondary"];

/// The limits in `headers`, or `None` when they carry none.
///
/// ```
/// use cline_provider_codex::responses::rate_limits_from_headers;
/// let mut h = http::HeaderMap::new();
/// h.insert("x-codex-primary-used-percent", "12.5".parse().unwrap());
/// h.insert("x-codex-primary-window-minutes", "300".parse().unwrap());
/// let limits = rate_limits_from_headers(&h).unwrap();
/// assert_eq!(limits.windows[0].used_percent, Some(12.5));
/// assert_eq!(limits.windows[0].window, Some(std::time::Duration::from_secs(300 * 60)));
/// assert!(rate_limits_from_headers(&http::HeaderMap::new()).is_none());
/// ```
pub fn rate_limits_from_headers(headers: &HeaderMap) -> Option<RateLimits> {
    let text = |name: &str| headers.get(name)?.to_str().ok().map(str::trim);
    let number = |name: &str| text(name)?.parse::<f64>().ok().filter(|v| v.is_finite());
    let windows: Vec<RateLimitWindow> = WINDOWS
        .iter()
        .filter_map(|w| {
            let used = number(&format!("x-codex-{w}-used-percent"))?;
            let window = number(&format!("x-codex-{w}-window-minutes"))
                .filter(|m| *m > 0.0)
                .and_then(|m| Duration::try_from_secs_f64(m * 60.0).ok());
            let resets_at = match number(&format!("x-codex-{w}-reset-at")) {
                Some(at) if at >= 0.0 => Duration::try_from_secs_f64(at)
                    .ok()
                    .and_then(|d| SystemTime::UNIX_EPOCH.checked_add(d)),
                _ => number(&format!("x-codex-{w}-reset-after-seconds"))
                    .filter(|s| *s >= 0.0)
                    .and_then(|s| Duration::try_from_secs_f64(s).ok())
                    .and_then(|d| SystemTime::now().checked_add(d)),
            };
            Some(RateLimitWindow {
                name: (*w).to_owned(),
                used_percent: Some(used),
                window,
                resets_at,
            })
        })
        .collect();
    if windows.is_empty() {
        return None;
    }
    Some(RateLimits {
        windows,
        plan: text("x-codex-plan-type")
            .filter(|p| !p.is_empty())
            .map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn both_windows_with_their_resets() {
        let h = headers(&[
            ("x-codex-primary-used-percent", "78"),
            ("x-codex-primary-window-minutes", "300"),
            ("x-codex-primary-reset-at", "1900000000"),
            ("x-codex-secondary-used-percent", "4.5"),
            ("x-codex-secondary-window-minutes", "10080"),
            ("x-codex-secondary-reset-after-seconds", "3600"),
            ("x-codex-plan-type", "plus"),
        ]);
        let before = SystemTime::now();
        let limits = rate_limits_from_headers(&h).unwrap();
        assert_eq!(limits.plan.as_deref(), Some("plus"));
        let [primary, secondary] = &limits.windows[..] else {
            panic!("{limits:?}")
        };
        assert_eq!(primary.name, "primary");
        assert_eq!(
            primary.resets_at,
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000))
        );
        assert_eq!(secondary.window, Some(Duration::from_secs(7 * 24 * 3600)));
        let at = secondary.resets_at.unwrap();
        assert!(at >= before + Duration::from_secs(3600));
        assert!(limits
            .to_string()
            .starts_with("primary: 78% of a 5 h window used"));
    }

    #[test]
    fn garbage_is_not_a_window() {
        let h = headers(&[
            ("x-codex-primary-used-percent", "NaN"),
            ("x-codex-secondary-used-percent", "lots"),
        ]);
        assert_eq!(rate_limits_from_headers(&h), None);
        let h = headers(&[
            ("x-codex-primary-used-percent", "1"),
            ("x-codex-primary-window-minutes", "-5"),
            ("x-codex-primary-reset-at", "-1"),
        ]);
        let w = &rate_limits_from_headers(&h).unwrap().windows[0];
        assert_eq!((w.window, w.resets_at), (None, None));
    }
}
