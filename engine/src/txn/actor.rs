//! `TransactionActor`: one per pending transaction. Feeds the machine its inputs and turns the
//! effects into I/O — store writes, SMS sends, timers, events, callbacks, long-poll wake-ups.
//!
//! Ordering: a step's store write completes before its reply is sent and before the actor reads
//! its next message (`ctx.wait`), so whoever got an answer reads the same state from the store.

use std::sync::Arc;

use actix::prelude::*;
use tokio::sync::oneshot;

mod device;
mod persist;
mod portal;
mod refresh;
mod sms;
mod timers;
#[cfg(test)]
pub(crate) const MAX_REWRITE_DELAY_FOR_TESTS: std::time::Duration = persist::MAX_REWRITE_DELAY;
pub use device::{Answer, DeviceRemoved, Fetch, RedeemOtp, TokenCheckFuture};
pub use portal::{Cancel, Peek, Resend, VerifyCode, WaitFinal};
pub use refresh::Refresh;
use timers::Rearm;

use super::machine::{self, Effect, Input, InputBuf, Metric, Refusal, Reply, Step};
use super::manager::{ChildStopped, Parents};
use super::services::Services;
use super::shard::{Register, Unregister};
use crate::events::TxnRef;
use crate::model::{FineState, Method, Transaction};
use crate::outbound::CallbackJob;

/// A long-poll may park at most this many waiters on one transaction; later ones get the
/// current state at once instead of an unbounded queue.
const MAX_WAITERS: usize = 256;
/// A step whose write found a newer version (another node changed the transaction) is fed
/// again on the stored state at most this many times before its requester hears `503`.
const CONFLICT_RETRIES: u8 = 3;

/// A step's input, kept while its write is on the way so that a conflict can feed it again.
type Retry = Option<(InputBuf, u8)>;

/// What a new actor's start knows beyond the record (none of it is persisted).
#[derive(Debug, Default)]
pub struct Opening {
    /// The SMS code in clear (the method's, or the prepared fallback's).
    pub sms_code: Option<String>,
    /// The start fell back from the requested method.
    pub fell_back: bool,
}

/// A request's answer channel.
pub type ReplyTo<T> = oneshot::Sender<T>;

/// A resend's answer: the machine's, or why its SMS was refused before any gateway
/// (`[sms_policy]`, an SMS rate limit).
pub type Resent = Result<Reply, crate::Error>;

pub struct TransactionActor {
    /// Shared with the store's copy until the next change (`Arc::make_mut`).
    txn: Arc<Transaction>,
    svc: Arc<Services>,
    parents: Arc<Parents>,
    /// Timer handles by kind, and the generation each was armed with: a firing whose generation
    /// is no longer current is stale and ignored.
    timers: [Option<(SpawnHandle, u64)>; 2],
    generation: u64,
    waiters: Vec<ReplyTo<Arc<Transaction>>>,
    /// The start request waits for the first SMS to leave; a resend for its own (and hears why
    /// one was refused before its gateway).
    start_reply: Option<ReplyTo<Reply>>,
    resend_reply: Option<ReplyTo<Resent>>,
    /// Rebuilt from the store: re-arm timers instead of starting over.
    resumed: bool,
    /// The start fell back from the requested method (fed to the machine with `Start`).
    fell_back: bool,
    /// The SMS code in clear (the method's or the prepared fallback's). Never persisted: the
    /// record holds its MAC only. `None` after a rebuild from the store.
    sms_code: Option<String>,
    /// The last store write failed: the store holds an older version than this actor (see
    /// `persist.rs`). Counts the rewrites tried since.
    unsaved: Option<u32>,
    /// Handled a message since the last idle check (an actor of another node's transaction
    /// stops once idle: see `refresh.rs`).
    busy: bool,
    /// Stopped because the store holds a newer version that is final: not to be rebuilt by
    /// its manager.
    superseded: bool,
    /// The store holds a newer version (another node's change): read before the next input.
    stale: bool,
    /// What this transaction counts as in the node's pending gauges (`stats`).
    tracked: crate::stats::Tracked,
    /// The operator client acting in the step being fed (an admin cancel), named by its event.
    acting: Option<Box<str>>,
    /// Why the SMS of the step being fed was refused before its gateway: its events say so.
    unsent: Option<Box<str>>,
}

impl TransactionActor {
    pub fn new(
        txn: Arc<Transaction>,
        svc: Arc<Services>,
        parents: Arc<Parents>,
        start_reply: Option<ReplyTo<Reply>>,
    ) -> Self {
        let resumed = start_reply.is_none();
        Self {
            txn,
            svc,
            parents,
            timers: [None, None],
            generation: 0,
            waiters: Vec::new(),
            start_reply,
            resend_reply: None,
            resumed,
            fell_back: false,
            sms_code: None,
            unsaved: None,
            busy: true,
            superseded: false,
            stale: false,
            tracked: None,
            acting: None,
            unsent: None,
        }
    }

    /// Hands a new actor what its start knows beyond the record.
    pub fn opening(mut self, opening: Opening) -> Self {
        self.sms_code = opening.sms_code;
        self.fell_back = opening.fell_back;
        self
    }

