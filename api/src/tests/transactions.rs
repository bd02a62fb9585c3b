//! Result, long-poll, cancel and resend (API.md §2.3).

use std::time::Duration;

use tokio::time::Instant;

use crate::test_util::*;

#[actix_rt::test]
async fn result_of_a_pending_transaction() {
    let (api, _) = api();
    let id = start_sms(&api, "sms", "alice").await;
    let a = Call::get(format!("{V4}/transaction/{id}"))
        .portal()
        .send(&api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let v = a.json();
    assert_eq!(v["transaction_id"], id.as_str());
    assert_eq!(v["callback_uri"], serde_json::Value::Null);
    assert_eq!(v["user_id"], "alice");
    assert_eq!(v["is_authenticated"], false);
    assert_eq!(v["authentication_method"], "sms");
    assert_eq!(v["used_authentication_attempts"], 0);
    assert_eq!(v["status"], "pending");
    assert!(v["timestamp"].as_u64().unwrap() > 1_600_000_000_000);
    assert!(v.get("not_authenticated_reason").is_none());
    assert!(v.get("signature").is_none());
}

#[actix_rt::test]
async fn cancel_then_cancel_again_is_4002() {
    let (api, _) = api();
    let id = start_sms(&api, "sms", "alice").await;
    let a = Call::post(format!("{V4}/transaction/{id}/cancel"))
        .portal()
        .send(&api)
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    assert!(a.body.is_empty());
    assert_eq!(
        a.header("content-type"),
        Some("application/json;charset=UTF-8")
    );
    let a = Call::post(format!("{V4}/transaction/{id}/cancel"))
        .portal()
        .send(&api)
        .await;
    a.assert_error(409, "4002");
    let v = Call::get(format!("{V4}/transaction/{id}"))
        .portal()
        .send(&api)
        .await
        .json();
    assert_eq!(v["status"], "cancelled");
    assert_eq!(v["is_authenticated"], false);
    assert_eq!(v["not_authenticated_reason"]["reason"], "cancelled");
    assert!(v["not_authenticated_reason"]["description"].is_string());
}

#[actix_rt::test]
async fn unknown_and_malformed_ids_are_3004() {
    let (api, _) = api();
    let unknown = uuid::Uuid::new_v4();
    for path in [
        format!("{V4}/transaction/{unknown}"),
        format!("{V4}/transaction/not-a-uuid"),
    ] {
        Call::get(&path)
            .portal()
            .send(&api)
            .await
            .assert_error(404, "3004");
        Call::post(format!("{path}/cancel"))
            .portal()
            .send(&api)
            .await
            .assert_error(404, "3004");
        Call::post(format!("{path}/resend"))
            .portal()
            .send(&api)
            .await
            .assert_error(404, "3004");
    }
}

#[actix_rt::test]
async fn bad_wait_is_400() {
    let (api, _) = api();
    let id = start_sms(&api, "sms", "alice").await;
    let a = Call::get(format!("{V4}/transaction/{id}?wait=soon"))
        .portal()
        .send(&api)
        .await;
    a.assert_error(400, "1003");
}

#[actix_rt::test]
async fn long_poll_returns_early_when_the_transaction_finishes() {
    let (api, _) = api();
    let id = start_sms(&api, "sms", "alice").await;
    let canceller = {
        let (api, id) = (api.clone(), id.clone());
        actix_rt::spawn(async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            Call::post(format!("{V4}/transaction/{id}/cancel"))
                .portal()
                .send(&api)
                .await
                .status
        })
    };
    let t0 = Instant::now();
    // Above the 60 s cap: clamped, not refused.
    let a = Call::get(format!("{V4}/transaction/{id}?wait=90000"))
        .portal()
        .send(&api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.json()["status"], "cancelled");
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "waited {:?}",
        t0.elapsed()
    );
    assert_eq!(canceller.await.unwrap(), 204);
}

#[actix_rt::test]
async fn long_poll_times_out_with_the_pending_state() {
    let (api, _) = api();
    let id = start_sms(&api, "sms", "alice").await;
    let t0 = Instant::now();
    let a = Call::get(format!("{V4}/transaction/{id}?wait=200"))
        .portal()
        .send(&api)
        .await;
    assert_eq!(a.json()["status"], "pending");
    assert!(t0.elapsed() >= Duration::from_millis(150));
}

#[actix_rt::test]
async fn push_resend_of_a_final_transaction_is_refused() {
    let (api, _) = api();
    let id = start_sms(&api, "sms", "alice").await;
    Call::post(format!("{V4}/transaction/{id}/cancel"))
        .portal()
        .send(&api)
        .await;
    let a = Call::post(format!("{V4}/transaction/{id}/resend"))
        .portal()
        .send(&api)
        .await;
    assert!(a.status.is_client_error(), "{:?}", a.body);
}

#[actix_rt::test]
async fn cancel_with_an_unusable_body_is_refused() {
    let (api, _) = api();
    let id = start_sms(&api, "sms", "alice").await;
    let path = format!("{V4}/transaction/{id}/cancel");
    Call::post(&path)
        .portal()
        .raw("text/plain", "now")
        .send(&api)
        .await
        .assert_error(415, "1003");
    let a = Call::post(&path)
        .portal()
        .raw("text/plain", "")
        .send(&api)
        .await;
    assert_eq!(a.status, 204);
}
