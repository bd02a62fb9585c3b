//! Start rules: request checks, method choice with fallback at start, messages and codes.

use super::*;
use crate::test_util::{T0, general, push_type, sms_request as sms_req, sms_type};
use tessera_config::{CallbackConfig, General, Method, PolicyRefusal};

const HASH_KEY: &str = "start-tests-hash-key-0123456789abcdef";

fn key() -> CodeKey {
    CodeKey::from_config(HASH_KEY)
}

/// The SMS the actor will send: the template with the clear code placed.
fn sent_text(p: &Prepared) -> String {
    let template = &p.txn.code.as_ref().unwrap().template;
    sms_text(template, p.sms_code.as_deref().unwrap())
}

fn draw() -> Draw {
    Draw {
        id: TxnId::random(),
        digits: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0],
        fallback_digits: [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
        otp_secret: [7; 32],
        number_choices: [42, 17, 88],
    }
}

fn prep(
    req: &StartRequest,
    ty: &MobileAuthType,
    fallback: Option<&MobileAuthType>,
    g: &General,
) -> Result<Prepared> {
    let key = key();
    let settings = Settings {
        general: g,
        ty,
        fallback,
        callbacks: &[],
        code_key: &key,
        sms_policy: &SmsPolicy::default(),
    };
    prepare(req, settings, &[], &draw(), T0)
}

#[test]
fn sms_start_builds_the_code_and_text() {
    let p = prep(&sms_req(), &sms_type("sms"), None, &general()).unwrap();
    assert_eq!(p.sms_code.as_deref(), Some("123456"));
    assert_eq!(sent_text(&p), "Your code is 123456");
    // The record keeps the code's MAC under the hash key, never the code.
    let c = p.txn.code.as_ref().unwrap();
    assert_eq!(c.code_hmac, key().mac(p.txn.id, "123456"));
    let stored = serde_json::to_string(&p.txn).unwrap();
    assert!(
        !stored.contains("is 123456") && !stored.contains("\"123456\""),
        "{stored}"
    );
    assert_eq!(p.txn.deadline, T0 + 300_000);
    assert_eq!(p.txn.method, Method::Sms);
}

#[test]
fn code_placement_and_message_without_placeholder() {
    assert_eq!(
        sms_text("Code {code} for login", "1234"),
        "Code 1234 for login"
    );
    assert_eq!(sms_text("Hello there", "1234"), "1234");
    let mut req = sms_req();
    req.message = Some("Log in to ACME".into());
    let p = prep(&req, &sms_type("sms"), None, &general()).unwrap();
    assert_eq!(sent_text(&p), "123456");
}

#[test]
fn code_length_is_honoured() {
    for len in [4u8, 8, 10] {
        let mut ty = sms_type("sms");
        ty.code_length = len;
        let code = prep(&sms_req(), &ty, None, &general())
            .unwrap()
            .sms_code
            .unwrap();
        assert_eq!(code.len(), usize::from(len));
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
    }
}

#[test]
fn random_draws_are_digits() {
    let d = Draw::random(&mut rand::rng());
    assert!(d.digits.iter().chain(&d.fallback_digits).all(|x| *x < 10));
    let [a, b, c] = d.number_choices;
    assert!(a != b && b != c && a != c && (10..100).contains(&a));
}

#[test]
fn default_message_per_language_falls_back_to_english() {
    let mut req = sms_req();
    req.language_code = Some("nl".into());
    let p = prep(&req, &sms_type("sms"), None, &general()).unwrap();
    assert_eq!(sent_text(&p), "Je code is 123456");
    req.language_code = Some("de".into());
    let p = prep(&req, &sms_type("sms"), None, &general()).unwrap();
    assert_eq!(p.txn.language, "en");
    assert_eq!(sent_text(&p), "Your code is 123456");
}

#[test]
fn a_message_is_required_without_defaults() {
    let mut ty = sms_type("sms");
    ty.default_messages.clear();
    let err = prep(&sms_req(), &ty, None, &general()).unwrap_err();
    assert!(matches!(err, Error::InvalidParameter("message")));
}

#[test]
fn message_length_is_limited() {
    let mut req = sms_req();
    req.message = Some("x".repeat(156));
    assert!(matches!(
        prep(&req, &sms_type("sms"), None, &general()),
        Err(Error::MessageTooLong)
    ));
    req.message = Some("é".repeat(155));
    assert!(prep(&req, &sms_type("sms"), None, &general()).is_ok());
}

