//! Every node polls the configuration document's version and installs a newer one: a change
//! made on one node reaches the others within [`POLL_EVERY`] (see the module docs of
//! `settings` for why polling).

use std::time::Duration;

use crate::Engine;

/// How often each node asks the store for the document's version.
pub(crate) const POLL_EVERY: Duration = Duration::from_secs(1);

impl Engine {
    /// Polls for configuration changes made by other nodes while the engine runs (stores that
    /// other processes share only; alone, every change is made here).
    pub(crate) fn spawn_config_poll(&self) {
        // A weak handle: the loop must not keep a dropped engine (tests launch many) alive.
        let engine = self.downgrade();
        actix::spawn(async move {
            let mut tick = tokio::time::interval(POLL_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(engine) = Engine::upgrade(&engine) else {
                    return;
                };
                // The store being down shows on the health watch; here it only delays the poll.
                if let Err(e) = engine.sync_config().await {
                    tracing::debug!(error = %e, "polling the configuration document failed");
                }
            }
        });
    }
}
