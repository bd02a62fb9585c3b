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
#[cfg(test)]
pub(crate) const MAX_REWRITES_FOR_TESTS: u32 = persist::MAX_REWRITES;
pub use device::{Answer, DeviceRemoved, Fetch, RedeemOtp, TokenCheckFuture};

use super::machine::{self, Effect, Input, Reply, Step, TimerKind};
use super::manager::{ChildStopped, Parents};
use super::services::Services;
use super::shard::{Register, Unregister};
use crate::events::TxnRef;
use crate::model::{Method, Transaction};
use crate::outbound::{CallbackJob, SmsMessage};

/// A long-poll may park at most this many waiters on one transaction; later ones get the
/// current state at once instead of an unbounded queue.
const MAX_WAITERS: usize = 256;

/// A request's answer channel.
pub type ReplyTo<T> = oneshot::Sender<T>;

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
    /// The start request waits for the first SMS to leave; a resend for its own.
    start_reply: Option<ReplyTo<Reply>>,
    resend_reply: Option<ReplyTo<Reply>>,
    /// Rebuilt from the store: re-arm timers instead of starting over.
    resumed: bool,
    /// The SMS code in clear (the method's or the prepared fallback's). Never persisted: the
    /// record holds its MAC only. `None` after a rebuild from the store.
    sms_code: Option<String>,
    /// The last store write failed: the store holds an older version than this actor (see
    /// `persist.rs`). Counts the rewrites tried since.
    unsaved: Option<u32>,
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
            sms_code: None,
            unsaved: None,
        }
    }

    /// Hands the actor the SMS code in clear, drawn at start.
    pub fn with_sms_code(mut self, code: Option<String>) -> Self {
        self.sms_code = code;
        self
    }

    /// A new code for this transaction's SMS, in clear and as its MAC. The caller holds it in
    /// `sms_code` while the machine decides (the send is one of the step's effects) and drops it
    /// again if the machine refused the MAC.
    fn draw_sms_code(&self) -> Option<(String, String)> {
        let length = self
            .txn
            .code
            .as_ref()
            .or(self.txn.fallback.as_ref().map(|f| &f.code))?
            .code_length;
        let mut digits = [0u8; 10];
        let mut rng = rand::rng();
        for d in &mut digits {
            *d = rand::Rng::random_range(&mut rng, 0..10);
        }
        let code = super::start::replacement_code(&digits, length);
        let mac = self.svc.code_key.mac(self.txn.id, &code);
        Some((code, mac))
    }

    /// Feeds one input and applies the effects; `done` runs with the reply once the change is
    /// stored.
    fn feed(
        &mut self,
        input: Input<'_>,
        ctx: &mut Context<Self>,
        done: impl FnOnce(&mut Self, Reply) + 'static,
    ) {
        let now = self.svc.clock.now();
        let trigger = match input {
            Input::Timer(TimerKind::Fallback) => "fallback_after",
            _ => "delivery_failure",
        };
        let step = machine::step(Arc::make_mut(&mut self.txn), input, now);
        if step.effects.contains(&Effect::Emit(
            crate::model::EventName::MobileAuthFallbackStarted,
        )) {
            crate::telemetry::fallback(trigger);
        }
        self.run(step, ctx, done);
    }

    fn run(
        &mut self,
        step: Step,
        ctx: &mut Context<Self>,
        done: impl FnOnce(&mut Self, Reply) + 'static,
    ) {
        let Step { reply, effects } = step;
        if effects.first() == Some(&Effect::Persist) {
            ctx.wait(self.write().map(move |res, act, ctx| {
                act.written(res, ctx);
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
                Effect::ArmTimer { kind, at } => self.arm(kind, at, ctx),
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
                    let event = TxnRef::of(&self.txn).event(name, now);
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
                    crate::telemetry::transaction_finished(&self.txn);
                    for w in self.waiters.drain(..) {
                        let _ = w.send(self.txn.clone());
                    }
                    self.unindex();
                }
            }
        }
    }

    /// A final transaction leaves its devices' pending indexes (their lists and badges).
    fn unindex(&self) {
        let Some(push) = &self.txn.push else { return };
        let devices: Vec<String> = push.targets.iter().map(|t| t.device_id.clone()).collect();
        let (store, id) = (self.svc.store.clone(), self.txn.id);
        actix::spawn(async move {
            for device in devices {
                if let Err(e) = store.remove_device_txn(&device, id).await {
                    tracing::warn!(error = %e, "could not unindex a finished transaction");
                }
            }
        });
    }

    fn send_sms(&mut self, resend: bool, ctx: &mut Context<Self>) {
        let Some(code) = &self.txn.code else { return };
        // Known unless the actor was rebuilt, and then `Rearm` / `Resend` drew a new one.
        let clear = self.sms_code.clone().unwrap_or_default();
        let msg = SmsMessage {
            transaction_id: self.txn.id,
            to: code.phone_number.clone(),
            body: super::start::sms_text(&code.template, &clear),
            code: clear,
            sender_id: code.sender_id.clone(),
        };
        let sms = self.svc.sms.clone();
        let send = async move { sms.send(&msg).await };
        ctx.spawn(send.into_actor(self).map(move |res, act, ctx| {
            let ok = res.is_ok();
            act.feed(Input::SmsDelivered { ok, resend }, ctx, move |act, _| {
                let reply = if ok {
                    Reply::Done
                } else {
                    Reply::Refused(machine::Refusal::Ignored)
                };
                let slot = if resend {
                    &mut act.resend_reply
                } else {
                    &mut act.start_reply
                };
                if let Some(tx) = slot.take() {
                    let _ = tx.send(reply);
                }
            });
        }));
    }

    /// One delivery per device, concurrently; each outcome comes back as a `PushReport`.
    fn send_push(&mut self, device_ids: Vec<String>, _resend: bool, ctx: &mut Context<Self>) {
        for device_id in device_ids {
            let svc = self.svc.clone();
            let txn = Arc::clone(&self.txn);
            let me = ctx.address();
            actix::spawn(async move {
                let ok = super::delivery::push_to(&svc, &txn, &device_id)
                    .await
                    .is_ok();
                me.do_send(PushReport { device_id, ok });
            });
        }
    }

    fn arm(&mut self, kind: TimerKind, at: crate::model::Millis, ctx: &mut Context<Self>) {
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

    fn stop_if_final(&mut self, ctx: &mut Context<Self>) {
        // A final state the store does not have yet keeps the actor (and its rewrites) alive.
        if self.txn.is_final() && self.unsaved.is_none() {
            if let Some(tx) = self.start_reply.take() {
                let _ = tx.send(Reply::Refused(machine::Refusal::Final(self.txn.status)));
            }
            ctx.stop();
        }
    }

    /// The transaction as it is now.
    pub fn txn(&self) -> &Transaction {
        &self.txn
    }
}

impl Actor for TransactionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.parents.shard.do_send(Register {
            id: self.txn.id,
            addr: ctx.address(),
        });
        if self.resumed {
            // Rebuilt from the store: the deadlines are absolute, re-arm what is still due.
            ctx.notify(Rearm);
        } else {
            crate::telemetry::transaction_started(&self.txn);
            self.feed(Input::Start, ctx, |act, _| {
                // SMS: the start answers once the gateway did (see `send_sms`).
                if (act.txn.method != Method::Sms || act.txn.code.is_none())
                    && let Some(tx) = act.start_reply.take()
                {
                    let _ = tx.send(Reply::Done);
                }
            });
        }
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        self.parents.shard.do_send(Unregister { id: self.txn.id });
        self.parents.manager.do_send(ChildStopped {
            id: self.txn.id,
            finished: self.txn.is_final(),
        });
        for w in self.waiters.drain(..) {
            let _ = w.send(self.txn.clone());
        }
    }
}

