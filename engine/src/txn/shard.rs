//! A shard: the actors of the transactions whose ids hash to it, on one arbiter (one core).
//! Lookups are a map read in the shard's own thread — no lock shared between cores.

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use actix::dev::ToEnvelope;
use actix::prelude::*;

use super::actor::{Refresh, ReplyTo, TransactionActor};
use super::machine::Reply;
use super::manager::{Adopt, StartTxn, TypeManager};
use super::services::Services;
use crate::model::{Transaction, TxnId};
use crate::store::Change;

/// Who waits for an actor that is being built: `Borrow` requests get its address once it
/// registers.
type Waiting = Vec<ReplyTo<Option<Addr<TransactionActor>>>>;

/// Change notices remembered for transactions without an actor here: an actor built from a
/// record read just before another node's change would otherwise never hear of it. A few
/// seconds of notices at thousands of writes a second; the window they cover is milliseconds.
const SEEN: usize = 16_384;

/// Requests from every connection of a core pass through here: room for bursts, and beyond
/// that the API answers 503 instead of queueing without bound.
pub const SHARD_MAILBOX: usize = 8192;
const MANAGER_MAILBOX: usize = 4096;

thread_local! {
    /// The index of the shard this thread's arbiter runs, set when the shard starts there.
    static HERE: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The shard running on this thread, if any: a start served here takes an id of this shard
/// ([`TxnId::random_in_shard`]) so its actor runs on the thread that serves the request. Only a
/// hint — an id of any shard is valid everywhere; a miss costs one hop between threads.
pub fn here() -> Option<usize> {
    HERE.get()
}

/// Marks this thread as running shard `index` (from the shard's own constructor, on its
/// arbiter).
pub fn mark_here(index: usize) {
    HERE.set(Some(index));
}

pub struct Shard {
    svc: Arc<Services>,
    index: HashMap<TxnId, Addr<TransactionActor>>,
    managers: HashMap<String, Addr<TypeManager>>,
    /// Handed to a manager to rebuild, not yet registered: a second `Resume` or `Borrow` in that
    /// window must not start a second actor; borrowers wait here for its address. Only
    /// restarts and requests for other nodes' transactions fill it, so it stays tiny.
    resuming: HashMap<TxnId, (Waiting, u64)>,
    /// The newest change heard of per transaction without an actor here (and whether that
    /// version is final), oldest first in `seen_order`; at most [`SEEN`].
    seen: HashMap<TxnId, (u64, bool)>,
    seen_order: VecDeque<TxnId>,
    /// Transaction actors started through this shard and not yet stopped.
    live: usize,
}

impl Shard {
    pub fn new(svc: Arc<Services>) -> Self {
        Self {
            svc,
            index: HashMap::new(),
            resuming: HashMap::new(),
            seen: HashMap::new(),
            seen_order: VecDeque::new(),
            live: 0,
            managers: HashMap::new(),
        }
    }

    fn manager(&mut self, type_name: &str, ctx: &mut Context<Self>) -> Addr<TypeManager> {
        if let Some(m) = self.managers.get(type_name) {
            return m.clone();
        }
        let svc = self.svc.clone();
        let shard = ctx.address();
        let name = type_name.to_owned();
        let addr = TypeManager::create(move |mctx| {
            mctx.set_mailbox_capacity(MANAGER_MAILBOX);
            TypeManager::new(name, svc, shard)
        });
        self.managers.insert(type_name.to_owned(), addr.clone());
        addr
    }
}

impl Actor for Shard {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(SHARD_MAILBOX);
    }
}

/// Start a prepared transaction on this shard.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Start {
    pub txn: Transaction,
    /// The SMS code in clear, for the actor's memory only.
    pub sms_code: Option<String>,
    /// The start fell back from the requested method.
    pub fell_back: bool,
    pub reply: ReplyTo<Reply>,
}

