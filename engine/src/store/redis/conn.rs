//! The connections the Redis store talks through: `store.redis_pool_size` multiplexed
//! connections used round-robin, to one standalone Redis ([`ConnectionManager`]) or to a Redis
//! Cluster ([`ClusterConnection`]), behind one [`Conn`] that the store functions take as a
//! [`ConnectionLike`].
//!
//! No pool check-out: a multiplexed connection carries many requests at once, so there is
//! nothing to wait for and no check-out `PING` (bb8's `test_on_check_out` cost one round trip
//! per store call). Each connection is made on first use, so a store is built without a runtime
//! and without Redis; an unreachable Redis is an error on the call, which the caller bounds.
//! Recovery is the connections' own: the manager reconnects after an I/O error (one attempt
//! started per failed call, a few bounded retries each), and a cluster connection that was never
//! made is tried again on the next call; once made, it follows the cluster's slots and reconnects
//! to its nodes by itself.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};
use tokio::sync::OnceCell;

use super::{CALL_TIMEOUT, CONNECTION_TIMEOUT, unavailable};
use crate::store::StoreResult;

/// Connection attempts after the first one failed, per reconnect of a standalone connection:
/// a Redis that is restarting takes a moment; more would only keep sockets busy while callers
/// already got their `Unavailable` (the next call starts a new attempt anyway).
const RECONNECT_RETRIES: usize = 2;
/// The longest pause between those attempts.
const RECONNECT_MAX_DELAY: Duration = Duration::from_millis(500);
/// Retries of one cluster request (a `MOVED`, a node that went away): each waits a little, and
/// the whole call is bounded by [`CALL_TIMEOUT`] anyway.
const CLUSTER_RETRIES: u32 = 2;

/// The store's connections and where they go.
pub(super) struct Connections {
    target: Target,
    /// Each made on first use; a failed first connect leaves its slot empty for the next call.
    slots: Vec<OnceCell<Conn>>,
    next: AtomicUsize,
}

enum Target {
    Standalone(Box<redis::Client>),
    Cluster(Box<ClusterClient>),
}

impl Connections {
    /// `size` connections to the Redis at `url` (`redis://` or `rediss://`).
    pub(super) fn standalone(url: &str, size: u32) -> StoreResult<Self> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        Ok(Self::with(Target::Standalone(Box::new(client)), size))
    }

    /// `size` connections to the cluster that any of `seeds` belongs to.
    pub(super) fn cluster(seeds: &[&str], size: u32) -> StoreResult<Self> {
        let client = ClusterClient::builder(seeds.iter().copied())
            .connection_timeout(CONNECTION_TIMEOUT)
            .response_timeout(CALL_TIMEOUT)
            .retries(CLUSTER_RETRIES)
            .min_retry_wait(10)
            .max_retry_wait(200)
            .build()
            .map_err(unavailable)?;
        Ok(Self::with(Target::Cluster(Box::new(client)), size))
    }

    fn with(target: Target, size: u32) -> Self {
        Self {
            target,
            slots: (0..size.max(1)).map(|_| OnceCell::new()).collect(),
            next: AtomicUsize::new(0),
        }
    }

    pub(super) fn is_cluster(&self) -> bool {
        matches!(self.target, Target::Cluster(_))
    }

    /// The next connection, round-robin (a cheap clone of a multiplexed handle), made first if
    /// this is its first use. The caller bounds the wait ([`super::bounded`]).
    pub(super) async fn get(&self) -> StoreResult<Conn> {
        self.at(self.next.fetch_add(1, Ordering::Relaxed)).await
    }

    /// Connection `i` (modulo their number).
    async fn at(&self, i: usize) -> StoreResult<Conn> {
        let slot = &self.slots[i % self.slots.len()];
        let conn = slot
            .get_or_try_init(|| async {
                match &self.target {
                    // Lazy: connects on its first command, and reconnects by itself.
                    Target::Standalone(client) => ConnectionManager::new_lazy_with_config(
                        client.as_ref().clone(),
                        manager_config(),
                    )
                    .map(Conn::Standalone),
                    Target::Cluster(client) => {
                        client.get_async_connection().await.map(Conn::Cluster)
                    }
                }
            })
            .await
            .map_err(unavailable)?;
        Ok(conn.clone())
    }

    /// `PING` on every connection at once; the first error if any. Each broken connection
    /// starts reconnecting on its failed call, so the store's once-a-second health check brings
    /// all of them back together after an outage, not one per round-robin turn.
    pub(super) async fn ping_all(&self) -> StoreResult<()> {
        let pings = (0..self.slots.len()).map(|i| async move {
            let mut conn = self.at(i).await?;
            redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .map_err(unavailable)
        });
        futures::future::join_all(pings)
            .await
            .into_iter()
            .collect::<StoreResult<Vec<_>>>()
            .map(drop)
    }
}

fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECTION_TIMEOUT))
        .set_response_timeout(Some(CALL_TIMEOUT))
        .set_number_of_retries(RECONNECT_RETRIES)
        .set_max_delay(RECONNECT_MAX_DELAY)
}

/// One multiplexed connection of either mode.
#[derive(Clone)]
pub(super) enum Conn {
    Standalone(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Standalone(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Standalone(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Standalone(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}
