//! Writing the actor's transaction to the store, and recovering from a failed write.
//!
//! Writes are versioned: the store takes version `n` only on top of `n - 1`. A failed write
//! (store unreachable, a conflict) must not leave the actor's version ahead of the store's for
//! good, or every later write would conflict and the store would keep a stale state (a pending
//! transaction that was accepted long ago). So after a failure the actor steps its version back
//! to what the store holds; the next write — a rewrite on a short backoff, or the next change —
//! carries everything since. Rewrites go on until the store takes the write — a Redis outage
//! may last minutes — but never faster than one per [`MAX_REWRITE_DELAY`] once the backoff has
//! grown, so an outage costs each waiting actor a write every few seconds, not a spin. A final
//! state keeps its actor until it is stored: what a requester was told (or a timer decided) is
//! written when the store returns. A start that could not be stored is dropped instead (its
//! requester got a 503 and nothing was sent, so there is nothing to keep).

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::TransactionActor;
use crate::store::{StoreError, StoreResult};

/// The first rewrite's delay; each next one waits twice as long, up to [`MAX_REWRITE_DELAY`].
const FIRST_REWRITE: Duration = Duration::from_millis(100);
/// The longest wait between two rewrites (reached after 0.1 + 0.2 + … + 3.2 s ≈ 6 s).
pub(super) const MAX_REWRITE_DELAY: Duration = Duration::from_secs(5);

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
            // A conflict means this state never happens (another node's is newer).
            if let Some(after) = after.filter(|_| !is_conflict(&res)) {
                after.await;
            }
            res
        }
        .into_actor(self)
    }

    /// Books the outcome of a write of the current version: `true` when it is stored.
    pub(super) fn written(&mut self, res: StoreResult<()>, ctx: &mut Context<Self>) -> bool {
        let Err(e) = res else {
            if self.unsaved.take().is_some() {
                tracing::info!(transaction_id = %self.txn.id, "transaction stored again after a failed write");
            }
            // A new version is stored: the admin stream and the pending gauges hear of it.
            self.svc.live.transaction(&self.txn);
            self.track_state();
            return true;
        };
        // (The store's wrapper counted the failure. A conflict never gets here: callers reload
        // instead, see `reload_after_conflict`.)
        // Back to the version the store holds, so the next write is checked against it.
        let stored = self.txn.version.saturating_sub(1);
        Arc::make_mut(&mut self.txn).version = stored;
        let tries = self.unsaved.map_or(0, |n| n.saturating_add(1));
        if tries == 0 {
            // Once per outage of this transaction, not once per rewrite.
            tracing::error!(transaction_id = %self.txn.id, error = %e, "store write failed; rewriting until stored");
        }
        self.unsaved = Some(tries);
        if tries == 0 {
            // The first failure starts the rewrites; later ones only lengthen their backoff.
            self.rewrite_later(ctx);
        }
        false
    }

    fn rewrite_later(&mut self, ctx: &mut Context<Self>) {
        let tries = self.unsaved.unwrap_or(0);
        let delay = FIRST_REWRITE
            .saturating_mul(2u32.saturating_pow(tries))
            .min(MAX_REWRITE_DELAY);
        ctx.run_later(delay, |act, ctx| act.rewrite(ctx));
    }

    /// After a failed write: when it was the start's (nothing stored, nothing sent yet), drops
    /// the transaction and stops the actor; `true` then.
    pub(super) fn drop_unstored_start(&mut self, ctx: &mut Context<Self>) -> bool {
        if self.resumed || self.txn.version != 0 {
            return false;
        }
        self.unsaved = None; // no rewrite: the transaction was never acknowledged
        ctx.stop();
        true
    }

    /// Writes the whole transaction again, one version above the store's.
    fn rewrite(&mut self, ctx: &mut Context<Self>) {
        if self.unsaved.is_none() {
            return; // a later change already stored it
        }
        Arc::make_mut(&mut self.txn).version += 1;
        ctx.wait(self.write().map(|res, act, ctx| {
            if is_conflict(&res) {
                // Another node changed it meanwhile: its version wins over this unsaved one.
                act.unsaved = None;
                ctx.wait(act.reload().map(|(), act, ctx| act.stop_if_final(ctx)));
                return;
            }
            if !act.written(res, ctx) {
                act.rewrite_later(ctx);
            }
            act.stop_if_final(ctx);
        }));
    }
}

/// The write found another version than the one it built on: another node changed the
/// transaction first.
pub(super) fn is_conflict(res: &StoreResult<()>) -> bool {
    matches!(res, Err(StoreError::Conflict { .. }))
}
