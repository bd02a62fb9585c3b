//! Abuse resistance through the binary (issue 14; API.md §1, §4; CONFIG.md `[rate_limits]`,
//! `[sms_policy]`), on the store the suite runs on (memory, or Redis with
//! `TESSERA_E2E_STORE=redis`): each limit answers `429` with `Retry-After` and the surface's
//! code (`1007` on the portal API, `rate_limited` elsewhere), its description naming the limit,
//! and leaves every other client, address, user and number alone; nothing is sent when an SMS is
//! refused (the REST hook fake counts what arrives); a GnuPG phone's fraud report mutes its
//! user's push starts; the SMS policy holds at a start and at a fallback; and two nodes on one
//! Redis share a limit.
//!
//! Other source addresses are other loopback addresses (`127.0.0.2`, ...): Linux routes all of
//! 127.0.0.0/8 to the loopback interface, so a client bound to one reaches the server on
//! 127.0.0.1 from it.

use std::net::IpAddr;
use std::time::Duration;

use serde_json::json;
use tessera_api::device_client::Platform;
use tessera_api::wire::AnswerOutcome;
use tessera_api::{DeviceClient, EnrollParams};
use tessera_testkit::conf::{Rate, RateLimits, no_rate_limits};
use tessera_testkit::redis::RedisServer;
use tessera_testkit::sms::SmsHookFake;

use crate::redis_store::{store, world};
use crate::support::conf::{self, CLIENT_ID, CLIENT_SECRET, LIMITED_ID, LIMITED_SECRET};
use crate::support::device::{self, assert_outcome};
use crate::support::gpg::GpgPhone;
use crate::support::portal::{PHONE, Resp, V4, txn_id};
use crate::support::{DEADLINE, Tessera, eventually};

/// No limit but what `set` turns on.
fn only(set: impl FnOnce(&mut RateLimits)) -> RateLimits {
    let mut limits = no_rate_limits();
    set(&mut limits);
    limits
}

fn per(count: u32, secs: u64) -> Rate {
    Rate::new(count, Duration::from_secs(secs))
}

/// The push world's application and types, SMS through `hook`, `limits`, and `extra` TOML.
fn config(limits: &RateLimits, hook: &SmsHookFake, extra: &str) -> String {
    conf::with_limits(
        limits,
        &format!(
            "[general]\n{}{}{}{}{extra}",
            device::application(),
            device::types(),
            conf::gateways(&["hook"]),
            conf::hook_gateway("hook", hook),
        ),
    )
}

/// An HTTP client whose connections come from `ip` (a loopback address).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .local_address(ip.parse::<IpAddr>().expect("an address"))
        .build()
        .expect("an HTTP client")
}

