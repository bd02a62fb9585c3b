//! Where transactions, dead letters and audit events live between requests.
//!
//! The trait is shaped for Redis: every transaction write is *versioned* (compare-and-set on
//! `Transaction::version`, a Lua script there) and carries an absolute expiry (`PEXPIREAT`), so
//! several nodes can share one store and finished transactions disappear after their retention.
//! The memory implementation is the embedded default.

mod memory;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use memory::MemoryStore;

use crate::model::{Event, EventQuery, Millis, Transaction, TxnId};

/// A callback that could not be delivered after every retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub id: Uuid,
    pub transaction_id: TxnId,
    pub callback_uri: String,
    pub tries: u32,
    pub last_error: String,
    pub created_at: Millis,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A versioned write found another version than the one it expected.
    #[error("version conflict on transaction {id}: expected {expected}, found {found:?}")]
    Conflict {
        id: TxnId,
        expected: u64,
        found: Option<u64>,
    },
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

pub type StoreResult<T> = std::result::Result<T, StoreError>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Writes `txn` if the stored version is `txn.version - 1` (absent when `txn.version == 1`).
    /// The record may be dropped at `purge_at`.
    async fn save(&self, txn: &Transaction, purge_at: Millis) -> StoreResult<()>;

    async fn get(&self, id: TxnId) -> StoreResult<Option<Transaction>>;

    /// Ids of pending transactions, for re-arming timers after a restart.
    async fn pending(&self, limit: usize) -> StoreResult<Vec<TxnId>>;

    async fn put_dead_letter(&self, letter: &DeadLetter) -> StoreResult<()>;

    async fn dead_letters(&self, limit: usize) -> StoreResult<Vec<DeadLetter>>;

    /// Removes and returns a dead letter (to replay it).
    async fn take_dead_letter(&self, id: Uuid) -> StoreResult<Option<DeadLetter>>;

    async fn append_event(&self, event: &Event) -> StoreResult<()>;

    /// Newest first, at most `query.limit`.
    async fn events(&self, query: &EventQuery) -> StoreResult<Vec<Event>>;

    /// Drops what has passed its purge time; returns how many records went.
    async fn purge_expired(&self, now: Millis) -> StoreResult<usize>;
}
