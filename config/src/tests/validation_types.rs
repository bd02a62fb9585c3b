//! Validation of `[[mobile_auth_types]]`: names, limits, messages and fallbacks.
//! The demo config's types are: [0] sms, [1] push (falls back to sms), [2] push_with_pin, [3] otp.

use std::time::Duration;

use super::validation::{demo, expect};
use crate::*;

fn set(c: &mut Config, name: &str, change: impl FnOnce(&mut MobileAuthType)) {
    change(
        c.mobile_auth_types
            .iter_mut()
            .find(|t| t.name == name)
            .unwrap(),
    );
}

#[test]
fn type_names_are_required_and_unique() {
    let mut c = demo();
    set(&mut c, "otp", |t| t.name = "sms".into());
    set(&mut c, "push_with_pin", |t| t.name = String::new());
    expect(
        &c,
        &[
            (
                "mobile_auth_types[3].name",
                "duplicate name `sms` (first at mobile_auth_types[0])",
            ),
            ("mobile_auth_types[2].name", "required"),
        ],
    );
}

#[test]
fn code_length_is_4_to_10() {
    for (length, ok) in [(3, false), (4, true), (10, true), (11, false)] {
        let mut c = demo();
        set(&mut c, "sms", |t| t.code_length = length);
        let expected: &[(&str, &str)] = if ok {
            &[]
        } else {
            &[("mobile_auth_types[0].code_length", "between 4 and 10")]
        };
        expect(&c, expected);
    }
}

#[test]
fn time_to_live_is_positive_and_at_most_a_day() {
    let mut c = demo();
    set(&mut c, "sms", |t| t.time_to_live = Duration::ZERO);
    set(&mut c, "otp", |t| {
        t.time_to_live = Duration::from_secs(24 * 3600 + 1)
    });
    set(&mut c, "push_with_pin", |t| {
        t.time_to_live = Duration::from_secs(24 * 3600)
    });
    expect(
        &c,
        &[
            ("mobile_auth_types[0].time_to_live", "greater than 0"),
            ("mobile_auth_types[3].time_to_live", "at most 24h"),
        ],
    );
}

#[test]
fn message_languages_must_be_supported() {
    let mut c = demo();
    set(&mut c, "push", |t| {
        t.default_messages.insert("de".into(), "Einloggen?".into());
    });
    expect(
        &c,
        &[(
            "mobile_auth_types[1].default_messages.de",
            "`de` is not in general.supported_locales",
        )],
    );
}

#[test]
fn a_fallback_names_another_existing_type() {
    let mut c = demo();
    set(&mut c, "push", |t| t.fallback = "pushh".into());
    set(&mut c, "push_with_pin", |t| {
        t.fallback = "push_with_pin".into()
    });
    expect(
        &c,
        &[
            (
                "mobile_auth_types[1].fallback",
                "no mobile auth type named `pushh`",
            ),
            (
                "mobile_auth_types[2].fallback",
                "cannot fall back to itself",
            ),
        ],
    );
}

#[test]
fn otp_types_have_no_fallback_and_are_no_fallback() {
    let mut c = demo();
    set(&mut c, "otp", |t| t.fallback = "sms".into());
    set(&mut c, "push_with_pin", |t| t.fallback = "otp".into());
    expect(
        &c,
        &[
            (
                "mobile_auth_types[3].fallback",
                "an otp type cannot have a fallback",
            ),
            (
                "mobile_auth_types[2].fallback",
                "cannot fall back to `otp`: its method is otp",
            ),
        ],
    );
}

#[test]
fn fallback_loops_are_reported_once() {
    let mut c = demo();
    // push → sms → push_with_pin → push, and a type leading into the loop.
    set(&mut c, "sms", |t| t.fallback = "push_with_pin".into());
    set(&mut c, "push_with_pin", |t| t.fallback = "push".into());
    c.mobile_auth_types.push(MobileAuthType {
        name: "lead_in".into(),
        fallback: "push".into(),
        ..MobileAuthType::default()
    });
    expect(
        &c,
        &[(
            "mobile_auth_types[0].fallback",
            "fallback chain loops: sms → push_with_pin → push → sms",
        )],
    );
}

#[test]
fn fallback_chains_without_loops_are_fine() {
    let mut c = demo();
    set(&mut c, "push_with_pin", |t| t.fallback = "push".into());
    expect(&c, &[]);
}

#[test]
fn fallback_after_needs_a_fallback_a_push_method_and_less_than_the_ttl() {
    let mut c = demo();
    set(&mut c, "push", |t| {
        t.fallback_after = Some(Duration::from_secs(30))
    });
    expect(&c, &[]);

    set(&mut c, "push", |t| {
        t.fallback_after = Some(Duration::from_secs(300))
    });
    set(&mut c, "push_with_pin", |t| {
        t.fallback_after = Some(Duration::from_secs(30))
    });
    set(&mut c, "sms", |t| {
        t.fallback = "push_with_pin".into();
        t.fallback_after = Some(Duration::from_secs(30));
    });
    expect(
        &c,
        &[
            (
                "mobile_auth_types[1].fallback_after",
                "shorter than time_to_live",
            ),
            ("mobile_auth_types[2].fallback_after", "needs a fallback"),
            ("mobile_auth_types[0].fallback_after", "only push methods"),
        ],
    );
}

#[test]
fn fallback_on_delivery_failure_needs_a_fallback_and_a_push_method() {
    let mut c = demo();
    set(&mut c, "push", |t| t.fallback_on_delivery_failure = true);
    expect(&c, &[]);

    set(&mut c, "push_with_pin", |t| {
        t.fallback_on_delivery_failure = true
    });
    set(&mut c, "sms", |t| {
        t.fallback = "push_with_pin".into();
        t.fallback_on_delivery_failure = true;
    });
    expect(
        &c,
        &[
            (
                "mobile_auth_types[2].fallback_on_delivery_failure",
                "needs a fallback",
            ),
            (
                "mobile_auth_types[0].fallback_on_delivery_failure",
                "only push methods",
            ),
        ],
    );
}

#[test]
fn type_rules_apply_to_the_file_with_paths() {
    let toml = r#"
        [[mobile_auth_types]]
        name = "a"
        method = "otp"
        fallback = "b"
        [[mobile_auth_types]]
        name = "b"
        method = "push"
        fallback_after = "1m"
        "#;
    let problems = super::problems_of(toml);
    super::assert_exactly(
        &problems,
        &[
            (
                "mobile_auth_types[0].fallback",
                "an otp type cannot have a fallback",
            ),
            ("mobile_auth_types[1].fallback_after", "needs a fallback"),
        ],
    );
}

#[test]
fn in_transaction_fallback_needs_an_sms_fallback() {
    let mut c = demo();
    set(&mut c, "push_with_pin", |t| {
        t.fallback = "push".into();
        t.fallback_after = Some(Duration::from_secs(30));
    });
    expect(
        &c,
        &[(
            "mobile_auth_types[2].fallback_after",
            "needs an sms fallback",
        )],
    );
}