// === messages ===

/// Re-arm timers after a rebuild.
#[derive(Message)]
#[rtype(result = "()")]
struct Rearm;

impl Handler<Rearm> for TransactionActor {
    type Result = ();
    fn handle(&mut self, _: Rearm, ctx: &mut Context<Self>) {
        // The clear SMS code died with the previous actor: a code nobody received yet (the
        // prepared fallback's) is replaced now; a sent one stays valid until a resend.
        let unsent = self
            .txn
            .code
            .as_ref()
            .is_some_and(|c| c.last_sent_at.is_none())
            || self.txn.fallback.is_some();
        if self.sms_code.is_none()
            && unsent
            && let Some((code, mac)) = self.draw_sms_code()
        {
            self.sms_code = Some(code);
            self.feed(Input::Rekey { code_hmac: &mac }, ctx, |act, r| {
                if r != Reply::Done {
                    act.sms_code = None;
                }
            });
        }
        self.arm(TimerKind::Expiry, self.txn.deadline, ctx);
        if self.txn.method.is_push()
            && let Some(at) = self.txn.fallback.as_ref().and_then(|f| f.at)
        {
            self.arm(TimerKind::Fallback, at, ctx);
        }
    }
}

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
        let input = Input::PushDelivered {
            device_id: &msg.device_id,
            ok: msg.ok,
        };
        self.feed(input, ctx, |_, _| {});
    }
}

