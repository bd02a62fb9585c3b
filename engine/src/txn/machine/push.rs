//! The push family: fetching the document, answers (authenticators, number matching, signing,
//! first answer wins), OTP redemption and removed devices.

use subtle::ConstantTimeEq;

use super::finish::{ACCEPTED, finish, finish_answered};
use super::{DeviceAnswer, Effect, Refusal, Reply, Step, TokenCheck};
use crate::enroll::authenticators;
use crate::model::{EventName, Method, Millis, PushTarget, Reason, Transaction};

/// The push target `device_id`, if the transaction was addressed to that device.
fn target<'t>(txn: &'t Transaction, device_id: &str) -> Option<&'t PushTarget> {
    txn.push
        .as_ref()
        .and_then(|p| p.targets.iter().find(|t| t.device_id == device_id))
}

/// Whether the transaction waits for `device_id` to fetch it: its line in the device's pending
/// list.
pub fn awaits_fetch(txn: &Transaction, device_id: &str) -> bool {
    !txn.is_final()
        && txn.method != Method::Sms
        && target(txn, device_id).is_some_and(|t| !t.fetched)
}

/// Whether `device_id` may answer the transaction now. Asked before the answer is decrypted or
/// its token counted against the device (a token must never be counted for a transaction that
/// was not addressed to the device, or is over), and again by the machine with the answer.
pub fn may_answer(txn: &Transaction, device_id: &str) -> Result<(), Refusal> {
    if target(txn, device_id).is_none() {
        return Err(Refusal::UnknownDevice);
    }
    if txn.is_final() {
        return Err(Refusal::Final(txn.status));
    }
    if !txn.method.is_push() && txn.method != Method::Otp {
        return Err(Refusal::WrongMethod);
    }
    Ok(())
}

pub(super) fn fetch(txn: &mut Transaction, device_id: &str) -> Step {
    let Some(target) = txn
        .push
        .as_mut()
        .and_then(|p| p.targets.iter_mut().find(|t| t.device_id == device_id))
    else {
        return Step::refused(Refusal::UnknownDevice);
    };
    if target.fetched {
        return Step::refused(Refusal::AlreadyFetched);
    }
    target.fetched = true;
    Step {
        reply: Reply::Done,
        effects: vec![Effect::Persist],
    }
}

pub(super) fn answer_push(txn: &mut Transaction, answer: DeviceAnswer, now: Millis) -> Step {
    if let Err(refusal) = may_answer(txn, &answer.device_id) {
        return Step::refused(refusal);
    }
    if !answer.accepted {
        let reason = if answer.fraud {
            Reason::FraudReported
        } else {
            Reason::NotAccepted
        };
        return finish_answered(txn, reason, answer, now);
    }
    if !authenticators::accepted(txn.method).is_empty() {
        if answer.token != TokenCheck::Missing {
            txn.used_authentication_attempts += 1;
        }
        match answer.token {
            TokenCheck::Missing => return Step::refused(Refusal::TokenRequired),
            TokenCheck::Valid => {}
            TokenCheck::Invalid { remaining_attempts } => {
                return Step {
                    reply: Reply::Refused(Refusal::InvalidAuthenticator { remaining_attempts }),
                    effects: vec![
                        Effect::Persist,
                        Effect::Emit(EventName::PushAuthInvalidAnswer),
                    ],
                };
            }
            TokenCheck::Revoked => {
                return Step {
                    reply: Reply::Refused(Refusal::AuthenticatorRevoked),
                    effects: vec![Effect::Persist],
                };
            }
            TokenCheck::Disconnected => {
                let mut out = finish_answered(txn, Reason::InvalidAnswer, answer, now);
                out.reply = Reply::Refused(Refusal::DeviceDisconnected);
                out.effects
                    .insert(0, Effect::Emit(EventName::PushAuthPinLimitExceeded));
                return out;
            }
        }
    }
    let challenge = txn.push.as_ref().and_then(|p| p.number_challenge);
    if challenge.is_some() && answer.number != challenge {
        return finish_answered(txn, Reason::InvalidAnswer, answer, now);
    }
    let signing = txn.push.as_ref().is_some_and(|p| p.signing_required);
    if signing && !answer.signature.as_ref().is_some_and(|s| s.verified) {
        return finish_answered(txn, Reason::InvalidAnswer, answer, now);
    }
    finish_answered(txn, ACCEPTED, answer, now)
}

pub(super) fn redeem_otp(
    txn: &mut Transaction,
    secret_sha256: &str,
    user_id: &str,
    device_id: &str,
) -> Step {
    if txn.method != Method::Otp {
        return Step::refused(Refusal::WrongMethod);
    }
    // Single use: the hash is cleared when redeemed.
    let Some(expected) = txn.otp_sha256.as_deref() else {
        return Step::refused(Refusal::InvalidOtp);
    };
    if !bool::from(expected.as_bytes().ct_eq(secret_sha256.as_bytes())) {
        return Step::refused(Refusal::InvalidOtp);
    }
    txn.otp_sha256 = None;
    txn.otp_sealed = None;
    txn.user_id = Some(user_id.to_owned());
    let push = txn.push.get_or_insert_with(Default::default);
    // Redeeming returns the document: that is this device's one fetch.
    push.targets = vec![crate::model::PushTarget {
        device_id: device_id.to_owned(),
        fetched: true,
        delivered: Some(true),
    }];
    Step {
        reply: Reply::Done,
        effects: vec![Effect::Persist],
    }
}

pub(super) fn device_removed(txn: &mut Transaction, device_id: &str, now: Millis) -> Step {
    let Some(push) = txn.push.as_mut() else {
        return Step::refused(Refusal::Ignored);
    };
    if txn.method == Method::Sms {
        return Step::refused(Refusal::Ignored);
    }
    let before = push.targets.len();
    push.targets.retain(|t| t.device_id != device_id);
    if push.targets.len() == before {
        return Step::refused(Refusal::Ignored);
    }
    if push.targets.is_empty() {
        return finish(txn, Reason::DeviceRemoved, now);
    }
    Step {
        reply: Reply::Done,
        effects: vec![Effect::Persist],
    }
}
