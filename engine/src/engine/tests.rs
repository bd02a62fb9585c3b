//! The engine with its actors and timers, on one in-place shard with paused time: expiry at the
//! deadline, long-poll wake-ups, routing, recovery from the store, retention.

use std::sync::Arc;
use std::time::Duration;

use tessera_config::{Config, Method};

use super::*;
use crate::model::{EventName, Status};
use crate::test_util::{outbox, push_type, sent_code, sms_request, sms_type};

fn config() -> Config {
    let mut sms = sms_type("sms");
    sms.time_to_live = Duration::from_secs(60);
    sms.max_resends = 2;
    sms.resend_cooldown = Duration::from_secs(10);
    let mut cfg = Config::default();
    cfg.general.supported_locales = vec!["en".into(), "nl".into()];
    cfg.mobile_auth_types = vec![sms, push_type("push", Method::Push, "sms")];
    cfg.store.result_retention = Duration::from_secs(30);
    // Fixed, as several nodes (or a restarted one) would share it.
    cfg.store.hash_key = "engine-tests-hash-key-0123456789abcdef".into();
    cfg
}

fn engine() -> Engine {
    Engine::launch_with_sms(
        config(),
        EngineOptions {
            shards: 1,
            in_place: true,
        },
        Vec::new(),
        outbox(),
    )
    .expect("engine")
}

/// The code texted for `id`; the store has only its MAC.
async fn code_of(engine: &Engine, id: TxnId) -> String {
    let txn = engine.store().get(id).await.unwrap().unwrap();
    let code = sent_code(id);
    assert!(!txn.code.as_ref().unwrap().code_hmac.contains(&code));
    code
}

#[actix_rt::test]
async fn sms_flow_through_the_actor() {
    tokio::time::pause();
    let engine = engine();
    let started = engine.start(sms_request()).await.unwrap();
    let id = started.txn.id;
    assert_eq!(started.txn.status, Status::Pending);
    assert!(matches!(
        engine.verify_sms("alice", id, "x").await,
        Err(Error::CodeInvalid)
    ));
    assert!(matches!(
        engine.verify_sms("mallory", id, "x").await,
        Err(Error::UnknownTransaction)
    ));
    let code = code_of(&engine, id).await;
    engine.verify_sms("alice", id, &code).await.unwrap();
    let txn = engine.result(id, None).await.unwrap();
    assert_eq!(txn.status, Status::Accepted);
    assert_eq!(txn.used_authentication_attempts, 2);
    // Finished: further calls are about an invalid transaction.
    assert!(matches!(
        engine.verify_sms("alice", id, &code).await,
        Err(Error::UnknownTransaction)
    ));
}

