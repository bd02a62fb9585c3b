//! Stopping the engine without losing what it acknowledged: long-polls are answered at once,
//! callbacks still waiting for a retry are stored as dead letters, and the store is flushed.

use std::time::Duration;

use super::Engine;

impl Engine {
    /// First step of a shutdown: every long-poll in progress, and any started from now on,
    /// answers at once with the transaction's current state. Idempotent.
    pub fn drain(&self) {
        self.inner.draining.send_replace(true);
        // Admin streams end now: they would otherwise hold their connections open.
        self.inner.svc.live.close();
    }

    /// Last step, once requests have finished: callbacks waiting for a retry become dead letters
    /// with their due time, tries under way get `grace` to finish, then pending store writes are
    /// flushed. Returns `false` if something could not finish in time (it is logged).
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.drain();
        let callbacks = self.inner.svc.callbacks.shutdown(grace).await;
        // Other nodes take this one's pending transactions over at once, not after its lease.
        let svc = &self.inner.svc;
        if svc.shared
            && let Err(e) = svc.store.leave_node(&svc.node).await
        {
            tracing::warn!(error = %e, "could not end this node's lease; others take over when it runs out");
        }
        let flushed = match self.inner.svc.store.flush().await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "flushing the store at shutdown failed");
                false
            }
        };
        callbacks && flushed
    }
}
