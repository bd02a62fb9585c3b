//! One test (at least) per rule of the machine.

use super::*;
use crate::model::{Method, Reason, Status};
use crate::test_util::{T0, TTL, push_txn, sms_txn, txn, with_fallback};

fn answer(device: &str, accepted: bool, token: TokenCheck) -> DeviceAnswer {
    DeviceAnswer {
        device_id: device.into(),
        accepted,
        fraud: false,
        token,
        number: None,
        signature: None,
    }
}

fn has(step: &Step, e: &Effect) -> bool {
    step.effects.contains(e)
}

fn emitted(step: &Step, name: EventName) -> bool {
    has(step, &Effect::Emit(name))
}

fn assert_final(t: &Transaction, status: Status, reason: Option<Reason>) {
    assert_eq!(t.status, status);
    assert_eq!(t.reason, reason);
    assert!(t.finished_at.is_some());
}

// === start ===

#[test]
fn sms_start_persists_arms_expiry_and_sends() {
    let mut t = sms_txn(3, 0, 0);
    let s = step(&mut t, Input::Start, T0);
    assert_eq!(s.effects[0], Effect::Persist);
    assert!(has(
        &s,
        &Effect::ArmTimer {
            kind: TimerKind::Expiry,
            at: T0 + TTL
        }
    ));
    assert!(has(&s, &Effect::SendSms { resend: false }));
    assert_eq!(t.version, 1);
}