/// A 429 of `limit` with the error code `code` and a usable `Retry-After`.
#[track_caller]
fn assert_limited(resp: &Resp, code: &str, limit: &str) {
    resp.expect_error(429, code);
    let retry: u64 = resp
        .header("retry-after")
        .unwrap_or_else(|| panic!("no Retry-After: {:?}", resp.headers))
        .parse()
        .expect("Retry-After in whole seconds");
    assert!(retry >= 1, "Retry-After: {retry}");
    let description = resp.json()["description"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(description.contains(limit), "{description}");
}

async fn send(t: &Tessera, req: reqwest::RequestBuilder) -> Resp {
    t.send(req).await
}

/// Starts an SMS of type `sms` for bob to `phone`.
async fn sms_to(t: &Tessera, phone: &str) -> Resp {
    t.start_raw(&[("type", "sms"), ("user_id", "bob"), ("phone_number", phone)])
        .await
}

/// `tessera_...` lines of `/metrics` equal to `line`, waited for (metrics are recorded just
/// after the answer).
async fn metric_line(t: &Tessera, line: &str) {
    eventually(DEADLINE, line, || async {
        let text = t.send(t.http.get(t.url("/metrics"))).await.text();
        text.lines().any(|l| l == line).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_api_client_over_its_limit_gets_429_and_other_clients_do_not() {
    let hook = SmsHookFake::start().await;
    let t = Tessera::start(&config(&only(|l| l.per_client = per(3, 60)), &hook, "")).await;
    let enabled = format!("{V4}/user/alice/enabled");
    for _ in 0..3 {
        t.get(&enabled).await.expect(200);
    }
    assert_limited(&t.get(&enabled).await, "1007", "rate_limits.per_client");
    // The help desk client, on the management API, has its own budget.
    let devices = || {
        t.http
            .get(t.url("/oauth/api/v4/users/alice/devices"))
            .basic_auth(LIMITED_ID, Some(LIMITED_SECRET))
    };
    for _ in 0..3 {
        send(&t, devices()).await.expect_error(404, "not_found");
    }
    assert_limited(
        &send(&t, devices()).await,
        "rate_limited",
        "rate_limits.per_client",
    );
    metric_line(&t, r#"tessera_rate_limited_total{limit="per_client"} 2"#).await;
}

#[tokio::test]
async fn failed_logins_close_the_address_even_to_correct_credentials() {
    let hook = SmsHookFake::start().await;
    let limits = only(|l| l.credential_failures_per_ip = per(2, 600));
    let t = Tessera::start(&config(&limits, &hook, "")).await;
    let enabled = format!("{V4}/user/alice/enabled");
    let (closed, open) = (client_from("127.0.0.2"), client_from("127.0.0.3"));
    let as_portal = |http: &reqwest::Client, secret: &str| {
        http.get(t.url(&enabled))
            .basic_auth(CLIENT_ID, Some(secret.to_owned()))
    };
    // Correct logins count nothing; two failures (an API client, a device) close the address.
    for _ in 0..3 {
        send(&t, as_portal(&closed, CLIENT_SECRET))
            .await
            .expect(200);
    }
    send(&t, as_portal(&closed, "wrong"))
        .await
        .expect_invalid_client();
    send(
        &t,
        closed
            .get(t.url("/device/v1/transactions/pending"))
            .basic_auth("AB".repeat(32), Some("wrong")),
    )
    .await
    .expect_error(401, "invalid_device");

    let key = "rate_limits.credential_failures_per_ip";
    assert_limited(
        &send(&t, as_portal(&closed, CLIENT_SECRET)).await,
        "1007",
        key,
    );
    let enrollment = closed
        .post(t.url("/device/v1/enrollments"))
        .json(&json!({"enrollment_code": "x"}));
    assert_limited(&send(&t, enrollment).await, "rate_limited", key);
    // Another address is served, and its first failure is a plain 401.
    send(&t, as_portal(&open, CLIENT_SECRET)).await.expect(200);
    send(&t, as_portal(&open, "wrong"))
        .await
        .expect_invalid_client();
    send(&t, as_portal(&open, CLIENT_SECRET)).await.expect(200);
}

#[tokio::test]
async fn device_calls_are_limited_per_address_enrollment_included() {
    let hook = SmsHookFake::start().await;
    let limits = only(|l| l.device_per_ip = per(3, 60));
    let w = world(&config(&limits, &hook, "")).await;
    let code = w.enrollment_code("alice").await;
    let params = EnrollParams::new(code, "acme", "1.0", Platform::Android, "Pixel");
    let phone = DeviceClient::enroll_with(client_from("127.0.0.4"), &w.t.base, &params)
        .await
        .expect("enrolled from 127.0.0.4");
    phone.pending().await.expect("the second call");
    phone.pending().await.expect("the third call");
    let refused = phone.pending().await.expect_err("the fourth call");
    assert_eq!(refused.status(), Some(429), "{refused}");
    assert!(refused.to_string().contains("rate_limited"), "{refused}");
    assert!(refused.to_string().contains("device_per_ip"), "{refused}");
    // The same device from another address, and the portal from the same one, are served.
    send(
        &w.t,
        client_from("127.0.0.5")
            .get(w.t.url("/device/v1/transactions/pending"))
            .basic_auth(phone.device_id(), Some(phone.device_secret())),
    )
    .await
    .expect(200);
    send(
        &w.t,
        client_from("127.0.0.4")
            .get(w.t.url(&format!("{V4}/user/alice/enabled")))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET)),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn push_starts_are_capped_per_user() {
    let hook = SmsHookFake::start().await;
    let limits = only(|l| l.push_starts_per_user = per(2, 600));
    let w = world(&config(&limits, &hook, "")).await;
    w.phone("alice", "Alice's Pixel").await;
    w.phone("bob", "Bob's Pixel").await;
    w.start_push("push", "alice").await;
    w.start_push("push_pin", "alice").await;
    let refused =
        w.t.start_raw(&[("type", "push"), ("user_id", "alice")])
            .await;
    assert_limited(&refused, "1007", "rate_limits.push_starts_per_user");
    w.t.start_raw(&[("type", "push"), ("user_id", "bob")])
        .await
        .expect(200);
    metric_line(
        &w.t,
        r#"tessera_rate_limited_total{limit="push_starts_per_user"} 1"#,
    )
    .await;
}

#[tokio::test]
async fn sms_sends_are_capped_per_number_and_prefix_and_nothing_is_sent_when_refused() {
    let hook = SmsHookFake::start().await;
    let limits = only(|l| {
        l.sms_per_phone = per(2, 600);
        l.sms_per_prefix = per(3, 3600);
    });
    let extra = "[[mobile_auth_types]]\nname = \"sms_resend\"\nmethod = \"sms\"\nmax_resends = 3\n\
                 [mobile_auth_types.default_messages]\nen = \"Code {code}\"\n";
    let t = Tessera::start(&config(&limits, &hook, extra)).await;
    let id = txn_id(&t.start_sms("sms_resend", "alice", &[]).await);
    t.resend("alice", &id).await.expect(204);
    hook.wait_for_messages(2).await;
    // A third SMS to the number: the resend is refused, and nothing leaves.
    assert_limited(
        &t.resend("alice", &id).await,
        "1007",
        "rate_limits.sms_per_phone",
    );
    assert_limited(
        &sms_to(&t, PHONE).await,
        "1007",
        "rate_limits.sms_per_phone",
    );
    // Another number of the same prefix (+31612) takes the prefix's third; the fourth is refused.
    sms_to(&t, "+31612000001").await.expect(200);
    assert_limited(
        &sms_to(&t, "+31612000002").await,
        "1007",
        "rate_limits.sms_per_prefix",
    );
    // Another prefix is not affected.
    sms_to(&t, "+32470123456").await.expect(200);
    hook.wait_for_messages(4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent: Vec<String> = hook
        .messages()
        .into_iter()
        .map(|m| m.phone_number)
        .collect();
    assert_eq!(sent, [PHONE, PHONE, "+31612000001", "+32470123456"]);
    // The refused resend said why in its event.
    let events = t.events(&id).await;
    let failed = events
        .iter()
        .find(|e| e["event_name"] == "SMS RESEND FAILED")
        .unwrap_or_else(|| panic!("no SMS RESEND FAILED in {events:?}"));
    assert_eq!(failed["transaction_id"], id.as_str());
    metric_line(&t, r#"tessera_rate_limited_total{limit="sms_per_phone"} 2"#).await;
    metric_line(
        &t,
        r#"tessera_rate_limited_total{limit="sms_per_prefix"} 1"#,
    )
    .await;
}

#[tokio::test]
async fn a_fallback_later_in_the_transaction_over_the_limit_fails_the_transaction() {
    let hook = SmsHookFake::start().await;
    let w = world(&config(&only(|l| l.sms_per_phone = per(1, 600)), &hook, "")).await;
    let phone = w.phone("alice", "Alice's Pixel").await;
    // `push_or_sms` falls back to SMS after 2 s; meanwhile an SMS start uses the number's one.
    let id = w
        .start_with_phone("push_or_sms", "alice")
        .await
        .transaction_id;
    assert_eq!(phone.pending().await.unwrap().len(), 1);
    w.t.start_sms("sms", "bob", &[]).await;
    hook.wait_for_messages(1).await;
    let result = w.final_result(&id).await;
    assert_outcome(&result, "failed", Some("failed_to_send"));
    assert_eq!(result.authentication_method, "sms");
    let names = w.t.wait_for_event(&id, "SMS AUTH INIT FAILURE", 1).await;
    assert!(
        names.contains(&"MOBILE AUTH FALLBACK STARTED".to_owned()),
        "{names:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hook.messages().len(), 1, "the fallback's SMS was not sent");
}

#[tokio::test]
async fn the_sms_policy_holds_at_a_start_and_at_a_fallback() {
    let hook = SmsHookFake::start().await;
    let policy =
        "[sms_policy]\nallowed_prefixes = [\"+31\", \"+32\"]\ndenied_prefixes = [\"+3197\"]\n";
    let w = world(&config(&no_rate_limits(), &hook, policy)).await;
    for (phone, says) in [
        ("+31970123456", "denied by the SMS policy"),
        ("+14155550100", "outside the SMS policy"),
    ] {
        // An SMS start, and a push start that would fall back to SMS (carol has no phone).
        for type_name in ["sms", "push_or_sms"] {
            let resp =
                w.t.start_raw(&[
                    ("type", type_name),
                    ("user_id", "carol"),
                    ("phone_number", phone),
                ])
                .await;
            resp.expect_error(400, "3001");
            let description = resp.json()["description"].as_str().unwrap().to_owned();
            assert!(
                description.contains(says),
                "{type_name} {phone}: {description}"
            );
        }
    }
    w.t.start_raw(&[
        ("type", "sms"),
        ("user_id", "carol"),
        ("phone_number", "+31612345678"),
    ])
    .await
    .expect(200);
    let fell_back =
        w.t.start_raw(&[
            ("type", "push_or_sms"),
            ("user_id", "carol"),
            ("phone_number", "+32470123456"),
        ])
        .await;
    fell_back.expect(200);
    assert_eq!(fell_back.json()["auth_method"], "sms");
    hook.wait_for_messages(2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent: Vec<String> = hook
        .messages()
        .into_iter()
        .map(|m| m.phone_number)
        .collect();
    assert_eq!(sent, ["+31612345678", "+32470123456"]);
}

#[tokio::test]
async fn a_gnupg_phones_fraud_report_mutes_push_starts_for_its_user() {
    let hook = SmsHookFake::start().await;
    let limits = only(|l| l.fraud_mute = Duration::from_secs(3600));
    let t = Tessera::start(&config(&limits, &hook, "")).await;
    let gina = GpgPhone::enroll(&t, "gina").await;
    let otto = GpgPhone::enroll(&t, "otto").await;
    let resp = t.start_raw(&[("type", "push"), ("user_id", "gina")]).await;
    resp.expect(200);
    let id = txn_id(&resp.json());
    gina.fetch(&id).await;
    let answer = gina
        .answer(
            &id,
            &json!({"transaction_id": id, "accepted": false, "reject_reason": "fraud"}),
        )
        .await;
    answer.expect(200);
    assert_eq!(answer.json(), json!({"result": "rejected"}));
    let result = t.final_result(&id).await;
    assert_eq!(
        result["not_authenticated_reason"]["reason"],
        "fraud_reported"
    );

    // Gina's next push start is refused, saying why; otto's is not.
    let refused = t.start_raw(&[("type", "push"), ("user_id", "gina")]).await;
    assert_limited(&refused, "1007", "fraud report");
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 3500, "muted for rate_limits.fraud_mute: {retry}");
    let resp = t.start_raw(&[("type", "push"), ("user_id", "otto")]).await;
    resp.expect(200);
    assert_eq!(otto.pending().await, [txn_id(&resp.json())]);

    let names = t.wait_for_event(&id, "PUSH AUTH FRAUD REPORTED", 1).await;
    assert_eq!(
        names
            .iter()
            .filter(|n| *n == "PUSH AUTH FRAUD REPORTED")
            .count(),
        1
    );
    metric_line(&t, "tessera_fraud_reports_total 1").await;
    metric_line(&t, r#"tessera_rate_limited_total{limit="fraud_mute"} 1"#).await;
}

#[tokio::test]
async fn two_nodes_on_one_redis_share_the_limits() {
    let redis = RedisServer::start();
    let hook = SmsHookFake::start().await;
    let limits = only(|l| {
        l.push_starts_per_user = per(2, 600);
        l.sms_per_phone = per(2, 600);
        l.fraud_mute = Duration::from_secs(600);
    });
    let node = config(&limits, &hook, &store(&redis.url()));
    let a = world(&node).await;
    let b = world(&node).await;
    a.phone("alice", "Alice's Pixel").await;

    // Push bombing across nodes: one start on each, the third refused on either.
    a.start_push("push", "alice").await;
    b.start_push("push", "alice").await;
    for w in [&a, &b] {
        let refused =
            w.t.start_raw(&[("type", "push"), ("user_id", "alice")])
                .await;
        assert_limited(&refused, "1007", "rate_limits.push_starts_per_user");
    }
    // SMS pumping across nodes: the number's two SMS, one per node, then nothing.
    a.t.start_sms("sms", "bob", &[]).await;
    b.t.start_sms("sms", "bob", &[]).await;
    let refused = sms_to(&b.t, PHONE).await;
    assert_limited(&refused, "1007", "rate_limits.sms_per_phone");
    hook.wait_for_messages(2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hook.messages().len(), 2);

    // A fraud report through one node mutes the user on the other.
    let dora = a.phone("dora", "Dora's Pixel").await;
    let id = a.start_push("push", "dora").await.transaction_id;
    dora.fetch(&id).await.unwrap();
    assert_eq!(
        dora.answer(&id, &device::reject("fraud")).await.unwrap(),
        AnswerOutcome::Rejected
    );
    let refused =
        b.t.start_raw(&[("type", "push"), ("user_id", "dora")])
            .await;
    assert_limited(&refused, "1007", "fraud report");
}
