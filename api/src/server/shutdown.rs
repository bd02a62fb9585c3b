//! Graceful stop (`[server] shutdown_grace`): the accept loops close their sockets, every
//! connection is asked to close once its requests are answered (HTTP/1 after the response in
//! progress, h2 with GOAWAY), long-polls answer at once with the current state, and once the
//! connections are gone (or the grace is over) the engine stores waiting callback retries and
//! flushes the store.

use std::sync::Arc;
use std::time::Duration;

use tessera_engine::Engine;
use tokio::sync::watch;
use tokio::time::Instant;

use super::ServerInfo;
use super::limits::Limits;

/// A started server: where it listens, and how to stop it gracefully. Dropping it instead leaves
/// the server running until the actix `System` stops.
pub struct Running {
    pub info: ServerInfo,
    engine: Engine,
    limits: Arc<Limits>,
    stop: watch::Sender<bool>,
    grace: Duration,
}

impl Running {
    pub(super) fn new(
        info: ServerInfo,
        engine: Engine,
        limits: Arc<Limits>,
        stop: watch::Sender<bool>,
        grace: Duration,
    ) -> Self {
        Self {
            info,
            engine,
            limits,
            stop,
            grace,
        }
    }

    /// Stops serving within `server.shutdown_grace`: no new connections, in-flight requests
    /// finish, long-polls answer now, callbacks and store writes are kept. Returns `false` if
    /// something had to be cut short at the end of the grace (it is logged).
    pub async fn shutdown(self) -> bool {
        let deadline = Instant::now() + self.grace;
        self.engine.drain();
        self.stop.send_replace(true);
        let drained = tokio::time::timeout_at(deadline, self.limits.all_closed())
            .await
            .is_ok();
        if !drained {
            tracing::warn!("connections still open at the end of the shutdown grace: cut");
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let engine = self.engine.shutdown(left).await;
        drained && engine
    }
}
