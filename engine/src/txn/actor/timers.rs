//! The actor's timers: deadlines are absolute (in the record), so a rebuilt actor re-arms exactly
//! what is still due; each firing carries the generation it was armed with, and stale ones are
//! ignored.

use actix::prelude::*;

use super::TransactionActor;
use crate::model::Millis;
use crate::txn::machine::{self, Input, TimerKind};

impl TransactionActor {
    pub(super) fn arm(&mut self, kind: TimerKind, at: Millis, ctx: &mut Context<Self>) {
        let slot = kind as usize;
        if let Some((handle, _)) = self.timers[slot].take() {
            ctx.cancel_future(handle);
        }
        self.generation += 1;
        let generation = self.generation;
        let delay = self
            .svc
            .clock
            .instant_at(at)
            .saturating_duration_since(tokio::time::Instant::now());
        let handle = ctx.run_later(delay, move |act, ctx| act.fire(kind, generation, ctx));
        self.timers[slot] = Some((handle, generation));
    }

    fn fire(&mut self, kind: TimerKind, generation: u64, ctx: &mut Context<Self>) {
        let current = self.timers[kind as usize].as_ref().map(|(_, g)| *g);
        if current != Some(generation) {
            return;
        }
        self.timers[kind as usize] = None;
        self.feed(Input::Timer(kind), ctx, |_, _| {});
    }
}

/// Re-arm timers after a rebuild.
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct Rearm;

impl Handler<Rearm> for TransactionActor {
    type Result = ();
    fn handle(&mut self, _: Rearm, ctx: &mut Context<Self>) {
        self.rekey_lost_sms_code(ctx);
        let timers = machine::timers(&self.txn);
        self.apply(timers, ctx);
    }
}
