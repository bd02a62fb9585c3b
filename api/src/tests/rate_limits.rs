//! `[rate_limits]` and `[sms_policy]` through the HTTP API (API.md §1, §4; CONFIG.md): each
//! limit answers `429` with `Retry-After` and the surface's code (`1007` on the portal and
//! events APIs, `rate_limited` elsewhere) and a description naming it, and leaves every other
//! subject — client, address, user, number — alone. SMS go through the loopback REST hook,
//! which counts what was really sent. Each test turns on only the limit it is about.

use std::time::Duration;

use serde_json::json;
use tessera_engine::{AnswerBody, Engine, EngineOptions};
use tessera_testkit::conf::{Rate, RateLimits, Scope, api_client, array, no_rate_limits};
use tessera_testkit::sms::SmsHookFake;

use super::answers::{sealed, start_pin};
use crate::routes::Api;
use crate::test_util::*;

const OPERATOR_SECRET: &str = "operator-secret-0123456789abcdef";

/// No limit but the one `set` turns on.
fn only(set: impl FnOnce(&mut RateLimits)) -> RateLimits {
    let mut limits = no_rate_limits();
    set(&mut limits);
    limits
}

fn per(count: u32, secs: u64) -> Rate {
    Rate::new(count, Duration::from_secs(secs))
}

/// The device world, an `operator` client (scope `admin`), SMS through `hook`, `limits`, and
/// `extra` TOML.
fn hooked(hook: &SmsHookFake, limits: &RateLimits, extra: &str) -> (Api, Engine) {
    let mut more = devices();
    more += &array(
        "api_clients",
        &[api_client("operator", OPERATOR_SECRET, &[Scope::Admin])],
    );
    more += &array("sms_gateways", &[hook.gateway("hook")]);
    more += "[sms]\ngateways = [\"hook\"]\n";
    more += extra;
    let engine = Engine::launch(
        limited("", &more, limits),
        EngineOptions {
            shards: 1,
            in_place: true,
        },
    )
    .expect("engine launches");
    (crate::service(engine.clone(), None), engine)
}