#[test]
fn push_start_sends_to_every_target_and_arms_fallback() {
    let mut t = with_fallback(push_txn(Method::Push, &["A", "B"]), Some(30_000), false);
    let s = step(&mut t, Input::Start, T0);
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
    let s = step(&mut t, Input::Start, T0);
    assert!(
        !s.effects
            .iter()
            .any(|e| matches!(e, Effect::SendSms { .. } | Effect::SendPush { .. }))
    );
    assert!(has(
        &s,
        &Effect::ArmTimer {
            kind: TimerKind::Expiry,
            at: T0 + TTL
        }
    ));
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

// === SMS verification ===

#[test]
fn right_code_accepts() {
    let mut t = sms_txn(3, 0, 0);
    let s = step(
        &mut t,
        Input::VerifyCode {
            code_hmac: "123456",
        },
        T0 + 1,
    );
    assert_eq!(s.reply, Reply::Accepted);
    assert_final(&t, Status::Accepted, None);
    assert_eq!(t.used_authentication_attempts, 1);
    assert!(emitted(&s, EventName::SmsAuthAuthenticated));
    assert!(has(&s, &Effect::Callback) && has(&s, &Effect::Wake));
}

#[test]
fn no_callback_without_callback_uri() {
    let mut t = sms_txn(3, 0, 0);
    t.callback_uri = None;
    let s = step(
        &mut t,
        Input::VerifyCode {
            code_hmac: "123456",
        },
        T0 + 1,
    );
    assert!(!has(&s, &Effect::Callback));
}

#[test]
fn wrong_code_uses_one_attempt_and_stays_pending() {
    let mut t = sms_txn(3, 0, 0);
    let s = step(
        &mut t,
        Input::VerifyCode {
            code_hmac: "000000",
        },
        T0 + 1,
    );
    assert_eq!(s.reply, Reply::Refused(Refusal::WrongCode));
    assert_eq!(t.status, Status::Pending);
    assert_eq!(t.code.as_ref().map(|c| c.attempts_used), Some(1));
    assert!(emitted(&s, EventName::SmsAuthInvalidCode));
}

#[test]
fn the_attempt_that_uses_up_max_attempts_invalidates() {
    let mut t = sms_txn(3, 0, 0);
    for _ in 0..2 {
        step(
            &mut t,
            Input::VerifyCode {
                code_hmac: "000000",
            },
            T0 + 1,
        );
    }
    let s = step(
        &mut t,
        Input::VerifyCode {
            code_hmac: "000000",
        },
        T0 + 2,
    );
    assert_eq!(s.reply, Reply::Refused(Refusal::WrongCode));
    assert_final(&t, Status::Failed, Some(Reason::AttemptsExceeded));
    assert!(emitted(&s, EventName::SmsAuthLimitExceeded));
    // Even the right code is too late now.
    let s = step(
        &mut t,
        Input::VerifyCode {
            code_hmac: "123456",
        },
        T0 + 3,
    );
    assert_eq!(s.reply, Reply::Refused(Refusal::Final(Status::Failed)));
}

#[test]
fn zero_max_attempts_is_unlimited() {
    let mut t = sms_txn(0, 0, 0);
    for i in 0..100 {
        let s = step(
            &mut t,
            Input::VerifyCode {
                code_hmac: "999999",
            },
            T0 + i,
        );
        assert_eq!(s.reply, Reply::Refused(Refusal::WrongCode));
    }
    assert_eq!(t.status, Status::Pending);
    assert_eq!(
        step(
            &mut t,
            Input::VerifyCode {
                code_hmac: "123456"
            },
            T0 + 200
        )
        .reply,
        Reply::Accepted
    );
    assert_eq!(t.used_authentication_attempts, 101);
}

#[test]
fn verifying_a_push_transaction_is_refused() {
    let mut t = push_txn(Method::Push, &["A"]);
    let s = step(
        &mut t,
        Input::VerifyCode {
            code_hmac: "123456",
        },
        T0,
    );
    assert_eq!(s.reply, Reply::Refused(Refusal::WrongMethod));
}

// === SMS resend ===

#[test]
fn zero_max_resends_disables_resending() {
    let mut t = sms_txn(3, 0, 0);
    assert_eq!(
        step(
            &mut t,
            Input::Resend {
                fresh_code_hmac: None
            },
            T0
        )
        .reply,
        Reply::Refused(Refusal::ResendLimit)
    );
}

#[test]
fn resends_send_the_same_code_up_to_the_limit() {
    let mut t = sms_txn(3, 2, 0);
    for _ in 0..2 {
        let s = step(
            &mut t,
            Input::Resend {
                fresh_code_hmac: None,
            },
            T0 + 10,
        );
        assert_eq!(s.reply, Reply::Done);
        assert!(has(&s, &Effect::SendSms { resend: true }));
        assert_eq!(
            t.code.as_ref().map(|c| c.code_hmac.as_str()),
            Some("123456")
        );
    }
    assert_eq!(
        step(
            &mut t,
            Input::Resend {
                fresh_code_hmac: None
            },
            T0 + 20
        )
        .reply,
        Reply::Refused(Refusal::ResendLimit)
    );
}

#[test]
fn resend_inside_the_cooldown_says_when_to_retry() {
    let mut t = sms_txn(3, 5, 30_000);
    step(
        &mut t,
        Input::SmsDelivered {
            ok: true,
            resend: false,
        },
        T0,
    );
    let s = step(
        &mut t,
        Input::Resend {
            fresh_code_hmac: None,
        },
        T0 + 10_000,
    );
    assert_eq!(
        s.reply,
        Reply::Refused(Refusal::ResendTooSoon {
            retry_after_ms: 20_000
        })
    );
    assert_eq!(
        step(
            &mut t,
            Input::Resend {
                fresh_code_hmac: None
            },
            T0 + 30_000
        )
        .reply,
        Reply::Done
    );
    // The cool-down restarts from the resend.
    let s = step(
        &mut t,
        Input::Resend {
            fresh_code_hmac: None,
        },
        T0 + 31_000,
    );
    assert_eq!(
        s.reply,
        Reply::Refused(Refusal::ResendTooSoon {
            retry_after_ms: 29_000
        })
    );
}

#[test]
fn resend_outcome_events_and_a_failed_resend_is_given_back() {
    let mut t = sms_txn(3, 1, 0);
    step(
        &mut t,
        Input::Resend {
            fresh_code_hmac: None,
        },
        T0,
    );
    let s = step(
        &mut t,
        Input::SmsDelivered {
            ok: false,
            resend: true,
        },
        T0 + 1,
    );
    assert!(emitted(&s, EventName::SmsResendFailed));
    assert_eq!(t.code.as_ref().map(|c| c.resends_used), Some(0));
    assert_eq!(t.status, Status::Pending);
    step(
        &mut t,
        Input::Resend {
            fresh_code_hmac: None,
        },
        T0 + 2,
    );
    let s = step(
        &mut t,
        Input::SmsDelivered {
            ok: true,
            resend: true,
        },
        T0 + 3,
    );
    assert!(emitted(&s, EventName::SmsResendSucceeded));
}

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
    assert!(has(
        &s,
        &Effect::ArmTimer {
            kind: TimerKind::Expiry,
            at: T0 + TTL
        }
    ));
}