#[actix_rt::test]
async fn expires_exactly_at_the_deadline() {
    tokio::time::pause();
    let engine = engine();
    let id = engine.start(sms_request()).await.unwrap().txn.id;
    tokio::time::sleep(Duration::from_millis(59_990)).await;
    assert_eq!(
        engine.result(id, None).await.unwrap().status,
        Status::Pending
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    let txn = engine.result(id, None).await.unwrap();
    assert_eq!(txn.status, Status::Expired);
    assert_eq!(txn.finished_at, Some(txn.deadline));
    assert_eq!(engine.active().await, 0);
}

#[actix_rt::test]
async fn long_poll_wakes_on_the_final_state() {
    tokio::time::pause();
    let engine = engine();
    let id = engine.start(sms_request()).await.unwrap().txn.id;
    let code = code_of(&engine, id).await;
    let poller = {
        let engine = engine.clone();
        actix_rt::spawn(async move { engine.result(id, Some(Duration::from_secs(50))).await })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    engine.verify_sms("alice", id, &code).await.unwrap();
    let before = tokio::time::Instant::now();
    let txn = poller.await.unwrap().unwrap();
    assert_eq!(txn.status, Status::Accepted);
    assert_eq!(
        before.elapsed(),
        Duration::ZERO,
        "woken at once, not at the end of the wait"
    );
}

#[actix_rt::test]
async fn long_poll_gives_up_after_wait() {
    tokio::time::pause();
    let engine = engine();
    let id = engine.start(sms_request()).await.unwrap().txn.id;
    let t0 = tokio::time::Instant::now();
    let txn = engine
        .result(id, Some(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(txn.status, Status::Pending);
    // Timers fire on millisecond ticks.
    assert!((Duration::from_secs(5)..Duration::from_millis(5_002)).contains(&t0.elapsed()));
}

#[actix_rt::test]
async fn resend_limits_and_cooldown_through_the_actor() {
    tokio::time::pause();
    let engine = engine();
    let id = engine.start(sms_request()).await.unwrap().txn.id;
    match engine.resend_sms("alice", id).await {
        Err(Error::ResendTooSoon { retry_after_ms }) => assert_eq!(retry_after_ms, 10_000),
        other => panic!("expected cool-down, got {other:?}"),
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    engine.resend_sms("alice", id).await.unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    engine.resend_sms("alice", id).await.unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(matches!(
        engine.resend_sms("alice", id).await,
        Err(Error::ResendLimit)
    ));
}

#[actix_rt::test]
async fn cancel_and_unknown_ids() {
    tokio::time::pause();
    let engine = engine();
    let id = engine.start(sms_request()).await.unwrap().txn.id;
    engine.cancel(id).await.unwrap();
    assert_eq!(
        engine.result(id, None).await.unwrap().status,
        Status::Cancelled
    );
    assert!(matches!(engine.cancel(id).await, Err(Error::AlreadyFinal)));
    let unknown = TxnId::random();
    assert!(matches!(
        engine.cancel(unknown).await,
        Err(Error::UnknownTransaction)
    ));
    assert!(matches!(
        engine.result(unknown, None).await,
        Err(Error::UnknownTransaction)
    ));
}

#[actix_rt::test]
async fn push_type_without_devices_falls_back_to_sms_at_start() {
    tokio::time::pause();
    let engine = engine();
    let mut req = sms_request();
    req.type_name = "push".into();
    let started = engine.start(req).await.unwrap();
    assert_eq!(started.txn.method, Method::Sms);
    let code = code_of(&engine, started.txn.id).await;
    engine
        .verify_sms("alice", started.txn.id, &code)
        .await
        .unwrap();
}

#[actix_rt::test]
async fn events_are_recorded_per_transaction() {
    tokio::time::pause();
    let engine = engine();
    let id = engine.start(sms_request()).await.unwrap().txn.id;
    let _ = engine.verify_sms("alice", id, "000000").await;
    tokio::time::sleep(Duration::from_millis(1)).await;
    let query = EventQuery {
        transaction_id: Some(id),
        limit: 10,
        ..Default::default()
    };
    let names: Vec<String> = engine
        .query_events(&query)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_name)
        .collect();
    assert!(
        names.contains(&EventName::SmsAuthInitMessageSent.as_str().to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&EventName::SmsAuthInvalidCode.as_str().to_owned()),
        "{names:?}"
    );
}

#[actix_rt::test]
async fn finished_transactions_are_forgotten_after_retention() {
    tokio::time::pause();
    let engine = engine();
    let id = engine.start(sms_request()).await.unwrap().txn.id;
    engine.cancel(id).await.unwrap();
    tokio::time::sleep(Duration::from_secs(25)).await;
    assert!(engine.result(id, None).await.is_ok());
    tokio::time::sleep(Duration::from_secs(15)).await;
    assert!(matches!(
        engine.result(id, None).await,
        Err(Error::UnknownTransaction)
    ));
}

#[actix_rt::test]
async fn recovered_transactions_re_arm_their_timers() {
    tokio::time::pause();
    let engine = engine();
    // A pending transaction another process left in the store, 10 s before its deadline.
    let mut txn = crate::test_util::sms_txn(3, 0, 0);
    txn.version = 1;
    txn.deadline = engine.clock().now() + 10_000;
    engine
        .store()
        .save(&Arc::new(txn.clone()), txn.purge_at(30_000))
        .await
        .unwrap();
    assert_eq!(engine.recover().await.unwrap(), 1);
    // (tokio rounds sleeps up to the next millisecond tick)
    tokio::time::sleep(Duration::from_millis(9_990)).await;
    assert_eq!(
        engine.result(txn.id, None).await.unwrap().status,
        Status::Pending
    );
    // Still reachable through its actor.
    let r = engine.verify_sms("alice", txn.id, "1").await;
    assert!(matches!(r, Err(Error::CodeInvalid)), "{r:?}");
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        engine.result(txn.id, None).await.unwrap().status,
        Status::Expired
    );
}

/// An engine on two arbiters of its own, without rate limits: these tests send hundreds of SMS
/// to one number, which the SMS limits (CONFIG.md: 5 per number per 10 min) would stop.
fn two_shards() -> Engine {
    let mut cfg = config();
    cfg.rate_limits = crate::test_util::no_limits();
    Engine::launch_with_sms(
        cfg,
        EngineOptions {
            shards: 2,
            in_place: false,
        },
        Vec::new(),
        outbox(),
    )
    .expect("engine")
}

#[actix_rt::test]
async fn many_transactions_over_several_shards() {
    let engine = two_shards();
    let mut ids = Vec::new();
    for _ in 0..200 {
        ids.push(engine.start(sms_request()).await.unwrap().txn.id);
    }
    assert_eq!(engine.active().await, 200);
    for id in &ids {
        let code = code_of(&engine, *id).await;
        engine.verify_sms("alice", *id, &code).await.unwrap();
    }
    for id in &ids {
        assert_eq!(
            engine.result(*id, None).await.unwrap().status,
            Status::Accepted
        );
    }
}

#[actix_rt::test]
async fn a_start_served_on_an_arbiter_takes_an_id_of_that_arbiters_shard() {
    let engine = two_shards();
    for (index, arbiter) in engine.arbiters().iter().enumerate() {
        for _ in 0..20 {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let e = engine.clone();
            assert!(arbiter.spawn(async move {
                let _ = tx.send(e.start(sms_request()).await.map(|s| s.txn.id));
            }));
            let id = rx.await.unwrap().unwrap();
            assert_eq!(id.shard(2), index, "a start on arbiter {index}");
            // The transaction works like any other: its code verifies.
            let code = code_of(&engine, id).await;
            engine.verify_sms("alice", id, &code).await.unwrap();
            assert_eq!(
                engine.result(id, None).await.unwrap().status,
                Status::Accepted
            );
        }
    }
    // Served off the arbiters (this test's own thread), ids still spread over both shards.
    let mut seen = [0; 2];
    for _ in 0..64 {
        seen[engine.start(sms_request()).await.unwrap().txn.id.shard(2)] += 1;
    }
    assert!(seen[0] > 0 && seen[1] > 0, "{seen:?}");
}

#[actix_rt::test]
async fn recovering_twice_starts_one_actor() {
    tokio::time::pause();
    let engine = engine();
    let mut txn = crate::test_util::sms_txn(3, 0, 0);
    txn.version = 1;
    txn.deadline = engine.clock().now() + 10_000;
    engine
        .store()
        .save(&Arc::new(txn.clone()), txn.purge_at(30_000))
        .await
        .unwrap();
    // Both passes reach the shard before the first rebuilt actor registers.
    assert_eq!(engine.recover().await.unwrap(), 1);
    assert_eq!(engine.recover().await.unwrap(), 1);
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(engine.active().await, 1);
}

#[actix_rt::test]
async fn a_rebuilt_sms_transaction_resends_a_new_code_since_only_the_mac_was_stored() {
    // A node texts a code and dies; the record (MAC only) is taken over by another process.
    let first = engine();
    let id = first.start(sms_request()).await.unwrap().txn.id;
    let old_code = code_of(&first, id).await;
    let mut record = (*first.store().get(id).await.unwrap().unwrap()).clone();
    record.code.as_mut().unwrap().resend_cooldown_ms = 0;
    record.version = 1; // the first write into the other store

    let second = engine();
    second
        .store()
        .save(&Arc::new(record.clone()), record.purge_at(30_000))
        .await
        .unwrap();
    assert_eq!(second.recover().await.unwrap(), 1);
    tokio::time::sleep(Duration::from_millis(20)).await; // the rebuilt actor registers
    // The code the user holds still verifies against the stored MAC...
    let wrong = if old_code == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert!(matches!(
        second.verify_sms("alice", id, wrong).await,
        Err(Error::CodeInvalid)
    ));
    // ...until a resend, which cannot send "the same code" (nobody has it in clear) and sends
    // a new one that replaces it.
    second.resend_sms("alice", id).await.unwrap();
    let new_code = sent_code(id);
    let stored = second.store().get(id).await.unwrap().unwrap();
    let mac = stored.code.as_ref().unwrap().code_hmac.clone();
    assert_ne!(mac, record.code.as_ref().unwrap().code_hmac);
    if new_code != old_code {
        assert!(matches!(
            second.verify_sms("alice", id, &old_code).await,
            Err(Error::CodeInvalid)
        ));
    }
    second.verify_sms("alice", id, &new_code).await.unwrap();
    assert_eq!(
        second.result(id, None).await.unwrap().status,
        Status::Accepted
    );
}

#[actix_rt::test]
async fn draining_answers_long_polls_at_once_with_the_current_state() {
    tokio::time::pause();
    let engine = engine();
    let id = engine.start(sms_request()).await.unwrap().txn.id;
    let poller = {
        let engine = engine.clone();
        actix_rt::spawn(async move { engine.result(id, Some(Duration::from_secs(50))).await })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = tokio::time::Instant::now();
    engine.drain();
    let txn = poller.await.unwrap().unwrap();
    assert_eq!(txn.status, Status::Pending);
    assert_eq!(before.elapsed(), Duration::ZERO, "answered at once");
    // A long-poll started while draining does not wait either.
    let txn = engine
        .result(id, Some(Duration::from_secs(50)))
        .await
        .unwrap();
    assert_eq!(txn.status, Status::Pending);
    assert_eq!(before.elapsed(), Duration::ZERO);
    assert!(engine.shutdown(Duration::from_secs(1)).await);
}

/// Sends the first SMS at once and holds every later one until `release` is notified.
struct HeldAfterFirst {
    sent: std::sync::atomic::AtomicU32,
    release: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl crate::outbound::SmsGateway for HeldAfterFirst {
    fn name(&self) -> &str {
        "held"
    }
    async fn send(&self, _: &crate::outbound::SmsMessage) -> std::result::Result<(), String> {
        if self.sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst) > 0 {
            self.release.notified().await;
        }
        Ok(())
    }
}

#[actix_rt::test]
async fn a_second_resend_while_the_first_is_with_the_gateway_is_refused_and_not_counted() {
    tokio::time::pause();
    let gateway = Arc::new(HeldAfterFirst {
        sent: Default::default(),
        release: tokio::sync::Notify::new(),
    });
    let mut cfg = config();
    cfg.mobile_auth_types[0].resend_cooldown = Duration::ZERO;
    let opts = EngineOptions {
        shards: 1,
        in_place: true,
    };
    let gateways: Vec<Arc<dyn crate::outbound::SmsGateway>> = vec![gateway.clone()];
    let engine = Engine::launch_with_sms(cfg, opts, Vec::new(), Some(gateways)).expect("engine");
    let id = engine.start(sms_request()).await.unwrap().txn.id;

    let first = {
        let engine = engine.clone();
        actix_rt::spawn(async move { engine.resend_sms("alice", id).await })
    };
    // Let the first resend reach the gateway.
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(matches!(
        engine.resend_sms("alice", id).await,
        Err(Error::ResendInFlight)
    ));
    gateway.release.notify_one();
    assert!(first.await.unwrap().is_ok());
    let txn = engine.store().get(id).await.unwrap().unwrap();
    assert_eq!(txn.code.as_ref().map(|c| c.resends_used), Some(1));
}

#[actix_rt::test]
async fn ownership_is_checked_against_the_actor_and_the_store_alike() {
    tokio::time::pause();
    let engine = engine();
    let id = engine.start(sms_request()).await.unwrap().txn.id;
    let owner = engine
        .store()
        .get(id)
        .await
        .unwrap()
        .unwrap()
        .client_id
        .clone();
    // Pending: the actor answers.
    engine.check_owner(id, &owner).await.unwrap();
    assert!(matches!(
        engine.check_owner(id, "another-portal").await,
        Err(Error::UnknownTransaction)
    ));
    // Final: the store answers, the same way.
    engine.cancel(id).await.unwrap();
    engine.check_owner(id, &owner).await.unwrap();
    assert!(matches!(
        engine.check_owner(id, "another-portal").await,
        Err(Error::UnknownTransaction)
    ));
    assert!(matches!(
        engine.check_owner(TxnId::random(), &owner).await,
        Err(Error::UnknownTransaction)
    ));
}
