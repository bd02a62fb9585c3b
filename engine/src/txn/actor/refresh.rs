//! Keeping an actor in step with a store other nodes write too.
//!
//! Several nodes may each hold an actor for one transaction: the node that runs its timers (it
//! started it, or took it over) and nodes that served a request for it (a verify, an answer, a
//! long-poll arriving there). Every write is versioned, so a step computed on a state another
//! node has replaced is refused by the store; the actor then reads the stored state
//! ([`TransactionActor::reload`]) and feeds the step again. Change notices from the store
//! ([`Refresh`]) let idle actors catch up without waiting for a conflict: long-polls wake, and
//! timers follow the stored deadlines and the stored owner. An actor of another node's
//! transaction stops once it has been idle for [`IDLE_STOP`]; the store has everything it knew.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::TransactionActor;
use crate::model::Transaction;
use crate::txn::machine::{self, Effect};

/// An actor of another node's transaction that handled nothing for this long stops.
const IDLE_STOP: Duration = Duration::from_secs(30);

/// The store holds `version` of this transaction (`None`: read it whatever the version, e.g.
/// after this node took the transaction over); `finished`: that version is final.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Refresh {
    pub version: Option<u64>,
    pub finished: bool,
}

impl Handler<Refresh> for TransactionActor {
    type Result = ();
    fn handle(&mut self, msg: Refresh, ctx: &mut Context<Self>) {
        if msg.version.is_some_and(|v| v <= self.txn.version) {
            return; // this actor's own write, or an older one
        }
        let idle = self.waiters.is_empty()
            && self.start_reply.is_none()
            && self.resend_reply.is_none()
            && self.unsaved.is_none();
        if msg.version.is_some() && idle {
            if msg.finished {
                // Nothing left to run and nobody waiting: it steps aside without reading the
                // final state. A request that raced into its mailbox reads the store, which
                // says final — the same answer this actor would have given.
                self.superseded = true;
                ctx.stop();
                return;
            }
            if !self.svc.runs_timers_of(&self.txn) {
                // Another node's, with no timers to follow: read when next needed.
                self.stale = true;
                return;
            }
        }
        ctx.wait(self.reload().map(|(), act, ctx| act.stop_if_final(ctx)));
    }
}

impl TransactionActor {
    /// Reads the stored transaction and takes it as this actor's state.
    pub(super) fn reload(&self) -> impl ActorFuture<Self, Output = ()> + 'static {
        let store = self.svc.store.clone();
        let id = self.txn.id;
        async move { store.get(id).await }
            .into_actor(self)
            .map(|res, act, ctx| match res {
                Ok(Some(stored)) => act.take_stored(stored, ctx),
                // Purged: past its retention, nothing left to do for it.
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(transaction_id = %act.txn.id, error = %e, "could not read a transaction another node changed");
                }
            })
    }

    fn take_stored(&mut self, stored: Arc<Transaction>, ctx: &mut Context<Self>) {
        // A code another node drew (a resend there) replaces the one this actor knows.
        if code_macs(&stored) != code_macs(&self.txn) {
            self.sms_code = None;
        }
        self.txn = stored;
        self.unsaved = None;
        self.stale = false;
        self.track_state();
        self.apply(vec![Effect::CancelTimers], ctx);
        if self.txn.is_final() {
            self.apply(vec![Effect::Wake], ctx);
        } else if self.svc.runs_timers_of(&self.txn) {
            let timers = machine::timers(&self.txn);
            self.apply(timers, ctx);
        }
    }

    /// With a shared store, checks every [`IDLE_STOP`] whether this actor is another node's
    /// and idle, and stops it then.
    pub(super) fn watch_idle(&mut self, ctx: &mut Context<Self>) {
        if !self.svc.shared {
            return;
        }
        ctx.run_later(IDLE_STOP, |act, ctx| {
            let waiting = !act.waiters.is_empty()
                || act.start_reply.is_some()
                || act.resend_reply.is_some()
                || act.unsaved.is_some();
            if !act.busy && !waiting && !act.svc.runs_timers_of(&act.txn) {
                ctx.stop();
                return;
            }
            act.busy = false;
            act.watch_idle(ctx);
        });
    }
}

/// The MACs of the SMS codes a record holds (the method's and the prepared fallback's).
fn code_macs(txn: &Transaction) -> (Option<&str>, Option<&str>) {
    (
        txn.code.as_ref().map(|c| c.code_hmac.as_str()),
        txn.fallback.as_ref().map(|f| f.code.code_hmac.as_str()),
    )
}
