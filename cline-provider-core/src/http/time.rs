//! Deadlines that never overflow: `Duration::MAX` (the natural way to say "no limit") is
//! clamped instead of panicking in `Instant` arithmetic.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::TimeoutPhase;

/// How far away "no limit" is: about thirty years, as tokio's own far-future instant.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// `now + d`, clamped to [`FAR_FUTURE`] from now.
pub(crate) fn after(now: Instant, d: Duration) -> Instant {
    now.checked_add(d.min(FAR_FUTURE))
        .unwrap_or_else(|| now + FAR_FUTURE)
}

/// Runs `fut` for at most `limit`, and never past `deadline`; on expiry says which bound hit
/// (`Total` for the deadline, `Headers` for the limit).
pub(crate) async fn bounded<F: Future>(
    fut: F,
    limit: Duration,
    deadline: Option<Instant>,
) -> std::result::Result<F::Output, TimeoutPhase> {
    let own = after(Instant::now(), limit);
    let (until, phase) = match deadline {
        Some(d) if d <= own => (d, TimeoutPhase::Total),
        _ => (own, TimeoutPhase::Headers),
    };
    tokio::time::timeout_at(until, fut).await.map_err(|_| phase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_durations_clamp() {
        let now = Instant::now();
        assert_eq!(after(now, Duration::MAX), now + FAR_FUTURE);
        assert_eq!(
            after(now, Duration::from_secs(3)),
            now + Duration::from_secs(3)
        );
    }
}