impl Handler<Start> for Shard {
    type Result = ();
    fn handle(&mut self, msg: Start, ctx: &mut Context<Self>) {
        let manager = self.manager(&msg.txn.type_name, ctx);
        // A full manager mailbox drops the request; the caller sees its reply channel close.
        let sent = manager.try_send(StartTxn {
            txn: msg.txn,
            sms_code: msg.sms_code,
            fell_back: msg.fell_back,
            reply: msg.reply,
        });
        match sent {
            Ok(()) => self.live += 1,
            Err(SendError::Full(_)) => crate::telemetry::mailbox_rejected(),
            Err(SendError::Closed(_)) => {}
        }
    }
}

/// Rebuild the actor of a pending transaction read from the store (restart, supervision).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Resume {
    pub txn: Arc<Transaction>,
}

impl Handler<Resume> for Shard {
    type Result = ();
    fn handle(&mut self, msg: Resume, ctx: &mut Context<Self>) {
        if let Some(actor) = self.index.get(&msg.txn.id).filter(|a| a.connected()) {
            // Taken over while this node held it for a request: it reloads and runs the timers.
            actor.do_send(Refresh {
                version: None,
                finished: false,
            });
            return;
        }
        self.adopt(msg.txn, None, ctx);
    }
}

impl Shard {
    /// Builds the actor of a pending transaction read from the store, unless one is on its way;
    /// `waiter` hears its address once it registers.
    fn adopt(
        &mut self,
        txn: Arc<Transaction>,
        waiter: Option<ReplyTo<Option<Addr<TransactionActor>>>>,
        ctx: &mut Context<Self>,
    ) {
        if txn.is_final() {
            if let Some(w) = waiter {
                let _ = w.send(None);
            }
            return;
        }
        if let Some((waiting, _)) = self.resuming.get_mut(&txn.id) {
            waiting.extend(waiter);
            return;
        }
        self.resuming
            .insert(txn.id, (waiter.into_iter().collect(), txn.version));
        self.live += 1;
        let manager = self.manager(&txn.type_name, ctx);
        manager.do_send(Adopt { txn });
    }
}

/// The actor of a pending transaction this node may hold no actor for (another node started
/// it, or this one before a restart): the one here, or one built from `txn` as read from the
/// store. It runs the timers only if the transaction is this node's.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Borrow {
    pub txn: Arc<Transaction>,
    pub reply: ReplyTo<Option<Addr<TransactionActor>>>,
}

impl Handler<Borrow> for Shard {
    type Result = ();
    fn handle(&mut self, msg: Borrow, ctx: &mut Context<Self>) {
        if let Some(actor) = self.index.get(&msg.txn.id) {
            if actor.connected() {
                let _ = msg.reply.send(Some(actor.clone()));
                return;
            }
            // Stopped, its `Unregister` still on the way: a new one is built.
            self.index.remove(&msg.txn.id);
        }
        self.adopt(msg.txn, Some(msg.reply), ctx);
    }
}

/// Another node (or this one) stored a new version: an actor here behind it reloads.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Changed {
    pub change: Change,
}

impl Handler<Changed> for Shard {
    type Result = ();
    fn handle(&mut self, msg: Changed, _ctx: &mut Context<Self>) {
        let Change {
            id,
            version,
            finished,
        } = msg.change;
        if let Some(actor) = self.index.get(&id).filter(|a| a.connected()) {
            let _ = actor.try_send(Refresh {
                version: Some(version),
                finished,
            });
            return;
        }
        match self.seen.get_mut(&id) {
            Some(seen) => {
                if version > seen.0 {
                    *seen = (version, finished);
                }
            }
            None => {
                if self.seen_order.len() >= SEEN
                    && let Some(oldest) = self.seen_order.pop_front()
                {
                    self.seen.remove(&oldest);
                }
                self.seen.insert(id, (version, finished));
                self.seen_order.push_back(id);
            }
        }
    }
}

/// Where is this transaction's actor? `None` once it finished (read the store) or if unknown.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Lookup {
    pub id: TxnId,
    pub reply: ReplyTo<Option<Addr<TransactionActor>>>,
}