    /// Feeds one input and applies the effects; `done` runs with the reply once the change is
    /// stored.
    fn feed(
        &mut self,
        input: Input<'_>,
        ctx: &mut Context<Self>,
        done: impl FnOnce(&mut Self, Reply) + 'static,
    ) {
        self.feed_try(input, 0, ctx, done);
    }

    /// `feed`, the `tries`-th time after conflicts.
    fn feed_try(
        &mut self,
        input: Input<'_>,
        tries: u8,
        ctx: &mut Context<Self>,
        done: impl FnOnce(&mut Self, Reply) + 'static,
    ) {
        self.busy = true;
        if self.stale {
            let input = input.to_buf();
            ctx.wait(self.reload().map(move |(), act, ctx| {
                act.stale = false; // even if the read failed: the write's version check stands
                act.feed_try(input.input(), tries, ctx, done);
            }));
            return;
        }
        let retry =
            (self.svc.shared && tries < CONFLICT_RETRIES).then(|| (input.to_buf(), tries + 1));
        let now = self.svc.clock.now();
        let step = machine::step(Arc::make_mut(&mut self.txn), input, now);
        self.run(step, retry, ctx, done);
    }

    fn run(
        &mut self,
        step: Step,
        retry: Retry,
        ctx: &mut Context<Self>,
        done: impl FnOnce(&mut Self, Reply) + 'static,
    ) {
        let Step { reply, mut effects } = step;
        if effects.first() == Some(&Effect::Persist) {
            // A final state leaves the devices' pending indexes before anyone hears of it, so a
            // push started right after the answer does not count it in its badge.
            let unindex = effects.contains(&Effect::Unindex).then(|| self.unindex());
            effects.retain(|e| *e != Effect::Unindex);
            ctx.wait(self.write_then(unindex).map(move |res, act, ctx| {
                // Another node changed the transaction first: this step was computed on a
                // state that is gone. Its effects are dropped; it is fed again on the stored
                // state (or, out of tries, its requester hears `503` and may ask again).
                if persist::is_conflict(&res) {
                    act.unsaved = None;
                    ctx.wait(act.reload().map(move |(), act, ctx| match retry {
                        Some((input, tries)) => act.feed_try(input.input(), tries, ctx, done),
                        None => {
                            done(act, Reply::Refused(Refusal::NotStored));
                            act.stop_if_final(ctx);
                        }
                    }));
                    return;
                }
                // Not stored, not acknowledged: the requester hears so (a 503); the change
                // stays and is written again until the store takes it (`persist.rs`).
                let reply = if act.written(res, ctx) {
                    reply
                } else if act.drop_unstored_start(ctx) {
                    return done(act, Reply::Refused(Refusal::NotStored));
                } else {
                    Reply::Refused(Refusal::NotStored)
                };
                act.apply(effects, ctx);
                done(act, reply);
                act.stop_if_final(ctx);
            }));
        } else {
            self.apply(effects, ctx);
            done(self, reply);
            self.stop_if_final(ctx);
        }
    }

    fn apply(&mut self, effects: Vec<Effect>, ctx: &mut Context<Self>) {
        for effect in effects {
            match effect {
                Effect::Persist => {}
                Effect::SendSms { resend } => self.send_sms(resend, ctx),
                Effect::SendPush { device_ids, resend } => self.send_push(device_ids, resend, ctx),
                // Another node's transaction: its timers run there.
                Effect::ArmTimer { kind, at } => {
                    if self.svc.runs_timers_of(&self.txn) {
                        self.arm(kind, at, ctx);
                    }
                }
                Effect::CancelTimers => {
                    for slot in &mut self.timers {
                        if let Some((handle, _)) = slot.take() {
                            ctx.cancel_future(handle);
                        }
                    }
                }
                Effect::Emit(name) => {
                    let events = self.svc.events.clone();
                    let now = self.svc.clock.now();
                    let mut event = TxnRef::of(&self.txn).event(name, now);
                    if let Some(by) = &self.acting {
                        event.client_id = Some(by.to_string());
                        event.detail = Some("by an operator (admin API)".into());
                    }
                    if let Some(why) = &self.unsent {
                        event.detail = Some(why.to_string());
                    }
                    actix::spawn(async move { events.emit(event).await });
                }
                Effect::Callback => {
                    if let Some(uri) = &self.txn.callback_uri {
                        self.svc.callbacks.dispatch(CallbackJob {
                            transaction_id: self.txn.id,
                            callback_uri: uri.clone(),
                            user_id: self.txn.user_id.clone(),
                            client_id: Some(self.txn.client_id.clone()),
                        });
                    }
                }
                Effect::Wake => {
                    for w in self.waiters.drain(..) {
                        let _ = w.send(self.txn.clone());
                    }
                }
                Effect::Unindex => {
                    actix::spawn(self.unindex());
                }
                // The node's stats record these for `/stats` and `/metrics` alike.
                Effect::Count(Metric::Started) => {
                    let ty = self.type_counters();
                    let now = self.svc.clock.now();
                    self.svc.stats.started(&ty, self.txn.method, now);
                }
                Effect::Count(Metric::Finished) => {
                    let ty = self.type_counters();
                    let now = self.svc.clock.now();
                    let flow_ms = self
                        .txn
                        .finished_at
                        .unwrap_or(now)
                        .saturating_sub(self.txn.created_at);
                    let (method, status) = (self.txn.method, self.txn.status);
                    self.svc.stats.finished(&ty, method, status, flow_ms, now);
                }
                Effect::Count(Metric::Fallback(trigger)) => {
                    crate::telemetry::fallback(trigger.as_str())
                }
            }
        }
    }

