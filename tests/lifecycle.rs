//! A transaction's life after its start (API.md §2.3, §2.4): SMS resends and their limits,
//! cancel, long-polling the result, and expiry at the end of the time to live.

mod support;

use std::time::Duration;

use tokio::time::Instant;

use support::conf::{self, FAST_CALLBACKS, callback_config, gateways, hook_gateway, sms_type};
use support::fakes::{CallbackFake, SmsHookFake};
use support::{Tessera, wrong_code};

async fn with_hook(sections: &str) -> (SmsHookFake, Tessera) {
    let hook = SmsHookFake::start().await;
    let config = conf::with(&format!(
        "{}{}{sections}",
        gateways(&["hook"]),
        hook_gateway("hook", &hook)
    ));
    let tessera = Tessera::start(&config).await;
    (hook, tessera)
}

async fn start(t: &Tessera, user: &str) -> String {
    t.start_sms("sms", user, &[]).await["transaction_id"]
        .as_str()
        .expect("transaction_id")
        .to_owned()
}

#[tokio::test]
async fn a_resend_sends_the_same_code_until_max_resends() {
    let (hook, t) = with_hook(&sms_type("sms", "max_resends = 1")).await;
    let id = start(&t, "alice").await;
    let first = hook.wait_for_messages(1).await[0].clone();

    let resp = t.resend("alice", &id).await;
    resp.expect(204);
    assert!(resp.body.is_empty(), "204 has no body: `{}`", resp.text());
    let again = hook.wait_for_messages(2).await[1].clone();
    assert_eq!(again, first, "a resend sends the same code and text");

    t.resend("alice", &id).await.expect_error(403, "3006");
    assert_eq!(hook.requests().len(), 2, "the refused resend sent nothing");

    // The code is still good.
    t.verify("alice", &id, &first.verification_code)
        .await
        .expect(200);
    assert_eq!(t.result(&id).await["status"], "accepted");
}

#[tokio::test]
async fn max_resends_zero_disables_resending() {
    let (hook, t) = with_hook(&sms_type("sms", "max_resends = 0")).await;
    let id = start(&t, "alice").await;
    hook.wait_for_messages(1).await;
    t.resend("alice", &id).await.expect_error(403, "3006");
    assert_eq!(hook.requests().len(), 1);
}

#[tokio::test]
async fn a_resend_inside_the_cooldown_is_rate_limited() {
    let (hook, t) = with_hook(&sms_type(
        "sms",
        "max_resends = 3\nresend_cooldown = \"30s\"",
    ))
    .await;
    let id = start(&t, "alice").await;
    hook.wait_for_messages(1).await;
    // The cool-down runs from the moment the first SMS was sent.
    t.wait_for_event(&id, "SMS AUTH INIT MESSAGE SENT", 1).await;

    let resp = t.resend("alice", &id).await;
    resp.expect_error(429, "1007");
    let retry_after: u64 = resp
        .header("retry-after")
        .unwrap_or_else(|| panic!("429 without Retry-After: {:?}", resp.headers))
        .trim()
        .parse()
        .expect("Retry-After in whole seconds");
    assert!(
        (1..=30).contains(&retry_after),
        "Retry-After {retry_after} outside 1..=30"
    );
    assert_eq!(hook.requests().len(), 1, "nothing resent");
}

#[tokio::test]
async fn cancel_ends_the_transaction_once() {
    let (hook, t) = with_hook(&sms_type("sms", "")).await;
    let id = start(&t, "alice").await;
    let code = hook.wait_for_messages(1).await[0].verification_code.clone();

    let resp = t.cancel(&id).await;
    resp.expect(204);
    let result = t.result(&id).await;
    assert_eq!(result["status"], "cancelled", "{result}");
    assert_eq!(result["is_authenticated"], false, "{result}");
    assert_eq!(
        result["not_authenticated_reason"]["reason"], "cancelled",
        "{result}"
    );

    t.cancel(&id).await.expect_error(409, "4002");
    // A cancelled transaction cannot be verified any more.
    let late = t.verify("alice", &id, &code).await;
    assert!(
        late.status == 404 || late.status == 409,
        "verify after cancel: {} {}",
        late.status,
        late.text()
    );
    assert_eq!(t.result(&id).await["status"], "cancelled");
}

#[tokio::test]
async fn cancel_of_an_unknown_transaction_is_3004() {
    let (_hook, t) = with_hook(&sms_type("sms", "")).await;
    t.cancel("6f1c0d2e-9a4b-4c3d-8e7f-0a1b2c3d4e5f")
        .await
        .expect_error(404, "3004");
}