/// The portal submits an SMS code.
#[derive(Message)]
#[rtype(result = "()")]
pub struct VerifyCode {
    pub user_id: String,
    pub code: String,
    pub reply: ReplyTo<Reply>,
}

impl Handler<VerifyCode> for TransactionActor {
    type Result = ();
    fn handle(&mut self, msg: VerifyCode, ctx: &mut Context<Self>) {
        if self.txn.user_id.as_deref() != Some(msg.user_id.as_str()) {
            let _ = msg
                .reply
                .send(Reply::Refused(machine::Refusal::WrongMethod));
            return;
        }
        let reply = msg.reply;
        let code_hmac = self.svc.code_key.mac(self.txn.id, &msg.code);
        self.feed(
            Input::VerifyCode {
                code_hmac: &code_hmac,
            },
            ctx,
            move |_, r| {
                let _ = reply.send(r);
            },
        );
    }
}

/// The portal asks for the SMS (or push) to be sent again.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Resend {
    /// SMS resends name the user; push resends do not.
    pub user_id: Option<String>,
    pub reply: ReplyTo<Reply>,
}

impl Handler<Resend> for TransactionActor {
    type Result = ();
    fn handle(&mut self, msg: Resend, ctx: &mut Context<Self>) {
        if msg.user_id.is_some() && self.txn.user_id != msg.user_id {
            let _ = msg
                .reply
                .send(Reply::Refused(machine::Refusal::WrongMethod));
            return;
        }
        if self.resend_reply.is_some() {
            // One resend at a time: the previous one is still with the gateway.
            let _ = msg
                .reply
                .send(Reply::Refused(machine::Refusal::ResendTooSoon {
                    retry_after_ms: 1000,
                }));
            return;
        }
        let reply = msg.reply;
        let sms = self.txn.method == Method::Sms;
        let fresh = if sms && self.sms_code.is_none() {
            self.draw_sms_code()
        } else {
            None
        };
        let input = Input::Resend {
            fresh_code_hmac: fresh.as_ref().map(|(_, mac)| mac.as_str()),
        };
        let drew = fresh.is_some();
        if let Some((code, _)) = &fresh {
            self.sms_code = Some(code.clone());
        }
        self.feed(input, ctx, move |act, r| {
            if drew && r != Reply::Done {
                act.sms_code = None;
            }
            let waits_for_gateway = r == Reply::Done && act.txn.method == Method::Sms;
            if waits_for_gateway {
                act.resend_reply = Some(reply);
            } else {
                let _ = reply.send(r);
            }
        });
    }
}

/// The portal (or an operator) cancels.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Cancel {
    pub reply: ReplyTo<Reply>,
}

impl Handler<Cancel> for TransactionActor {
    type Result = ();
    fn handle(&mut self, msg: Cancel, ctx: &mut Context<Self>) {
        let reply = msg.reply;
        self.feed(Input::Cancel, ctx, move |_, r| {
            let _ = reply.send(r);
        });
    }
}

/// Long-poll: answered with the transaction once it is final (or when the actor stops).
#[derive(Message)]
#[rtype(result = "()")]
pub struct WaitFinal {
    pub reply: ReplyTo<Arc<Transaction>>,
}

impl Handler<WaitFinal> for TransactionActor {
    type Result = ();
    fn handle(&mut self, msg: WaitFinal, _ctx: &mut Context<Self>) {
        self.waiters.retain(|w| !w.is_closed());
        if self.txn.is_final() || self.waiters.len() >= MAX_WAITERS {
            let _ = msg.reply.send(self.txn.clone());
        } else {
            self.waiters.push(msg.reply);
        }
    }
}
