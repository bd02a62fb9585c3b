//! SMS rules: attempts (0 = unlimited) over the time to live, resends of the same code (0 =
//! disabled) with their cool-down, and codes re-keyed when their clear text is lost.

use subtle::ConstantTimeEq;

use super::finish::{ACCEPTED, finish};
use super::{Effect, Refusal, Reply, Step};
use crate::model::{EventName, Method, Millis, Reason, Transaction};

pub(super) fn verify_code(
    txn: &mut Transaction,
    user_id: &str,
    given_hmac: &str,
    now: Millis,
) -> Step {
    // Checked before anything is counted: another user's request changes nothing.
    if txn.user_id.as_deref() != Some(user_id) {
        return Step::refused(Refusal::WrongUser);
    }
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

pub(super) fn resend(
    txn: &mut Transaction,
    user_id: Option<&str>,
    in_flight: bool,
    fresh_code_hmac: Option<&str>,
    now: Millis,
) -> Step {
    if user_id.is_some_and(|u| txn.user_id.as_deref() != Some(u)) {
        return Step::refused(Refusal::WrongUser);
    }
    // One resend at a time: a second one while the first is still with the gateway would count
    // twice for a text the user may yet receive. No wait can be promised (the gateway decides
    // when it answers), so this is its own refusal rather than a made-up `retry_after_ms`.
    if in_flight {
        return Step::refused(Refusal::ResendInFlight);
    }
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
pub(super) fn rekey(txn: &mut Transaction, code_hmac: &str) -> Step {
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