#[test]
fn ttl_covers_every_attempt_even_before_the_timer_fires() {
    let mut t = sms_txn(0, 0, 0);
    let s = step(
        &mut t,
        Input::VerifyCode {
            code_hmac: "123456",
        },
        T0 + TTL,
    );
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
    step(
        &mut t,
        Input::VerifyCode {
            code_hmac: "123456",
        },
        T0 + 1,
    );
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
    step(&mut t, Input::Start, T0);
    assert_eq!(t.version, 1);
    step(
        &mut t,
        Input::Resend {
            fresh_code_hmac: None,
        },
        T0,
    );
    assert_eq!(t.version, 1);
    step(&mut t, Input::VerifyCode { code_hmac: "1" }, T0);
    assert_eq!(t.version, 2);
    let s = step(
        &mut t,
        Input::VerifyCode {
            code_hmac: "123456",
        },
        T0,
    );
    assert_eq!(t.version, 3);
    assert_eq!(
        s.effects.iter().filter(|e| **e == Effect::Persist).count(),
        1
    );
}

// === push answers ===

#[test]
fn plain_push_accept_and_reject() {
    let mut t = push_txn(Method::Push, &["A"]);
    let s = step(
        &mut t,
        Input::Answer(answer("A", true, TokenCheck::Missing)),
        T0,
    );
    assert_eq!(s.reply, Reply::Accepted);
    assert!(emitted(&s, EventName::PushAuthAuthenticated));
    assert_eq!(t.answer.as_ref().map(|a| a.device_id.as_str()), Some("A"));

    let mut t = push_txn(Method::Push, &["A"]);
    let s = step(
        &mut t,
        Input::Answer(answer("A", false, TokenCheck::Missing)),
        T0,
    );
    assert_eq!(s.reply, Reply::Rejected);
    assert_final(&t, Status::Rejected, Some(Reason::NotAccepted));
}

#[test]
fn fraud_report_rejects_with_its_own_reason() {
    let mut t = push_txn(Method::Push, &["A"]);
    let mut a = answer("A", false, TokenCheck::Missing);
    a.fraud = true;
    let s = step(&mut t, Input::Answer(a), T0);
    assert_final(&t, Status::Rejected, Some(Reason::FraudReported));
    assert!(emitted(&s, EventName::PushAuthFraudReported));
}

#[test]
fn pin_push_needs_a_token_and_counts_wrong_ones() {
    let mut t = push_txn(Method::PushWithPin, &["A"]);
    let s = step(
        &mut t,
        Input::Answer(answer("A", true, TokenCheck::Missing)),
        T0,
    );
    assert_eq!(s.reply, Reply::Refused(Refusal::TokenRequired));
    assert_eq!(t.used_authentication_attempts, 0);
    let s = step(
        &mut t,
        Input::Answer(answer(
            "A",
            true,
            TokenCheck::Invalid {
                remaining_attempts: 2,
            },
        )),
        T0,
    );
    assert_eq!(
        s.reply,
        Reply::Refused(Refusal::InvalidAuthenticator {
            remaining_attempts: 2
        })
    );
    assert_eq!(t.status, Status::Pending);
    assert_eq!(t.used_authentication_attempts, 1);
    let s = step(
        &mut t,
        Input::Answer(answer("A", true, TokenCheck::Valid)),
        T0,
    );
    assert_eq!(s.reply, Reply::Accepted);
    assert_eq!(t.used_authentication_attempts, 2);
}

#[test]
fn pin_limit_disconnects_and_fails_with_invalid_answer() {
    let mut t = push_txn(Method::PushWithPin, &["A"]);
    let s = step(
        &mut t,
        Input::Answer(answer("A", true, TokenCheck::Disconnected)),
        T0,
    );
    assert_eq!(s.reply, Reply::Refused(Refusal::DeviceDisconnected));
    assert_final(&t, Status::Failed, Some(Reason::InvalidAnswer));
    assert!(emitted(&s, EventName::PushAuthPinLimitExceeded));
}

#[test]
fn revoked_fingerprint_leaves_the_pin_usable() {
    let mut t = push_txn(Method::PushWithFingerprint, &["A"]);
    let s = step(
        &mut t,
        Input::Answer(answer("A", true, TokenCheck::Revoked)),
        T0,
    );
    assert_eq!(s.reply, Reply::Refused(Refusal::AuthenticatorRevoked));
    assert_eq!(t.status, Status::Pending);
    let s = step(
        &mut t,
        Input::Answer(answer("A", true, TokenCheck::Valid)),
        T0,
    );
    assert_eq!(s.reply, Reply::Accepted);
}

#[test]
fn number_matching_wrong_choice_is_an_invalid_answer() {
    let mut t = push_txn(Method::Push, &["A"]);
    if let Some(p) = t.push.as_mut() {
        p.number_challenge = Some(42);
    }
    let mut good = t.clone();
    let mut a = answer("A", true, TokenCheck::Missing);
    a.number = Some(17);
    step(&mut t, Input::Answer(a.clone()), T0);
    assert_final(&t, Status::Failed, Some(Reason::InvalidAnswer));
    a.number = Some(42);
    assert_eq!(step(&mut good, Input::Answer(a), T0).reply, Reply::Accepted);
}

