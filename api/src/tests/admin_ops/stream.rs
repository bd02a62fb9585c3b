//! `GET /stream`: transaction changes and audit events of a flow, a slow subscriber dropped
//! with a final `dropped` record while the engine and the other subscribers carry on, the cap
//! on subscribers, and shutdown ending the streams.

use std::time::Duration;

use tessera_testkit::sms::SmsHookFake;

use super::*;

fn is_txn(id: &str, state: &str) -> impl Fn(&str, &Value) -> bool {
    let (id, state) = (id.to_owned(), state.to_owned());
    move |e, d| {
        e == "transaction" && d["transaction_id"] == id.as_str() && d["state"] == state.as_str()
    }
}

#[actix_rt::test]
async fn a_flow_streams_its_transaction_versions_and_events() {
    let hook = SmsHookFake::start().await;
    let (api, _) = admin_api(&hook, None);
    let mut sse = Sse::open(&api).await;
    let id = start_sms_with(&api, "alice", &[]).await;
    let mut seen = sse.until(is_txn(&id, "code_sent")).await;
    verify_last(&api, &hook, "alice", &id, 1).await;
    seen.extend(sse.until(is_txn(&id, "accepted")).await);
    let accepted = &seen.last().unwrap().1;
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["type"], "sms");
    assert_eq!(accepted["client_id"], "portal");
    seen.extend(
        sse.until(|e, d| e == "event" && d["event_name"] == "SMS AUTH AUTHENTICATED")
            .await,
    );
    let events: Vec<&Value> = seen
        .iter()
        .filter(|(e, d)| e == "event" && d["transaction_id"] == id.as_str())
        .map(|(_, d)| d)
        .collect();
    assert!(
        events
            .iter()
            .any(|d| d["event_name"] == "SMS AUTH INIT MESSAGE SENT"),
        "{events:?}"
    );
    // Versions arrive in order; no code anywhere.
    let versions: Vec<u64> = seen
        .iter()
        .filter(|(e, d)| e == "transaction" && d["transaction_id"] == id.as_str())
        .map(|(_, d)| d["version"].as_u64().unwrap())
        .collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    let code = hook.messages()[0].verification_code.clone();
    assert!(!format!("{seen:?}").contains(&code));
}

#[actix_rt::test]
async fn a_slow_subscriber_is_dropped_and_nobody_else_waits() {
    let hook = SmsHookFake::start().await;
    let (api, engine) = admin_api(&hook, None);
    engine.live().set_limits(32, 16);
    // Opened and never read: its queue fills.
    let mut slow = Sse::open(&api).await;
    let mut fast = Sse::open(&api).await;
    assert_eq!(engine.live().subscribers(), 2);
    let mut ids = Vec::new();
    for n in 0..12 {
        let id = start_sms_with(&api, &format!("user{n}"), &[]).await;
        fast.until(is_txn(&id, "code_sent")).await;
        ids.push(id);
    }
    assert_eq!(engine.live().subscribers(), 1, "the slow one was dropped");
    // What it had queued, then the notice, then the end.
    let mut last = None;
    while let Some(record) = slow.next(Duration::from_secs(5)).await {
        last = Some(record);
    }
    let (event, data) = last.expect("records before the end");
    assert_eq!(event, "dropped");
    assert!(data["missed"].as_u64().unwrap() >= 1, "{data}");
    assert!(data["reason"].as_str().is_some());
    // The engine serves on, and the fast subscriber still hears everything.
    let id = start_sms_with(&api, "after", &[]).await;
    fast.until(is_txn(&id, "code_sent")).await;
    assert_eq!(hook.messages().len(), 13);
}

#[actix_rt::test]
async fn subscribers_are_capped_and_shutdown_ends_streams() {
    let hook = SmsHookFake::start().await;
    let (api, engine) = admin_api(&hook, None);
    engine.live().set_limits(1, 64);
    let mut only = Sse::open(&api).await;
    Call::get(format!("{ADMIN}/stream"))
        .ops()
        .send(&api)
        .await
        .assert_error(503, "too_many_streams");
    engine.drain();
    assert!(
        only.next(Duration::from_secs(5)).await.is_none(),
        "ended by the drain"
    );
    assert_eq!(engine.live().subscribers(), 0);
}