/// A 429 of `limit` in the dialect `code`, with a usable `Retry-After`.
#[track_caller]
fn assert_limited(a: &Answer, code: &str, limit: &str) {
    a.assert_error(429, code);
    let retry: u64 = a
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .expect("whole seconds");
    assert!(retry >= 1, "Retry-After: {retry}");
    let description = a.json()["description"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(description.contains(limit), "{description}");
}

fn start(fields: &[(&str, &str)]) -> Call {
    Call::post(format!("{V4}/user")).portal().form(fields)
}

fn start_sms_to(user: &str, phone: &str) -> Call {
    start(&[
        ("type", "sms_free"),
        ("user_id", user),
        ("phone_number", phone),
    ])
}

fn resend(user: &str, id: &str) -> Call {
    Call::post(format!("{V4}/user/{user}/sms/resend"))
        .portal()
        .form(&[("transaction_id", id)])
}

fn enabled(user: &str) -> Call {
    Call::get(format!("{V4}/user/{user}/enabled"))
}

#[actix_rt::test]
async fn per_client_counts_each_clients_requests_on_every_surface() {
    let hook = SmsHookFake::start().await;
    let (api, _) = hooked(&hook, &only(|l| l.per_client = per(3, 60)), "");
    for _ in 0..3 {
        enabled("alice")
            .portal()
            .send(&api)
            .await
            .assert_status(200);
    }
    let a = enabled("alice").portal().send(&api).await;
    assert_limited(&a, "1007", "rate_limits.per_client");
    // The same client on the vendor's events API: its budget is spent there too.
    let a = Call::get("/oauth/api/v1/events").portal().send(&api).await;
    assert_limited(&a, "1007", "rate_limits.per_client");
    // Other clients have their own budgets, on their own surfaces' codes.
    enabled("alice").rival().send(&api).await.assert_status(200);
    for _ in 0..3 {
        Call::get(format!("{USERS}/alice/devices"))
            .helpdesk()
            .send(&api)
            .await
            .assert_error(404, "not_found");
    }
    let a = Call::get(format!("{USERS}/alice/devices"))
        .helpdesk()
        .send(&api)
        .await;
    assert_limited(&a, "rate_limited", "rate_limits.per_client");
    let admin = || Call::get("/admin/v1/stats").basic("operator", OPERATOR_SECRET);
    for _ in 0..3 {
        admin().send(&api).await.assert_status(200);
    }
    assert_limited(
        &admin().send(&api).await,
        "rate_limited",
        "rate_limits.per_client",
    );
    // A wrong secret is a failed login, not a request of that client.
    enabled("alice")
        .basic("rival", "wrong")
        .send(&api)
        .await
        .assert_error(401, "invalid_client");
    enabled("alice").rival().send(&api).await.assert_status(200);
}

#[actix_rt::test]
async fn failed_logins_close_the_address_even_to_correct_credentials() {
    let hook = SmsHookFake::start().await;
    let limits = only(|l| l.credential_failures_per_ip = per(3, 600));
    let (api, _) = hooked(&hook, &limits, "");
    let d = enroll(&api, "alice", "acme").await;
    const BAD: &str = "192.0.2.1";
    const OTHER: &str = "192.0.2.2";

    // Correct logins count nothing.
    for _ in 0..5 {
        enabled("alice")
            .portal()
            .peer_ip(BAD)
            .send(&api)
            .await
            .assert_status(200);
    }
    // Three failures, one per kind: API client in the header, in the form, device.
    enabled("alice")
        .basic("portal", "wrong")
        .peer_ip(BAD)
        .send(&api)
        .await
        .assert_error(401, "invalid_client");
    Call::post(format!("{V4}/user"))
        .form(&[("client_id", "portal"), ("client_secret", "wrong")])
        .peer_ip(BAD)
        .send(&api)
        .await
        .assert_error(401, "invalid_client");
    Call::get(format!("{DEV}/transactions/pending"))
        .basic(&d.id, "wrong")
        .peer_ip(BAD)
        .send(&api)
        .await
        .assert_error(401, "invalid_device");

    // Now every surface refuses that address, correct credentials or not.
    let key = "rate_limits.credential_failures_per_ip";
    let a = enabled("alice").portal().peer_ip(BAD).send(&api).await;
    assert_limited(&a, "1007", key);
    let a = start_sms_to("alice", PHONE).peer_ip(BAD).send(&api).await;
    assert_limited(&a, "1007", key);
    let a = Call::get(format!("{USERS}/alice/devices"))
        .helpdesk()
        .peer_ip(BAD)
        .send(&api)
        .await;
    assert_limited(&a, "rate_limited", key);
    let a = Call::get(format!("{DEV}/transactions/pending"))
        .device(&d)
        .peer_ip(BAD)
        .send(&api)
        .await;
    assert_limited(&a, "rate_limited", key);
    let a = Call::get("/admin/v1/stats")
        .basic("operator", OPERATOR_SECRET)
        .peer_ip(BAD)
        .send(&api)
        .await;
    assert_limited(&a, "rate_limited", key);
    // The ops routes authenticate nobody and stay open.
    let a = Call::get("/health/live").peer_ip(BAD).send(&api).await;
    assert_eq!(a.status, 200);

    // Another address is not affected; its first failure is a plain 401.
    enabled("alice")
        .portal()
        .peer_ip(OTHER)
        .send(&api)
        .await
        .assert_status(200);
    Call::get(format!("{DEV}/transactions/pending"))
        .device(&d)
        .peer_ip(OTHER)
        .send(&api)
        .await
        .assert_status(200);
    enabled("alice")
        .basic("portal", "wrong")
        .peer_ip(OTHER)
        .send(&api)
        .await
        .assert_error(401, "invalid_client");
    // An IPv4 client seen through an IPv4-mapped IPv6 socket is the same address.
    let a = enabled("alice")
        .portal()
        .peer_ip("::ffff:192.0.2.1")
        .send(&api)
        .await;
    assert_limited(&a, "1007", key);
}

#[actix_rt::test]
async fn device_calls_are_counted_per_address_enrollment_included() {
    let hook = SmsHookFake::start().await;
    let (api, _) = hooked(&hook, &only(|l| l.device_per_ip = per(3, 60)), "");
    const PHONE_IP: &str = "198.51.100.7";
    let code = enrollment_code(&api, "alice").await;
    let (body, _) = enrollment(&code, "acme", "android");
    let a = Call::post(format!("{DEV}/enrollments"))
        .json(body)
        .peer_ip(PHONE_IP)
        .send(&api)
        .await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let v = a.json();
    let (id, secret) = (
        v["device_id"].as_str().unwrap().to_owned(),
        v["device_secret"].as_str().unwrap().to_owned(),
    );
    let pending = || {
        Call::get(format!("{DEV}/transactions/pending"))
            .basic(&id, &secret)
            .peer_ip(PHONE_IP)
    };
    pending().send(&api).await.assert_status(200);
    pending().send(&api).await.assert_status(200);
    let a = pending().send(&api).await;
    assert_limited(&a, "rate_limited", "rate_limits.device_per_ip");
    // Refused before anything else: a wrong secret or an unknown path gets the same answer.
    let a = Call::get(format!("{DEV}/nothing/here"))
        .peer_ip(PHONE_IP)
        .send(&api)
        .await;
    assert_limited(&a, "rate_limited", "rate_limits.device_per_ip");
    // Another address, and the portal from the same address, are not affected.
    Call::get(format!("{DEV}/transactions/pending"))
        .basic(&id, &secret)
        .peer_ip("198.51.100.8")
        .send(&api)
        .await
        .assert_status(200);
    enabled("alice")
        .portal()
        .peer_ip(PHONE_IP)
        .send(&api)
        .await
        .assert_status(200);
}

#[actix_rt::test]
async fn push_starts_are_capped_per_user_fallback_at_start_included() {
    let hook = SmsHookFake::start().await;
    let limits = only(|l| l.push_starts_per_user = per(2, 600));
    let (api, _) = hooked(&hook, &limits, "");
    ready_device(&api, "alice").await;
    ready_device(&api, "bob").await;
    start_pin(&api, "alice").await;
    start_pin(&api, "alice").await;
    let a = start(&[("type", "push_pin"), ("user_id", "alice")])
        .send(&api)
        .await;
    assert_limited(&a, "1007", "rate_limits.push_starts_per_user");
    let push_plain = start(&[("type", "push_plain"), ("user_id", "alice")])
        .send(&api)
        .await;
    assert_limited(&push_plain, "1007", "rate_limits.push_starts_per_user");
    // Another user; and SMS types are not push starts.
    start_pin(&api, "bob").await;
    start_sms_to("alice", PHONE)
        .send(&api)
        .await
        .assert_status(200);

    // A push type that falls back to SMS at start (carol has no device) counts as a push start.
    let fallback = || {
        start(&[
            ("type", "push"),
            ("user_id", "carol"),
            ("phone_number", PHONE),
        ])
    };
    for _ in 0..2 {
        let a = fallback().send(&api).await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        assert_eq!(a.json()["auth_method"], "sms");
    }
    let a = fallback().send(&api).await;
    assert_limited(&a, "1007", "rate_limits.push_starts_per_user");
    // The alice SMS and carol's two fallbacks were sent; nothing for the refused start.
    hook.wait_for_messages(3).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(hook.messages().len(), 3);
}

#[actix_rt::test]
async fn sms_sends_are_capped_per_number_resends_included() {
    let hook = SmsHookFake::start().await;
    let (api, _) = hooked(&hook, &only(|l| l.sms_per_phone = per(3, 600)), "");
    let id = start_sms(&api, "sms_free", "alice").await;
    resend("alice", &id).send(&api).await.assert_status(204);
    resend("alice", &id).send(&api).await.assert_status(204);
    hook.wait_for_messages(3).await;
    // The fourth SMS to the number: a resend refused, and nothing sent.
    let a = resend("alice", &id).send(&api).await;
    assert_limited(&a, "1007", "rate_limits.sms_per_phone");
    let a = start_sms_to("bob", PHONE).send(&api).await;
    assert_limited(&a, "1007", "rate_limits.sms_per_phone");
    // Another number is not affected.
    let other = start_sms_to("bob", "+31687654321").send(&api).await;
    assert_eq!(other.status, 200, "{:?}", other.body);
    hook.wait_for_messages(4).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let sent: Vec<String> = hook
        .messages()
        .iter()
        .map(|m| m.phone_number.clone())
        .collect();
    assert_eq!(sent, [PHONE, PHONE, PHONE, "+31687654321"]);
    // The refused resend was given back (sms_free allows three) and its event says why.
    let events = Call::get(format!("/oauth/api/v1/events?transaction_id={id}"))
        .portal()
        .send(&api)
        .await
        .json();
    let failed = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_name"] == "SMS RESEND FAILED")
        .unwrap_or_else(|| panic!("no SMS RESEND FAILED in {events}"))
        .clone();
    assert_eq!(failed["event_type"], "SMS_AUTHENTICATION");
    // The transaction is still pending and its code still works.
    let code = hook.messages()[0].verification_code.clone();
    Call::post(format!("{V4}/user/alice/sms"))
        .portal()
        .form(&[("transaction_id", &id), ("sms_code", &code)])
        .send(&api)
        .await
        .assert_status(200);
}

#[actix_rt::test]
async fn sms_sends_are_capped_per_destination_prefix() {
    let hook = SmsHookFake::start().await;
    let (api, _) = hooked(&hook, &only(|l| l.sms_per_prefix = per(2, 3600)), "");
    // +31612… numbers share the prefix +31612 (country code and three digits).
    for phone in ["+31612000001", "+31612000002"] {
        let a = start_sms_to("alice", phone).send(&api).await;
        assert_eq!(a.status, 200, "{:?}", a.body);
    }
    let a = start_sms_to("alice", "+31612000003").send(&api).await;
    assert_limited(&a, "1007", "rate_limits.sms_per_prefix");
    // +31613… is another prefix.
    let a = start_sms_to("alice", "+31613000001").send(&api).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    hook.wait_for_messages(3).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(hook.messages().len(), 3);
}

#[actix_rt::test]
async fn the_sms_policy_refuses_numbers_before_anything_is_sent() {
    let hook = SmsHookFake::start().await;
    let policy =
        "[sms_policy]\nallowed_prefixes = [\"+31\", \"+32\"]\ndenied_prefixes = [\"+3197\"]\n";
    let (api, _) = hooked(&hook, &no_rate_limits(), policy);
    let a = start_sms_to("alice", "+31612345678").send(&api).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    for (phone, says) in [
        ("+31970123456", "denied by the SMS policy"),
        ("+14155550100", "outside the SMS policy"),
    ] {
        let a = start_sms_to("alice", phone).send(&api).await;
        a.assert_error(400, "3001");
        let description = a.json()["description"].as_str().unwrap().to_owned();
        assert!(description.contains(says), "{phone}: {description}");
        // The same at a fallback at start (carol has no device to push to)...
        let a = start(&[
            ("type", "push"),
            ("user_id", "carol"),
            ("phone_number", phone),
        ])
        .send(&api)
        .await;
        a.assert_error(400, "3001");
    }
    // ... where an allowed number gets its SMS.
    let a = start(&[
        ("type", "push"),
        ("user_id", "carol"),
        ("phone_number", "+32470123456"),
    ])
    .send(&api)
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.json()["auth_method"], "sms");
    hook.wait_for_messages(2).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let sent: Vec<String> = hook
        .messages()
        .iter()
        .map(|m| m.phone_number.clone())
        .collect();
    assert_eq!(sent, ["+31612345678", "+32470123456"]);
}

