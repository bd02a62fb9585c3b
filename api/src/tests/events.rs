//! `GET /oauth/api/v1/events` (API.md §2.7).

use std::time::Duration;

use serde_json::Value;

use crate::test_util::*;

async fn events_of(api: &crate::Api, query: &str) -> Vec<Value> {
    // Events are written by the transaction actor after it answered: give it a moment.
    for _ in 0..50 {
        let a = Call::get(format!("/oauth/api/v1/events?{query}"))
            .portal()
            .send(api)
            .await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        let events = a.json()["events"].as_array().unwrap().clone();
        if !events.is_empty() {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Vec::new()
}

#[actix_rt::test]
async fn events_of_a_transaction_carry_the_vendor_fields() {
    let (api, _) = api();
    let id = start_sms(&api, "sms", "alice").await;
    let events = events_of(&api, &format!("transaction_id={id}")).await;
    assert!(!events.is_empty());
    let e = &events[0];
    for field in [
        "event_identifier",
        "event_name",
        "event_type",
        "client_id",
        "app_name",
        "transaction_id",
        "user_id",
        "client_ip",
        "user_agent",
        "occurred",
    ] {
        assert!(e.get(field).is_some(), "missing {field}: {e}");
    }
    assert_eq!(e["transaction_id"], id.as_str());
    assert_eq!(e["user_id"], "alice");
    assert!(e["occurred"].as_u64().unwrap() > 0);
    assert!(
        events
            .iter()
            .any(|e| e["event_name"] == "SMS AUTH INIT MESSAGE SENT"),
        "{events:?}"
    );
}

#[actix_rt::test]
async fn events_filter_and_limit() {
    let (api, _) = api();
    start_sms(&api, "sms", "alice").await;
    start_sms(&api, "sms", "bob").await;
    let bob = events_of(&api, "user_id=bob").await;
    assert!(!bob.is_empty() && bob.iter().all(|e| e["user_id"] == "bob"));
    let one = events_of(&api, "limit=1").await;
    assert_eq!(one.len(), 1);
    let none = Call::get("/oauth/api/v1/events?from=1&to=2")
        .portal()
        .send(&api)
        .await;
    assert_eq!(none.json()["events"], serde_json::json!([]));
}

#[actix_rt::test]
async fn events_errors() {
    let (api, _) = api();
    let a = Call::get("/oauth/api/v1/events?limit=lots")
        .portal()
        .send(&api)
        .await;
    a.assert_error(400, "1003");
    let a = Call::get("/oauth/api/v1/events?transaction_id=nope")
        .portal()
        .send(&api)
        .await;
    a.assert_error(404, "3004");
    let a = Call::get("/oauth/api/v1/events").send(&api).await;
    a.assert_error(401, "invalid_client");
}
