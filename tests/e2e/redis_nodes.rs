//! Two `tessera` processes on one Redis, as behind a load balancer: any node answers any
//! request for any transaction — a verify, a device's fetch and answer, a long-poll — and when
//! the node that started a transaction dies, the other one expires it at its deadline (within
//! `node_lease` + 1 s) and calls the portal back, once.

use std::time::Duration;

use tessera_api::wire::{AnswerOutcome, StartParams};
use tessera_testkit::callback::CallbackFake;
use tessera_testkit::redis::RedisServer;
use tessera_testkit::sms::SmsHookFake;

use crate::redis_store::{config, free_port, kill_9, world};
use crate::support::device::{World, accept, assert_outcome};
use crate::support::portal::txn_id;
use crate::support::wrong_code;

/// `node_lease` in these tests: a dead node's timers move within a second.
const LEASE: Duration = Duration::from_secs(1);

fn node_config(redis: &RedisServer, hook: &SmsHookFake, callback: &CallbackFake) -> String {
    config(redis, hook, callback, free_port()).replacen(
        "[store]\n",
        "[store]\nnode_lease = \"1s\"\n",
        1,
    )
}

async fn two_nodes(
    redis: &RedisServer,
    hook: &SmsHookFake,
    callback: &CallbackFake,
) -> (World, World) {
    let a = world(&node_config(redis, hook, callback)).await;
    let b = world(&node_config(redis, hook, callback)).await;
    (a, b)
}

#[tokio::test]
async fn any_node_serves_any_transaction() {
    let redis = RedisServer::start();
    let hook = SmsHookFake::start().await;
    let callback = CallbackFake::start().await;
    let (a, b) = two_nodes(&redis, &hook, &callback).await;

    // SMS: started on A, verified on B, read on both.
    let sms = txn_id(&a.t.start_sms("sms", "alice", &[]).await);
    let code = hook.wait_for_messages(1).await[0].verification_code.clone();
    b.t.verify("alice", &sms, &wrong_code(&code))
        .await
        .expect_error(404, "3003");
    b.t.verify("alice", &sms, &code).await.expect(200);
    assert_eq!(a.t.result(&sms).await["status"], "accepted");
    assert_eq!(b.t.result(&sms).await["status"], "accepted");

    // A long-poll on B wakes when A finishes the transaction.
    let polled = txn_id(&a.t.start_sms("sms", "carol", &[]).await);
    let code = hook.wait_for_messages(2).await[1].verification_code.clone();
    let poll = {
        let portal = b.portal.clone();
        let id = polled.clone();
        tokio::spawn(async move { portal.result(&id, Some(Duration::from_secs(30))).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let verified = tokio::time::Instant::now();
    a.t.verify("carol", &polled, &code).await.expect(200);
    let woke = poll.await.unwrap().unwrap();
    assert_outcome(&woke, "accepted", None);
    assert!(
        verified.elapsed() < Duration::from_secs(5),
        "woken through Redis, not at the end of the wait: {:?}",
        verified.elapsed()
    );

    // Push: the phone enrolled on A, the push started on A, fetched and answered on B.
    let mut phone = a.phone("bob", "Pixel").await;
    let push = a.start_push("push", "bob").await.transaction_id;
    phone.switch_to(&b.t.base);
    phone.fetch(&push).await.unwrap();
    assert_eq!(
        phone.answer(&push, &accept()).await.unwrap(),
        AnswerOutcome::Accepted
    );
    assert_outcome(&a.final_result(&push).await, "accepted", None);
}

#[tokio::test]
async fn when_a_node_dies_another_expires_its_transactions_and_calls_back_once() {
    let redis = RedisServer::start();
    let hook = SmsHookFake::start().await;
    let callback = CallbackFake::start().await;
    let (a, b) = two_nodes(&redis, &hook, &callback).await;
    let phone = a.phone("bob", "Pixel").await;

    // Two seconds to live, started on A, which dies at once.
    let started = tokio::time::Instant::now();
    let short = a
        .start_with(&StartParams {
            user_id: Some("bob".into()),
            callback_uri: Some(callback.url()),
            ..StartParams::new("push_short")
        })
        .await
        .transaction_id;
    kill_9(&a);
    drop(a);

    let got = callback.wait_for(1).await;
    let called = started.elapsed();
    assert_eq!(got[0].json()["transaction_id"], short.as_str());
    assert_outcome(&b.final_result(&short).await, "expired", Some("expired"));
    // Deadline 2 s after the start; B must be done within node_lease + 1 s of it (plus the
    // time a busy test machine takes to deliver the callback).
    let bound = Duration::from_secs(2) + LEASE + Duration::from_secs(1);
    assert!(
        called <= bound + Duration::from_millis(1_500),
        "expired and called back {called:?} after the start (bound {bound:?})"
    );
    callback
        .assert_no_more_than(1, Duration::from_secs(2))
        .await;

    // The phone still answers through the surviving node.
    let mut phone = phone;
    phone.switch_to(&b.t.base);
    let again = b.start_push("push", "bob").await.transaction_id;
    phone.fetch(&again).await.unwrap();
    assert_eq!(
        phone.answer(&again, &accept()).await.unwrap(),
        AnswerOutcome::Accepted
    );
    assert_outcome(&b.final_result(&again).await, "accepted", None);
}
