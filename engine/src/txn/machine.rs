//! The transaction state machine: `(transaction, input, now) -> (reply, effects)`.
//!
//! Pure: no I/O, no clock, no randomness (codes and number challenges are drawn at start, in
//! `start.rs`). Every rule of the seed lives here — TTL over all attempts, SMS attempts (0 =
//! unlimited) and resends of the same code (0 = disabled), resend cool-down, push resends,
//! authenticator outcomes, number matching, transaction signing, fan-out first-answer-wins,
//! in-transaction fallback, cancellation — and the first final state wins.

use subtle::ConstantTimeEq;

pub use crate::model::TokenCheck;
use crate::model::{Answer, EventName, Method, Millis, Reason, Status, Transaction};

/// Which timer fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerKind {
    /// The time to live is over.
    Expiry,
    /// `fallback_after` elapsed without an answer.
    Fallback,
}

/// A transaction-signing signature the device layer verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureCheck {
    pub signature: String,
    pub user_public_key: String,
    pub verified: bool,
}

/// A device's decrypted, authenticated answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAnswer {
    pub device_id: String,
    pub accepted: bool,
    pub fraud: bool,
    pub token: TokenCheck,
    pub number: Option<u8>,
    pub signature: Option<SignatureCheck>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<'a> {
    /// Just created: deliver and arm timers.
    Start,
    /// The portal's SMS code, as its MAC under the store's hash key (`txn::code_key`): the
    /// record holds only the MAC of the real one.
    VerifyCode {
        code_hmac: &'a str,
    },
    /// `fresh_code_hmac`: the driver no longer knows the SMS code in clear (its actor was rebuilt
    /// from the store), so an SMS resend sends a new code with this MAC instead.
    Resend {
        fresh_code_hmac: Option<&'a str>,
    },
    /// The driver lost the clear SMS code (actor rebuilt) and drew a new one: it replaces a code
    /// that was never sent (the prepared fallback's, or one whose first send never left).
    Rekey {
        code_hmac: &'a str,
    },
    /// A gateway answered for the SMS sent at start, resend (`resend`) or fallback.
    SmsDelivered {
        ok: bool,
        resend: bool,
    },
    /// A push provider answered for one device.
    PushDelivered {
        device_id: &'a str,
        ok: bool,
    },
    Fetch {
        device_id: &'a str,
    },
    Answer(DeviceAnswer),
    /// The app redeemed the OTP: `secret_sha256` is the hash of the OTP's secret part.
    RedeemOtp {
        secret_sha256: &'a str,
        user_id: &'a str,
        device_id: &'a str,
    },
    DeviceRemoved {
        device_id: &'a str,
    },
    Cancel,
    Timer(TimerKind),
}

/// What the machine asks its driver to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send `txn.code` by SMS (`resend`: a resend of the same code).
    SendSms {
        resend: bool,
    },
    SendPush {
        device_ids: Vec<String>,
        resend: bool,
    },
    ArmTimer {
        kind: TimerKind,
        at: Millis,
    },
    CancelTimers,
    Persist,
    Emit(EventName),
    /// Notify the portal's callback (final states with a `callback_uri`).
    Callback,
    /// Release long-poll waiters.
    Wake,
}

/// The machine's answer to whoever sent the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    Done,
    Accepted,
    Rejected,
    Refused(Refusal),
}

/// Why an input was not taken. The transaction is unchanged unless the refusal says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The transaction is final (first final state wins).
    Final(Status),
    /// The input does not apply to this method (an SMS code for a push, ...).
    WrongMethod,
    /// Wrong SMS code; one attempt used (the transaction may have failed with it).
    WrongCode,
    ResendLimit,
    ResendTooSoon {
        retry_after_ms: u64,
    },
    UnknownDevice,
    AlreadyFetched,
    Expired,
    TokenRequired,
    InvalidAuthenticator {
        remaining_attempts: u32,
    },
    AuthenticatorRevoked,
    DeviceDisconnected,
    InvalidOtp,
    /// A delivery report arrived for a send nobody is waiting on.
    Ignored,
}

/// The outcome of one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub reply: Reply,
    pub effects: Vec<Effect>,
}