    /// A final transaction leaves its devices' pending indexes (their lists and badges).
    fn unindex(&self) -> impl Future<Output = ()> + 'static {
        let devices: Vec<String> = self.txn.push.as_ref().map_or_else(Vec::new, |push| {
            push.targets.iter().map(|t| t.device_id.clone()).collect()
        });
        let (store, id) = (self.svc.store.clone(), self.txn.id);
        async move {
            for device in devices {
                if let Err(e) = store.remove_device_txn(&device, id).await {
                    tracing::warn!(error = %e, "could not unindex a finished transaction");
                }
            }
        }
    }

    /// One delivery per device, concurrently; each outcome comes back as a `PushReport`.
    fn send_push(&mut self, device_ids: Vec<String>, _resend: bool, ctx: &mut Context<Self>) {
        for device_id in device_ids {
            let svc = self.svc.clone();
            let txn = Arc::clone(&self.txn);
            let me = ctx.address();
            actix::spawn(async move {
                let ok = crate::outbound::push::delivery::push_to(&svc, &txn, &device_id)
                    .await
                    .is_ok();
                me.do_send(PushReport { device_id, ok });
            });
        }
    }

    /// This transaction's type counters in the node's stats (looked up once per actor).
    fn type_counters(&self) -> Arc<crate::stats::TypeCounters> {
        match &self.tracked {
            Some((_, ty)) => ty.clone(),
            None => self
                .svc
                .stats
                .type_counters(&self.txn.type_name, self.txn.method.as_str()),
        }
    }

    /// Moves this transaction in the node's pending gauges to where its record is now: counted
    /// by fine state while pending and run by this node, not counted otherwise.
    fn track_state(&mut self) {
        let counted = !self.txn.is_final() && self.svc.runs_timers_of(&self.txn);
        let to = counted.then(|| (FineState::of(&self.txn), self.type_counters()));
        self.tracked = self.svc.stats.track(self.tracked.take(), to);
    }

    fn stop_if_final(&mut self, ctx: &mut Context<Self>) {
        // A final state the store does not have yet keeps the actor (and its rewrites) alive.
        if self.txn.is_final() && self.unsaved.is_none() {
            if let Some(tx) = self.start_reply.take() {
                // Only an SMS start still waits here (for its gateway); a push start answered
                // when it was fed.
                let refusal = if self.txn.method == Method::Sms {
                    Refusal::SmsNotSent
                } else {
                    Refusal::PushNotSent
                };
                let _ = tx.send(Reply::Refused(refusal));
            }
            ctx.stop();
        }
    }
}

impl Actor for TransactionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.parents.shard.do_send(Register {
            id: self.txn.id,
            addr: ctx.address(),
        });
        self.watch_idle(ctx);
        if self.resumed {
            self.track_state();
            // Rebuilt from the store: the deadlines are absolute, re-arm what is still due.
            ctx.notify(Rearm);
        } else {
            let fell_back = self.fell_back;
            self.feed(Input::Start { fell_back }, ctx, |act, reply| {
                // SMS: the start answers once the gateway did (see `send_sms`), unless the
                // start could not be stored.
                let not_stored = reply == Reply::Refused(Refusal::NotStored);
                if (not_stored || act.txn.method != Method::Sms || act.txn.code.is_none())
                    && let Some(tx) = act.start_reply.take()
                {
                    let _ = tx.send(if not_stored { reply } else { Reply::Done });
                }
            });
        }
    }

    fn stopped(&mut self, ctx: &mut Context<Self>) {
        self.tracked = self.svc.stats.track(self.tracked.take(), None);
        self.parents.shard.do_send(Unregister {
            id: self.txn.id,
            addr: ctx.address(),
        });
        // Only an actor running the timers is rebuilt when it stops early: another node's
        // transaction is that node's to keep.
        self.parents.manager.do_send(ChildStopped {
            id: self.txn.id,
            finished: self.txn.is_final() || self.superseded || !self.svc.runs_timers_of(&self.txn),
        });
        for w in self.waiters.drain(..) {
            let _ = w.send(self.txn.clone());
        }
    }
}

// === messages ===

/// A push provider's answer for one device.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PushReport {
    pub device_id: String,
    pub ok: bool,
}

impl Handler<PushReport> for TransactionActor {
    type Result = ();
    fn handle(&mut self, msg: PushReport, ctx: &mut Context<Self>) {
        self.busy = true;
        let input = Input::PushDelivered {
            device_id: &msg.device_id,
            ok: msg.ok,
        };
        self.feed(input, ctx, |_, _| {});
    }
}
