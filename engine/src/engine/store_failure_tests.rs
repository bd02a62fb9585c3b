//! A failed store write (item 7 of the security review): the actor's version must not stay ahead
//! of the store's, or every later write conflicts and the store keeps a stale state.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tessera_config::Config;
use uuid::Uuid;

use super::*;
use crate::model::{Device, EnrollmentCode, Millis, Status};
use crate::store::{DeadLetter, MemoryStore, StoreError, StoreResult};
use crate::test_util::{outbox, sent_code, sms_request, sms_type};

/// The memory store, except that the next `fail` transaction writes are refused as if the
/// store were unreachable, and with `slow_unindex` a removal from a device's pending index takes
/// 50 ms (a store across the network).
#[derive(Default)]
pub(super) struct FlakyStore {
    inner: MemoryStore,
    fail: AtomicUsize,
    failed: AtomicUsize,
    pub(super) slow_unindex: AtomicBool,
}

#[async_trait]
impl Store for FlakyStore {
    async fn save(&self, txn: &Arc<Transaction>, purge_at: Millis) -> StoreResult<()> {
        let failing = self
            .fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            self.failed.fetch_add(1, Ordering::SeqCst);
            return Err(StoreError::Unavailable("connection reset (test)".into()));
        }
        self.inner.save(txn, purge_at).await
    }
    async fn get(&self, id: TxnId) -> StoreResult<Option<Arc<Transaction>>> {
        self.inner.get(id).await
    }
    async fn pending(&self, limit: usize) -> StoreResult<Vec<TxnId>> {
        self.inner.pending(limit).await
    }
    async fn release(&self, id: TxnId) -> StoreResult<()> {
        self.inner.release(id).await
    }
    async fn renew_node(&self, node: &str, lease: std::time::Duration) -> StoreResult<()> {
        self.inner.renew_node(node, lease).await
    }
    async fn leave_node(&self, node: &str) -> StoreResult<()> {
        self.inner.leave_node(node).await
    }
    async fn claim_dead_nodes(&self, me: &str) -> StoreResult<Vec<String>> {
        self.inner.claim_dead_nodes(me).await
    }
    async fn put_dead_letter(&self, letter: &DeadLetter) -> StoreResult<()> {
        self.inner.put_dead_letter(letter).await
    }
    async fn dead_letters(&self, limit: usize) -> StoreResult<Vec<DeadLetter>> {
        self.inner.dead_letters(limit).await
    }
    async fn take_dead_letter(&self, id: Uuid) -> StoreResult<Option<DeadLetter>> {
        self.inner.take_dead_letter(id).await
    }
    async fn append_event(&self, event: &Event) -> StoreResult<()> {
        self.inner.append_event(event).await
    }
    async fn events(&self, query: &EventQuery) -> StoreResult<Vec<Event>> {
        self.inner.events(query).await
    }
    async fn purge_expired(&self, now: Millis) -> StoreResult<usize> {
        self.inner.purge_expired(now).await
    }
    async fn save_device(&self, device: &Device) -> StoreResult<()> {
        self.inner.save_device(device).await
    }
    async fn config_doc(&self) -> StoreResult<Option<crate::store::ConfigDoc>> {
        self.inner.config_doc().await
    }
    async fn rate_limit(
        &self,
        key: &str,
        bucket: crate::limits::Bucket,
        consume: bool,
        now: Millis,
    ) -> StoreResult<crate::limits::Decision> {
        self.inner.rate_limit(key, bucket, consume, now).await
    }
    async fn put_mute(&self, key: &str, until: Millis) -> StoreResult<()> {
        self.inner.put_mute(key, until).await
    }
    async fn mute_until(&self, key: &str, now: Millis) -> StoreResult<Option<Millis>> {
        self.inner.mute_until(key, now).await
    }
    async fn config_doc_version(&self) -> StoreResult<u64> {
        self.inner.config_doc_version().await
    }
    async fn put_config_doc(&self, expected: u64, bytes: &[u8]) -> StoreResult<u64> {
        self.inner.put_config_doc(expected, bytes).await
    }
    async fn save_device_sole_push(&self, device: &Device) -> StoreResult<()> {
        self.inner.save_device_sole_push(device).await
    }
    async fn get_device(&self, id: &str) -> StoreResult<Option<Device>> {
        self.inner.get_device(id).await
    }
    async fn delete_device(&self, id: &str) -> StoreResult<Option<Device>> {
        self.inner.delete_device(id).await
    }
    async fn user_devices(&self, user_id: &str) -> StoreResult<Vec<Device>> {
        self.inner.user_devices(user_id).await
    }
    async fn put_enrollment_code(&self, hash: &str, code: &EnrollmentCode) -> StoreResult<()> {
        self.inner.put_enrollment_code(hash, code).await
    }
    async fn peek_enrollment_code(&self, hash: &str) -> StoreResult<Option<EnrollmentCode>> {
        self.inner.peek_enrollment_code(hash).await
    }
    async fn take_enrollment_code(&self, hash: &str) -> StoreResult<Option<EnrollmentCode>> {
        self.inner.take_enrollment_code(hash).await
    }
    async fn put_server_key_if_absent(&self, id: &str, armored: &str) -> StoreResult<String> {
        self.inner.put_server_key_if_absent(id, armored).await
    }
    async fn get_server_key(&self, id: &str) -> StoreResult<Option<String>> {
        self.inner.get_server_key(id).await
    }
    async fn delete_server_key(&self, id: &str) -> StoreResult<()> {
        self.inner.delete_server_key(id).await
    }
    async fn add_device_txn(&self, device_id: &str, id: TxnId, until: Millis) -> StoreResult<()> {
        self.inner.add_device_txn(device_id, id, until).await
    }
    async fn remove_device_txn(&self, device_id: &str, id: TxnId) -> StoreResult<()> {
        if self.slow_unindex.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.inner.remove_device_txn(device_id, id).await
    }
    async fn device_txns(&self, device_id: &str, now: Millis) -> StoreResult<Vec<TxnId>> {
        self.inner.device_txns(device_id, now).await
    }
    async fn flush(&self) -> StoreResult<()> {
        self.inner.flush().await
    }
    async fn put_node_stats(
        &self,
        stats: &tessera_config::admin::NodeStats,
        ttl: Duration,
    ) -> StoreResult<()> {
        self.inner.put_node_stats(stats, ttl).await
    }
    async fn node_stats(&self) -> StoreResult<Vec<tessera_config::admin::NodeStats>> {
        self.inner.node_stats().await
    }
    async fn dead_letter_count(&self) -> StoreResult<u64> {
        self.inner.dead_letter_count().await
    }
    async fn recent(&self, query: &crate::model::TxnQuery) -> StoreResult<Vec<Arc<Transaction>>> {
        self.inner.recent(query).await
    }
}

