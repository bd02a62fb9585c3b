//! What the portal asks a transaction: verify an SMS code, resend, cancel, long-poll.

use std::sync::Arc;

use actix::prelude::*;

use super::{MAX_WAITERS, ReplyTo, Resent, TransactionActor};
use crate::model::{Method, Transaction};
use crate::txn::machine::{Input, Reply};

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
        let reply = msg.reply;
        let code_hmac = self.svc.code_key.mac(self.txn.id, &msg.code);
        self.feed(
            Input::VerifyCode {
                user_id: &msg.user_id,
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
    pub reply: ReplyTo<Resent>,
}

impl Handler<Resend> for TransactionActor {
    type Result = ();
    fn handle(&mut self, msg: Resend, ctx: &mut Context<Self>) {
        let reply = msg.reply;
        let in_flight = self.resend_reply.is_some();
        let sms = self.txn.method == Method::Sms;
        let fresh = if sms && !in_flight && self.sms_code.is_none() {
            self.draw_sms_code()
        } else {
            None
        };
        let input = Input::Resend {
            user_id: msg.user_id.as_deref(),
            in_flight,
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
                let _ = reply.send(Ok(r));
            }
        });
    }
}

/// The portal (or an operator) cancels.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Cancel {
    /// An operator's API client (admin API): the cancel event names it instead of the owner.
    pub by: Option<String>,
    pub reply: ReplyTo<Reply>,
}

impl Handler<Cancel> for TransactionActor {
    type Result = ();
    fn handle(&mut self, msg: Cancel, ctx: &mut Context<Self>) {
        let reply = msg.reply;
        self.acting = msg.by.map(String::into_boxed_str);
        self.feed(Input::Cancel, ctx, move |act, r| {
            act.acting = None;
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
    fn handle(&mut self, msg: WaitFinal, ctx: &mut Context<Self>) {
        if self.stale {
            // Another node changed it: look before deciding to wait.
            ctx.wait(self.reload().map(|(), act, ctx| {
                act.stale = false;
                act.handle(msg, ctx);
            }));
            return;
        }
        self.waiters.retain(|w| !w.is_closed());
        if self.txn.is_final() || self.waiters.len() >= MAX_WAITERS {
            let _ = msg.reply.send(self.txn.clone());
        } else {
            self.waiters.push(msg.reply);
        }
    }
}

/// The transaction as this actor holds it (its owner never changes, so this answers ownership
/// checks without a store read).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Peek {
    pub reply: ReplyTo<Arc<Transaction>>,
}

impl Handler<Peek> for TransactionActor {
    type Result = ();
    fn handle(&mut self, msg: Peek, _ctx: &mut Context<Self>) {
        let _ = msg.reply.send(self.txn.clone());
    }
}
