//! `[rate_limits]` and `[sms_policy]`: the `"N/period"` syntax both ways, the refusals at the
//! key's path, the documented defaults, and the SMS policy's decision.

use std::time::Duration;

use super::*;
use crate::*;

const S: Duration = Duration::from_secs(1);
const M: Duration = Duration::from_secs(60);
const H: Duration = Duration::from_secs(3600);

fn rate(text: &str) -> Rate {
    text.parse()
        .unwrap_or_else(|e| panic!("`{text}` should parse: {e}"))
}

#[test]
fn rates_parse_and_print_back() {
    for (text, parsed, printed) in [
        ("2000/s", Rate::new(2000, S), "2000/1s"),
        ("5/10m", Rate::new(5, 10 * M), "5/10m"),
        ("200/1h", Rate::new(200, H), "200/1h"),
        ("60/m", Rate::new(60, M), "60/1m"),
        ("20/ 10m ", Rate::new(20, 10 * M), "20/10m"),
        ("3/1h 30m", Rate::new(3, 90 * M), "3/1h 30m"),
        ("1/7days", Rate::new(1, 7 * 24 * H), "1/7days"),
        (
            "100/250ms",
            Rate::new(100, Duration::from_millis(250)),
            "100/250ms",
        ),
        ("0", Rate::OFF, "0"),
        ("0/10m", Rate::OFF, "0"),
    ] {
        let r = rate(text);
        assert_eq!(r, parsed, "{text}");
        assert_eq!(r.to_string(), printed, "{text}");
        assert_eq!(rate(printed), r, "{printed} parses back");
    }
    assert!(Rate::OFF.is_off() && Rate::new(0, M).is_off() && !rate("1/s").is_off());
}

#[test]
fn rates_load_from_strings_and_from_a_zero() {
    let c = load_ok(
        r#"
[rate_limits]
per_client = "100/s"
push_starts_per_user = 0
sms_per_phone = "0"
sms_per_prefix = "50/1h"
device_per_ip = "10/m"
credential_failures_per_ip = "5/1h"
fraud_mute = "2h"
"#,
    );
    let r = &c.rate_limits;
    assert_eq!(r.per_client, Rate::new(100, S));
    assert!(r.push_starts_per_user.is_off());
    assert!(r.sms_per_phone.is_off());
    assert_eq!(r.sms_per_prefix, Rate::new(50, H));
    assert_eq!(r.device_per_ip, Rate::new(10, M));
    assert_eq!(r.credential_failures_per_ip, Rate::new(5, H));
    assert_eq!(r.fraud_mute, 2 * H);
    // And back: what a config serializes to loads unchanged.
    let text = toml::to_string(&c).unwrap();
    assert_eq!(load_ok(&text).rate_limits, c.rate_limits);
}

#[test]
fn the_documented_defaults() {
    let c = load_ok("");
    assert_eq!(
        c.rate_limits,
        RateLimits {
            per_client: Rate::new(2000, S),
            push_starts_per_user: Rate::new(5, 10 * M),
            sms_per_phone: Rate::new(5, 10 * M),
            sms_per_prefix: Rate::new(200, H),
            device_per_ip: Rate::new(60, M),
            credential_failures_per_ip: Rate::new(20, 10 * M),
            fraud_mute: H,
        }
    );
    assert_eq!(c.sms_policy, SmsPolicy::default());
    assert!(c.sms_policy.allowed_prefixes.is_empty() && c.sms_policy.denied_prefixes.is_empty());
}