#[test]
fn phone_numbers_must_be_e164() {
    for bad in [
        None,
        Some(""),
        Some("0612345678"),
        Some("+0612345678"),
        Some("+31 6123"),
        Some("+1234567"),
        Some("+1234567890123456"),
    ] {
        let mut req = sms_req();
        req.phone_number = bad.map(str::to_owned);
        assert!(
            matches!(
                prep(&req, &sms_type("sms"), None, &general()),
                Err(Error::InvalidPhoneNumber)
            ),
            "{bad:?}"
        );
    }
    assert!(check_phone(Some("+12345678"), &SmsPolicy::default()).is_ok());
}

#[test]
fn user_id_rules() {
    let mut req = sms_req();
    req.user_id = None;
    assert!(matches!(
        prep(&req, &sms_type("sms"), None, &general()),
        Err(Error::InvalidParameter("user_id"))
    ));
    for bad in ["".to_owned(), "a\u{7}b".to_owned(), "u".repeat(256)] {
        req.user_id = Some(bad);
        assert!(matches!(
            prep(&req, &sms_type("sms"), None, &general()),
            Err(Error::UnknownType)
        ));
    }
}

#[test]
fn switches_in_general_config() {
    let mut g = general();
    g.sms_authentication_enabled = false;
    assert!(matches!(
        prep(&sms_req(), &sms_type("sms"), None, &g),
        Err(Error::SmsDisabled)
    ));
    g.mobile_authentication_enabled = false;
    assert!(matches!(
        prep(&sms_req(), &sms_type("sms"), None, &g),
        Err(Error::MobileAuthDisabled)
    ));
}

#[test]
fn sender_id_chain_type_then_general_then_none() {
    let mut g = general();
    let mut ty = sms_type("sms");
    let sender = |ty: &MobileAuthType, g: &General| {
        prep(&sms_req(), ty, None, g)
            .unwrap()
            .txn
            .code
            .unwrap()
            .sender_id
    };
    assert_eq!(sender(&ty, &g), None);
    g.default_sender_id = "ACME".into();
    assert_eq!(sender(&ty, &g).as_deref(), Some("ACME"));
    ty.sender_id = "ACMEBANK".into();
    assert_eq!(sender(&ty, &g).as_deref(), Some("ACMEBANK"));
}

#[test]
fn callback_allow_list_is_an_exact_match() {
    let mut g = general();
    g.callback_allow_list_enabled = true;
    let allowed = [CallbackConfig {
        url: "https://portal.example/cb".into(),
        ..Default::default()
    }];
    let ty = sms_type("sms");
    let mut req = sms_req();
    let settings = Settings {
        general: &g,
        ty: &ty,
        fallback: None,
        callbacks: &allowed,
        code_key: &key(),
        sms_policy: &SmsPolicy::default(),
    };
    req.callback_uri = Some("https://portal.example/cb/".into());
    assert!(matches!(
        prepare(&req, settings, &[], &draw(), T0),
        Err(Error::CallbackNotAllowed)
    ));
    req.callback_uri = Some("https://portal.example/cb".into());
    assert!(prepare(&req, settings, &[], &draw(), T0).is_ok());
    req.callback_uri = Some("javascript:alert(1)".into());
    assert!(matches!(
        prepare(&req, settings, &[], &draw(), T0),
        Err(Error::InvalidParameter(_))
    ));
}

#[test]
fn push_without_devices_falls_back_at_start() {
    let push = push_type("push", Method::Push, "sms");
    let sms = sms_type("sms");
    let mut req = sms_req();
    req.type_name = "push".into();
    let p = prep(&req, &push, Some(&sms), &general()).unwrap();
    assert_eq!(p.txn.method, Method::Sms);
    assert_eq!(p.txn.type_name, "push");
    // The push type's time to live governs the whole transaction.
    assert_eq!(p.txn.deadline, T0 + 120_000);
    assert!(p.txn.code.is_some());
}

