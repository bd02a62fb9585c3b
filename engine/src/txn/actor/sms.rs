//! The SMS side of the actor: the code in clear (never persisted; see `txn::code_key`), sending
//! it, and replacing it when a rebuilt actor no longer knows it.

use actix::prelude::*;

use super::TransactionActor;
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
        let sms = self.svc.sms();
        let send = async move { sms.send(&msg).await };
        ctx.spawn(send.into_actor(self).map(move |res, act, ctx| {
            let ok = res.is_ok();
            act.feed(Input::SmsDelivered { ok, resend }, ctx, move |act, _| {
                let reply = if ok {
                    Reply::Done
                } else {
                    Reply::Refused(machine::Refusal::SmsNotSent)
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