impl Step {
    fn reply(reply: Reply) -> Self {
        Self {
            reply,
            effects: Vec::new(),
        }
    }

    fn refused(r: Refusal) -> Self {
        Self::reply(Reply::Refused(r))
    }
}

/// Feeds one input to the transaction.
pub fn step(txn: &mut Transaction, input: Input<'_>, now: Millis) -> Step {
    // The time to live covers every attempt: past the deadline, a pending transaction is
    // expired before anything else is considered, whether or not its timer has fired yet.
    let mut out = Step::reply(Reply::Done);
    let mut expiry_handled = false;
    if !txn.is_final() && now >= txn.deadline && !matches!(input, Input::Start) {
        out = finish(txn, Reason::Expired, now);
        expiry_handled = matches!(input, Input::Timer(TimerKind::Expiry));
    }
    if !expiry_handled {
        let next = dispatch(txn, input, now);
        out.reply = next.reply;
        out.effects.extend(next.effects);
    }
    if out.effects.contains(&Effect::Persist) {
        txn.version += 1;
        // Persist once, before the effects that tell the outside world about the change.
        out.effects.retain(|e| *e != Effect::Persist);
        out.effects.insert(0, Effect::Persist);
    }
    out
}

fn dispatch(txn: &mut Transaction, input: Input<'_>, now: Millis) -> Step {
    if txn.is_final() {
        return match input {
            // Late delivery reports and timers of a finished transaction change nothing.
            Input::SmsDelivered { .. } | Input::PushDelivered { .. } | Input::Timer(_) => {
                Step::refused(Refusal::Ignored)
            }
            Input::Fetch { .. } if txn.status == Status::Expired => Step::refused(Refusal::Expired),
            _ => Step::refused(Refusal::Final(txn.status)),
        };
    }
    match input {
        Input::Start => start(txn),
        Input::VerifyCode { code_hmac } => verify_code(txn, code_hmac, now),
        Input::Resend { fresh_code_hmac } => resend(txn, fresh_code_hmac, now),
        Input::Rekey { code_hmac } => rekey(txn, code_hmac),
        Input::SmsDelivered { ok, resend } => sms_delivered(txn, ok, resend, now),
        Input::PushDelivered { device_id, ok } => push_delivered(txn, device_id, ok, now),
        Input::Fetch { device_id } => fetch(txn, device_id),
        Input::Answer(answer) => answer_push(txn, answer, now),
        Input::RedeemOtp {
            secret_sha256,
            user_id,
            device_id,
        } => redeem_otp(txn, secret_sha256, user_id, device_id),
        Input::DeviceRemoved { device_id } => device_removed(txn, device_id, now),
        Input::Cancel => finish(txn, Reason::Cancelled, now),
        Input::Timer(TimerKind::Expiry) => {
            // Fired early (clock adjustment): wait for the real deadline.
            Step {
                reply: Reply::Done,
                effects: vec![Effect::ArmTimer {
                    kind: TimerKind::Expiry,
                    at: txn.deadline,
                }],
            }
        }
        Input::Timer(TimerKind::Fallback) => fallback_due(txn, now),
    }
}

// === start and delivery ===

fn start(txn: &mut Transaction) -> Step {
    let mut effects = vec![
        Effect::Persist,
        Effect::ArmTimer {
            kind: TimerKind::Expiry,
            at: txn.deadline,
        },
    ];
    match txn.method {
        Method::Sms => effects.push(Effect::SendSms { resend: false }),
        Method::Otp => {}
        _ => {
            let device_ids = txn
                .push
                .as_ref()
                .map(|p| p.targets.iter().map(|t| t.device_id.clone()).collect())
                .unwrap_or_default();
            effects.push(Effect::SendPush {
                device_ids,
                resend: false,
            });
            if let Some(at) = txn.fallback.as_ref().and_then(|f| f.at) {
                effects.push(Effect::ArmTimer {
                    kind: TimerKind::Fallback,
                    at,
                });
            }
        }
    }
    Step {
        reply: Reply::Done,
        effects,
    }
}

