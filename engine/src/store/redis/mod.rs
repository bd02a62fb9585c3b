//! The Redis store (`store.kind = "redis"`): what every node shares, and what survives a restart.
//!
//! Values are the model types as JSON. Keys start with `store.key_prefix` and carry a hash tag,
//! so that each atomic step (a Lua script) touches keys of one slot once Redis Cluster comes:
//! `{t:<txn id>}` for a transaction, `{u:<user id>}` for a user's devices and device index,
//! `{d:<device id>}` for a device's owner pointer and pending-transaction index. See
//! [`keys`] for the list and the few indexes that are global.
//!
//! - [`txns`]: versioned transaction writes (CAS in Lua, `PEXPIREAT` from `purge_at`) and the
//!   pending set that recovery reads;
//! - [`devices`]: versioned device writes with the push-token index, the sole-push write,
//!   enrollment codes (GETDEL), server keys (SET NX) and each device's pending index;
//! - [`logs`]: audit events and dead letters, capped lists, newest first; [`batch`] writes the
//!   events several at a time;
//! - [`config_doc`]: the admin API's configuration document (versioned, one key);
//! - [`conn`]: the multiplexed connections (standalone or cluster); [`changes`]: the change
//!   notices other nodes subscribe to.
//!
//! Every Redis or connection error is [`StoreError::Unavailable`]; a record that does not parse is one
//! too (it cannot be served, and the next write replaces it).
//!
//! A Redis that went away must cost a request a moment, not a hang: each connect attempt is
//! bounded ([`CONNECTION_TIMEOUT`]) and so is every call, connecting included
//! ([`CALL_TIMEOUT`]); either running out is `Unavailable` too. The connections reconnect by
//! themselves when Redis is back ([`conn`]).

mod batch;
mod changes;
mod config_doc;
mod conn;
mod devices;
mod keys;
mod limits;
mod logs;
mod nodes;
mod ops;
#[cfg(test)]
mod tests;
mod txns;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use self::batch::EventBatcher;
use self::conn::{Conn, Connections};
use self::keys::Keys;
use super::{Change, ConfigDoc, DeadLetter, Store, StoreError, StoreResult};
use tessera_config::admin::NodeStats;

use crate::limits::{Bucket, Decision};
use crate::model::{
    Device, EnrollmentCode, Event, EventQuery, Millis, Transaction, TxnId, TxnQuery,
};

/// How long one attempt to connect may take before the store is called unavailable: connecting
/// to a live Redis on the network takes milliseconds, so half a second means it is gone (a
/// refused connection fails at once; a blackholed host would otherwise hang).
const CONNECTION_TIMEOUT: Duration = Duration::from_millis(500);
/// How long one call (a command or a script, its connection's first connect included) may take.
/// Every call here is one small key or a short script; a second is Redis not answering.
const CALL_TIMEOUT: Duration = Duration::from_secs(1);

/// A store in one standalone Redis or one Redis Cluster, through `pool_size` multiplexed
/// connections used round-robin ([`conn`]).
pub struct RedisStore {
    conns: Arc<Connections>,
    /// Audit events on their way, written in batches ([`batch`]).
    events: EventBatcher,
    /// Where [`Store::subscribe`] listens: the Redis, or each cluster seed in turn.
    pubsub: Vec<redis::Client>,
    keys: Keys,
    /// Device id → user id, as read here: a device never changes user, so a device read by
    /// id needs its owner pointer once per node. Bounded ([`OWNERS`]): emptied when full.
    owners: parking_lot::Mutex<std::collections::HashMap<String, String>>,
    /// Ids created longer ago than this leave the recent index (`txns::purge_pending`).
    recent_horizon_ms: u64,
}

/// The longest time to live a type may have (config validation); with the retention, how
/// long a transaction may stay in the recent index.
const MAX_TIME_TO_LIVE_MS: u64 = 24 * 60 * 60 * 1000;
/// The retention assumed when none is given (the config default).
const DEFAULT_RETENTION_MS: u64 = 10 * 60 * 1000;

/// Device owners remembered per node (≈ 100 bytes each).
const OWNERS: usize = 100_000;

