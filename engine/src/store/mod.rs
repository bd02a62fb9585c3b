//! Where transactions, dead letters and audit events live between requests.
//!
//! The trait is shaped for Redis: every transaction write is *versioned* (compare-and-set on
//! `Transaction::version`, a Lua script there) and carries an absolute expiry (`PEXPIREAT`), so
//! several nodes can share one store and finished transactions disappear after their retention.
//! The memory implementation is the embedded default; [`RedisStore`] is what nodes share and
//! what survives a restart.

mod buckets;
#[cfg(test)]
mod conformance;
mod devices;
mod health;
mod memory;
#[cfg(test)]
mod memory_tests;
mod redis;
mod timed;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub(crate) use self::health::StoreHealth;
pub use self::redis::RedisStore;
pub(crate) use self::timed::TimedStore;
pub use memory::MemoryStore;

use tessera_config::admin::NodeStats;

use crate::limits::{Bucket, Decision};
use crate::model::{
    Device, EnrollmentCode, Event, EventQuery, Millis, Transaction, TxnId, TxnQuery,
};

/// A callback that could not be delivered after every retry, or that was still waiting for its
/// next try when the node shut down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub id: Uuid,
    pub transaction_id: TxnId,
    pub callback_uri: String,
    /// Tries made so far.
    pub tries: u32,
    pub last_error: String,
    pub created_at: Millis,
    /// Set when retries were not exhausted but interrupted (shutdown): when the next try was
    /// due. `None`: every try failed.
    #[serde(default)]
    pub next_attempt_at: Option<Millis>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A versioned write found another version than the one it expected.
    #[error("version conflict on {key}: expected {expected}, found {found:?}")]
    Conflict {
        /// The transaction or device id.
        key: String,
        expected: u64,
        found: Option<u64>,
    },
    #[error("push token is held by another device")]
    PushTokenTaken,
    /// `save_device_sole_push`: another device of the user holds the application's push
    /// enrollment.
    #[error("another device of the user is enrolled for push for this application")]
    PushEnrollmentTaken,
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

pub type StoreResult<T> = std::result::Result<T, StoreError>;

