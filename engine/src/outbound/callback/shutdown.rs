//! Stopping the dispatcher without losing a callback: deliveries waiting for their next try are
//! stored as dead letters with the time it was due, tries under way get the grace to finish and
//! are stored the same way when it runs out. A replay (admin API) picks them up after a restart.

use std::time::Duration;

use super::CallbackDispatcher;

/// Where the dispatcher is in its shutdown; only moves forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Phase {
    Running,
    /// No more backoff sleeps: a failed try is stored at once.
    Closing,
    /// The grace is over: tries still under way are abandoned and stored.
    Cut,
}

/// How long the cut deliveries get to write their dead letters.
const CUT_WRITE_GRACE: Duration = Duration::from_secs(2);

impl CallbackDispatcher {
    /// Stops retrying: waiting deliveries become dead letters at once, tries under way get
    /// `grace` to finish (a failure is then stored too). Returns once every delivery has ended,
    /// `false` if some had to be cut at the end of the grace (they are stored as well, unless the
    /// store did not answer within a short extra wait).
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.advance(Phase::Closing);
        let all = self.inner.capacity;
        let drained = tokio::time::timeout(grace, self.inner.in_flight.acquire_many(all)).await;
        if matches!(drained, Ok(Ok(_))) {
            return true;
        }
        self.advance(Phase::Cut);
        let cut = tokio::time::timeout(CUT_WRITE_GRACE, self.inner.in_flight.acquire_many(all));
        if !matches!(cut.await, Ok(Ok(_))) {
            tracing::error!("callbacks still under way after the shutdown grace");
        }
        false
    }

    fn advance(&self, to: Phase) {
        self.inner.phase.send_if_modified(|phase| {
            let later = to > *phase;
            if later {
                *phase = to;
            }
            later
        });
    }

    /// Resolves once the dispatcher has reached `phase` (at once if it has).
    pub(super) async fn phase_reached(&self, phase: Phase) {
        let mut rx = self.inner.phase.subscribe();
        // The sender lives in `inner`, as long as `self`: the wait cannot fail while we hold it.
        let _ = rx.wait_for(|p| *p >= phase).await;
    }
}