impl RedisStore {
    /// A store on the standalone Redis at `url` (`redis://` or `rediss://`) through `pool_size`
    /// multiplexed connections, every key under `prefix`. Connects lazily: an unreachable Redis
    /// shows on the first call, as `Unavailable`, never here (see [`RedisStore::ping`]).
    pub fn new(url: &str, pool_size: u32, prefix: &str) -> StoreResult<Self> {
        let conns = Connections::standalone(url, pool_size)?;
        let pubsub = vec![redis::Client::open(url).map_err(unavailable)?];
        Ok(Self::with(conns, pubsub, prefix))
    }

    /// A store on the Redis Cluster that `seeds` (node URLs) belong to; otherwise as
    /// [`RedisStore::new`].
    pub fn cluster(seeds: &[&str], pool_size: u32, prefix: &str) -> StoreResult<Self> {
        let pubsub = seeds
            .iter()
            .map(|s| redis::Client::open(*s).map_err(unavailable))
            .collect::<StoreResult<_>>()?;
        Ok(Self::with(
            Connections::cluster(seeds, pool_size)?,
            pubsub,
            prefix,
        ))
    }

    fn with(conns: Connections, pubsub: Vec<redis::Client>, prefix: &str) -> Self {
        let conns = Arc::new(conns);
        let keys = Keys::new(prefix);
        Self {
            events: EventBatcher::new(conns.clone(), keys.clone()),
            conns,
            pubsub,
            keys,
            owners: parking_lot::Mutex::new(std::collections::HashMap::new()),
            recent_horizon_ms: MAX_TIME_TO_LIVE_MS + DEFAULT_RETENTION_MS,
        }
    }

    /// Finished transactions stay readable this long (`store.result_retention`): the recent
    /// index keeps ids for the longest time to live plus this.
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.recent_horizon_ms = MAX_TIME_TO_LIVE_MS + retention.as_millis() as u64;
        self
    }

    fn remember_owner(&self, device: &Device) {
        let mut owners = self.owners.lock();
        if owners.len() >= OWNERS {
            owners.clear();
        }
        owners.insert(device.id.clone(), device.user_id.clone());
    }

    /// The store `[store]` describes (`redis_mode`: one URL, or comma-separated cluster seeds).
    pub fn from_config(store: &tessera_config::Store) -> StoreResult<Self> {
        let made = match store.redis_mode {
            tessera_config::RedisMode::Standalone => {
                Self::new(&store.redis_url, store.redis_pool_size, &store.key_prefix)
            }
            tessera_config::RedisMode::Cluster => {
                let seeds: Vec<&str> = store.redis_url.split(',').map(str::trim).collect();
                Self::cluster(&seeds, store.redis_pool_size, &store.key_prefix)
            }
        };
        Ok(made?.with_retention(store.result_retention))
    }

    async fn conn(&self) -> StoreResult<Conn> {
        self.conns.get().await
    }

    /// One plain command, bounded like every call.
    async fn command<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> StoreResult<T> {
        bounded(async {
            cmd.query_async(&mut self.conn().await?)
                .await
                .map_err(unavailable)
        })
        .await
    }
}

/// `call` (the connection's first connect included) within [`CALL_TIMEOUT`]: a Redis that stopped
/// answering is `Unavailable`, not a hang.
async fn bounded<T>(call: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .unwrap_or_else(|_| Err(unavailable("Redis did not answer in time")))
}

pub(super) fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn to_json(value: &impl Serialize) -> StoreResult<String> {
    serde_json::to_string(value).map_err(unavailable)
}

fn from_json<T: DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| unavailable(format!("unreadable record: {e}")))
}

/// A record that may be absent.
fn from_json_opt<T: DeserializeOwned>(text: Option<String>) -> StoreResult<Option<T>> {
    text.as_deref().map(from_json).transpose()
}

#[async_trait]
impl Store for RedisStore {
    async fn save(&self, txn: &Arc<Transaction>, purge_at: Millis) -> StoreResult<()> {
        bounded(async {
            txns::save(
                &mut self.conn().await?,
                &self.keys,
                txn,
                purge_at,
                self.conns.is_cluster(),
            )
            .await
        })
        .await
    }

    async fn get(&self, id: TxnId) -> StoreResult<Option<Arc<Transaction>>> {
        bounded(async { txns::get(&mut self.conn().await?, &self.keys, id).await }).await
    }

    async fn pending(&self, limit: usize) -> StoreResult<Vec<TxnId>> {
        bounded(async { txns::pending(&mut self.conn().await?, &self.keys, limit).await }).await
    }

