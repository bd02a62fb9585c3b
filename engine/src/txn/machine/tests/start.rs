//! Start and delivery reports: what a new transaction sends, arms and counts.

use super::*;

// === start ===

#[test]
fn sms_start_persists_arms_expiry_and_sends() {
    let mut t = sms_txn(3, 0, 0);
    let s = step(&mut t, START, T0);
    assert_eq!(s.effects[0], Effect::Persist);
    assert!(has(&s, &EXPIRY_ARMED));
    assert!(has(&s, &Effect::SendSms { resend: false }));
    assert_eq!(t.version, 1);
}

#[test]
fn push_start_sends_to_every_target_and_arms_fallback() {
    let mut t = with_fallback(push_txn(Method::Push, &["A", "B"]), Some(30_000), false);
    let s = step(&mut t, START, T0);
    assert!(has(
        &s,
        &Effect::SendPush {
            device_ids: vec!["A".into(), "B".into()],
            resend: false
        }
    ));
    assert!(has(
        &s,
        &Effect::ArmTimer {
            kind: TimerKind::Fallback,
            at: T0 + 30_000
        }
    ));
}

#[test]
fn otp_start_only_arms_expiry() {
    let mut t = txn(Method::Otp);
    let s = step(&mut t, START, T0);
    assert!(
        !s.effects
            .iter()
            .any(|e| matches!(e, Effect::SendSms { .. } | Effect::SendPush { .. }))
    );
    assert!(has(&s, &EXPIRY_ARMED));
}

// === SMS delivery ===

#[test]
fn delivered_sms_is_recorded_with_the_vendor_event() {
    let mut t = sms_txn(3, 0, 0);
    let s = step(
        &mut t,
        Input::SmsDelivered {
            ok: true,
            resend: false,
        },
        T0 + 5,
    );
    assert!(emitted(&s, EventName::SmsAuthInitMessageSent));
    assert_eq!(t.code.as_ref().and_then(|c| c.last_sent_at), Some(T0 + 5));
}

#[test]
fn undeliverable_sms_at_start_fails_the_transaction() {
    let mut t = sms_txn(3, 0, 0);
    let s = step(
        &mut t,
        Input::SmsDelivered {
            ok: false,
            resend: false,
        },
        T0,
    );
    assert_final(&t, Status::Failed, Some(Reason::FailedToSend));
    assert!(emitted(&s, EventName::SmsAuthInitFailure));
    assert!(has(&s, &Effect::Callback) && has(&s, &Effect::Wake) && has(&s, &Effect::CancelTimers));
}

#[test]
fn a_start_that_fell_back_emits_the_init_fallback_event_and_counts_it() {
    let mut t = sms_txn(3, 0, 0);
    let s = step(&mut t, Input::Start { fell_back: true }, T0);
    assert!(emitted(&s, EventName::MobileAuthInitFallback));
    assert!(has(
        &s,
        &Effect::Count(Metric::Fallback(FallbackTrigger::Start))
    ));
    assert!(has(&s, &Effect::SendSms { resend: false }));

    let mut t = sms_txn(3, 0, 0);
    let s = step(&mut t, START, T0);
    assert!(!emitted(&s, EventName::MobileAuthInitFallback));
    assert!(
        !s.effects
            .iter()
            .any(|e| matches!(e, Effect::Count(Metric::Fallback(_))))
    );
}

#[test]
fn a_start_is_counted_once() {
    let mut t = push_txn(Method::Push, &["A"]);
    let s = step(&mut t, START, T0);
    let started = s
        .effects
        .iter()
        .filter(|e| **e == Effect::Count(Metric::Started))
        .count();
    assert_eq!(started, 1);
}

/// The driver keeps a step's input to feed it again after a conflict: nothing is lost in the copy.
#[test]
fn an_input_survives_its_owned_copy() {
    use crate::txn::machine::{Input, TimerKind};
    let answer = DeviceAnswer {
        device_id: "D1".into(),
        accepted: true,
        fraud: false,
        token: TokenCheck::Valid,
        number: Some(7),
        signature: None,
    };
    let inputs = [
        Input::Start { fell_back: true },
        Input::VerifyCode {
            user_id: "alice",
            code_hmac: "mac",
        },
        Input::Resend {
            user_id: Some("alice"),
            in_flight: false,
            fresh_code_hmac: Some("m2"),
        },
        Input::Rekey { code_hmac: "m3" },
        Input::SmsDelivered {
            ok: true,
            resend: true,
        },
        Input::PushDelivered {
            device_id: "D1",
            ok: false,
        },
        Input::Fetch { device_id: "D1" },
        Input::Answer(answer),
        Input::RedeemOtp {
            secret_sha256: "h",
            user_id: "alice",
            device_id: "D1",
        },
        Input::DeviceRemoved { device_id: "D1" },
        Input::Cancel,
        Input::Timer(TimerKind::Expiry),
    ];
    for input in inputs {
        assert_eq!(input.to_buf().input(), input);
    }
}
