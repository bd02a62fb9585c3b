//! Time to live, the timers a transaction arms, cancellation, first final state wins.

use super::*;

// === time to live ===

#[test]
fn expiry_timer_expires_a_pending_transaction() {
    let mut t = sms_txn(3, 0, 0);
    let s = step(&mut t, Input::Timer(TimerKind::Expiry), T0 + TTL);
    assert_final(&t, Status::Expired, Some(Reason::Expired));
    assert!(emitted(&s, EventName::MobileAuthExpired));
    assert!(has(&s, &Effect::Callback) && has(&s, &Effect::Wake));
}

#[test]
fn an_early_expiry_timer_is_re_armed_for_the_deadline() {
    let mut t = sms_txn(3, 0, 0);
    let s = step(&mut t, Input::Timer(TimerKind::Expiry), T0 + TTL - 1);
    assert_eq!(t.status, Status::Pending);
    assert!(has(&s, &EXPIRY_ARMED));
}

#[test]
fn ttl_covers_every_attempt_even_before_the_timer_fires() {
    let mut t = sms_txn(0, 0, 0);
    let s = step(&mut t, verify("123456"), T0 + TTL);
    assert_eq!(s.reply, Reply::Refused(Refusal::Final(Status::Expired)));
    assert_final(&t, Status::Expired, Some(Reason::Expired));
    assert!(has(&s, &Effect::Callback));
}

// === cancellation and first-final-wins ===

#[test]
fn cancel_then_cancel_again() {
    let mut t = sms_txn(3, 0, 0);
    let s = step(&mut t, Input::Cancel, T0 + 1);
    assert_eq!(s.reply, Reply::Done);
    assert_final(&t, Status::Cancelled, Some(Reason::Cancelled));
    assert!(emitted(&s, EventName::MobileAuthCancelled));
    assert_eq!(
        step(&mut t, Input::Cancel, T0 + 2).reply,
        Reply::Refused(Refusal::Final(Status::Cancelled))
    );
}

#[test]
fn the_first_final_state_wins() {
    let mut t = sms_txn(3, 0, 0);
    step(&mut t, verify("123456"), T0 + 1);
    let version = t.version;
    assert_eq!(
        step(&mut t, Input::Cancel, T0 + 2).reply,
        Reply::Refused(Refusal::Final(Status::Accepted))
    );
    let late = step(&mut t, Input::Timer(TimerKind::Expiry), T0 + TTL);
    assert_eq!(late.reply, Reply::Refused(Refusal::Ignored));
    assert!(late.effects.is_empty());
    let report = step(
        &mut t,
        Input::SmsDelivered {
            ok: false,
            resend: false,
        },
        T0 + 3,
    );
    assert!(report.effects.is_empty());
    assert_eq!(t.status, Status::Accepted);
    assert_eq!(t.version, version);
}

#[test]
fn version_grows_once_per_change_and_not_on_refusals() {
    let mut t = sms_txn(3, 0, 0);
    step(&mut t, START, T0);
    assert_eq!(t.version, 1);
    step(&mut t, resend(None), T0);
    assert_eq!(t.version, 1);
    step(&mut t, verify("1"), T0);
    assert_eq!(t.version, 2);
    let s = step(&mut t, verify("123456"), T0);
    assert_eq!(t.version, 3);
    assert_eq!(
        s.effects.iter().filter(|e| **e == Effect::Persist).count(),
        1
    );
}

#[test]
fn reasons_imply_their_status() {
    assert_eq!(Reason::NotAccepted.status(), Status::Rejected);
    assert_eq!(Reason::FraudReported.status(), Status::Rejected);
    assert_eq!(Reason::Expired.status(), Status::Expired);
    assert_eq!(Reason::Cancelled.status(), Status::Cancelled);
    for r in [
        Reason::InvalidAnswer,
        Reason::FailedToSend,
        Reason::InvalidRequest,
        Reason::AttemptsExceeded,
        Reason::DeviceRemoved,
    ] {
        assert_eq!(r.status(), Status::Failed);
    }
}

#[test]
fn timers_are_the_expiry_and_a_pushes_fallback_after() {
    let expiry = Effect::ArmTimer {
        kind: TimerKind::Expiry,
        at: T0 + TTL,
    };
    let fallback = Effect::ArmTimer {
        kind: TimerKind::Fallback,
        at: T0 + 30_000,
    };
    assert_eq!(timers(&sms_txn(3, 0, 0)), std::slice::from_ref(&expiry));
    let push = with_fallback(push_txn(Method::Push, &["A"]), Some(30_000), false);
    assert_eq!(timers(&push), [expiry.clone(), fallback.clone()]);
    // Once the fallback ran, only the time to live is left to re-arm.
    let mut fell = push.clone();
    step(&mut fell, Input::Timer(TimerKind::Fallback), T0 + 30_000);
    assert_eq!(timers(&fell), [expiry]);
    // The start arms exactly these timers.
    let mut started = push.clone();
    let s = step(&mut started, START, T0);
    for timer in timers(&push) {
        assert!(has(&s, &timer));
    }
    let armed = s
        .effects
        .iter()
        .filter(|e| matches!(e, Effect::ArmTimer { .. }))
        .count();
    assert_eq!(armed, 2);
}

#[test]
fn a_final_state_counts_unindexes_and_wakes_as_separate_effects() {
    let mut t = push_txn(Method::Push, &["A"]);
    let s = step(&mut t, Input::Cancel, T0);
    for e in [
        Effect::Count(Metric::Finished),
        Effect::Unindex,
        Effect::Wake,
    ] {
        assert!(has(&s, &e), "{e:?} missing");
    }
    // A step that does not finish the transaction neither counts nor wakes.
    let mut t = push_txn(Method::Push, &["A", "B"]);
    let s = step(&mut t, Input::Fetch { device_id: "A" }, T0);
    assert!(!has(&s, &Effect::Wake) && !has(&s, &Effect::Unindex));
}