    async fn release(&self, id: TxnId) -> StoreResult<()> {
        self.command(
            redis::cmd("ZREM")
                .arg(self.keys.pending())
                .arg(id.to_string()),
        )
        .await
    }

    async fn renew_node(&self, node: &str, lease: Duration) -> StoreResult<()> {
        bounded(async { nodes::renew(&mut self.conn().await?, &self.keys, node, lease).await })
            .await
    }

    async fn leave_node(&self, node: &str) -> StoreResult<()> {
        let lease = self.keys.lease_prefix() + node;
        self.command(redis::cmd("DEL").arg(lease)).await
    }

    async fn claim_dead_nodes(&self, me: &str) -> StoreResult<Vec<String>> {
        bounded(async { nodes::claim_dead(&mut self.conn().await?, &self.keys, me).await }).await
    }

    fn subscribe(&self) -> Option<tokio::sync::mpsc::Receiver<Change>> {
        // Called inside a runtime by contract; outside one there is nowhere to run the listener.
        if tokio::runtime::Handle::try_current().is_err() {
            tracing::warn!("store change subscription asked for outside a tokio runtime");
            return None;
        }
        Some(changes::subscribe(self.pubsub.clone(), self.keys.changes()))
    }

    async fn put_dead_letter(&self, letter: &DeadLetter) -> StoreResult<()> {
        bounded(async { logs::put_dead_letter(&mut self.conn().await?, &self.keys, letter).await })
            .await
    }

    async fn dead_letters(&self, limit: usize) -> StoreResult<Vec<DeadLetter>> {
        bounded(async { logs::dead_letters(&mut self.conn().await?, &self.keys, limit).await })
            .await
    }

    async fn take_dead_letter(&self, id: Uuid) -> StoreResult<Option<DeadLetter>> {
        bounded(async { logs::take_dead_letter(&mut self.conn().await?, &self.keys, id).await })
            .await
    }

    /// Queued, not yet written: see [`batch`]. Queries and `flush` wait for the queue.
    async fn append_event(&self, event: &Event) -> StoreResult<()> {
        self.events.append(to_json(event)?).await
    }

    async fn events(&self, query: &EventQuery) -> StoreResult<Vec<Event>> {
        // This node's own events first (a failed flush was logged per batch; read what is there).
        let _ = self.events.flush().await;
        bounded(async { logs::events(&mut self.conn().await?, &self.keys, query).await }).await
    }

    async fn purge_expired(&self, now: Millis) -> StoreResult<usize> {
        // Redis drops records at their `PEXPIREAT` itself; what is left is index entries that
        // point at them.
        bounded(async {
            let horizon = self.recent_horizon_ms;
            txns::purge_pending(&mut self.conn().await?, &self.keys, now, horizon).await
        })
        .await
    }

    async fn save_device(&self, device: &Device) -> StoreResult<()> {
        bounded(async { devices::save(&mut self.conn().await?, &self.keys, device, false).await })
            .await
    }

    async fn save_device_sole_push(&self, device: &Device) -> StoreResult<()> {
        bounded(async { devices::save(&mut self.conn().await?, &self.keys, device, true).await })
            .await
    }

    async fn get_device(&self, id: &str) -> StoreResult<Option<Device>> {
        let known = self.owners.lock().get(id).cloned();
        let found = bounded(async {
            devices::get(&mut self.conn().await?, &self.keys, id, known.as_deref()).await
        })
        .await?;
        match &found {
            Some(device) if known.is_none() => self.remember_owner(device),
            None if known.is_some() => {
                self.owners.lock().remove(id);
            }
            _ => {}
        }
        Ok(found)
    }

    async fn delete_device(&self, id: &str) -> StoreResult<Option<Device>> {
        bounded(async { devices::delete(&mut self.conn().await?, &self.keys, id).await }).await
    }

    async fn user_devices(&self, user_id: &str) -> StoreResult<Vec<Device>> {
        bounded(async { devices::of_user(&mut self.conn().await?, &self.keys, user_id).await })
            .await
    }

    async fn put_enrollment_code(
        &self,
        code_sha256: &str,
        code: &EnrollmentCode,
    ) -> StoreResult<()> {
        bounded(async {
            devices::put_code(&mut self.conn().await?, &self.keys, code_sha256, code).await
        })
        .await
    }