fn config() -> Config {
    let mut cfg = Config::default();
    let mut sms = sms_type("sms");
    sms.max_attempts = 5;
    cfg.mobile_auth_types = vec![sms];
    cfg
}

fn engine(store: Arc<FlakyStore>) -> Engine {
    let opts = EngineOptions {
        shards: 1,
        in_place: true,
    };
    Engine::launch_on(config(), opts, Some(store), Vec::new(), outbox()).expect("engine")
}

async fn stored(engine: &Engine, id: TxnId) -> Arc<Transaction> {
    engine.store().get(id).await.unwrap().unwrap()
}

#[actix_rt::test]
async fn a_failed_write_is_rewritten_and_later_writes_succeed() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _guard = metrics::set_default_local_recorder(&recorder);
    tokio::time::pause();
    let store = Arc::new(FlakyStore::default());
    let engine = engine(store.clone());
    let id = engine.start(sms_request()).await.unwrap().txn.id;
    let code = sent_code(id);
    let before = stored(&engine, id).await.version;

    // A wrong code is counted, but the store is down for that write: not acknowledged.
    store.fail.store(1, Ordering::SeqCst);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert!(matches!(
        engine.verify_sms("alice", id, wrong).await,
        Err(Error::Store(StoreError::Unavailable(_)))
    ));
    assert_eq!(store.failed.load(Ordering::SeqCst), 1);
    assert_eq!(
        stored(&engine, id).await.version,
        before,
        "the write failed"
    );
    // Counted once, as a failed transaction write, whoever made it.
    let text = handle.render();
    let line = r#"tessera_store_errors_total{op="save"} 1"#;
    assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    // The actor rewrites on its own: the store catches up with the attempt it missed.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let caught_up = stored(&engine, id).await;
    assert_eq!(caught_up.version, before + 1);
    assert_eq!(caught_up.code.as_ref().unwrap().attempts_used, 1);

    // And the transaction goes on being stored: the next change is not a conflict.
    engine.verify_sms("alice", id, &code).await.unwrap();
    let done = stored(&engine, id).await;
    assert_eq!(done.status, Status::Accepted);
    assert_eq!(done.version, before + 2);
}

