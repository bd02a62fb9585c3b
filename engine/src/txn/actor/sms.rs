//! The SMS side of the actor: the code in clear (never persisted; see `txn::code_key`), sending
//! it, and replacing it when a rebuilt actor no longer knows it.

use actix::prelude::*;

use super::TransactionActor;
use crate::error::Error;
use crate::outbound::SmsMessage;
use crate::txn::machine::{self, Input, Reply};
use crate::txn::start;

impl TransactionActor {
    /// A new code for this transaction's SMS, in clear and as its MAC. The caller holds it in
    /// `sms_code` while the machine decides (the send is one of the step's effects) and drops it
    /// again if the machine refused the MAC.
    pub(super) fn draw_sms_code(&self) -> Option<(String, String)> {
        let length = self
            .txn
            .code
            .as_ref()
            .or(self.txn.fallback.as_ref().map(|f| &f.code))?
            .code_length;
        let digits = start::random_digits(&mut rand::rng());
        let code = start::code_of(&digits, length);
        let mac = self.svc.code_key.mac(self.txn.id, &code);
        Some((code, mac))
    }

    /// Sends `txn.code` (`resend`: the same code again). The start's own SMS was cleared by
    /// `Engine::start` before the transaction existed (its requester still waits in
    /// `start_reply`); every other send — a resend, a fallback later in the transaction — is
    /// cleared here ([`Services::clear_sms`]: `[sms_policy]`, `sms_per_phone`,
    /// `sms_per_prefix`), before any gateway sees it. A refused send is a send that never left:
    /// a resend is given back and its requester hears why; a later fallback cannot answer
    /// anyone, so the transaction fails (`failed_to_send`) and its event says why.
    ///
    /// [`Services::clear_sms`]: crate::txn::services::Services::clear_sms
    pub(super) fn send_sms(&mut self, resend: bool, ctx: &mut Context<Self>) {
        let Some(code) = &self.txn.code else { return };
        // Known unless the actor was rebuilt, and then `Rearm` / `Resend` drew a new one. Never
        // text a message without its code: report the send as failed instead.
        let Some(clear) = self.sms_code.clone() else {
            tracing::error!(transaction_id = %self.txn.id, "no SMS code in clear to send");
            let input = Input::SmsDelivered { ok: false, resend };
            self.feed(input, ctx, |_, _| {});
            return;
        };
        let msg = SmsMessage {
            transaction_id: self.txn.id,
            to: code.phone_number.clone(),
            body: start::sms_text(&code.template, &clear),
            code: clear,
            sender_id: code.sender_id.clone(),
        };
        let cleared = !resend && self.start_reply.is_some();
        let svc = self.svc.clone();
        let send = async move {
            if !cleared {
                svc.clear_sms(&msg.to).await.map_err(Some)?;
            }
            svc.sms().send(&msg).await.map(drop).map_err(|_| None)
        };
        ctx.spawn(send.into_actor(self).map(move |res, act, ctx| {
            let ok = res.is_ok();
            // `Some`: refused before any gateway; `None`: the gateways failed.
            let refused = res.err().flatten();
            if let Some(why) = &refused {
                tracing::warn!(transaction_id = %act.txn.id, resend, reason = %unsent(why), "SMS not sent");
                act.unsent = Some(unsent(why).into());
            }
            act.feed(Input::SmsDelivered { ok, resend }, ctx, move |act, _| {
                act.unsent = None;
                if resend {
                    let reply = match refused {
                        Some(why) => Err(why),
                        None if ok => Ok(Reply::Done),
                        None => Ok(Reply::Refused(machine::Refusal::SmsNotSent)),
                    };
                    if let Some(tx) = act.resend_reply.take() {
                        let _ = tx.send(reply);
                    }
                } else if let Some(tx) = act.start_reply.take() {
                    let _ = tx.send(if ok {
                        Reply::Done
                    } else {
                        Reply::Refused(machine::Refusal::SmsNotSent)
                    });
                }
            });
        }));
    }

    /// After a rebuild the clear SMS code died with the previous actor: a code nobody received
    /// yet (the prepared fallback's) is replaced now; a sent one stays valid until a resend.
    pub(super) fn rekey_lost_sms_code(&mut self, ctx: &mut Context<Self>) {
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
    }
}

/// Why an SMS was refused before its gateway, for its event and the log: the limit or the
/// policy, never the number (nor the policy's prefix, which would tell part of it).
fn unsent(why: &Error) -> String {
    match why {
        Error::Limited(refused) => format!("SMS not sent: {refused}"),
        Error::PhoneNotAllowed(_) => {
            "SMS not sent: the destination is outside the SMS policy ([sms_policy])".into()
        }
        _ => "SMS not sent: the SMS limits could not be checked (store unavailable)".into(),
    }
}
