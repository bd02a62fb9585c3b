//! Several nodes sharing one store: two engines in this process on one shared memory store
//! (which publishes its writes to both, as Redis pub/sub does — the same runs against real
//! Redis and real processes in the e2e suite). Real time: the lease loop and the callback
//! portal are real.

use std::sync::Arc;
use std::time::Duration;

use tessera_config::Config;
use tessera_testkit::callback::CallbackFake;

use super::*;
use crate::model::Status;
use crate::store::MemoryStore;
use crate::test_util::{outbox, sent_code, sms_request, sms_type};

fn config() -> Config {
    let mut sms = sms_type("sms");
    sms.time_to_live = Duration::from_secs(60);
    sms.max_attempts = 5;
    let mut cfg = Config {
        mobile_auth_types: vec![sms],
        ..Config::default()
    };
    cfg.store.hash_key = "nodes-tests-hash-key-0123456789abcdef".into();
    cfg.store.node_lease = Duration::from_millis(300);
    // Port 0: each engine draws its own node name, as processes on one host with their own ports.
    cfg.server.listen = "127.0.0.1:0".parse().unwrap();
    cfg.callbacks.initial_backoff = Duration::from_millis(10);
    cfg
}

fn node(store: &Arc<MemoryStore>) -> Engine {
    let store: Arc<dyn Store> = store.clone();
    Engine::launch_on(
        config(),
        EngineOptions {
            shards: 2,
            in_place: false,
        },
        Some(store),
        Vec::new(),
        outbox(),
    )
    .expect("engine")
}

fn two_nodes() -> (Arc<MemoryStore>, Engine, Engine) {
    let store = Arc::new(MemoryStore::shared(Clock::new()));
    let (a, b) = (node(&store), node(&store));
    assert_ne!(a.node(), b.node(), "each process has its own name");
    (store, a, b)
}

