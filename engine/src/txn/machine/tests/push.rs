//! The push family: answers, authenticators, number matching, signing, fetch, OTP, removed devices.

use super::*;

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

// === OTP ===

#[test]
fn otp_is_single_use_and_binds_the_user() {
    let mut t = txn(Method::Otp);
    t.user_id = None;
    t.otp_sha256 = Some("abc".into());
    t.otp_sealed = Some("5ea1ed".into());
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
    assert_eq!(
        t.otp_sealed.as_deref(),
        Some("5ea1ed"),
        "a refusal keeps it"
    );
    assert_eq!(step(&mut t, right.clone(), T0).reply, Reply::Done);
    assert_eq!(t.user_id.as_deref(), Some("bob"));
    // Redeemed: neither the hash nor the sealed copy (no node shows the QR code any more).
    assert_eq!((&t.otp_sha256, &t.otp_sealed), (&None, &None));
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
fn an_unredeemed_otp_leaves_the_record_when_the_transaction_finishes() {
    let expire = Input::Timer(TimerKind::Expiry);
    for input in [Input::Cancel, expire.clone()] {
        let mut t = txn(Method::Otp);
        t.user_id = None;
        t.otp_sha256 = Some("abc".into());
        t.otp_sealed = Some("5ea1ed".into());
        let at = if input == expire { t.deadline } else { T0 };
        step(&mut t, input.clone(), at);
        assert!(t.is_final(), "{input:?}");
        assert_eq!((&t.otp_sha256, &t.otp_sealed), (&None, &None), "{input:?}");
    }
}

#[test]
fn may_answer_only_the_addressed_device_of_a_pending_push() {
    let t = push_txn(Method::PushWithPin, &["A"]);
    assert_eq!(may_answer(&t, "A"), Ok(()));
    assert_eq!(may_answer(&t, "Z"), Err(Refusal::UnknownDevice));
    let mut done = t.clone();
    step(&mut done, Input::Cancel, T0);
    assert_eq!(
        may_answer(&done, "A"),
        Err(Refusal::Final(Status::Cancelled))
    );
    // After the fallback to SMS the device is still addressed, but its answer no longer applies.
    let mut fell = with_fallback(t, Some(1), false);
    step(&mut fell, Input::Timer(TimerKind::Fallback), T0 + 1);
    assert_eq!(may_answer(&fell, "A"), Err(Refusal::WrongMethod));
}

#[test]
fn an_unaddressed_devices_token_is_not_counted() {
    let mut t = push_txn(Method::PushWithPin, &["A"]);
    let s = step(
        &mut t,
        Input::Answer(answer(
            "Z",
            true,
            TokenCheck::Invalid {
                remaining_attempts: 2,
            },
        )),
        T0,
    );
    assert_eq!(s.reply, Reply::Refused(Refusal::UnknownDevice));
    assert_eq!(t.used_authentication_attempts, 0);
}

#[test]
fn a_push_awaits_the_fetch_of_each_addressed_device_until_final() {
    let mut t = push_txn(Method::Push, &["A", "B"]);
    assert!(awaits_fetch(&t, "A") && awaits_fetch(&t, "B"));
    assert!(!awaits_fetch(&t, "Z"));
    step(&mut t, Input::Fetch { device_id: "A" }, T0);
    assert!(!awaits_fetch(&t, "A") && awaits_fetch(&t, "B"));
    step(&mut t, Input::Cancel, T0);
    assert!(!awaits_fetch(&t, "B"));
    // An SMS transaction (a push that fell back) is in no device's list.
    let mut fell = with_fallback(push_txn(Method::Push, &["A"]), Some(1), false);
    step(&mut fell, Input::Timer(TimerKind::Fallback), T0 + 1);
    assert!(!awaits_fetch(&fell, "A"));
}

#[test]
fn plain_push_takes_no_token_and_the_others_need_one() {
    for (method, needs) in [
        (Method::Push, false),
        (Method::PushWithPin, true),
        (Method::PushWithFingerprint, true),
        (Method::PushWithCustomAuthenticator, true),
    ] {
        let mut t = push_txn(method, &["A"]);
        let s = step(
            &mut t,
            Input::Answer(answer("A", true, TokenCheck::Missing)),
            T0,
        );
        let expected = if needs {
            Reply::Refused(Refusal::TokenRequired)
        } else {
            Reply::Accepted
        };
        assert_eq!(s.reply, expected, "{method:?}");
    }
}
