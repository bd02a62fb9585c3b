//! `TypeManager`: one per mobile authentication type per shard. Starts the transaction actors of
//! its type, counts them, and supervises them: an actor that stops while its transaction is still
//! pending is rebuilt from the store with its timers re-armed.

use std::sync::Arc;

use actix::prelude::*;

use super::actor::{Opening, ReplyTo, TransactionActor};
use super::machine::Reply;
use super::services::Services;
use super::shard::{Resume, Shard};
use crate::model::{Transaction, TxnId};

/// A transaction actor's own mailbox: a handful of requests at a time is all one user makes.
pub(crate) const TXN_MAILBOX: usize = 32;

/// The addresses a transaction actor reports to. Shared by all children of a manager: every
/// `Addr` clone allocates its own sender state, and at a million pending transactions two
/// clones per child would cost more than the child's record.
pub struct Parents {
    pub shard: Addr<Shard>,
    pub manager: Addr<TypeManager>,
}

pub struct TypeManager {
    type_name: String,
    svc: Arc<Services>,
    shard: Addr<Shard>,
    parents: Option<Arc<Parents>>,
    /// Live children; which ones the shard's index knows (no second map per transaction).
    active: usize,
}

impl TypeManager {
    pub fn new(type_name: String, svc: Arc<Services>, shard: Addr<Shard>) -> Self {
        Self {
            type_name,
            svc,
            shard,
            parents: None,
            active: 0,
        }
    }

    fn spawn(
        &mut self,
        txn: Arc<Transaction>,
        opening: Opening,
        reply: Option<ReplyTo<Reply>>,
        ctx: &mut Context<Self>,
    ) {
        self.active += 1;
        let svc = self.svc.clone();
        let parents = self
            .parents
            .get_or_insert_with(|| {
                Arc::new(Parents {
                    shard: self.shard.clone(),
                    manager: ctx.address(),
                })
            })
            .clone();
        TransactionActor::create(move |actx| {
            actx.set_mailbox_capacity(TXN_MAILBOX);
            TransactionActor::new(txn, svc, parents, reply).opening(opening)
        });
    }
}

impl Actor for TypeManager {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct StartTxn {
    pub txn: Transaction,
    pub sms_code: Option<String>,
    pub fell_back: bool,
    pub reply: ReplyTo<Reply>,
}

impl Handler<StartTxn> for TypeManager {
    type Result = ();
    fn handle(&mut self, msg: StartTxn, ctx: &mut Context<Self>) {
        let opening = Opening {
            sms_code: msg.sms_code,
            fell_back: msg.fell_back,
        };
        self.spawn(Arc::new(msg.txn), opening, Some(msg.reply), ctx);
    }
}

/// Take over a pending transaction read from the store.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Adopt {
    pub txn: Arc<Transaction>,
}

impl Handler<Adopt> for TypeManager {
    type Result = ();
    fn handle(&mut self, msg: Adopt, ctx: &mut Context<Self>) {
        // The shard adopts only ids its index does not hold (`Resume`).
        // The SMS code in clear is gone with the old actor (see `Rearm`).
        self.spawn(msg.txn, Opening::default(), None, ctx);
    }
}

/// A child stopped; `finished` says whether its transaction reached a final state.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ChildStopped {
    pub id: TxnId,
    pub finished: bool,
}

impl Handler<ChildStopped> for TypeManager {
    type Result = ();
    fn handle(&mut self, msg: ChildStopped, ctx: &mut Context<Self>) {
        self.active = self.active.saturating_sub(1);
        if msg.finished {
            return;
        }
        // Supervision: a pending transaction must keep its actor, or nothing would expire it.
        tracing::warn!(type_name = %self.type_name, transaction_id = %msg.id, "restarting transaction actor");
        let store = self.svc.store.clone();
        let shard = self.shard.clone();
        let id = msg.id;
        ctx.spawn(
            async move {
                if let Ok(Some(txn)) = store.get(id).await {
                    shard.do_send(Resume { txn });
                }
            }
            .into_actor(self),
        );
    }
}
