//! The vendor-compatible event log (API.md §2.7): each transaction's events carry the vendor's
//! names and land on that transaction only.

use tessera_testkit::callback::CallbackFake;
use tessera_testkit::sms::SmsHookFake;

use crate::support;
use crate::support::conf::{
    self, FAST_CALLBACKS, LIMITED_ID, LIMITED_SECRET, callback_config, gateways, hook_gateway,
};
use crate::support::portal::{EVENTS, events_query};
use crate::support::{Tessera, wrong_code};

const SENT: &str = "SMS AUTH INIT MESSAGE SENT";
const INVALID: &str = "SMS AUTH NOT AUTHENTICATED INVALID VERIFICATION CODE";
const LIMIT: &str = "SMS AUTH VALIDATION LIMIT EXCEEDED";
const RESENT: &str = "SMS RESEND SUCCEEDED";
const CALLBACK_SENT: &str = "PUSH AUTH CALLBACK SENT";

async fn tessera(callback: &CallbackFake) -> (SmsHookFake, Tessera) {
    let hook = SmsHookFake::start().await;
    let config = conf::with(&format!(
        "{FAST_CALLBACKS}{}{}{}{}",
        callback_config(callback),
        gateways(&["hook"]),
        hook_gateway("hook", &hook),
        conf::types(&[conf::MobileAuthType {
            max_attempts: 2,
            max_resends: 1,
            ..conf::sms("sms")
        }])
    ));
    (hook, Tessera::start(&config).await)
}

#[tokio::test]
async fn events_name_what_happened_to_each_transaction() {
    let callback = CallbackFake::start().await;
    let (hook, t) = tessera(&callback).await;
    let url = callback.url();

    // A: a wrong code, a resend, the right code, a callback.
    let a = t
        .start_sms("sms", "alice", &[("callback_uri", url.as_str())])
        .await["transaction_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let code_a = hook.wait_for_messages(1).await[0].verification_code.clone();
    t.verify("alice", &a, &wrong_code(&code_a))
        .await
        .expect_error(404, "3003");
    t.resend("alice", &a).await.expect(204);
    t.wait_for_event(&a, RESENT, 1).await;
    t.verify("alice", &a, &code_a).await.expect(200);
    callback.wait_for(1).await;

    // B: two wrong codes use up max_attempts.
    let b = t.start_sms("sms", "bob", &[]).await["transaction_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A's first SMS and its resend came before B's.
    let code_b = hook.wait_for_messages(3).await[2].verification_code.clone();
    let wrong_b = wrong_code(&code_b);
    t.verify("bob", &b, &wrong_b)
        .await
        .expect_error(404, "3003");
    t.verify("bob", &b, &wrong_b)
        .await
        .expect_error(404, "3003");

    let names_a = t.wait_for_event(&a, CALLBACK_SENT, 1).await;
    for expected in [SENT, INVALID, RESENT, CALLBACK_SENT] {
        assert!(
            names_a.iter().any(|n| n == expected),
            "`{expected}` missing from A's events {names_a:?}"
        );
    }
    assert!(!names_a.iter().any(|n| n == LIMIT), "{names_a:?}");

    let names_b = t.wait_for_event(&b, LIMIT, 1).await;
    for expected in [SENT, INVALID] {
        assert!(
            names_b.iter().any(|n| n == expected),
            "`{expected}` missing from B's events {names_b:?}"
        );
    }
    assert!(!names_b.iter().any(|n| n == RESENT), "{names_b:?}");
    assert!(!names_b.iter().any(|n| n == CALLBACK_SENT), "{names_b:?}");

    // Every event has the vendor's fields and belongs to the transaction asked for.
    for (txn, user) in [(&a, "alice"), (&b, "bob")] {
        for event in t.events(txn).await {
            assert_eq!(event["transaction_id"], txn.as_str(), "{event}");
            assert_eq!(event["user_id"], user, "{event}");
            assert_eq!(event["client_id"], conf::CLIENT_ID, "{event}");
            assert!(event["event_identifier"].is_string(), "{event}");
            assert!(event["event_type"].is_string(), "{event}");
            assert!(event["occurred"].is_u64(), "epoch ms: {event}");
        }
    }
}

#[tokio::test]
async fn events_can_be_filtered_by_user() {
    let callback = CallbackFake::start().await;
    let (hook, t) = tessera(&callback).await;
    t.start_sms("sms", "carol", &[]).await;
    t.start_sms("sms", "dave", &[]).await;
    hook.wait_for_messages(2).await;
    let events = support::eventually(support::DEADLINE, "carol's SMS event", || async {
        let resp = t.get(&events_query(&[("user_id", "carol")])).await;
        resp.expect(200);
        let events = resp.json()["events"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        events
            .iter()
            .any(|e| e["event_name"] == SENT)
            .then_some(events)
    })
    .await;
    assert!(events.iter().all(|e| e["user_id"] == "carol"), "{events:?}");
    let limited = t.get(&events_query(&[("limit", "1")])).await;
    limited.expect(200);
    let n = limited.json()["events"].as_array().map_or(0, Vec::len);
    assert_eq!(n, 1, "limit=1: {}", limited.text());
}

#[tokio::test]
async fn events_need_the_events_scope() {
    let callback = CallbackFake::start().await;
    let (_hook, t) = tessera(&callback).await;
    let resp = t
        .send(
            t.http
                .get(t.url(EVENTS))
                .basic_auth(LIMITED_ID, Some(LIMITED_SECRET)),
        )
        .await;
    resp.expect(403);
    assert_eq!(resp.json()["error"], "insufficient_scope");
    t.send(t.http.get(t.url(EVENTS)))
        .await
        .expect_invalid_client();
}