#[test]
fn fallback_fields_are_required_up_front() {
    let push = push_type("push", Method::Push, "sms");
    let sms = sms_type("sms");
    let mut req = sms_req();
    req.type_name = "push".into();
    req.phone_number = None;
    let settings = Settings {
        general: &general(),
        ty: &push,
        fallback: Some(&sms),
        callbacks: &[],
        code_key: &key(),
        sms_policy: &SmsPolicy::default(),
    };
    let devices = ["DEV".to_owned()];
    assert!(matches!(
        prepare(&req, settings, &devices, &draw(), T0),
        Err(Error::InvalidPhoneNumber)
    ));
}

#[test]
fn the_sms_policy_is_checked_with_the_number() {
    let sms = sms_type("sms");
    let push = push_type("push", Method::Push, "sms");
    let g = general();
    let policy = SmsPolicy {
        allowed_prefixes: vec!["+31".into(), "+32".into()],
        denied_prefixes: vec!["+3197".into()],
    };
    let prep_with = |req: &StartRequest, ty, fallback| {
        let key = key();
        let settings = Settings {
            general: &g,
            ty,
            fallback,
            callbacks: &[],
            code_key: &key,
            sms_policy: &policy,
        };
        prepare(req, settings, &["DEV".to_owned()], &draw(), T0)
    };
    let mut req = sms_req();
    assert!(prep_with(&req, &sms, None).is_ok(), "+316 is allowed");
    req.phone_number = Some("+32470123456".into());
    assert!(prep_with(&req, &sms, None).is_ok());
    for (phone, why) in [
        ("+31970123456", PolicyRefusal::Denied("+3197".into())),
        ("+14155550100", PolicyRefusal::NotAllowed),
    ] {
        req.phone_number = Some(phone.into());
        match prep_with(&req, &sms, None) {
            Err(Error::PhoneNotAllowed(r)) => assert_eq!(r, why, "{phone}"),
            other => panic!("{phone}: {other:?}"),
        }
        // Also when the SMS is only a push type's fallback, which may never be used.
        let mut push_req = req.clone();
        push_req.type_name = "push".into();
        assert!(
            matches!(
                prep_with(&push_req, &push, Some(&sms)),
                Err(Error::PhoneNotAllowed(_))
            ),
            "{phone}"
        );
    }
    // Malformed stays malformed, whatever the policy.
    req.phone_number = Some("+3197".into());
    assert!(matches!(
        prep_with(&req, &sms, None),
        Err(Error::InvalidPhoneNumber)
    ));
}

#[test]
fn push_without_devices_or_fallback_has_no_possibilities() {
    let push = push_type("push", Method::Push, "");
    let mut req = sms_req();
    req.type_name = "push".into();
    assert!(matches!(
        prep(&req, &push, None, &general()),
        Err(Error::NoAuthPossibilities)
    ));
}

#[test]
fn push_with_devices_targets_them_or_the_named_one() {
    let mut push = push_type("push", Method::Push, "");
    push.number_matching = true;
    let mut req = sms_req();
    req.type_name = "push".into();
    let g = general();
    let settings = Settings {
        general: &g,
        ty: &push,
        fallback: None,
        callbacks: &[],
        code_key: &key(),
        sms_policy: &SmsPolicy::default(),
    };
    let devices = ["A".to_owned(), "B".to_owned()];
    let p = prepare(&req, settings, &devices, &draw(), T0).unwrap();
    let state = p.txn.push.unwrap();
    assert_eq!(state.targets.len(), 2);
    assert_eq!(state.number_challenge, Some(42));
    assert_eq!(state.number_choices, vec![17, 42, 88]);
    req.device_id = Some("B".into());
    let p = prepare(&req, settings, &devices, &draw(), T0).unwrap();
    assert_eq!(p.txn.push.unwrap().targets[0].device_id, "B");
}

#[test]
fn push_authorization_disabled_falls_back() {
    let push = push_type("push", Method::Push, "sms");
    let sms = sms_type("sms");
    let mut g = general();
    g.push_authorization_enabled = false;
    let mut req = sms_req();
    req.type_name = "push".into();
    let settings = Settings {
        general: &g,
        ty: &push,
        fallback: Some(&sms),
        callbacks: &[],
        code_key: &key(),
        sms_policy: &SmsPolicy::default(),
    };
    let p = prepare(&req, settings, &["A".to_owned()], &draw(), T0).unwrap();
    assert_eq!(p.txn.method, Method::Sms);
}