#[test]
fn signing_requires_a_verified_signature() {
    let signed = |verified| SignatureCheck {
        signature: "sig".into(),
        user_public_key: "key".into(),
        verified,
    };
    let base = {
        let mut t = push_txn(Method::Push, &["A"]);
        if let Some(p) = t.push.as_mut() {
            p.signing_required = true;
        }
        t
    };
    let mut missing = base.clone();
    step(
        &mut missing,
        Input::Answer(answer("A", true, TokenCheck::Missing)),
        T0,
    );
    assert_eq!(missing.reason, Some(Reason::InvalidAnswer));

    let mut tampered = base.clone();
    let mut a = answer("A", true, TokenCheck::Missing);
    a.signature = Some(signed(false));
    step(&mut tampered, Input::Answer(a.clone()), T0);
    assert_eq!(tampered.reason, Some(Reason::InvalidAnswer));
    assert_eq!(
        tampered.answer.as_ref().and_then(|x| x.signature_verified),
        Some(false)
    );

    let mut ok = base;
    a.signature = Some(signed(true));
    assert_eq!(step(&mut ok, Input::Answer(a), T0).reply, Reply::Accepted);
    let stored = ok
        .answer
        .as_ref()
        .map(|x| (x.signature.clone(), x.signature_verified));
    assert_eq!(stored, Some((Some("sig".into()), Some(true))));
}

#[test]
fn fan_out_first_answer_wins() {
    let mut t = push_txn(Method::Push, &["A", "B"]);
    assert_eq!(
        step(
            &mut t,
            Input::Answer(answer("B", true, TokenCheck::Missing)),
            T0
        )
        .reply,
        Reply::Accepted
    );
    let late = step(
        &mut t,
        Input::Answer(answer("A", false, TokenCheck::Missing)),
        T0 + 1,
    );
    assert_eq!(late.reply, Reply::Refused(Refusal::Final(Status::Accepted)));
    assert_eq!(t.answer.as_ref().map(|a| a.device_id.as_str()), Some("B"));
}

#[test]
fn answers_from_other_devices_are_refused() {
    let mut t = push_txn(Method::Push, &["A"]);
    let s = step(
        &mut t,
        Input::Answer(answer("Z", true, TokenCheck::Missing)),
        T0,
    );
    assert_eq!(s.reply, Reply::Refused(Refusal::UnknownDevice));
    assert_eq!(t.status, Status::Pending);
}

#[test]
fn the_document_is_fetched_once_per_device_and_not_after_expiry() {
    let mut t = push_txn(Method::Push, &["A", "B"]);
    assert_eq!(
        step(&mut t, Input::Fetch { device_id: "A" }, T0).reply,
        Reply::Done
    );
    assert_eq!(
        step(&mut t, Input::Fetch { device_id: "A" }, T0).reply,
        Reply::Refused(Refusal::AlreadyFetched)
    );
    assert_eq!(
        step(&mut t, Input::Fetch { device_id: "Z" }, T0).reply,
        Reply::Refused(Refusal::UnknownDevice)
    );
    let s = step(&mut t, Input::Fetch { device_id: "B" }, T0 + TTL);
    assert_eq!(s.reply, Reply::Refused(Refusal::Expired));
}

// === push delivery, resend, fallback ===

#[test]
fn push_fails_only_when_every_delivery_failed() {
    let mut t = push_txn(Method::Push, &["A", "B"]);
    let s = step(
        &mut t,
        Input::PushDelivered {
            device_id: "A",
            ok: false,
        },
        T0,
    );
    assert!(emitted(&s, EventName::PushServiceFailure));
    assert_eq!(t.status, Status::Pending);
    step(
        &mut t,
        Input::PushDelivered {
            device_id: "B",
            ok: false,
        },
        T0,
    );
    assert_final(&t, Status::Failed, Some(Reason::FailedToSend));
}