fn sms_delivered(txn: &mut Transaction, ok: bool, resend: bool, now: Millis) -> Step {
    let Some(code) = txn.code.as_mut() else {
        return Step::refused(Refusal::Ignored);
    };
    match (ok, resend) {
        (true, false) => {
            code.last_sent_at = Some(now);
            Step {
                reply: Reply::Done,
                effects: vec![
                    Effect::Persist,
                    Effect::Emit(EventName::SmsAuthInitMessageSent),
                ],
            }
        }
        (true, true) => Step {
            reply: Reply::Done,
            effects: vec![Effect::Emit(EventName::SmsResendSucceeded)],
        },
        // The resend was counted when asked for; a resend that never left is given back.
        (false, true) => {
            code.resends_used = code.resends_used.saturating_sub(1);
            Step {
                reply: Reply::Done,
                effects: vec![Effect::Persist, Effect::Emit(EventName::SmsResendFailed)],
            }
        }
        // The code never reached the user: nothing can complete this transaction.
        (false, false) => finish(txn, Reason::FailedToSend, now),
    }
}

fn push_delivered(txn: &mut Transaction, device_id: &str, ok: bool, now: Millis) -> Step {
    let Some(push) = txn.push.as_mut() else {
        return Step::refused(Refusal::Ignored);
    };
    let Some(target) = push.targets.iter_mut().find(|t| t.device_id == device_id) else {
        return Step::refused(Refusal::Ignored);
    };
    target.delivered = Some(ok);
    if ok {
        return Step {
            reply: Reply::Done,
            effects: vec![
                Effect::Persist,
                Effect::Emit(EventName::PushServiceAccepted),
            ],
        };
    }
    let all_failed = push.targets.iter().all(|t| t.delivered == Some(false));
    if !all_failed || txn.method == Method::Sms {
        return Step {
            reply: Reply::Done,
            effects: vec![Effect::Persist, Effect::Emit(EventName::PushServiceFailure)],
        };
    }
    let mut out = if txn.fallback.as_ref().is_some_and(|f| f.on_delivery_failure) {
        switch_to_fallback(txn)
    } else {
        finish(txn, Reason::FailedToSend, now)
    };
    out.effects
        .insert(0, Effect::Emit(EventName::PushServiceFailure));
    out
}

// === SMS ===

fn verify_code(txn: &mut Transaction, given_hmac: &str, now: Millis) -> Step {
    if txn.method != Method::Sms {
        return Step::refused(Refusal::WrongMethod);
    }
    let Some(code) = txn.code.as_mut() else {
        return Step::refused(Refusal::WrongMethod);
    };
    code.attempts_used += 1;
    txn.used_authentication_attempts += 1;
    if bool::from(given_hmac.as_bytes().ct_eq(code.code_hmac.as_bytes())) {
        return finish(txn, ACCEPTED, now);
    }
    // 0 = unlimited; otherwise the attempt that uses up the maximum invalidates the transaction.
    if code.max_attempts > 0 && code.attempts_used >= code.max_attempts {
        let mut out = finish(txn, Reason::AttemptsExceeded, now);
        out.reply = Reply::Refused(Refusal::WrongCode);
        out.effects
            .insert(0, Effect::Emit(EventName::SmsAuthInvalidCode));
        return out;
    }
    Step {
        reply: Reply::Refused(Refusal::WrongCode),
        effects: vec![Effect::Persist, Effect::Emit(EventName::SmsAuthInvalidCode)],
    }
}

