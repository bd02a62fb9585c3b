//! Start and delivery reports: what a new transaction sends and arms, and what an SMS gateway
//! or push provider answer means for it.

use super::fallback::switch_to_fallback;
use super::finish::finish;
use super::{Effect, FallbackTrigger, Metric, Refusal, Reply, Step, TimerKind};
use crate::model::{EventName, Method, Millis, Reason, Transaction};

pub(super) fn start(txn: &mut Transaction, fell_back: bool) -> Step {
    let mut effects = vec![Effect::Persist, Effect::Count(Metric::Started)];
    if fell_back {
        effects.extend([
            Effect::Emit(EventName::MobileAuthInitFallback),
            Effect::Count(Metric::Fallback(FallbackTrigger::Start)),
        ]);
    }
    effects.extend(timers(txn));
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
        }
    }
    Step {
        reply: Reply::Done,
        effects,
    }
}

/// The timers a pending transaction runs: its time to live, and while a push waits for an
/// answer, `fallback_after`. Armed at start and re-armed, from the same absolute instants, by an
/// actor rebuilt from the store.
pub fn timers(txn: &Transaction) -> Vec<Effect> {
    let mut effects = vec![Effect::ArmTimer {
        kind: TimerKind::Expiry,
        at: txn.deadline,
    }];
    if txn.method.is_push()
        && let Some(at) = txn.fallback.as_ref().and_then(|f| f.at)
    {
        effects.push(Effect::ArmTimer {
            kind: TimerKind::Fallback,
            at,
        });
    }
    effects
}

pub(super) fn sms_delivered(txn: &mut Transaction, ok: bool, resend: bool, now: Millis) -> Step {
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

pub(super) fn push_delivered(
    txn: &mut Transaction,
    device_id: &str,
    ok: bool,
    now: Millis,
) -> Step {
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
        switch_to_fallback(txn, FallbackTrigger::DeliveryFailure)
    } else {
        finish(txn, Reason::FailedToSend, now)
    };
    out.effects
        .insert(0, Effect::Emit(EventName::PushServiceFailure));
    out
}
