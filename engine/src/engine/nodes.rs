//! Several nodes on one store: this node's name and lease, taking over the transactions of a
//! node that died, recovery at start, and the changes other nodes make.
//!
//! - **Name.** `<host>:<port>` of the API listener, so a node restarted on the same address
//!   (a `kill -9`, a deploy) is the same node and recovers its own transactions at once; with
//!   port 0 (tests) a random suffix makes it unique.
//! - **Lease.** Each node renews its lease three times per `store.node_lease`. Every second it
//!   asks the store for registered nodes whose lease ran out; the store hands each dead node to
//!   exactly one asker (`Store::claim_dead_nodes`), which takes over the dead node's held
//!   transactions: pending ones are rewritten with `node` = itself (a versioned write, so a
//!   racing change wins and is read again) and get an actor with their timers; final ones with
//!   a callback still due get their callback sent.
//! - **Changes.** Every stored transaction write is published by the store; a node holding an
//!   actor for that transaction below the published version reloads it (wakes its long-polls,
//!   re-arms or drops its timers).

use std::sync::Arc;
use std::time::Duration;

use super::{Engine, RECOVER_LIMIT};
use crate::error::Result;
use crate::model::Transaction;
use crate::outbound::CallbackJob;
use crate::store::{Change, StoreError};
use crate::txn::services::Services;
use crate::txn::shard::{Changed, Resume};

/// How often a node looks for dead nodes.
const CLAIM_EVERY: Duration = Duration::from_secs(1);
/// Versioned takeover writes tried per transaction before it is left to the next pass.
const TAKEOVER_TRIES: usize = 3;

/// This node's name: `<host>:<port>`, or `<host>:<random>` when the port is drawn by the OS.
pub(crate) fn node_name(listen: std::net::SocketAddr) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "tessera".to_owned());
    if listen.port() == 0 {
        format!("{host}:{}", crate::model::TxnId::random())
    } else {
        format!("{host}:{}", listen.port())
    }
}

impl Engine {
    /// This node's name in the store.
    pub fn node(&self) -> &str {
        &self.inner.svc.node
    }

    /// Registers this node, resumes the transactions it held before a restart, and starts the
    /// lease loop (renewal, takeover of dead nodes). Returns how many transactions it took on.
    pub(super) async fn join(&self) -> Result<usize> {
        let svc = &self.inner.svc;
        let lease = svc.config().store.node_lease;
        svc.store.renew_node(&svc.node, lease).await?;
        let mut resumed = self.take_over(|txn| svc.runs_timers_of(txn)).await?;
        for dead in svc.store.claim_dead_nodes(&svc.node).await? {
            resumed += self.take_over_node(&dead).await?;
        }
        if svc.shared {
            self.spawn_lease_loop(lease);
        }
        Ok(resumed)
    }

    fn spawn_lease_loop(&self, lease: Duration) {
        let engine = self.clone();
        // Shutting down: no more renewals (the shutdown ends the lease) and no more takeovers.
        let mut draining = self.inner.draining.subscribe();
        actix::spawn(async move {
            let renew_every = lease / 3;
            let mut renew = tokio::time::interval(renew_every);
            let mut claim = tokio::time::interval(CLAIM_EVERY);
            renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            claim.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = draining.wait_for(|d| *d) => return,
                    _ = renew.tick() => {
                        let svc = &engine.inner.svc;
                        if let Err(e) = svc.store.renew_node(&svc.node, lease).await {
                            tracing::warn!(error = %e, "could not renew this node's lease");
                        }
                    }
                    _ = claim.tick() => {
                        if let Err(e) = engine.claim_dead().await {
                            tracing::warn!(error = %e, "could not look for dead nodes");
                        }
                    }
                }
            }
        });
    }

    async fn claim_dead(&self) -> Result<()> {
        let svc = &self.inner.svc;
        for dead in svc.store.claim_dead_nodes(&svc.node).await? {
            let taken = self.take_over_node(&dead).await?;
            tracing::warn!(node = %dead, taken, "took over the transactions of a dead node");
        }
        Ok(())
    }

    async fn take_over_node(&self, dead: &str) -> Result<usize> {
        self.take_over(|txn| txn.node.as_deref() == Some(dead))
            .await
    }

    /// Takes on every held transaction `whose` picks: pending ones get an actor here (with this
    /// node's timers), final ones their due callback.
    async fn take_over(&self, whose: impl Fn(&Transaction) -> bool) -> Result<usize> {
        let svc = &self.inner.svc;
        let ids = svc.store.pending(RECOVER_LIMIT).await?;
        let mut taken = 0;
        for id in ids {
            let Some(txn) = svc.store.get(id).await? else {
                continue;
            };
            if !txn.held() || !whose(&txn) {
                continue;
            }
            if let Some(txn) = self.own(txn).await? {
                taken += 1;
                if txn.is_final() {
                    callback_due(svc, &txn);
                } else {
                    self.shard(id).do_send(Resume { txn });
                }
            }
        }
        Ok(taken)
    }

    /// Rewrites `txn` as this node's. `None` when another node changed it meanwhile and it is no
    /// longer held by the node it was taken from.
    async fn own(&self, mut txn: Arc<Transaction>) -> Result<Option<Arc<Transaction>>> {
        let svc = &self.inner.svc;
        let from = txn.node.clone();
        for _ in 0..TAKEOVER_TRIES {
            if txn.node.as_deref() == Some(svc.node.as_str()) {
                return Ok(Some(txn));
            }
            let mut mine = (*txn).clone();
            mine.node = Some(svc.node.clone());
            mine.version += 1;
            let mine = Arc::new(mine);
            match svc.store.save(&mine, mine.purge_at(svc.retention_ms)).await {
                Ok(()) => return Ok(Some(mine)),
                Err(StoreError::Conflict { .. }) => {
                    let Some(now) = svc.store.get(txn.id).await? else {
                        return Ok(None);
                    };
                    if !now.held() || now.node != from {
                        return Ok(None);
                    }
                    txn = now;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }

    /// Forwards the store's change notices to the shards (a no-op without a shared store).
    pub(super) fn spawn_change_listener(
        shards: Vec<actix::Addr<crate::txn::shard::Shard>>,
        mut changes: tokio::sync::mpsc::Receiver<Change>,
    ) {
        actix::spawn(async move {
            while let Some(change) = changes.recv().await {
                let shard = &shards[change.id.shard(shards.len())];
                // A full shard mailbox drops the notice: the actor finds out at its next write.
                let _ = shard.try_send(Changed { change });
            }
        });
    }
}

/// Sends the callback a final transaction still owes (its sender died before it went out).
fn callback_due(svc: &Services, txn: &Transaction) {
    if let Some(uri) = &txn.callback_uri {
        svc.callbacks.dispatch(CallbackJob {
            transaction_id: txn.id,
            callback_uri: uri.clone(),
            user_id: txn.user_id.clone(),
            client_id: Some(txn.client_id.clone()),
        });
    }
}
