//! `store.redis_mode = "cluster"` end to end: the real binary on a three-node Redis Cluster
//! (testkit) runs an SMS flow and a push flow with an enrolled phone, and a new process after a
//! `kill -9` still knows the phone and verifies the SMS code sent before the kill.

use std::time::Duration;

use tessera_api::wire::AnswerOutcome;
use tessera_testkit::callback::CallbackFake;
use tessera_testkit::redis::RedisCluster;
use tessera_testkit::sms::SmsHookFake;

use crate::redis_store::{config_with_store, kill_9, store, world};
use crate::support::device::{PIN, accept, assert_outcome};
use crate::support::portal::txn_id;
use tessera_testkit::free_port;

#[tokio::test]
async fn sms_and_push_flows_run_on_a_redis_cluster_and_survive_a_kill_9() {
    let cluster = RedisCluster::start();
    let hook = SmsHookFake::start().await;
    let callback = CallbackFake::start().await;
    let store = format!("{}redis_mode = \"cluster\"\n", store(&cluster.seeds()));
    let toml = config_with_store(&store, &hook, &callback, free_port());
    let w = world(&toml).await;

    let sms = txn_id(&w.t.start_sms("sms", "alice", &[]).await);
    let code = hook.wait_for_messages(1).await[0].verification_code.clone();
    w.t.verify("alice", &sms, &code).await.expect(200);
    assert_eq!(w.t.result(&sms).await["status"], "accepted");

    let phone = w.phone("bob", "Pixel").await;
    let push = w.start_push("push", "bob").await.transaction_id;
    phone.fetch(&push).await.unwrap();
    assert_eq!(
        phone.answer(&push, &accept()).await.unwrap(),
        AnswerOutcome::Accepted
    );
    assert_outcome(&w.final_result(&push).await, "accepted", None);

    // Pending at the kill: recovered from the cluster's pending index by the next process.
    let waiting = txn_id(&w.t.start_sms("sms", "carol", &[]).await);
    let waiting_code = hook.wait_for_messages(2).await[1].verification_code.clone();
    // Audit events are written a few milliseconds after they happen (batched): a `kill -9`
    // loses what is still queued, so the kill comes once the send is on record.
    w.t.wait_for_event(&waiting, "SMS AUTH INIT MESSAGE SENT", 1)
        .await;
    kill_9(&w);
    drop(w);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let w = world(&toml).await;
    w.t.verify("carol", &waiting, &waiting_code)
        .await
        .expect(200);
    assert_eq!(w.t.result(&waiting).await["status"], "accepted");
    // The phone, its keys and the server key are in the cluster: it answers with its PIN.
    let again = w.start_push("push_pin", "bob").await.transaction_id;
    phone.fetch(&again).await.unwrap();
    assert_eq!(
        phone.answer_with_pin(&again, PIN, true).await.unwrap(),
        AnswerOutcome::Accepted,
        "{}",
        w.t.logs()
    );
    assert_outcome(&w.final_result(&again).await, "accepted", None);
    // The audit log in the cluster holds the transaction's events, written by both processes.
    let names = w.t.event_names(&waiting).await;
    assert!(
        names.iter().any(|n| n == "SMS AUTH INIT MESSAGE SENT")
            && names.iter().any(|n| n == "SMS AUTH AUTHENTICATED"),
        "{names:?}"
    );
}
