//! Final states: the first one wins; each emits its vendor event, wakes waiters and calls back.

use super::{DeviceAnswer, Effect, Metric, Reply, Step};
use crate::model::{Answer, EventName, Method, Millis, Reason, Status, Transaction};

/// `finish`'s reason for the one successful outcome.
pub(super) const ACCEPTED: Option<Reason> = None;

pub(super) fn finish_answered(
    txn: &mut Transaction,
    reason: impl Into<Option<Reason>>,
    answer: DeviceAnswer,
    now: Millis,
) -> Step {
    let signature = answer.signature;
    txn.answer = Some(Box::new(Answer {
        device_id: answer.device_id,
        signature_verified: signature.as_ref().map(|s| s.verified),
        user_public_key: signature.as_ref().map(|s| s.user_public_key.clone()),
        signature: signature.map(|s| s.signature),
    }));
    let mut out = finish(txn, reason, now);
    if txn.status == Status::Rejected {
        out.reply = Reply::Rejected;
    }
    out
}

/// Moves a pending transaction to its final state. `None` = accepted.
pub(super) fn finish(
    txn: &mut Transaction,
    reason: impl Into<Option<Reason>>,
    now: Millis,
) -> Step {
    let reason = reason.into();
    txn.status = reason.map_or(Status::Accepted, Reason::status);
    txn.reason = reason;
    // An expiry happens at the deadline, whenever the timer or a late request noticed it.
    txn.finished_at = Some(if reason == Some(Reason::Expired) {
        txn.deadline.min(now)
    } else {
        now
    });
    txn.otp_sha256 = None;
    txn.otp_sealed = None;
    let mut effects = vec![
        Effect::CancelTimers,
        Effect::Persist,
        Effect::Emit(final_event(txn.method, reason)),
    ];
    if txn.callback_uri.is_some() {
        // Stored with the final state: a node that dies before the callback went out leaves
        // it due, and whoever recovers its work sends it.
        txn.callback_due = true;
        effects.push(Effect::Callback);
    }
    effects.extend([
        Effect::Count(Metric::Finished),
        Effect::Unindex,
        Effect::Wake,
    ]);
    Step {
        reply: if reason.is_none() {
            Reply::Accepted
        } else {
            Reply::Done
        },
        effects,
    }
}

pub(super) fn final_event(method: Method, reason: Option<Reason>) -> EventName {
    match (method, reason) {
        (Method::Sms, None) => EventName::SmsAuthAuthenticated,
        (Method::Otp, None) => EventName::OtpAuthAuthenticated,
        (_, None) => EventName::PushAuthAuthenticated,
        (_, Some(Reason::Expired)) => EventName::MobileAuthExpired,
        (_, Some(Reason::Cancelled)) => EventName::MobileAuthCancelled,
        (_, Some(Reason::AttemptsExceeded)) => EventName::SmsAuthLimitExceeded,
        (Method::Sms, Some(Reason::FailedToSend)) => EventName::SmsAuthInitFailure,
        (_, Some(Reason::FailedToSend)) => EventName::PushAuthInitFailure,
        (_, Some(Reason::FraudReported)) => EventName::PushAuthFraudReported,
        (_, Some(Reason::DeviceRemoved)) => EventName::PushAuthDeviceRemoved,
        (_, Some(Reason::InvalidAnswer | Reason::InvalidRequest)) => {
            EventName::PushAuthInvalidAnswer
        }
        (_, Some(Reason::NotAccepted)) => EventName::PushAuthNotAuthenticated,
    }
}