/// Waits (bounded) until `id` reads as `status`.
async fn until_status(engine: &Engine, id: TxnId, status: Status) -> Arc<Transaction> {
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let txn = engine.result(id, None).await.unwrap();
        if txn.status == status {
            return txn;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "still {:?}",
            txn.status
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_rt::test]
async fn started_on_one_node_verified_on_the_other_and_the_first_lets_go() {
    let (_store, a, b) = two_nodes();
    let id = a.start(sms_request()).await.unwrap().txn.id;
    assert_eq!(a.active().await, 1);
    assert!(matches!(
        b.verify_sms("alice", id, "000000x").await,
        Err(Error::CodeInvalid)
    ));
    b.verify_sms("alice", id, &sent_code(id)).await.unwrap();
    let txn = a.result(id, None).await.unwrap();
    assert_eq!(txn.status, Status::Accepted);
    assert_eq!(txn.used_authentication_attempts, 2);
    assert_eq!(
        txn.node.as_deref(),
        Some(a.node()),
        "the starter keeps the timers"
    );
    // The first node heard of the change: its actor (and its expiry timer) are gone.
    let until = tokio::time::Instant::now() + Duration::from_secs(5);
    while a.active().await != 0 || b.active().await != 0 {
        assert!(tokio::time::Instant::now() < until, "actors left behind");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[actix_rt::test]
async fn a_long_poll_on_one_node_wakes_when_the_other_finishes() {
    let (_store, a, b) = two_nodes();
    let id = a.start(sms_request()).await.unwrap().txn.id;
    let waiting = {
        let b = b.clone();
        tokio::spawn(async move { b.result(id, Some(Duration::from_secs(30))).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let asked = tokio::time::Instant::now();
    a.verify_sms("alice", id, &sent_code(id)).await.unwrap();
    let txn = waiting.await.unwrap().unwrap();
    assert_eq!(txn.status, Status::Accepted);
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "woken by the change, not by the end of the wait"
    );
}

#[actix_rt::test]
async fn attempts_on_two_nodes_are_each_counted_once() {
    let (store, a, b) = two_nodes();
    let id = a.start(sms_request()).await.unwrap().txn.id;
    // Each node's actor believes the record it last saw; the versioned write makes the second
    // one read the first one's change and count on top of it.
    for (n, engine) in [&b, &a, &b, &a].into_iter().enumerate() {
        let r = engine.verify_sms("alice", id, "bad-code").await;
        assert!(matches!(r, Err(Error::CodeInvalid)), "attempt {n}: {r:?}");
    }
    let txn = store.get(id).await.unwrap().unwrap();
    assert_eq!(txn.used_authentication_attempts, 4);
    assert_eq!(txn.code.as_ref().unwrap().attempts_used, 4);
    assert_eq!(txn.status, Status::Pending);
    // The fifth (the last allowed) fails the transaction, whichever node takes it.
    let r = a.verify_sms("alice", id, "bad-code").await;
    assert!(r.is_err());
    assert_eq!(
        until_status(&b, id, Status::Failed)
            .await
            .used_authentication_attempts,
        5
    );
}

#[actix_rt::test]
async fn racing_right_codes_on_two_nodes_finish_once_and_call_back_once() {
    let portal = CallbackFake::start().await;
    let (_store, a, b) = two_nodes();
    let mut req = sms_request();
    req.callback_uri = Some(portal.url());
    let id = a.start(req).await.unwrap().txn.id;
    // B holds an actor too (it served a request), so both race on their own copy.
    let _ = b.verify_sms("alice", id, "bad-code").await;
    let code = sent_code(id);
    let (ra, rb) = tokio::join!(
        a.verify_sms("alice", id, &code),
        b.verify_sms("alice", id, &code)
    );
    let oks = [ra.is_ok(), rb.is_ok()].iter().filter(|ok| **ok).count();
    assert_eq!(oks, 1, "one node finishes it: {ra:?} {rb:?}");
    assert_eq!(
        until_status(&a, id, Status::Accepted).await.status,
        Status::Accepted
    );
    portal.wait_for(1).await;
    portal
        .assert_no_more_than(1, Duration::from_millis(500))
        .await;
}

/// A node that stopped renewing its lease left a pending transaction and a finished one whose
/// callback had not gone out: a live node claims it, expires the first at its deadline and
/// calls back for both, once each.
#[actix_rt::test]
async fn a_live_node_takes_over_a_dead_nodes_timers_and_due_callbacks() {
    let portal = CallbackFake::start().await;
    let store = Arc::new(MemoryStore::shared(Clock::new()));
    let now = Clock::new().now();
    store
        .renew_node("dead", Duration::from_millis(50))
        .await
        .unwrap();
    let mut pending = crate::test_util::sms_txn(3, 0, 0);
    pending.version = 1;
    pending.node = Some("dead".into());
    pending.callback_uri = Some(portal.url());
    pending.deadline = now + 1_500;
    let mut finished = crate::test_util::sms_txn(3, 0, 0);
    finished.version = 1;
    finished.node = Some("dead".into());
    finished.callback_uri = Some(portal.url());
    finished.status = Status::Accepted;
    finished.finished_at = Some(now);
    finished.callback_due = true;
    // Another node's, alive: left alone.
    store
        .renew_node("alive", Duration::from_secs(60))
        .await
        .unwrap();
    let mut others = crate::test_util::sms_txn(3, 0, 0);
    others.version = 1;
    others.node = Some("alive".into());
    others.deadline = now + 60_000;
    for t in [&pending, &finished, &others] {
        store
            .save(&Arc::new(t.clone()), now + 60_000)
            .await
            .unwrap();
    }

    let live = node(&store);
    live.recover().await.unwrap();
    let expired = until_status(&live, pending.id, Status::Expired).await;
    assert_eq!(expired.node.as_deref(), Some(live.node()), "taken over");
    assert!(
        expired.finished_at.unwrap() <= pending.deadline,
        "expired at its deadline, not when it was taken over"
    );
    let calls = portal.wait_for(2).await;
    portal
        .assert_no_more_than(2, Duration::from_millis(500))
        .await;
    let mut ids: Vec<String> = calls
        .iter()
        .map(|r| r.json()["transaction_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    let mut want = vec![pending.id.to_string(), finished.id.to_string()];
    want.sort();
    assert_eq!(ids, want);
    // Both callbacks are no longer due; the live node's transaction was not touched.
    assert_eq!(store.pending(10).await.unwrap(), vec![others.id]);
    let untouched = store.get(others.id).await.unwrap().unwrap();
    assert_eq!(untouched.node.as_deref(), Some("alive"));
    assert_eq!(untouched.version, 1);
}

/// A node shutting down ends its lease: another takes its pending transactions over within
/// about a second, not after `node_lease`.
#[actix_rt::test]
async fn a_node_that_shuts_down_hands_its_transactions_over_at_once() {
    let store = Arc::new(MemoryStore::shared(Clock::new()));
    let (a, b) = (node(&store), node(&store));
    a.recover().await.unwrap();
    b.recover().await.unwrap();
    let id = a.start(sms_request()).await.unwrap().txn.id;
    // Renewed with a long lease: only leaving can hand it over quickly.
    store
        .renew_node(a.node(), Duration::from_secs(60))
        .await
        .unwrap();
    assert!(a.shutdown(Duration::from_millis(100)).await);
    let until = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let txn = store.get(id).await.unwrap().unwrap();
        if txn.node.as_deref() == Some(b.node()) {
            break;
        }
        assert!(tokio::time::Instant::now() < until, "still {:?}", txn.node);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A node reads a pending transaction, another node finishes it, and only then does the first
/// build its actor from what it read (a long-poll arriving there at that moment): the change
/// notice came before the actor existed, and the actor still learns the final state.
#[actix_rt::test]
async fn an_actor_built_from_a_read_older_than_a_change_heard_of_catches_up() {
    let (store, a, b) = two_nodes();
    let id = a.start(sms_request()).await.unwrap().txn.id;
    let read_before = store.get(id).await.unwrap().unwrap();
    a.verify_sms("alice", id, &sent_code(id)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let addr = b
        .actor_for(&read_before)
        .await
        .unwrap()
        .expect("built from the pending record");
    let (tx, rx) = tokio::sync::oneshot::channel();
    match addr.try_send(actor::WaitFinal { reply: tx }) {
        Ok(()) => {
            let woken = tokio::time::timeout(Duration::from_secs(5), rx)
                .await
                .expect("woken, not left waiting on the old read");
            // Answered with the final state, or dropped as the actor stepped aside for it
            // (`Engine::result` then reads the store).
            if let Ok(txn) = woken {
                assert_eq!(txn.status, Status::Accepted);
            }
        }
        // Stepped aside already: the next request reads the store.
        Err(SendError::Closed(_)) => {}
        Err(SendError::Full(_)) => panic!("mailbox full"),
    }
    let waited = b.result(id, Some(Duration::from_secs(5))).await.unwrap();
    assert_eq!(waited.status, Status::Accepted);
}

/// `stats()` lists every node that publishes (the answering one first) and drops one that
/// stopped publishing once its lease (300 ms here) ran out.
#[actix_rt::test]
async fn stats_list_every_live_node_the_answering_one_first() {
    let (_store, a, b) = two_nodes();
    let names = |engine: &Engine| {
        let engine = engine.clone();
        async move {
            let stats = engine.stats().await;
            stats.nodes.into_iter().map(|n| n.name).collect::<Vec<_>>()
        }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let seen = names(&a).await;
        if seen.len() == 2 {
            assert_eq!(seen, [a.node().to_owned(), b.node().to_owned()]);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{seen:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(names(&b).await[0], b.node());
    // A node that stops (drains) stops publishing; the other forgets it after the lease.
    b.drain();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while names(&a).await.len() != 1 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