#[actix_rt::test]
async fn a_fraud_report_mutes_push_starts_for_that_user() {
    let hook = SmsHookFake::start().await;
    let limits = only(|l| l.fraud_mute = Duration::from_secs(3600));
    let (api, _) = hooked(&hook, &limits, "");
    let (alice, _) = ready_device(&api, "alice").await;
    let (bob, _) = ready_device(&api, "bob").await;
    let answer = |d: &TestDevice, id: &str, reason: &str| {
        let body = AnswerBody {
            transaction_id: Some(id.to_owned()),
            accepted: false,
            reject_reason: Some(reason.to_owned()),
            ..AnswerBody::default()
        };
        let sealed = sealed(d, &d.keys, &serde_json::to_vec(&body).unwrap());
        Call::post(format!("{DEV}/transactions/{id}/answer"))
            .device(d)
            .raw("application/pgp-encrypted", sealed)
    };

    // A plain "not me" mutes nothing.
    let id = start_pin(&api, "bob").await;
    let a = answer(&bob, &id, "not_me").send(&api).await;
    assert_eq!(a.json(), json!({"result": "rejected"}));
    start_pin(&api, "bob").await;

    let id = start_pin(&api, "alice").await;
    let a = answer(&alice, &id, "fraud").send(&api).await;
    assert_eq!(a.json(), json!({"result": "rejected"}));
    let result = Call::get(format!("{V4}/transaction/{id}"))
        .portal()
        .send(&api)
        .await
        .json();
    assert_eq!(
        result["not_authenticated_reason"]["reason"],
        "fraud_reported"
    );

    // Alice's next push start is refused, saying why; for about the mute's length.
    let a = start(&[("type", "push_pin"), ("user_id", "alice")])
        .send(&api)
        .await;
    assert_limited(&a, "1007", "fraud report");
    let retry: u64 = a.header("retry-after").unwrap().parse().unwrap();
    assert!((3590..=3600).contains(&retry), "Retry-After: {retry}");
    // Bob is not affected, nor are alice's SMS.
    start_pin(&api, "bob").await;
    start_sms_to("alice", PHONE)
        .send(&api)
        .await
        .assert_status(200);

    let events = Call::get(format!("/oauth/api/v1/events?transaction_id={id}"))
        .portal()
        .send(&api)
        .await
        .json();
    let names: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event_name"].as_str())
        .collect();
    assert!(names.contains(&"PUSH AUTH FRAUD REPORTED"), "{names:?}");
}

#[actix_rt::test]
async fn a_fraud_mute_of_zero_mutes_nothing() {
    let hook = SmsHookFake::start().await;
    let (api, _) = hooked(&hook, &no_rate_limits(), "");
    let (alice, _) = ready_device(&api, "alice").await;
    let id = start_pin(&api, "alice").await;
    let body = AnswerBody {
        transaction_id: Some(id.clone()),
        accepted: false,
        reject_reason: Some("fraud".into()),
        ..AnswerBody::default()
    };
    let sealed = sealed(&alice, &alice.keys, &serde_json::to_vec(&body).unwrap());
    let a = Call::post(format!("{DEV}/transactions/{id}/answer"))
        .device(&alice)
        .raw("application/pgp-encrypted", sealed)
        .send(&api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    start_pin(&api, "alice").await;
}
