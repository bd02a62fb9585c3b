//! Two `tessera` processes on one Redis, as behind a load balancer: any node answers any
//! request for any transaction — a verify, a device's fetch and answer, a long-poll — and when
//! the node that started a transaction dies, the other one expires it at its deadline (within
//! `node_lease` + 1 s) and calls the portal back, once.

use std::time::Duration;

use tessera_api::wire::{AnswerOutcome, StartParams};
use tessera_testkit::callback::CallbackFake;
use tessera_testkit::redis::RedisServer;
use tessera_testkit::sms::SmsHookFake;

use crate::redis_store::{config, kill_9, store, world};
use crate::support::binary::{TempDir, Tessera};
use crate::support::device::{World, accept, assert_outcome};
use crate::support::portal::txn_id;
use crate::support::wrong_code;
use tessera_testkit::free_port;

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

const LOADTEST_SECRET: &str = "loadtest-secret-0123456789abcdef";

/// The engine `tessera loadtest` expects (its client, sinks at `sinks`, app and types), on the
/// Redis store, listening on `port`.
fn harness_node(redis: &RedisServer, port: u16, sinks: std::net::SocketAddr) -> String {
    use tessera_loadtest::sinks::{FCM_PATH, SMS_PATH};
    let harness = tessera_loadtest::engine_config(&tessera_loadtest::EngineConfig {
        client_id: "loadtest".into(),
        client_secret: LOADTEST_SECRET.into(),
        app_id: "loadtest".into(),
        sms_url: format!("http://{sinks}{SMS_PATH}"),
        fcm_url: format!("http://{sinks}{FCM_PATH}"),
        hold_ttl: Duration::from_secs(30),
        workers: 0,
        listen: format!("127.0.0.1:{port}"),
        push_starts_per_user: "0".into(),
        limits_checked: false,
        context_mmdb: None,
    });
    let memory = "[store]\nkind = \"memory\"\n";
    assert!(
        harness.contains(memory),
        "the harness config names the memory store"
    );
    harness.replacen(memory, &store(&redis.url()), 1)
}

/// The sum of a Prometheus counter's samples on `node`.
async fn counter(node: &Tessera, name: &str) -> f64 {
    let resp = node.send(node.http.get(node.url("/metrics"))).await;
    resp.text()
        .lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The load harness against two nodes at once: every flow starts on one node and verifies,
/// answers or long-polls on the other, and none fails.
#[tokio::test]
async fn the_load_harness_spreads_its_flows_over_two_nodes_without_errors() {
    let redis = RedisServer::start();
    let sinks = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    let a = Tessera::start(&harness_node(&redis, free_port(), sinks)).await;
    let b = Tessera::start(&harness_node(&redis, free_port(), sinks)).await;
    let dir = TempDir::new();
    let json = dir.path().join("report.json");
    let target = format!("{},{}", a.base, b.base);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
    cmd.args(["loadtest", "--target", &target, "--client-id", "loadtest"])
        .args(["--client-secret", LOADTEST_SECRET])
        .args(["--sink-listen", &sinks.to_string()])
        .args(["--scenario", "mixed", "--mix", "sms=1,push_with_pin=1"])
        .args(["--rate", "20", "--duration", "3s", "--warmup", "0s"])
        .args(["--devices", "4", "--threads", "1", "--quiet", "--json"])
        .arg(&json)
        .env("TESSERA_LOG", "error");
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("the harness thread")
        .expect("run tessera loadtest");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tessera loadtest: {}\n{stderr}",
        out.status
    );
    let report: tessera_loadtest::Report =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the report")).expect("JSON");
    assert!(report.flows >= 30, "{} flows", report.flows);
    assert_eq!(report.errors, 0, "{:?}\n{stderr}", report.errors_by_code);
    for (name, node) in [("A", &a), ("B", &b)] {
        let started = counter(node, "tessera_transactions_started_total").await;
        let finished = counter(node, "tessera_transactions_finished_total").await;
        assert!(
            started > 0.0 && finished > 0.0,
            "node {name}: {started} started, {finished} finished"
        );
    }
}
