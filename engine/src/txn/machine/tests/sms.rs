//! SMS rules: verification, attempts, resends and their cool-down, re-keyed codes, the user check.

use super::*;

// === SMS verification ===

#[test]
fn right_code_accepts() {
    let mut t = sms_txn(3, 0, 0);
    let s = step(&mut t, verify("123456"), T0 + 1);
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
    let s = step(&mut t, verify("123456"), T0 + 1);
    assert!(!has(&s, &Effect::Callback));
}

#[test]
fn wrong_code_uses_one_attempt_and_stays_pending() {
    let mut t = sms_txn(3, 0, 0);
    let s = step(&mut t, verify("000000"), T0 + 1);
    assert_eq!(s.reply, Reply::Refused(Refusal::WrongCode));
    assert_eq!(t.status, Status::Pending);
    assert_eq!(t.code.as_ref().map(|c| c.attempts_used), Some(1));
    assert!(emitted(&s, EventName::SmsAuthInvalidCode));
}

#[test]
fn the_attempt_that_uses_up_max_attempts_invalidates() {
    let mut t = sms_txn(3, 0, 0);
    for _ in 0..2 {
        step(&mut t, verify("000000"), T0 + 1);
    }
    let s = step(&mut t, verify("000000"), T0 + 2);
    assert_eq!(s.reply, Reply::Refused(Refusal::WrongCode));
    assert_final(&t, Status::Failed, Some(Reason::AttemptsExceeded));
    assert!(emitted(&s, EventName::SmsAuthLimitExceeded));
    // Even the right code is too late now.
    let s = step(&mut t, verify("123456"), T0 + 3);
    assert_eq!(s.reply, Reply::Refused(Refusal::Final(Status::Failed)));
}

#[test]
fn zero_max_attempts_is_unlimited() {
    let mut t = sms_txn(0, 0, 0);
    for i in 0..100 {
        let s = step(&mut t, verify("999999"), T0 + i);
        assert_eq!(s.reply, Reply::Refused(Refusal::WrongCode));
    }
    assert_eq!(t.status, Status::Pending);
    assert_eq!(
        step(&mut t, verify("123456"), T0 + 200).reply,
        Reply::Accepted
    );
    assert_eq!(t.used_authentication_attempts, 101);
}

#[test]
fn verifying_a_push_transaction_is_refused() {
    let mut t = push_txn(Method::Push, &["A"]);
    let s = step(&mut t, verify("123456"), T0);
    assert_eq!(s.reply, Reply::Refused(Refusal::WrongMethod));
}

// === SMS resend ===

#[test]
fn zero_max_resends_disables_resending() {
    let mut t = sms_txn(3, 0, 0);
    assert_eq!(
        step(&mut t, resend(None), T0).reply,
        Reply::Refused(Refusal::ResendLimit)
    );
}

#[test]
fn resends_send_the_same_code_up_to_the_limit() {
    let mut t = sms_txn(3, 2, 0);
    for _ in 0..2 {
        let s = step(&mut t, resend(None), T0 + 10);
        assert_eq!(s.reply, Reply::Done);
        assert!(has(&s, &Effect::SendSms { resend: true }));
        assert_eq!(
            t.code.as_ref().map(|c| c.code_hmac.as_str()),
            Some("123456")
        );
    }
    assert_eq!(
        step(&mut t, resend(None), T0 + 20).reply,
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
    let s = step(&mut t, resend(None), T0 + 10_000);
    assert_eq!(
        s.reply,
        Reply::Refused(Refusal::ResendTooSoon {
            retry_after_ms: 20_000
        })
    );
    assert_eq!(step(&mut t, resend(None), T0 + 30_000).reply, Reply::Done);
    // The cool-down restarts from the resend.
    let s = step(&mut t, resend(None), T0 + 31_000);
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
    step(&mut t, resend(None), T0);
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
    step(&mut t, resend(None), T0 + 2);
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

#[test]
fn a_resend_without_the_clear_code_replaces_it_with_the_fresh_one() {
    let mut t = sms_txn(3, 2, 0);
    t.code.as_mut().unwrap().last_sent_at = Some(T0);
    let s = step(&mut t, resend(Some("fresh-mac")), T0 + 10);
    assert_eq!(s.reply, Reply::Done);
    assert!(has(&s, &Effect::SendSms { resend: true }));
    assert_eq!(t.code.as_ref().unwrap().code_hmac, "fresh-mac");
    // The old code is gone; the fresh one works.
    let s = step(&mut t, verify("123456"), T0 + 11);
    assert_eq!(s.reply, Reply::Refused(Refusal::WrongCode));
    let s = step(&mut t, verify("fresh-mac"), T0 + 12);
    assert_eq!(s.reply, Reply::Accepted);
}

#[test]
fn a_refused_resend_keeps_the_code() {
    let mut t = sms_txn(3, 0, 0);
    let s = step(&mut t, resend(Some("fresh-mac")), T0 + 10);
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

#[test]
fn another_users_code_is_refused_and_counts_nothing() {
    let mut t = sms_txn(3, 0, 0);
    let s = step(
        &mut t,
        Input::VerifyCode {
            user_id: "mallory",
            code_hmac: "123456",
        },
        T0,
    );
    assert_eq!(s.reply, Reply::Refused(Refusal::WrongUser));
    assert!(s.effects.is_empty());
    assert_eq!(t.code.as_ref().map(|c| c.attempts_used), Some(0));
    assert_eq!(t.status, Status::Pending);
}

#[test]
fn another_users_resend_is_refused_and_counts_nothing() {
    let mut t = sms_txn(3, 2, 0);
    let other = Input::Resend {
        user_id: Some("mallory"),
        in_flight: false,
        fresh_code_hmac: None,
    };
    assert_eq!(
        step(&mut t, other, T0).reply,
        Reply::Refused(Refusal::WrongUser)
    );
    assert_eq!(t.code.as_ref().map(|c| c.resends_used), Some(0));
    let own = Input::Resend {
        user_id: Some("alice"),
        in_flight: false,
        fresh_code_hmac: None,
    };
    assert_eq!(step(&mut t, own, T0).reply, Reply::Done);
}

#[test]
fn one_resend_at_a_time() {
    let mut t = sms_txn(3, 5, 0);
    assert_eq!(step(&mut t, resend(None), T0).reply, Reply::Done);
    // The first is still with the gateway: no cool-down applies (0), yet a second is refused,
    // without a made-up wait, and not counted.
    let second = Input::Resend {
        user_id: Some("alice"),
        in_flight: true,
        fresh_code_hmac: Some("fresh-mac"),
    };
    let s = step(&mut t, second, T0 + 1);
    assert_eq!(s.reply, Reply::Refused(Refusal::ResendInFlight));
    assert!(s.effects.is_empty());
    let code = t
        .code
        .as_ref()
        .map(|c| (c.resends_used, c.code_hmac.as_str()));
    assert_eq!(code, Some((1, "123456")));
}