#[tokio::test]
async fn a_long_poll_returns_as_soon_as_the_code_is_verified() {
    let (hook, t) = with_hook(&sms_type("sms", "")).await;
    let id = start(&t, "alice").await;
    let code = hook.wait_for_messages(1).await[0].verification_code.clone();

    let began = Instant::now();
    // Two portals wait on the same transaction; both are woken.
    let (first, second, verified) = tokio::join!(
        t.wait_result(&id, Duration::from_secs(10)),
        t.wait_result(&id, Duration::from_secs(10)),
        async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            t.verify("alice", &id, &code).await
        }
    );
    let took = began.elapsed();
    verified.expect(200);
    for polled in [first, second] {
        polled.expect(200);
        let result = polled.json();
        assert_eq!(result["status"], "accepted", "{result}");
        assert_eq!(result["is_authenticated"], true, "{result}");
    }
    assert!(
        took < Duration::from_secs(5),
        "the long-poll took {took:?}, not woken by the verification"
    );
}

#[tokio::test]
async fn a_long_poll_on_a_pending_transaction_returns_pending_after_the_wait() {
    let (hook, t) = with_hook(&sms_type("sms", "")).await;
    let id = start(&t, "alice").await;
    hook.wait_for_messages(1).await;

    let began = Instant::now();
    let resp = t.wait_result(&id, Duration::from_millis(400)).await;
    let took = began.elapsed();
    resp.expect(200);
    assert_eq!(resp.json()["status"], "pending");
    assert!(
        took >= Duration::from_millis(350),
        "returned after {took:?}, before the wait"
    );
    assert!(took < Duration::from_secs(5), "returned after {took:?}");
}

#[tokio::test]
async fn a_long_poll_on_a_final_transaction_returns_at_once() {
    let (hook, t) = with_hook(&sms_type("sms", "")).await;
    let id = start(&t, "alice").await;
    hook.wait_for_messages(1).await;
    t.cancel(&id).await.expect(204);

    let began = Instant::now();
    let resp = t.wait_result(&id, Duration::from_secs(30)).await;
    resp.expect(200);
    assert_eq!(resp.json()["status"], "cancelled");
    assert!(began.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn the_transaction_expires_after_its_time_to_live_and_calls_back() {
    let callback = CallbackFake::start().await;
    let (hook, t) = with_hook(&format!(
        "{FAST_CALLBACKS}{}{}",
        callback_config(&callback),
        sms_type("sms", "time_to_live = \"2s\"")
    ))
    .await;
    let url = callback.url();
    let start = t
        .start_sms("sms", "alice", &[("callback_uri", url.as_str())])
        .await;
    assert_eq!(start["time_to_live"], 2000, "{start}");
    let id = start["transaction_id"].as_str().unwrap().to_owned();
    let code = hook.wait_for_messages(1).await[0].verification_code.clone();
    // A wrong code inside the time to live does not end it.
    t.verify("alice", &id, &wrong_code(&code))
        .await
        .expect_error(404, "3003");

    let began = Instant::now();
    let resp = t.wait_result(&id, Duration::from_secs(8)).await;
    let took = began.elapsed();
    resp.expect(200);
    let result = resp.json();
    assert_eq!(result["status"], "expired", "{result} after {took:?}");
    assert_eq!(result["is_authenticated"], false, "{result}");
    assert_eq!(
        result["not_authenticated_reason"]["reason"], "expired",
        "{result}"
    );
    assert!(took < Duration::from_secs(6), "expired after {took:?}");

    let delivered = callback.wait_for(1).await;
    let body = delivered[0].json().expect("JSON callback body");
    assert_eq!(body["transaction_id"], id.as_str());
    assert_eq!(body["callback_uri"], url.as_str());

    // Too late for the right code.
    let late = t.verify("alice", &id, &code).await;
    assert_eq!(late.status, 404, "verify after expiry: {}", late.text());
    assert_eq!(t.result(&id).await["status"], "expired");
}

#[tokio::test]
async fn finished_transactions_stay_readable_for_result_retention_only() {
    let (hook, t) = with_hook(&format!(
        "[store]\nresult_retention = \"1s\"\n{}",
        sms_type("sms", "")
    ))
    .await;
    let id = start(&t, "alice").await;
    hook.wait_for_messages(1).await;
    t.cancel(&id).await.expect(204);
    assert_eq!(t.result(&id).await["status"], "cancelled");

    // Readable for at least the retention; dropped some time after it (the memory store sweeps
    // periodically), well within the deadline.
    let path = format!("{}/transaction/{id}", support::portal::V4);
    let gone = support::eventually(support::DEADLINE, "the result to be dropped", || async {
        let resp = t.get(&path).await;
        (resp.status != 200).then_some(resp)
    })
    .await;
    gone.expect_error(404, "3004");
}