#[test]
fn malformed_rates_are_refused_at_their_key() {
    for (value, fragment) in [
        (r#""5""#, r#"expected "N/period""#),
        (r#""""#, r#"expected "N/period""#),
        (r#""x/1m""#, "N must be a whole number"),
        (r#""-1/1m""#, "N must be a whole number"),
        (r#""5000000000/1m""#, "N must be a whole number"),
        (r#""5/0s""#, "the period must be longer than zero"),
        (r#""5/1q""#, "`1q` is not a period"),
        (r#""5/""#, "is not a period"),
        (r#""5/1m/2""#, "is not a period"),
        ("5", r#"`5`: expected "N/period" such as "5/1m""#),
        ("-1", "expected"),
        ("1.5", "expected a rate"),
        ("true", "expected a rate"),
    ] {
        let problems = problems_of(&format!("[rate_limits]\nsms_per_phone = {value}\n"));
        assert_exactly(&problems, &[("rate_limits.sms_per_phone", fragment)]);
        if value.starts_with('"') && value.len() > 2 {
            let text = value.trim_matches('"');
            assert!(
                problems[0].message.contains(&format!("`{text}`")),
                "the message quotes the value: {}",
                problems[0].message
            );
        }
    }
}

#[test]
fn rates_out_of_bounds_are_refused_at_their_key() {
    let problems = problems_of(
        r#"
[rate_limits]
per_client = "1000000/500ms"
push_starts_per_user = "5/8d"
sms_per_phone = "2000000/1h"
sms_per_prefix = "200/1h"
device_per_ip = "1/7d"
credential_failures_per_ip = "1000000/1s"
fraud_mute = "31d"
"#,
    );
    assert_exactly(
        &problems,
        &[
            (
                "rate_limits.per_client",
                "more than one event per microsecond",
            ),
            ("rate_limits.push_starts_per_user", "at most 7 days"),
            ("rate_limits.sms_per_phone", "at most 1000000 per period"),
            ("rate_limits.fraud_mute", "at most 30 days"),
        ],
    );
}

#[test]
fn sms_policy_prefixes_are_e164_prefixes() {
    let problems = problems_of(
        r#"
[sms_policy]
allowed_prefixes = ["+31", "+1", "+123456789012345", "31", "+", "+0", "+3a", "+1234567890123456"]
denied_prefixes = ["+3197", " +44"]
"#,
    );
    let bad = |p: &str| format!("`{p}` is not an E.164 prefix");
    let expected: Vec<(&str, String)> = ["31", "+", "+0", "+3a", "+1234567890123456"]
        .iter()
        .map(|p| ("sms_policy.allowed_prefixes", bad(p)))
        .chain([("sms_policy.denied_prefixes", bad(" +44"))])
        .collect();
    let expected: Vec<(&str, &str)> = expected.iter().map(|(k, m)| (*k, m.as_str())).collect();
    assert_exactly(&problems, &expected);
    assert!(valid_e164_prefix("+31") && valid_e164_prefix("+123456789012345"));
}

#[test]
fn sms_policy_denied_wins_and_empty_allowed_is_all() {
    let policy = |allowed: &[&str], denied: &[&str]| SmsPolicy {
        allowed_prefixes: allowed.iter().map(|s| s.to_string()).collect(),
        denied_prefixes: denied.iter().map(|s| s.to_string()).collect(),
    };
    let open = SmsPolicy::default();
    assert_eq!(open.check("+31612345678"), Ok(()));
    assert_eq!(open.check("+8801712345678"), Ok(()));

    let no_uk = policy(&[], &["+44"]);
    assert_eq!(no_uk.check("+31612345678"), Ok(()), "empty allowed = all");
    assert_eq!(
        no_uk.check("+447911123456"),
        Err(PolicyRefusal::Denied("+44".into()))
    );

    let nl_not_premium = policy(&["+31", "+32"], &["+3190", "+3197"]);
    assert_eq!(nl_not_premium.check("+31612345678"), Ok(()));
    assert_eq!(nl_not_premium.check("+32470123456"), Ok(()));
    assert_eq!(
        nl_not_premium.check("+319001234567"),
        Err(PolicyRefusal::Denied("+3190".into())),
        "denied wins over allowed"
    );
    assert_eq!(
        nl_not_premium.check("+3197010123456"),
        Err(PolicyRefusal::Denied("+3197".into()))
    );
    assert_eq!(
        nl_not_premium.check("+447911123456"),
        Err(PolicyRefusal::NotAllowed)
    );
    assert_eq!(
        PolicyRefusal::Denied("+3190".into()).to_string(),
        "SMS to numbers starting with +3190 are denied by the SMS policy"
    );
    assert_eq!(
        PolicyRefusal::NotAllowed.to_string(),
        "the phone number is outside the SMS policy's allowed prefixes"
    );
}
