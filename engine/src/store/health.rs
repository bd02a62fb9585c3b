//! Whether the store answers, known without asking it per request: one watch task `PING`s the
//! store every [`PING_EVERY`] and keeps the answer in an atomic that `/health/ready` and the
//! API's store gate read for free.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::Store;

/// How often the watch asks. A dead Redis shows within this plus one bounded call (about 2 s),
/// at the cost of one `PING` a second per node.
pub(crate) const PING_EVERY: Duration = Duration::from_secs(1);

/// The store's last known health. Starts up: `serve` only takes requests after recovering from
/// the store, which needs it to answer.
#[derive(Clone)]
pub(crate) struct StoreHealth(Arc<AtomicBool>);

impl StoreHealth {
    pub(crate) fn up(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Starts the watch on the current actix/tokio runtime. It runs for the life of the
    /// process, one `PING` per tick (a missed tick is skipped, never made up in a burst).
    pub(crate) fn watch(store: Arc<dyn Store>) -> Self {
        let health = Self(Arc::new(AtomicBool::new(true)));
        crate::telemetry::store_up(true);
        let flag = health.clone();
        actix::spawn(async move {
            let mut tick = tokio::time::interval(PING_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tick.tick().await;
                flag.record(store.ping().await.map_err(|e| e.to_string()));
            }
        });
        health
    }

    /// The store just answered another call (recovery at start): up at once, rather than
    /// until the next `PING` — a first `PING` that timed out while the connection was still
    /// being made (a TLS handshake on a busy machine) must not leave a node that has recovered
    /// refusing requests for a second.
    pub(crate) fn answered(&self) {
        self.record(Ok(()));
    }

    /// Books one `PING`'s answer; a change is logged once, not every second. (A failed
    /// `PING` is counted as a store error by the store's wrapper, like any operation.)
    fn record(&self, answer: Result<(), String>) {
        let up = answer.is_ok();
        crate::telemetry::store_up(up);
        if self.0.swap(up, Ordering::Relaxed) == up {
            return;
        }
        match answer {
            Ok(()) => tracing::info!("the store answers again"),
            Err(e) => tracing::error!(error = %e, "the store does not answer: requests get 503"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_that_answered_recovery_is_up_before_the_next_ping() {
        let health = StoreHealth(Arc::new(AtomicBool::new(true)));
        health.record(Err("Redis did not answer in time".into()));
        assert!(!health.up(), "a failed PING turns the node unready");
        health.answered();
        assert!(
            health.up(),
            "a recovery that succeeded turns it ready again at once"
        );
    }
}