    async fn peek_enrollment_code(&self, code_sha256: &str) -> StoreResult<Option<EnrollmentCode>> {
        bounded(async {
            devices::code(&mut self.conn().await?, &self.keys, code_sha256, false).await
        })
        .await
    }

    async fn take_enrollment_code(&self, code_sha256: &str) -> StoreResult<Option<EnrollmentCode>> {
        bounded(async {
            devices::code(&mut self.conn().await?, &self.keys, code_sha256, true).await
        })
        .await
    }

    async fn put_server_key_if_absent(
        &self,
        id: &str,
        armored_secret: &str,
    ) -> StoreResult<String> {
        bounded(async {
            devices::put_key_if_absent(&mut self.conn().await?, &self.keys, id, armored_secret)
                .await
        })
        .await
    }

    async fn get_server_key(&self, id: &str) -> StoreResult<Option<String>> {
        self.command(redis::cmd("GET").arg(self.keys.server_key(id)))
            .await
    }

    async fn delete_server_key(&self, id: &str) -> StoreResult<()> {
        self.command(redis::cmd("DEL").arg(self.keys.server_key(id)))
            .await
    }

    async fn add_device_txn(&self, device_id: &str, id: TxnId, until: Millis) -> StoreResult<()> {
        bounded(async {
            devices::add_txn(&mut self.conn().await?, &self.keys, device_id, id, until).await
        })
        .await
    }

    async fn remove_device_txn(&self, device_id: &str, id: TxnId) -> StoreResult<()> {
        let key = self.keys.device_txns(device_id);
        self.command(redis::cmd("ZREM").arg(key).arg(id.to_string()))
            .await
    }

    async fn device_txns(&self, device_id: &str, now: Millis) -> StoreResult<Vec<TxnId>> {
        bounded(async { devices::txns(&mut self.conn().await?, &self.keys, device_id, now).await })
            .await
    }

    async fn ping(&self) -> StoreResult<()> {
        bounded(self.conns.ping_all()).await
    }

    async fn flush(&self) -> StoreResult<()> {
        // Every other call awaits Redis's reply before it returns; only audit events are queued.
        self.events.flush().await
    }

    async fn put_node_stats(&self, stats: &NodeStats, ttl: Duration) -> StoreResult<()> {
        bounded(async {
            ops::put_node_stats(&mut self.conn().await?, &self.keys, stats, ttl).await
        })
        .await
    }

    async fn node_stats(&self) -> StoreResult<Vec<NodeStats>> {
        bounded(async { ops::node_stats(&mut self.conn().await?, &self.keys).await }).await
    }

    async fn dead_letter_count(&self) -> StoreResult<u64> {
        self.command(redis::cmd("LLEN").arg(self.keys.dead_letter_ids()))
            .await
    }

    async fn recent(&self, query: &TxnQuery) -> StoreResult<Vec<Arc<Transaction>>> {
        self.recent_txns(query).await
    }
    async fn config_doc(&self) -> StoreResult<Option<ConfigDoc>> {
        bounded(async { config_doc::get(&mut self.conn().await?, &self.keys).await }).await
    }

    async fn config_doc_version(&self) -> StoreResult<u64> {
        bounded(async { config_doc::version(&mut self.conn().await?, &self.keys).await }).await
    }

    async fn put_config_doc(&self, expected: u64, bytes: &[u8]) -> StoreResult<u64> {
        bounded(async {
            config_doc::put(&mut self.conn().await?, &self.keys, expected, bytes).await
        })
        .await
    }

    async fn rate_limit(
        &self,
        key: &str,
        bucket: Bucket,
        consume: bool,
        now: Millis,
    ) -> StoreResult<Decision> {
        bounded(async {
            limits::rate_limit(
                &mut self.conn().await?,
                &self.keys,
                key,
                bucket,
                consume,
                now,
            )
            .await
        })
        .await
    }

    async fn put_mute(&self, key: &str, until: Millis) -> StoreResult<()> {
        bounded(async { limits::put_mute(&mut self.conn().await?, &self.keys, key, until).await })
            .await
    }

    async fn mute_until(&self, key: &str, now: Millis) -> StoreResult<Option<Millis>> {
        bounded(async { limits::mute_until(&mut self.conn().await?, &self.keys, key, now).await })
            .await
    }
}
