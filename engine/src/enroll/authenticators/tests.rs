use super::*;
use crate::enroll::test_device;

fn app() -> Application {
    Application {
        max_pin_attempts: 3,
        max_fingerprint_attempts: 2,
        ..Default::default()
    }
}

#[test]
fn methods_take_their_tokens_and_the_pin() {
    use Method::*;
    let custom = TokenKind::Custom("face".into());
    assert!(accepts(PushWithPin, &TokenKind::Pin));
    assert!(!accepts(PushWithPin, &TokenKind::Fingerprint));
    assert!(accepts(PushWithFingerprint, &TokenKind::Fingerprint));
    assert!(accepts(PushWithFingerprint, &TokenKind::Pin));
    assert!(!accepts(PushWithFingerprint, &custom));
    assert!(accepts(PushWithCustomAuthenticator, &custom));
    assert!(accepts(PushWithCustomAuthenticator, &TokenKind::Pin));
    assert!(!accepts(Push, &TokenKind::Pin));
}

#[test]
fn the_table_names_each_methods_authenticators() {
    use Method::*;
    assert_eq!(accepted(PushWithPin), [Factor::Pin]);
    assert_eq!(
        accepted(PushWithFingerprint),
        [Factor::Fingerprint, Factor::Pin]
    );
    assert_eq!(
        accepted(PushWithCustomAuthenticator),
        [Factor::Custom, Factor::Pin]
    );
    for m in [Push, Otp, Sms] {
        assert!(accepted(m).is_empty(), "{m:?}");
    }
}

#[test]
fn a_device_holds_an_authenticator_only_where_its_app_allows_it() {
    let mut d = test_device();
    let mut a = app();
    assert!(!holds(&d, &a, Factor::Pin));
    d.pin = Some(new_authenticator("p", 0));
    d.fingerprint = Some(new_authenticator("f", 0));
    d.custom.insert("face".into(), new_authenticator("c", 0));
    a.pin_enabled = false;
    assert!(!holds(&d, &a, Factor::Pin));
    a.pin_enabled = true;
    assert!(holds(&d, &a, Factor::Pin));
    a.fingerprint_enabled = false;
    assert!(!holds(&d, &a, Factor::Fingerprint));
    a.fingerprint_enabled = true;
    assert!(holds(&d, &a, Factor::Fingerprint));
    assert!(
        !holds(&d, &a, Factor::Custom),
        "the app lists no custom authenticator"
    );
}

#[test]
fn wrong_pins_count_down_to_disconnection_and_a_right_one_resets() {
    let mut d = test_device();
    d.pin = Some(new_authenticator("right", 0));
    let pin = |t| Some((TokenKind::Pin, t));
    assert_eq!(
        check(&mut d, &app(), Method::PushWithPin, pin("x")).0,
        TokenCheck::Invalid {
            remaining_attempts: 2
        }
    );
    assert_eq!(
        check(&mut d, &app(), Method::PushWithPin, pin("right")).0,
        TokenCheck::Valid
    );
    assert_eq!(d.pin.as_ref().map(|p| p.failures), Some(0));
    check(&mut d, &app(), Method::PushWithPin, pin("x"));
    check(&mut d, &app(), Method::PushWithPin, pin("x"));
    assert_eq!(
        check(&mut d, &app(), Method::PushWithPin, pin("x")),
        (TokenCheck::Disconnected, Consequence::Disconnect)
    );
}

#[test]
fn fingerprint_limit_revokes_only_the_fingerprint() {
    let mut d = test_device();
    d.pin = Some(new_authenticator("pin", 0));
    d.fingerprint = Some(new_authenticator("fp", 0));
    let fp = |t| Some((TokenKind::Fingerprint, t));
    check(&mut d, &app(), Method::PushWithFingerprint, fp("bad"));
    let (c, consequence) = check(&mut d, &app(), Method::PushWithFingerprint, fp("bad"));
    assert_eq!(
        (c, consequence),
        (TokenCheck::Revoked, Consequence::AuthenticatorRevoked)
    );
    assert!(d.fingerprint.is_none());
    assert_eq!(
        check(&mut d, &app(), Method::PushWithFingerprint, fp("fp")).0,
        TokenCheck::Revoked
    );
    let pin = Some((TokenKind::Pin, "pin"));
    assert_eq!(
        check(&mut d, &app(), Method::PushWithFingerprint, pin).0,
        TokenCheck::Valid
    );
}

#[test]
fn custom_authenticators_by_id() {
    let mut d = test_device();
    d.custom
        .insert("face".into(), new_authenticator("smile", 0));
    let a = Application {
        max_custom_attempts: 1,
        ..app()
    };
    let face = |t| Some((TokenKind::Custom("face".into()), t));
    assert_eq!(
        check(
            &mut d,
            &a,
            Method::PushWithCustomAuthenticator,
            face("smile")
        )
        .0,
        TokenCheck::Valid
    );
    let other = Some((TokenKind::Custom("iris".into()), "smile"));
    assert_eq!(
        check(&mut d, &a, Method::PushWithCustomAuthenticator, other).0,
        TokenCheck::Revoked
    );
    assert_eq!(
        check(
            &mut d,
            &a,
            Method::PushWithCustomAuthenticator,
            face("frown")
        )
        .1,
        Consequence::AuthenticatorRevoked
    );
    assert!(d.custom.is_empty());
}

#[test]
fn tokens_a_method_does_not_take_count_as_missing() {
    let mut d = test_device();
    d.fingerprint = Some(new_authenticator("fp", 0));
    let fp = Some((TokenKind::Fingerprint, "nope"));
    assert_eq!(
        check(&mut d, &app(), Method::PushWithPin, fp).0,
        TokenCheck::Missing
    );
    assert_eq!(d.fingerprint.as_ref().map(|f| f.failures), Some(0));
    assert_eq!(
        check(&mut d, &app(), Method::PushWithPin, None).0,
        TokenCheck::Missing
    );
}

/// What `tessera_authenticator_failures_total` counts: every wrong token counted against an
/// authenticator (the one reaching the limit included), never a success, a refusal at the PIN
/// limit that counts nothing, or an authenticator that is not there.
#[test]
fn a_failure_is_counted_exactly_when_the_attempt_counted_one() {
    let mut d = test_device();
    d.pin = Some(new_authenticator("right", 0));
    d.fingerprint = Some(new_authenticator("fp", 0));
    let mut attempt = |kind: TokenKind, token: &str| {
        let before = failures(&mut d, &kind);
        verify(&mut d, &app(), &kind, token, Success::Reset);
        failure_counted(before, &mut d, &kind)
    };
    assert!(attempt(TokenKind::Pin, "x"));
    assert!(!attempt(TokenKind::Pin, "right"), "a success resets");
    assert!(attempt(TokenKind::Pin, "x"));
    assert!(attempt(TokenKind::Pin, "x"));
    assert!(attempt(TokenKind::Pin, "x"), "the third reaches the limit");
    assert!(
        !attempt(TokenKind::Pin, "x"),
        "at the limit nothing more is counted"
    );
    assert!(attempt(TokenKind::Fingerprint, "bad"));
    assert!(
        attempt(TokenKind::Fingerprint, "bad"),
        "revoked at its limit"
    );
    assert!(
        !attempt(TokenKind::Fingerprint, "bad"),
        "no fingerprint left to count on"
    );
}