#[test]
fn delivery_failure_falls_back_to_sms_in_the_same_transaction() {
    let mut t = with_fallback(push_txn(Method::Push, &["A"]), None, true);
    let (id, deadline) = (t.id, t.deadline);
    let s = step(
        &mut t,
        Input::PushDelivered {
            device_id: "A",
            ok: false,
        },
        T0 + 5,
    );
    assert!(has(&s, &Effect::SendSms { resend: false }));
    assert!(emitted(&s, EventName::MobileAuthFallbackStarted));
    assert_eq!(
        (t.id, t.deadline, t.method, t.status),
        (id, deadline, Method::Sms, Status::Pending)
    );
    assert_eq!(
        step(
            &mut t,
            Input::VerifyCode {
                code_hmac: "654321"
            },
            T0 + 6
        )
        .reply,
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
    let s = step(
        &mut t,
        Input::Resend {
            fresh_code_hmac: None,
        },
        T0 + 500,
    );
    assert_eq!(
        s.reply,
        Reply::Refused(Refusal::ResendTooSoon {
            retry_after_ms: 500
        })
    );
    let s = step(
        &mut t,
        Input::Resend {
            fresh_code_hmac: None,
        },
        T0 + 1000,
    );
    assert!(has(
        &s,
        &Effect::SendPush {
            device_ids: vec!["A".into(), "B".into()],
            resend: true
        }
    ));
    assert_eq!(
        step(
            &mut t,
            Input::Resend {
                fresh_code_hmac: None
            },
            T0 + 5000
        )
        .reply,
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

// === OTP ===

#[test]
fn otp_is_single_use_and_binds_the_user() {
    let mut t = txn(Method::Otp);
    t.user_id = None;
    t.otp_sha256 = Some("abc".into());
    let wrong = Input::RedeemOtp {
        secret_sha256: "xyz",
        user_id: "bob",
        device_id: "D",
    };
    assert_eq!(
        step(&mut t, wrong, T0).reply,
        Reply::Refused(Refusal::InvalidOtp)
    );
    let right = Input::RedeemOtp {
        secret_sha256: "abc",
        user_id: "bob",
        device_id: "D",
    };
    assert_eq!(step(&mut t, right.clone(), T0).reply, Reply::Done);
    assert_eq!(t.user_id.as_deref(), Some("bob"));
    assert_eq!(
        step(&mut t, right, T0).reply,
        Reply::Refused(Refusal::InvalidOtp)
    );
    let s = step(
        &mut t,
        Input::Answer(answer("D", true, TokenCheck::Missing)),
        T0,
    );
    assert_eq!(s.reply, Reply::Accepted);
    assert!(emitted(&s, EventName::OtpAuthAuthenticated));
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
fn a_resend_without_the_clear_code_replaces_it_with_the_fresh_one() {
    let mut t = sms_txn(3, 2, 0);
    t.code.as_mut().unwrap().last_sent_at = Some(T0);
    let s = step(
        &mut t,
        Input::Resend {
            fresh_code_hmac: Some("fresh-mac"),
        },
        T0 + 10,
    );
    assert_eq!(s.reply, Reply::Done);
    assert!(has(&s, &Effect::SendSms { resend: true }));
    assert_eq!(t.code.as_ref().unwrap().code_hmac, "fresh-mac");
    // The old code is gone; the fresh one works.
    let s = step(
        &mut t,
        Input::VerifyCode {
            code_hmac: "123456",
        },
        T0 + 11,
    );
    assert_eq!(s.reply, Reply::Refused(Refusal::WrongCode));
    let s = step(
        &mut t,
        Input::VerifyCode {
            code_hmac: "fresh-mac",
        },
        T0 + 12,
    );
    assert_eq!(s.reply, Reply::Accepted);
}

#[test]
fn a_refused_resend_keeps_the_code() {
    let mut t = sms_txn(3, 0, 0);
    let s = step(
        &mut t,
        Input::Resend {
            fresh_code_hmac: Some("fresh-mac"),
        },
        T0 + 10,
    );
    assert_eq!(s.reply, Reply::Refused(Refusal::ResendLimit));
    assert_eq!(t.code.as_ref().unwrap().code_hmac, "123456");
}

#[test]
fn rekey_replaces_only_codes_nobody_received() {
    // The prepared fallback's code was never sent: replaced.
    let mut t = with_fallback(push_txn(Method::Push, &["D1"]), Some(30_000), false);
    let s = step(&mut t, Input::Rekey { code_hmac: "new" }, T0 + 1);
    assert_eq!(s.reply, Reply::Done);
    assert_eq!(s.effects.first(), Some(&Effect::Persist));
    assert_eq!(t.fallback.as_ref().unwrap().code.code_hmac, "new");
    // A code that was texted stays: the user holds it.
    let mut t = sms_txn(3, 0, 0);
    t.code.as_mut().unwrap().last_sent_at = Some(T0);
    let s = step(&mut t, Input::Rekey { code_hmac: "new" }, T0 + 1);
    assert_eq!(s.reply, Reply::Refused(Refusal::Ignored));
    assert_eq!(t.code.as_ref().unwrap().code_hmac, "123456");
}
