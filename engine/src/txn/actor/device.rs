//! The transaction actor's messages from devices: fetch, answer, OTP redemption, removal.

use std::sync::Arc;

use actix::prelude::*;

use super::{ReplyTo, TransactionActor};
use crate::model::Transaction;
use crate::txn::machine::{DeviceAnswer, Input, Reply};

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

/// A device's decrypted, checked answer.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Answer {
    pub answer: DeviceAnswer,
    pub reply: ReplyTo<Reply>,
}

impl Handler<Answer> for TransactionActor {
    type Result = ();
    fn handle(&mut self, msg: Answer, ctx: &mut Context<Self>) {
        let reply = msg.reply;
        self.feed(Input::Answer(msg.answer), ctx, move |_, r| {
            let _ = reply.send(r);
        });
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
        self.feed(
            Input::DeviceRemoved {
                device_id: &msg.device_id,
            },
            ctx,
            |_, _| {},
        );
    }
}
