//! Writing the actor's transaction to the store, and recovering from a failed write.
//!
//! Writes are versioned: the store takes version `n` only on top of `n - 1`. A failed write
//! (store unreachable, a conflict) must not leave the actor's version ahead of the store's for
//! good, or every later write would conflict and the store would keep a stale state (a pending
//! transaction that was accepted long ago). So after a failure the actor steps its version back
//! to what the store holds; the next write — a rewrite on a short backoff, or the next change —
//! carries everything since. A final state is not given up on quietly: the actor stays until it
//! is stored or the rewrites run out, and then says so in the log and the metrics.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::TransactionActor;
use crate::store::{StoreError, StoreResult};

/// Rewrites tried after a failed write before the actor waits for the next change.
pub(super) const MAX_REWRITES: u32 = 5;
/// The first rewrite's delay; each next one waits twice as long (0.1 + 0.2 + … + 1.6 s ≈ 3 s).
const FIRST_REWRITE: Duration = Duration::from_millis(100);

impl TransactionActor {
    /// The store write of the transaction as it is now.
    pub(super) fn write(&self) -> impl ActorFuture<Self, Output = StoreResult<()>> + 'static {
        self.write_then(None::<std::future::Ready<()>>)
    }

    /// The store write, then `after` (when given) before the write counts as done.
    pub(super) fn write_then(
        &self,
        after: Option<impl Future<Output = ()> + 'static>,
    ) -> impl ActorFuture<Self, Output = StoreResult<()>> + 'static {
        let store = self.svc.store.clone();
        let snapshot = self.txn.clone();
        let purge_at = snapshot.purge_at(self.svc.retention_ms);
        async move {
            let res = store.save(&snapshot, purge_at).await;
            if let Some(after) = after {
                after.await;
            }
            res
        }
        .into_actor(self)
    }

    /// Books the outcome of a write of the current version.
    pub(super) fn written(&mut self, res: StoreResult<()>, ctx: &mut Context<Self>) {
        let Err(e) = res else {
            if self.unsaved.take().is_some() {
                tracing::info!(transaction_id = %self.txn.id, "transaction stored again after a failed write");
            }
            return;
        };
        tracing::error!(transaction_id = %self.txn.id, error = %e, "store write failed");
        crate::telemetry::store_error();
        // Back to the version the store holds, so the next write is checked against it.
        let stored = match e {
            StoreError::Conflict { found, .. } => found.unwrap_or(0),
            _ => self.txn.version.saturating_sub(1),
        };
        Arc::make_mut(&mut self.txn).version = stored;
        let tries = self.unsaved.map_or(0, |n| n + 1);
        self.unsaved = Some(tries);
        if tries < MAX_REWRITES {
            let delay = FIRST_REWRITE * 2u32.pow(tries);
            ctx.run_later(delay, |act, ctx| act.rewrite(ctx));
        } else {
            tracing::error!(
                transaction_id = %self.txn.id,
                status = self.txn.status.as_str(),
                "transaction not stored after {MAX_REWRITES} rewrites; the next change writes it again"
            );
            if self.txn.is_final() {
                // Nothing else will change it: waiters have their answer, the store does not.
                self.unsaved = None;
                self.stop_if_final(ctx);
            }
        }
    }

    /// Writes the whole transaction again, one version above the store's.
    fn rewrite(&mut self, ctx: &mut Context<Self>) {
        if self.unsaved.is_none() {
            return; // a later change already stored it
        }
        Arc::make_mut(&mut self.txn).version += 1;
        ctx.wait(self.write().map(|res, act, ctx| {
            act.written(res, ctx);
            act.stop_if_final(ctx);
        }));
    }
}
