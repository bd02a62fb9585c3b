//! In-transaction fallback: `fallback_after` elapsed, or every push delivery failed — the same
//! transaction continues with the SMS prepared at start.

use super::{Effect, FallbackTrigger, Metric, Refusal, Reply, Step, TimerKind};
use crate::model::{EventName, Method, Millis, Transaction};

pub(super) fn fallback_due(txn: &mut Transaction, now: Millis) -> Step {
    match txn.fallback.as_ref().and_then(|f| f.at) {
        Some(at) if txn.method.is_push() && now >= at => {
            switch_to_fallback(txn, FallbackTrigger::FallbackAfter)
        }
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
pub(super) fn switch_to_fallback(txn: &mut Transaction, trigger: FallbackTrigger) -> Step {
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
            Effect::Count(Metric::Fallback(trigger)),
            Effect::SendSms { resend: false },
        ],
    }
}
