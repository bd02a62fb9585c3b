//! Push delivery reports, push resends and in-transaction fallback.

use super::*;

// === push delivery, resend, fallback ===

#[test]
fn push_fails_only_when_every_delivery_failed() {
    let mut t = push_txn(Method::Push, &["A", "B"]);
    let s = step(&mut t, push_failed("A"), T0);
    assert!(emitted(&s, EventName::PushServiceFailure));
    assert_eq!(t.status, Status::Pending);
    step(&mut t, push_failed("B"), T0);
    assert_final(&t, Status::Failed, Some(Reason::FailedToSend));
}

#[test]
fn delivery_failure_falls_back_to_sms_in_the_same_transaction() {
    let mut t = with_fallback(push_txn(Method::Push, &["A"]), None, true);
    let (id, deadline) = (t.id, t.deadline);
    let s = step(&mut t, push_failed("A"), T0 + 5);
    assert!(has(&s, &Effect::SendSms { resend: false }));
    assert!(emitted(&s, EventName::MobileAuthFallbackStarted));
    assert_eq!(
        (t.id, t.deadline, t.method, t.status),
        (id, deadline, Method::Sms, Status::Pending)
    );
    assert_eq!(
        step(&mut t, verify("654321"), T0 + 6).reply,
        Reply::Accepted
    );
}

#[test]
fn fallback_after_switches_to_sms_when_unanswered() {
    let mut t = with_fallback(push_txn(Method::PushWithPin, &["A"]), Some(30_000), false);
    let early = step(&mut t, Input::Timer(TimerKind::Fallback), T0 + 29_999);
    assert!(has(
        &early,
        &Effect::ArmTimer {
            kind: TimerKind::Fallback,
            at: T0 + 30_000
        }
    ));
    assert_eq!(t.method, Method::PushWithPin);
    let s = step(&mut t, Input::Timer(TimerKind::Fallback), T0 + 30_000);
    assert!(has(&s, &Effect::SendSms { resend: false }));
    assert_eq!(t.method, Method::Sms);
    assert!(t.fallback.is_none());
    // The push answer is too late now.
    let late = step(
        &mut t,
        Input::Answer(answer("A", true, TokenCheck::Valid)),
        T0 + 30_001,
    );
    assert_eq!(late.reply, Reply::Refused(Refusal::WrongMethod));
}

#[test]
fn push_resend_goes_to_the_same_devices_within_limits() {
    let mut t = push_txn(Method::Push, &["A", "B"]);
    if let Some(p) = t.push.as_mut() {
        p.max_resends = 1;
        p.resend_cooldown_ms = 1000;
        p.last_sent_at = Some(T0);
    }
    let s = step(&mut t, resend(None), T0 + 500);
    assert_eq!(
        s.reply,
        Reply::Refused(Refusal::ResendTooSoon {
            retry_after_ms: 500
        })
    );
    let s = step(&mut t, resend(None), T0 + 1000);
    assert!(has(
        &s,
        &Effect::SendPush {
            device_ids: vec!["A".into(), "B".into()],
            resend: true
        }
    ));
    assert_eq!(
        step(&mut t, resend(None), T0 + 5000).reply,
        Reply::Refused(Refusal::ResendLimit)
    );
}

#[test]
fn removing_the_last_targeted_device_fails_the_transaction() {
    let mut t = push_txn(Method::Push, &["A", "B"]);
    step(&mut t, Input::DeviceRemoved { device_id: "A" }, T0);
    assert_eq!(t.status, Status::Pending);
    step(&mut t, Input::DeviceRemoved { device_id: "B" }, T0);
    assert_final(&t, Status::Failed, Some(Reason::DeviceRemoved));
}

#[test]
fn in_transaction_fallbacks_count_their_trigger() {
    let mut t = with_fallback(push_txn(Method::Push, &["A"]), Some(30_000), true);
    let s = step(&mut t, Input::Timer(TimerKind::Fallback), T0 + 30_000);
    assert!(has(
        &s,
        &Effect::Count(Metric::Fallback(FallbackTrigger::FallbackAfter))
    ));

    let mut t = with_fallback(push_txn(Method::Push, &["A"]), None, true);
    let s = step(&mut t, push_failed("A"), T0);
    assert!(has(
        &s,
        &Effect::Count(Metric::Fallback(FallbackTrigger::DeliveryFailure))
    ));
}
