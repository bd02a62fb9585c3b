//! The transaction actor's messages from devices: fetch, answer, OTP redemption, removal.

use std::sync::Arc;

use std::future::Future;
use std::pin::Pin;

use actix::prelude::*;

use super::{ReplyTo, TransactionActor};
use crate::enroll::authenticators::Consequence;
use crate::error::DeviceError;
use crate::model::Transaction;
use crate::txn::machine::{self, DeviceAnswer, Input, Reply, TokenCheck};

/// A device fetches the transaction document (once).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Fetch {
    pub device_id: String,
    pub reply: ReplyTo<(Reply, Arc<Transaction>)>,
}

impl Handler<Fetch> for TransactionActor {
    type Result = ();
    fn handle(&mut self, msg: Fetch, ctx: &mut Context<Self>) {
        let reply = msg.reply;
        self.feed(
            Input::Fetch {
                device_id: &msg.device_id,
            },
            ctx,
            move |act, r| {
                let _ = reply.send((r, act.txn.clone()));
            },
        );
    }
}

/// Checks the answer's authenticator token against the device (and counts a failure there).
pub type TokenCheckFuture =
    Pin<Box<dyn Future<Output = Result<(TokenCheck, Consequence), DeviceError>> + Send + 'static>>;

/// A device's decrypted answer. Its token is checked here, while the actor reads no other
/// message, so concurrent answers are counted and decided one after the other.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Answer {
    /// With `token` still unset.
    pub answer: DeviceAnswer,
    pub check: TokenCheckFuture,
    pub reply: ReplyTo<Result<(Reply, Consequence), DeviceError>>,
}

impl Handler<Answer> for TransactionActor {
    type Result = ();
    fn handle(&mut self, msg: Answer, ctx: &mut Context<Self>) {
        let Answer {
            mut answer,
            check,
            reply,
        } = msg;
        // Nothing to decide (finished, or not this device's): count no token.
        if let Err(refusal) = machine::may_answer(&self.txn, &answer.device_id) {
            let _ = reply.send(Ok((Reply::Refused(refusal), Consequence::None)));
            return;
        }
        ctx.wait(
            check
                .into_actor(self)
                .map(move |checked, act, ctx| match checked {
                    Ok((token, consequence)) => {
                        answer.token = token;
                        act.feed(Input::Answer(answer), ctx, move |_, r| {
                            let _ = reply.send(Ok((r, consequence)));
                        });
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }),
        );
    }
}

/// The app redeems an OTP: binds the transaction to the device's user.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RedeemOtp {
    pub secret_sha256: String,
    pub user_id: String,
    pub device_id: String,
    pub reply: ReplyTo<(Reply, Arc<Transaction>)>,
}

impl Handler<RedeemOtp> for TransactionActor {
    type Result = ();
    fn handle(&mut self, msg: RedeemOtp, ctx: &mut Context<Self>) {
        let reply = msg.reply;
        let input = Input::RedeemOtp {
            secret_sha256: &msg.secret_sha256,
            user_id: &msg.user_id,
            device_id: &msg.device_id,
        };
        self.feed(input, ctx, move |act, r| {
            let _ = reply.send((r, act.txn.clone()));
        });
    }
}

/// A targeted device was deleted or disconnected.
#[derive(Message)]
#[rtype(result = "()")]
pub struct DeviceRemoved {
    pub device_id: String,
    pub reply: ReplyTo<Reply>,
}

impl Handler<DeviceRemoved> for TransactionActor {
    type Result = ();
    fn handle(&mut self, msg: DeviceRemoved, ctx: &mut Context<Self>) {
        // Answered once the change is stored: the device's removal waits for it.
        let reply = msg.reply;
        self.feed(
            Input::DeviceRemoved {
                device_id: &msg.device_id,
            },
            ctx,
            move |_, r| {
                let _ = reply.send(r);
            },
        );
    }
}