impl Handler<Lookup> for Shard {
    type Result = ();
    fn handle(&mut self, msg: Lookup, _ctx: &mut Context<Self>) {
        let _ = msg
            .reply
            .send(self.index.get(&msg.id).filter(|a| a.connected()).cloned());
    }
}

/// Builds a request to a transaction actor around the channel its answer comes back on.
pub type MakeRequest<M, R> = Box<dyn FnOnce(ReplyTo<R>) -> M + Send>;

/// Why a [`Forward`] did not reach the actor. Sent on the bounce channel *before* the reply
/// channel is dropped, so the caller, woken by the drop, finds it there.
pub enum Bounce<M, R> {
    /// No live actor here: the request, unbuilt, for the caller to route the slow way.
    NotHere(MakeRequest<M, R>),
    /// The actor's mailbox is full.
    Full,
}

/// A request for the actor of `id`, handed to it by the shard in the shard's own thread: one
/// hop between threads instead of a [`Lookup`] round trip followed by a send — the answer
/// comes from the actor straight to `reply`. `bounce` is only written when the request did not
/// reach the actor (and is dropped unwritten when it did, waking nobody: the caller waits on
/// `reply` alone).
pub struct Forward<M, R> {
    pub id: TxnId,
    pub make: MakeRequest<M, R>,
    pub reply: ReplyTo<R>,
    pub bounce: ReplyTo<Bounce<M, R>>,
}

impl<M, R> Message for Forward<M, R> {
    type Result = ();
}

impl<M, R> Handler<Forward<M, R>> for Shard
where
    M: Message<Result = ()> + Send + 'static,
    R: Send + 'static,
    TransactionActor: Handler<M>,
    <TransactionActor as Actor>::Context: ToEnvelope<TransactionActor, M>,
{
    type Result = ();
    fn handle(&mut self, msg: Forward<M, R>, _ctx: &mut Context<Self>) {
        let Forward {
            id,
            make,
            reply,
            bounce,
        } = msg;
        let Some(actor) = self.index.get(&id).filter(|a| a.connected()) else {
            // The bounce first, then `reply` is dropped: the caller wakes with it waiting.
            let _ = bounce.send(Bounce::NotHere(make));
            drop(reply);
            return;
        };
        match actor.try_send(make(reply)) {
            Ok(()) => {}
            Err(SendError::Full(request)) => {
                let _ = bounce.send(Bounce::Full);
                drop(request);
            }
            // Connected a moment ago on this very thread: cannot happen; the caller, finding no
            // bounce, reads the store as for an actor that stopped with the request queued.
            Err(SendError::Closed(request)) => drop(request),
        }
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Register {
    pub id: TxnId,
    pub addr: Addr<TransactionActor>,
}

impl Handler<Register> for Shard {
    type Result = ();
    fn handle(&mut self, msg: Register, _ctx: &mut Context<Self>) {
        let (waiting, built_from) = self.resuming.remove(&msg.id).unwrap_or_default();
        for waiter in waiting {
            let _ = waiter.send(Some(msg.addr.clone()));
        }
        // Changed while it was being built from an older read: it catches up (after the
        // borrowers' requests, which then wait on it or are fed again on the stored state).
        if let Some((version, finished)) = self.seen.remove(&msg.id)
            && version > built_from
        {
            msg.addr.do_send(Refresh {
                version: Some(version),
                finished,
            });
        }
        self.index.insert(msg.id, msg.addr);
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Unregister {
    pub id: TxnId,
    /// The actor that stopped: a newer one registered under the same id stays.
    pub addr: Addr<TransactionActor>,
}

impl Handler<Unregister> for Shard {
    type Result = ();
    fn handle(&mut self, msg: Unregister, _ctx: &mut Context<Self>) {
        if self.index.get(&msg.id) == Some(&msg.addr) {
            self.index.remove(&msg.id);
        }
        self.live = self.live.saturating_sub(1);
    }
}

/// Number of live transaction actors on this shard.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct ActiveCount;

impl Handler<ActiveCount> for Shard {
    type Result = usize;
    fn handle(&mut self, _: ActiveCount, _ctx: &mut Context<Self>) -> usize {
        self.live
    }
}