fn resend(txn: &mut Transaction, fresh_code_hmac: Option<&str>, now: Millis) -> Step {
    let (max, used, cooldown, last) = match (txn.method, &txn.code, &txn.push) {
        (Method::Sms, Some(c), _) => (
            c.max_resends,
            c.resends_used,
            c.resend_cooldown_ms,
            c.last_sent_at,
        ),
        (m, _, Some(p)) if m.is_push() => (
            p.max_resends,
            p.resends_used,
            p.resend_cooldown_ms,
            p.last_sent_at,
        ),
        _ => return Step::refused(Refusal::WrongMethod),
    };
    // max_resends = 0 disables resending.
    if used >= max {
        return Step::refused(Refusal::ResendLimit);
    }
    if let Some(last) = last {
        let ready_at = last + cooldown;
        if now < ready_at {
            return Step::refused(Refusal::ResendTooSoon {
                retry_after_ms: ready_at - now,
            });
        }
    }
    let effect = if let (Method::Sms, Some(c)) = (txn.method, txn.code.as_mut()) {
        c.resends_used += 1;
        c.last_sent_at = Some(now);
        // "The same code again" needs the code; where it is known only by its MAC, the user
        // gets a new one and the old one stops working.
        if let Some(fresh) = fresh_code_hmac {
            c.code_hmac = fresh.to_owned();
        }
        Effect::SendSms { resend: true }
    } else if let Some(p) = txn.push.as_mut() {
        p.resends_used += 1;
        p.last_sent_at = Some(now);
        Effect::SendPush {
            device_ids: p.targets.iter().map(|t| t.device_id.clone()).collect(),
            resend: true,
        }
    } else {
        return Step::refused(Refusal::WrongMethod);
    };
    let mut effects = vec![Effect::Persist, effect];
    if txn.method.is_push() {
        effects.push(Effect::Emit(EventName::PushAuthResendSucceeded));
    }
    Step {
        reply: Reply::Done,
        effects,
    }
}

/// Replaces SMS codes nobody has received yet (see [`Input::Rekey`]).
fn rekey(txn: &mut Transaction, code_hmac: &str) -> Step {
    let mut changed = false;
    let unsent = txn.code.as_mut().filter(|c| c.last_sent_at.is_none());
    let planned = txn.fallback.as_mut().map(|f| &mut f.code);
    for code in unsent.into_iter().chain(planned) {
        code.code_hmac = code_hmac.to_owned();
        changed = true;
    }
    if !changed {
        return Step::refused(Refusal::Ignored);
    }
    Step {
        reply: Reply::Done,
        effects: vec![Effect::Persist],
    }
}

// === push family ===

fn fetch(txn: &mut Transaction, device_id: &str) -> Step {
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

fn answer_push(txn: &mut Transaction, answer: DeviceAnswer, now: Millis) -> Step {
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

fn redeem_otp(txn: &mut Transaction, secret_sha256: &str, user_id: &str, device_id: &str) -> Step {
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

fn device_removed(txn: &mut Transaction, device_id: &str, now: Millis) -> Step {
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

// === fallback ===

fn fallback_due(txn: &mut Transaction, now: Millis) -> Step {
    match txn.fallback.as_ref().and_then(|f| f.at) {
        Some(at) if txn.method.is_push() && now >= at => switch_to_fallback(txn),
        Some(at) if txn.method.is_push() => Step {
            reply: Reply::Done,
            effects: vec![Effect::ArmTimer {
                kind: TimerKind::Fallback,
                at,
            }],
        },
        _ => Step::refused(Refusal::Ignored),
    }
}

/// Continues the same transaction (same id, remaining TTL) as the SMS fallback prepared at start.
fn switch_to_fallback(txn: &mut Transaction) -> Step {
    let Some(plan) = txn.fallback.take() else {
        return Step::refused(Refusal::Ignored);
    };
    txn.method = Method::Sms;
    txn.code = Some(plan.code);
    Step {
        reply: Reply::Done,
        effects: vec![
            Effect::Persist,
            Effect::Emit(EventName::MobileAuthFallbackStarted),
            Effect::SendSms { resend: false },
        ],
    }
}

// === final states ===

/// `finish`'s reason for the one successful outcome.
const ACCEPTED: Option<Reason> = None;

fn finish_answered(
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
fn finish(txn: &mut Transaction, reason: impl Into<Option<Reason>>, now: Millis) -> Step {
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
    let mut effects = vec![
        Effect::CancelTimers,
        Effect::Persist,
        Effect::Emit(final_event(txn.method, reason)),
    ];
    if txn.callback_uri.is_some() {
        effects.push(Effect::Callback);
    }
    effects.push(Effect::Wake);
    Step {
        reply: if reason.is_none() {
            Reply::Accepted
        } else {
            Reply::Done
        },
        effects,
    }
}

fn final_event(method: Method, reason: Option<Reason>) -> EventName {
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

#[cfg(test)]
mod tests;