/// A stored transaction write, as every node sharing the store hears of it (Redis pub/sub): a
/// node holding an actor for `id` below `version` reloads it; long-polls there wake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub id: TxnId,
    pub version: u64,
    /// The version written is a final state: an idle actor elsewhere can stop without reading it.
    pub finished: bool,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Writes `txn` if the stored version is `txn.version - 1` (absent when `txn.version == 1`).
    /// The record may be dropped at `purge_at`.
    /// Shared, not copied: the memory store keeps the same `Arc` the actor holds until the
    /// actor's next change (copy-on-write), so a pending transaction lives in memory once.
    async fn save(&self, txn: &Arc<Transaction>, purge_at: Millis) -> StoreResult<()>;

    async fn get(&self, id: TxnId) -> StoreResult<Option<Arc<Transaction>>>;

    /// Ids of the transactions a node still has work on ([`Transaction::held`]: pending, or
    /// final with a callback due), for recovery after a restart and takeover from a dead node.
    /// May hold ids whose record is gone or no longer held: readers skip those.
    async fn pending(&self, limit: usize) -> StoreResult<Vec<TxnId>>;

    /// Drops `id` from the pending index once its final state's callback went out (or was
    /// dead-lettered). Called only for final transactions.
    async fn release(&self, id: TxnId) -> StoreResult<()>;

    // === nodes ===

    /// Registers `node` as alive for `lease` from now (renewed well before it runs out).
    async fn renew_node(&self, node: &str, lease: std::time::Duration) -> StoreResult<()>;

    /// Ends `node`'s lease now (a graceful shutdown): the next live node to ask claims it and
    /// takes its transactions over at once instead of after `node_lease`.
    async fn leave_node(&self, node: &str) -> StoreResult<()>;

    /// The registered nodes, other than `me`, whose lease ran out. Each one returned is removed
    /// from the registry by this call, atomically, so of several live nodes asking at once
    /// exactly one claims each dead node (and takes over its transactions).
    async fn claim_dead_nodes(&self, me: &str) -> StoreResult<Vec<String>>;

    /// Every transaction write from now on, by any node sharing the store (this one's own
    /// included), or `None` when no other process shares it. Best effort: changes made while
    /// the subscription is down (a Redis outage) are not replayed — versioned writes keep the
    /// state right, and waiters re-read the store when their wait ends.
    fn subscribe(&self) -> Option<tokio::sync::mpsc::Receiver<Change>> {
        None
    }

    async fn put_dead_letter(&self, letter: &DeadLetter) -> StoreResult<()>;

    async fn dead_letters(&self, limit: usize) -> StoreResult<Vec<DeadLetter>>;

    /// Removes and returns a dead letter (to replay it).
    async fn take_dead_letter(&self, id: Uuid) -> StoreResult<Option<DeadLetter>>;

    async fn append_event(&self, event: &Event) -> StoreResult<()>;

    /// Newest first, at most `query.limit`.
    async fn events(&self, query: &EventQuery) -> StoreResult<Vec<Event>>;

    /// Drops what has passed its purge time; returns how many records went.
    async fn purge_expired(&self, now: Millis) -> StoreResult<usize>;

    // === devices ===

    /// Versioned like transactions (`device.version - 1` must be stored). Keeps the user and
    /// push-token indexes in step; fails with `PushTokenTaken` when another device holds the
    /// push token.
    async fn save_device(&self, device: &Device) -> StoreResult<()>;

    /// `save_device` for the `single_device` push enrollment mode: fails with
    /// `PushEnrollmentTaken` when another device of the same user and application holds a push
    /// token. The check and the write must be one atomic step against every other device write
    /// of that user (the memory store holds its device lock across both; a Redis store runs
    /// both in one Lua script over the user's device index, or WATCHes that index), so two
    /// devices enrolling at once cannot both see "no one else" and both win.
    async fn save_device_sole_push(&self, device: &Device) -> StoreResult<()>;

    async fn get_device(&self, id: &str) -> StoreResult<Option<Device>>;

    /// Removes the device and its index entries; returns what was removed.
    async fn delete_device(&self, id: &str) -> StoreResult<Option<Device>>;

    async fn user_devices(&self, user_id: &str) -> StoreResult<Vec<Device>>;

    /// Single-use enrollment codes, stored by the SHA-256 of the code.
    async fn put_enrollment_code(
        &self,
        code_sha256: &str,
        code: &EnrollmentCode,
    ) -> StoreResult<()>;

    /// The code, left in place: enrollment checks it before doing any work for the caller, and
    /// spends it with `take_enrollment_code` only once the rest succeeded.
    async fn peek_enrollment_code(&self, code_sha256: &str) -> StoreResult<Option<EnrollmentCode>>;

    /// Returns and deletes the code in one step (GETDEL), so a code enrolls at most once.
    async fn take_enrollment_code(&self, code_sha256: &str) -> StoreResult<Option<EnrollmentCode>>;

    /// Stores a server key unless one exists under `id`; returns the one that is stored (so
    /// nodes racing to create the shared key agree on one).
    async fn put_server_key_if_absent(&self, id: &str, armored_secret: &str)
    -> StoreResult<String>;

    async fn get_server_key(&self, id: &str) -> StoreResult<Option<String>>;

    async fn delete_server_key(&self, id: &str) -> StoreResult<()>;

    /// The index behind a device's pending list: transaction ids addressed to it, each kept
    /// until its deadline.
    async fn add_device_txn(&self, device_id: &str, id: TxnId, until: Millis) -> StoreResult<()>;

    async fn remove_device_txn(&self, device_id: &str, id: TxnId) -> StoreResult<()>;

    async fn device_txns(&self, device_id: &str, now: Millis) -> StoreResult<Vec<TxnId>>;

    // === lifecycle ===

    /// Whether the store answers now (Redis: one `PING`, bounded like every call). Asked about
    /// once a second by the engine's health watch, never per request.
    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }

    /// Called once at shutdown, after the last request and callback were handled: returns when
    /// every write acknowledged so far is durable, so nothing a caller was told succeeded is lost
    /// when the process exits.
    ///
    /// The memory store has nothing to do (its writes are complete when they return, and its data
    /// does not outlive the process anyway). A Redis store must wait here for writes still queued
    /// or pipelined in its connection pool, and may then close the pool; it must not return an
    /// error for writes that already failed (those were reported to their callers).
    async fn flush(&self) -> StoreResult<()>;

    // === admin (operations) ===

    /// Publishes `stats` (one node's snapshot, named by `stats.name`) for `ttl`: a node that
    /// stops publishing drops out of [`Store::node_stats`] once it runs out.
    async fn put_node_stats(&self, stats: &NodeStats, ttl: std::time::Duration) -> StoreResult<()>;

    /// Every published snapshot that has not run out, in no particular order.
    async fn node_stats(&self) -> StoreResult<Vec<NodeStats>>;

    /// How many dead letters wait for a replay.
    async fn dead_letter_count(&self) -> StoreResult<u64>;

    /// Transactions matching `query`, newest (by creation) first, at most `query.limit`.
    /// Bounded: looks at no more than the newest [`RECENT_SCAN`] transactions (Redis keeps an
    /// index of recent ids by creation time, written with the first save).
    async fn recent(&self, query: &TxnQuery) -> StoreResult<Vec<Arc<Transaction>>>;
    // === admin (configuration) ===

    /// The configuration document the admin API writes (see `crate::settings`), `None` until
    /// the first write. One record for the whole store, which every node reads.
    async fn config_doc(&self) -> StoreResult<Option<ConfigDoc>>;

    /// The document's version alone (0: none written yet): what every node polls each second,
    /// so polling costs one small read.
    async fn config_doc_version(&self) -> StoreResult<u64>;

    /// Writes `bytes` as version `expected + 1` if the stored version is `expected` (0: none
    /// stored yet) and returns the new version; otherwise [`StoreError::Conflict`] with the
    /// version found, and nothing changes. Two nodes writing at once: exactly one wins, the
    /// other re-reads and re-applies its change.
    async fn put_config_doc(&self, expected: u64, bytes: &[u8]) -> StoreResult<u64>;

    // === abuse limits (`crate::limits`) ===

    /// One GCRA check of the bucket `key` at `now` ([`crate::limits::gcra`] is the rule): with
    /// `consume`, an event that fits is counted. Atomic: two nodes checking the same key at once
    /// never both take its last token. A bucket's state is dropped once its arrival time passes
    /// (Redis: `PXAT`, never more than the bucket's window ahead; memory: swept, and new keys
    /// refused while full of live ones), so memory stays bounded under a flood of distinct keys.
    /// `now` is the caller's clock: a test may freeze it, but not behind the real time.
    async fn rate_limit(
        &self,
        key: &str,
        bucket: Bucket,
        consume: bool,
        now: Millis,
    ) -> StoreResult<Decision>;

    /// Sets the mute `key` until `until` (epoch ms), or later if it already runs longer.
    async fn put_mute(&self, key: &str, until: Millis) -> StoreResult<()>;

    /// When the mute `key` runs out, if it is set and has not run out at `now`.
    async fn mute_until(&self, key: &str, now: Millis) -> StoreResult<Option<Millis>>;
}

/// A stored configuration document: its version (1 for the first write) and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigDoc {
    pub version: u64,
    pub bytes: Vec<u8>,
}

/// The [`StoreError::Conflict`] of a configuration document write.
pub(crate) fn config_doc_conflict(expected: u64, found: u64) -> StoreError {
    StoreError::Conflict {
        key: "config".into(),
        expected,
        found: (found > 0).then_some(found),
    }
}

/// Most transactions a [`Store::recent`] query looks at.
pub const RECENT_SCAN: usize = 10_000;
