//! A transaction's life after its start (API.md §2.3, §2.4): SMS resends and their limits,
//! cancel, long-polling the result, and expiry at the end of the time to live.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::join_all;
use tessera_testkit::callback::CallbackFake;
use tokio::time::Instant;

use crate::support;
use crate::support::conf::{self, FAST_CALLBACKS, callback_config, sms_type};
use crate::support::portal::txn_id;
use crate::support::{Tessera, with_hook, wrong_code};

async fn start(t: &Tessera, user: &str) -> String {
    txn_id(&t.start_sms("sms", user, &[]).await)
}

#[tokio::test]
async fn a_resend_sends_the_same_code_until_max_resends() {
    let (hook, t) = with_hook(&conf::types(&[conf::MobileAuthType {
        max_resends: 1,
        ..conf::sms("sms")
    }]))
    .await;
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
    let (hook, t) = with_hook(&conf::types(&[conf::MobileAuthType {
        max_resends: 0,
        ..conf::sms("sms")
    }]))
    .await;
    let id = start(&t, "alice").await;
    hook.wait_for_messages(1).await;
    t.resend("alice", &id).await.expect_error(403, "3006");
    assert_eq!(hook.requests().len(), 1);
}

#[tokio::test]
async fn a_resend_inside_the_cooldown_is_rate_limited() {
    let (hook, t) = with_hook(&conf::types(&[conf::MobileAuthType {
        max_resends: 3,
        resend_cooldown: Duration::from_secs(30),
        ..conf::sms("sms")
    }]))
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
    let (hook, t) = with_hook(&sms_type("sms")).await;
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
    let (_hook, t) = with_hook(&sms_type("sms")).await;
    t.cancel("6f1c0d2e-9a4b-4c3d-8e7f-0a1b2c3d4e5f")
        .await
        .expect_error(404, "3004");
}

#[tokio::test]
async fn a_long_poll_returns_as_soon_as_the_code_is_verified() {
    let (hook, t) = with_hook(&sms_type("sms")).await;
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
    let (hook, t) = with_hook(&sms_type("sms")).await;
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
    let (hook, t) = with_hook(&sms_type("sms")).await;
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
        conf::types(&[conf::MobileAuthType {
            time_to_live: Duration::from_secs(2),
            ..conf::sms("sms")
        }])
    ))
    .await;
    let url = callback.url();
    let start = t
        .start_sms("sms", "alice", &[("callback_uri", url.as_str())])
        .await;
    assert_eq!(start["time_to_live"], 2000, "{start}");
    let id = txn_id(&start);
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
    let body = delivered[0].json();
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
        sms_type("sms")
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

/// `status` plus `error_code` when there is one: what a tally of answers counts.
fn outcome(resp: &support::portal::Resp) -> String {
    let code = serde_json::from_slice::<serde_json::Value>(&resp.body)
        .ok()
        .and_then(|b| b["error_code"].as_str().map(str::to_owned));
    match code {
        Some(code) => format!("{} {code}", resp.status),
        None => resp.status.to_string(),
    }
}

#[tokio::test]
async fn concurrent_cancels_finish_once_and_the_others_are_already_final() {
    let (_hook, t) = with_hook(&sms_type("sms")).await;
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..20 {
        let id = start(&t, "alice").await;
        let answers = join_all((0..4).map(|_| t.cancel(&id))).await;
        assert_eq!(
            answers.iter().filter(|r| r.status == 204).count(),
            1,
            "exactly one cancel wins"
        );
        for resp in &answers {
            *tally.entry(outcome(resp)).or_default() += 1;
        }
    }
    // Every cancel that lost the race finds the transaction final: 409 4002, never "unknown".
    let expected = BTreeMap::from([("204".to_owned(), 20), ("409 4002".to_owned(), 60)]);
    assert_eq!(tally, expected, "cancel answers over 20 transactions");
}

#[tokio::test]
async fn long_polls_racing_the_end_of_a_transaction_get_its_final_result() {
    let (_hook, t) = with_hook(&sms_type("sms")).await;
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..40 {
        let id = start(&t, "alice").await;
        let (cancelled, polls) = tokio::join!(
            t.cancel(&id),
            join_all((0..6).map(|_| t.wait_result(&id, Duration::from_secs(5))))
        );
        cancelled.expect(204);
        for resp in &polls {
            let status = (resp.status == 200).then(|| resp.json()["status"].clone());
            let key = match status {
                Some(s) => format!("200 {}", s.as_str().unwrap_or_default()),
                None => outcome(resp),
            };
            *tally.entry(key).or_default() += 1;
        }
    }
    let expected = BTreeMap::from([("200 cancelled".to_owned(), 240)]);
    assert_eq!(tally, expected, "long-poll answers over 40 transactions");
}
