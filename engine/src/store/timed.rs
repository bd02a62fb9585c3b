//! [`TimedStore`]: the engine's store, wrapped so that every operation's latency and failures
//! are recorded by operation (`tessera_store_operation_duration_seconds{op}`,
//! `tessera_store_errors_total{op}`), whichever store is underneath and whoever called.
//!
//! The cost per call is two clock reads, one atomic load for the operation's handles (resolved
//! on first use) and the histogram's own update; the operation names are the trait's method
//! names, `'static`. The wrapper's future is boxed like every `Store` call's (`async_trait`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tessera_config::admin::NodeStats;
use tokio::time::Instant;
use uuid::Uuid;

use super::{Change, ConfigDoc, DeadLetter, Store, StoreError, StoreResult};
use crate::limits::{Bucket, Decision};
use crate::model::{
    Device, EnrollmentCode, Event, EventQuery, Millis, Transaction, TxnId, TxnQuery,
};
use crate::telemetry::StoreOp;

/// Times every operation of the store it wraps.
pub(crate) struct TimedStore {
    inner: Arc<dyn Store>,
    ops: Ops,
}

impl TimedStore {
    pub(crate) fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            ops: Ops::new(),
        }
    }
}

/// Runs `call`, recording how long it took and whether the store failed to answer. Refusals
/// that are answers (a version conflict, a push token held elsewhere) are not failures.
async fn timed<T>(op: &StoreOp, call: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
    let started = Instant::now();
    let result = call.await;
    let failed = matches!(result, Err(StoreError::Unavailable(_)));
    op.record(started.elapsed(), failed);
    result
}

/// The operations, each with its arguments and what it answers: one [`StoreOp`] each, and the
/// `Store` implementation forwarding to the wrapped store through [`timed`].
macro_rules! timed_store {
    ($($op:ident($($arg:ident: $ty:ty),*) -> $out:ty;)*) => {
        struct Ops {
            $($op: StoreOp,)*
        }

        impl Ops {
            const fn new() -> Self {
                Self { $($op: StoreOp::new(stringify!($op)),)* }
            }
        }

        #[async_trait]
        impl Store for TimedStore {
            $(
                async fn $op(&self, $($arg: $ty),*) -> StoreResult<$out> {
                    timed(&self.ops.$op, self.inner.$op($($arg),*)).await
                }
            )*

            /// Not an operation: the subscription itself is not timed.
            fn subscribe(&self) -> Option<tokio::sync::mpsc::Receiver<Change>> {
                self.inner.subscribe()
            }
        }
    };
}

timed_store! {
    save(txn: &Arc<Transaction>, purge_at: Millis) -> ();
    get(id: TxnId) -> Option<Arc<Transaction>>;
    pending(limit: usize) -> Vec<TxnId>;
    release(id: TxnId) -> ();
    renew_node(node: &str, lease: Duration) -> ();
    leave_node(node: &str) -> ();
    claim_dead_nodes(me: &str) -> Vec<String>;
    put_dead_letter(letter: &DeadLetter) -> ();
    dead_letters(limit: usize) -> Vec<DeadLetter>;
    take_dead_letter(id: Uuid) -> Option<DeadLetter>;
    append_event(event: &Event) -> ();
    events(query: &EventQuery) -> Vec<Event>;
    purge_expired(now: Millis) -> usize;
    save_device(device: &Device) -> ();
    save_device_sole_push(device: &Device) -> ();
    get_device(id: &str) -> Option<Device>;
    delete_device(id: &str) -> Option<Device>;
    user_devices(user_id: &str) -> Vec<Device>;
    put_enrollment_code(code_sha256: &str, code: &EnrollmentCode) -> ();
    peek_enrollment_code(code_sha256: &str) -> Option<EnrollmentCode>;
    take_enrollment_code(code_sha256: &str) -> Option<EnrollmentCode>;
    put_server_key_if_absent(id: &str, armored_secret: &str) -> String;
    get_server_key(id: &str) -> Option<String>;
    delete_server_key(id: &str) -> ();
    add_device_txn(device_id: &str, id: TxnId, until: Millis) -> ();
    remove_device_txn(device_id: &str, id: TxnId) -> ();
    device_txns(device_id: &str, now: Millis) -> Vec<TxnId>;
    ping() -> ();
    flush() -> ();
    put_node_stats(stats: &NodeStats, ttl: Duration) -> ();
    node_stats() -> Vec<NodeStats>;
    dead_letter_count() -> u64;
    recent(query: &TxnQuery) -> Vec<Arc<Transaction>>;
    config_doc() -> Option<ConfigDoc>;
    config_doc_version() -> u64;
    put_config_doc(expected: u64, bytes: &[u8]) -> u64;
    rate_limit(key: &str, bucket: Bucket, consume: bool, now: Millis) -> Decision;
    put_mute(key: &str, until: Millis) -> ();
    mute_until(key: &str, now: Millis) -> Option<Millis>;
}

#[cfg(test)]
mod tests {
    use metrics_exporter_prometheus::PrometheusBuilder;

    use super::*;
    use crate::clock::Clock;
    use crate::store::{MemoryStore, RedisStore};

    #[tokio::test]
    async fn times_each_operation_and_counts_only_failures_to_answer() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let _guard = metrics::set_default_local_recorder(&recorder);
        let memory = TimedStore::new(Arc::new(MemoryStore::with_clock(Clock::new())));
        let mut txn = crate::test_util::sms_txn(3, 0, 0);
        txn.version = 1;
        let txn = Arc::new(txn);
        memory.save(&txn, u64::MAX).await.unwrap();
        // A conflict is the store's answer, not a failure.
        assert!(matches!(
            memory.save(&txn, u64::MAX).await,
            Err(StoreError::Conflict { .. })
        ));
        assert!(memory.get(txn.id).await.unwrap().is_some());
        // A Redis that is not there: nothing listens on the port any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("redis://127.0.0.1:{port}");
        let gone = TimedStore::new(Arc::new(RedisStore::new(&url, 1, "test:").unwrap()));
        for _ in 0..2 {
            assert!(matches!(
                gone.get(txn.id).await,
                Err(StoreError::Unavailable(_))
            ));
        }

        let text = handle.render();
        for line in [
            r#"tessera_store_operation_duration_seconds_count{op="save"} 2"#,
            r#"tessera_store_operation_duration_seconds_count{op="get"} 3"#,
            r#"tessera_store_errors_total{op="save"} 0"#,
            r#"tessera_store_errors_total{op="get"} 2"#,
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        assert!(
            !text.contains(r#"op="ping""#),
            "operations not called stay out:\n{text}"
        );
    }
}