#[test]
fn in_transaction_fallback_is_prepared_with_its_own_code() {
    let mut push = push_type("push", Method::Push, "sms");
    push.fallback_after = Some(std::time::Duration::from_secs(30));
    let sms = sms_type("sms");
    let mut req = sms_req();
    req.type_name = "push".into();
    let key = key();
    let settings = Settings {
        general: &general(),
        ty: &push,
        fallback: Some(&sms),
        callbacks: &[],
        code_key: &key,
        sms_policy: &SmsPolicy::default(),
    };
    let p = prepare(&req, settings, &["A".to_owned()], &draw(), T0).unwrap();
    assert_eq!(p.sms_code.as_deref(), Some("987654"));
    let plan = p.txn.fallback.unwrap();
    assert_eq!(plan.at, Some(T0 + 30_000));
    assert_eq!(plan.code.code_hmac, key.mac(p.txn.id, "987654"));
    assert_eq!(
        sms_text(&plan.code.template, "987654"),
        "Your code is 987654"
    );
}

#[test]
fn otp_start_has_no_user_and_a_parseable_otp() {
    let ty = MobileAuthType {
        name: "otp".into(),
        method: Method::Otp,
        ..push_type("otp", Method::Otp, "")
    };
    let mut req = sms_req();
    req.type_name = "otp".into();
    assert!(matches!(
        prep(&req, &ty, None, &general()),
        Err(Error::InvalidParameter("user_id"))
    ));
    req.user_id = None;
    let p = prep(&req, &ty, None, &general()).unwrap();
    let otp = p.otp.unwrap();
    assert!(otp.len() >= 43, "at least 256 bits of secret");
    let (id, hash) = parse_otp(&otp).unwrap();
    assert_eq!(id, p.txn.id);
    assert_eq!(Some(hash), p.txn.otp_sha256);
    assert!(parse_otp("not-an-otp").is_none());
    assert!(parse_otp(&otp[..otp.len() - 2]).is_none());
}

#[test]
fn the_record_keeps_the_otp_sealed_and_any_holder_of_the_key_unseals_it() {
    let ty = push_type("otp", Method::Otp, "");
    let mut req = sms_req();
    req.type_name = "otp".into();
    req.user_id = None;
    let p = prep(&req, &ty, None, &general()).unwrap();
    let otp = p.otp.clone().unwrap();
    let sealed = p
        .txn
        .otp_sealed
        .clone()
        .expect("a sealed OTP in the record");
    // The secret is not readable at rest, neither raw nor as the OTP's base64.
    let stored = serde_json::to_string(&p.txn).unwrap();
    assert!(!stored.contains(&hex::encode([7u8; 32])), "{stored}");
    assert!(!stored.contains(&otp[22..]), "{stored}");
    assert!(stored.contains(&sealed));

    // A record read back from the store, by a node with the same key (no shared memory).
    let read: Transaction = serde_json::from_str(&stored).unwrap();
    assert_eq!(unseal_otp(&read, &key()).as_deref(), Some(otp.as_str()));
    // Another key: no OTP, not garbage.
    let other = CodeKey::from_config("another-hash-key-0123456789abcdef01");
    assert_eq!(unseal_otp(&read, &other), None);
    // The sealed copy moved to another transaction does not open there.
    let mut moved = read.clone();
    moved.id = TxnId::random();
    assert_eq!(unseal_otp(&moved, &key()), None);
    // Tampered, malformed or missing: none.
    for junk in [
        Some("00".repeat(32)),
        Some("xyz".into()),
        Some(String::new()),
        None,
    ] {
        let mut t = read.clone();
        t.otp_sealed = junk;
        assert_eq!(unseal_otp(&t, &key()), None);
    }
    // Redeemed (hash gone) or finished: none.
    let mut redeemed = read.clone();
    redeemed.otp_sha256 = None;
    assert_eq!(unseal_otp(&redeemed, &key()), None);
    let mut finished = read;
    finished.status = Status::Expired;
    assert_eq!(unseal_otp(&finished, &key()), None);
    // Other methods never carry one.
    let sms = prep(&sms_req(), &sms_type("sms"), None, &general()).unwrap();
    assert_eq!(sms.txn.otp_sealed, None);
    assert_eq!(unseal_otp(&sms.txn, &key()), None);
}
