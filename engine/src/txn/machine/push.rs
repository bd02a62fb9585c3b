//! The push family: fetching the document, answers (authenticators, number matching, signing,
//! first answer wins), OTP redemption and removed devices.

use subtle::ConstantTimeEq;

use super::finish::{ACCEPTED, finish, finish_answered};
use super::{DeviceAnswer, Effect, Refusal, Reply, Step, TokenCheck};
use crate::model::{EventName, Method, Millis, Reason, Transaction};

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
    if !txn.method.is_push() && txn.method != Method::Otp {
        return Step::refused(Refusal::WrongMethod);
    }
    let known = txn
        .push
        .as_ref()
        .is_some_and(|p| p.targets.iter().any(|t| t.device_id == answer.device_id));
    if !known {
        return Step::refused(Refusal::UnknownDevice);
    }
    if !answer.accepted {
        let reason = if answer.fraud {
            Reason::FraudReported
        } else {
            Reason::NotAccepted
        };
        return finish_answered(txn, reason, answer, now);
    }
    let needs_token = matches!(
        txn.method,
        Method::PushWithPin | Method::PushWithFingerprint | Method::PushWithCustomAuthenticator
    );
    if needs_token {
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