#[actix_rt::test]
async fn a_final_state_is_not_lost_to_a_failed_write() {
    tokio::time::pause();
    let store = Arc::new(FlakyStore::default());
    let engine = engine(store.clone());
    let id = engine.start(sms_request()).await.unwrap().txn.id;
    let code = sent_code(id);

    // The accepting write and the first two rewrites fail: the requester hears so.
    store.fail.store(3, Ordering::SeqCst);
    assert!(matches!(
        engine.verify_sms("alice", id, &code).await,
        Err(Error::Store(StoreError::Unavailable(_)))
    ));
    assert_eq!(stored(&engine, id).await.status, Status::Pending);
    // The actor stays until the final state is stored (0.1 s + 0.2 s + 0.4 s of backoff).
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(store.failed.load(Ordering::SeqCst), 3);
    let t = stored(&engine, id).await;
    assert_eq!(t.status, Status::Accepted);
    assert_eq!(engine.active().await, 0, "stored, so the actor is done");
}

#[actix_rt::test]
async fn a_long_outage_is_rewritten_at_a_bounded_pace_until_the_store_returns() {
    tokio::time::pause();
    let store = Arc::new(FlakyStore::default());
    let engine = engine(store.clone());
    let id = engine.start(sms_request()).await.unwrap().txn.id;
    let code = sent_code(id);
    let before = stored(&engine, id).await.version;

    // The store is down for a minute (far more writes than that could fail).
    store.fail.store(usize::MAX, Ordering::SeqCst);
    assert!(engine.verify_sms("alice", id, &code).await.is_err());
    tokio::time::sleep(Duration::from_secs(60)).await;
    let tries = store.failed.load(Ordering::SeqCst);
    // No spin: 0.1 + 0.2 + … + 3.2 s, then one rewrite per 5 s: about 17 writes in 60 s.
    let max_delay = crate::txn::actor::MAX_REWRITE_DELAY_FOR_TESTS.as_secs() as usize;
    assert!(tries <= 7 + 60 / max_delay, "{tries} writes in a minute");
    assert!(tries >= 60 / max_delay, "it kept trying: {tries}");
    assert_eq!(stored(&engine, id).await.version, before);

    // The store is back: the accepted state is written without any new request.
    store.fail.store(0, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let t = stored(&engine, id).await;
    assert_eq!(t.status, Status::Accepted);
    assert_eq!(engine.active().await, 0, "stored, so the actor is done");
}

#[actix_rt::test]
async fn a_start_that_cannot_be_stored_is_refused_and_dropped() {
    tokio::time::pause();
    let store = Arc::new(FlakyStore::default());
    let engine = engine(store.clone());
    store.fail.store(1, Ordering::SeqCst);
    let started = engine.start(sms_request()).await;
    assert!(
        matches!(started, Err(Error::Store(StoreError::Unavailable(_)))),
        "{started:?}"
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(store.failed.load(Ordering::SeqCst), 1, "never rewritten");
    assert_eq!(engine.active().await, 0);
    assert!(store.inner.pending(10).await.unwrap().is_empty());
}
