//! Rules about gateway and provider settings that the engine's gateways used to check on their
//! own when they were built: they live in validation only, so `config check` refuses what
//! `serve` would refuse, with the same path.

use super::validation::{demo, expect, twilio};
use crate::*;

#[test]
fn a_twilio_account_sid_is_letters_and_digits() {
    let mut c = demo();
    let good = SmsGateway {
        account_sid: "AC0123456789abcdef0123456789abcdef".into(),
        ..twilio("good")
    };
    // The SID is a segment of the request path: these would change the request.
    let slash = SmsGateway {
        account_sid: "AC1/../../Calls".into(),
        ..twilio("slash")
    };
    let query = SmsGateway {
        account_sid: "AC1?x=1".into(),
        ..twilio("query")
    };
    c.sms_gateways = vec![good, slash, query];
    expect(
        &c,
        &[
            ("sms_gateways[1].account_sid", "letters and digits only"),
            ("sms_gateways[2].account_sid", "letters and digits only"),
        ],
    );
}

#[test]
fn a_twilio_gateway_with_both_senders_is_refused_once() {
    // The gateway used to build with both set (and send `From`); validation refuses it.
    let mut c = demo();
    c.sms_gateways = vec![SmsGateway {
        messaging_service_sid: "MG1".into(),
        ..twilio("both")
    }];
    expect(
        &c,
        &[(
            "sms_gateways[0].from",
            "exactly one of from and messaging_service_sid",
        )],
    );
}

#[test]
fn an_fcm_legacy_server_key_fits_a_header() {
    let mut c = demo();
    let legacy = |id: &str, server_key: &str| PushConfig {
        id: id.into(),
        platform: Platform::Android,
        kind: PushKind::FcmLegacy,
        server_key: server_key.into(),
        ..PushConfig::default()
    };
    let first = c.push_configs.len();
    c.push_configs
        .push(legacy("ok", "AAAA-key_with.spaces and\ttab"));
    c.push_configs
        .push(legacy("newline", "AAAA\r\nX-Injected: 1"));
    c.push_configs.push(legacy("unicode", "AAAA-ключ"));
    let path = |i: usize| format!("push_configs[{}].server_key", first + i);
    expect(
        &c,
        &[(&path(1), "printable ASCII"), (&path(2), "printable ASCII")],
    );
}

#[test]
fn a_push_configs_retries_are_bounded() {
    let mut c = demo();
    let log = |id: &str, max_attempts: Option<u32>, retry_delay: Option<&str>| PushConfig {
        id: id.into(),
        kind: PushKind::Log,
        max_attempts,
        retry_delay: retry_delay.map(|d| humantime::parse_duration(d).unwrap()),
        ..PushConfig::default()
    };
    let first = c.push_configs.len();
    c.push_configs.extend([
        log("defaults", None, None),
        log("edges-low", Some(1), Some("10ms")),
        log("edges-high", Some(10), Some("10s")),
        log("none", Some(0), Some("9ms")),
        log("many", Some(11), Some("11s")),
    ]);
    let path = |i: usize, key: &str| format!("push_configs[{}].{key}", first + i);
    expect(
        &c,
        &[
            (&path(3, "max_attempts"), "1..=10"),
            (&path(3, "retry_delay"), "10ms..=10s"),
            (&path(4, "max_attempts"), "1..=10"),
            (&path(4, "retry_delay"), "10ms..=10s"),
        ],
    );
}

#[test]
fn a_push_configs_retries_read_from_the_file() {
    let c = crate::load_str(
        r#"
[[push_configs]]
id = "quick"
platform = "android"
kind = "log"
max_attempts = 3
retry_delay = "50ms"
"#,
        &|_| None,
    )
    .expect("loads");
    let quick = c.push_configs.iter().find(|p| p.id == "quick").unwrap();
    assert_eq!(quick.max_attempts, Some(3));
    assert_eq!(
        quick.retry_delay,
        Some(std::time::Duration::from_millis(50))
    );
}
