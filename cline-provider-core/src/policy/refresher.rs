//! [`spawn_refresher`]: a background task that refreshes a [`RemoteConfigClient`] on its
//! schedule.

use std::sync::Arc;

use super::fetch::RemoteConfigClient;
use super::outcome::RefreshOutcome;

/// A background refresher started by [`spawn_refresher`]; dropping it stops the refreshes.
#[derive(Debug)]
pub struct RefresherHandle {
    task: tokio::task::JoinHandle<()>,
    wake: Arc<tokio::sync::Notify>,
}

impl RefresherHandle {
    /// Refreshes now rather than at the next scheduled time (after a sign-in, an organization
    /// switch or at the start of a task, as the original does).
    pub fn refresh_now(&self) {
        self.wake.notify_one();
    }
}

impl Drop for RefresherHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Refreshes `client` now and then whenever its schedule says, on the current tokio runtime,
/// handing every outcome to `on_outcome` (to re-resolve the member's settings with
/// [`EffectiveSettings::set_policy`](super::EffectiveSettings::set_policy), say).
///
/// Must be called within a tokio runtime. Dropping the handle stops it.
pub fn spawn_refresher<F>(client: Arc<RemoteConfigClient>, mut on_outcome: F) -> RefresherHandle
where
    F: FnMut(RefreshOutcome) + Send + 'static,
{
    let wake = Arc::new(tokio::sync::Notify::new());
    let woken = wake.clone();
    let task = tokio::spawn(async move {
        loop {
            let outcome = client.refresh().await;
            on_outcome(outcome);
            let wait = client.next_refresh_in();
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = woken.notified() => {}
            }
        }
    });
    RefresherHandle { task, wake }
}
