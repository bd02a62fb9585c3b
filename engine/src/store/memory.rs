//! The in-process store: striped maps so shards never wait on one another, bounded logs.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::Mutex;
use uuid::Uuid;

use super::buckets::Timestamps;
use super::devices::DeviceTables;
use super::{Change, ConfigDoc, DeadLetter, Store, StoreError, StoreResult, config_doc_conflict};
use crate::clock::Clock;
use crate::limits::{Bucket, Decision};
use tessera_config::admin::NodeStats;

use crate::model::{
    Device, EnrollmentCode, Event, EventQuery, Millis, Transaction, TxnId, TxnQuery,
};

/// Independent stripes: a write locks one of them for the time of a map insert.
const STRIPES: usize = 64;
/// The audit log keeps this many newest events.
const MAX_EVENTS: usize = 100_000;
/// Dead letters beyond this drop the oldest.
const MAX_DEAD_LETTERS: usize = 10_000;
/// Changes queued per subscriber before newer ones are dropped (best effort, like pub/sub).
const CHANGES_QUEUE: usize = 4096;

struct Entry {
    txn: Arc<Transaction>,
    purge_at: Millis,
    /// Its callback was delivered: no longer listed by `pending` though `callback_due` is set.
    released: bool,
}

pub struct MemoryStore {
    stripes: Vec<Mutex<HashMap<TxnId, Entry>>>,
    events: Mutex<VecDeque<Event>>,
    dead_letters: Mutex<VecDeque<DeadLetter>>,
    devices: Mutex<DeviceTables>,
    /// Records past their purge time are invisible at once, not only after the next sweep.
    clock: Clock,
    /// Node leases (epoch ms they run out at), for engines sharing this store in one process.
    nodes: Mutex<HashMap<String, Millis>>,
    /// `Some` for a store several engines share ([`MemoryStore::shared`]): who hears of writes.
    subscribers: Option<Mutex<Vec<tokio::sync::mpsc::Sender<Change>>>>,
    /// Published node stats and when each runs out.
    node_stats: Mutex<HashMap<String, (NodeStats, Millis)>>,
    /// The admin API's configuration document.
    config_doc: Mutex<Option<ConfigDoc>>,
    /// Rate-limit buckets' arrival times.
    buckets: Timestamps,
    /// Fraud mutes' ends.
    mutes: Timestamps,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::with_clock(Clock::new())
    }

    pub fn with_clock(clock: Clock) -> Self {
        Self {
            clock,
            stripes: (0..STRIPES).map(|_| Mutex::new(HashMap::new())).collect(),
            events: Mutex::new(VecDeque::new()),
            dead_letters: Mutex::new(VecDeque::new()),
            devices: Mutex::new(DeviceTables::default()),
            nodes: Mutex::new(HashMap::new()),
            subscribers: None,
            node_stats: Mutex::new(HashMap::new()),
            config_doc: Mutex::new(None),
            buckets: Timestamps::micros(),
            mutes: Timestamps::millis(),
        }
    }

    /// A store several engines in one process share, as nodes share a Redis: each hears of the
    /// others' writes ([`Store::subscribe`]). Tests of several nodes use it.
    #[cfg(test)]
    pub fn shared(clock: Clock) -> Self {
        Self {
            subscribers: Some(Mutex::new(Vec::new())),
            ..Self::with_clock(clock)
        }
    }

    /// Rate-limit buckets and fraud mutes held now, for tests of the memory bound.
    #[cfg(test)]
    pub(crate) fn limit_entries(&self) -> usize {
        self.buckets.len() + self.mutes.len()
    }

    fn stripe(&self, id: &TxnId) -> &Mutex<HashMap<TxnId, Entry>> {
        &self.stripes[id.shard(STRIPES)]
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn save(&self, txn: &Arc<Transaction>, purge_at: Millis) -> StoreResult<()> {
        let mut map = self.stripe(&txn.id).lock();
        let found = map.get(&txn.id).map(|e| e.txn.version);
        let expected = txn.version.saturating_sub(1);
        let ok = match found {
            None => expected == 0,
            Some(v) => v == expected,
        };
        if !ok {
            return Err(StoreError::Conflict {
                key: txn.id.to_string(),
                expected,
                found,
            });
        }
        map.insert(
            txn.id,
            Entry {
                txn: Arc::clone(txn),
                purge_at,
                released: false,
            },
        );
        drop(map);
        if let Some(subscribers) = &self.subscribers {
            let change = Change {
                id: txn.id,
                version: txn.version,
                finished: txn.is_final(),
            };
            for s in subscribers.lock().iter() {
                let _ = s.try_send(change);
            }
        }
        Ok(())
    }

    async fn get(&self, id: TxnId) -> StoreResult<Option<Arc<Transaction>>> {
        let now = self.clock.now();
        Ok(self
            .stripe(&id)
            .lock()
            .get(&id)
            .filter(|e| e.purge_at > now)
            .map(|e| e.txn.clone()))
    }

    async fn pending(&self, limit: usize) -> StoreResult<Vec<TxnId>> {
        let mut out = Vec::new();
        for stripe in &self.stripes {
            for (id, e) in stripe.lock().iter() {
                if out.len() >= limit {
                    return Ok(out);
                }
                if e.txn.held() && !e.released {
                    out.push(*id);
                }
            }
        }
        Ok(out)
    }

    async fn release(&self, id: TxnId) -> StoreResult<()> {
        if let Some(e) = self.stripe(&id).lock().get_mut(&id) {
            e.released = true;
        }
        Ok(())
    }

    async fn renew_node(&self, node: &str, lease: std::time::Duration) -> StoreResult<()> {
        let until = self.clock.now() + lease.as_millis() as u64;
        self.nodes.lock().insert(node.to_owned(), until);
        Ok(())
    }

    async fn leave_node(&self, node: &str) -> StoreResult<()> {
        if let Some(until) = self.nodes.lock().get_mut(node) {
            *until = 0;
        }
        Ok(())
    }

    async fn claim_dead_nodes(&self, me: &str) -> StoreResult<Vec<String>> {
        let now = self.clock.now();
        let mut nodes = self.nodes.lock();
        let dead: Vec<String> = nodes
            .iter()
            .filter(|(node, until)| node.as_str() != me && **until <= now)
            .map(|(node, _)| node.clone())
            .collect();
        for node in &dead {
            nodes.remove(node);
        }
        Ok(dead)
    }

    fn subscribe(&self) -> Option<tokio::sync::mpsc::Receiver<Change>> {
        let (tx, rx) = tokio::sync::mpsc::channel(CHANGES_QUEUE);
        let mut subs = self.subscribers.as_ref()?.lock();
        subs.retain(|s| !s.is_closed());
        subs.push(tx);
        Some(rx)
    }

    async fn put_dead_letter(&self, letter: &DeadLetter) -> StoreResult<()> {
        let mut q = self.dead_letters.lock();
        if q.len() >= MAX_DEAD_LETTERS {
            q.pop_front();
        }
        q.push_back(letter.clone());
        Ok(())
    }

    async fn dead_letters(&self, limit: usize) -> StoreResult<Vec<DeadLetter>> {
        Ok(self
            .dead_letters
            .lock()
            .iter()
            .rev()
            .take(limit)
            .cloned()
            .collect())
    }

    async fn take_dead_letter(&self, id: Uuid) -> StoreResult<Option<DeadLetter>> {
        let mut q = self.dead_letters.lock();
        let pos = q.iter().position(|d| d.id == id);
        Ok(pos.and_then(|p| q.remove(p)))
    }

    async fn append_event(&self, event: &Event) -> StoreResult<()> {
        let mut q = self.events.lock();
        if q.len() >= MAX_EVENTS {
            q.pop_front();
        }
        q.push_back(event.clone());
        Ok(())
    }

    async fn events(&self, query: &EventQuery) -> StoreResult<Vec<Event>> {
        let q = self.events.lock();
        Ok(q.iter()
            .rev()
            .filter(|e| query.matches(e))
            .take(query.limit)
            .cloned()
            .collect())
    }

    async fn purge_expired(&self, now: Millis) -> StoreResult<usize> {
        let mut purged = 0;
        for stripe in &self.stripes {
            let mut map = stripe.lock();
            let before = map.len();
            map.retain(|_, e| e.purge_at > now);
            purged += before - map.len();
        }
        purged += self.devices.lock().purge(now);
        Ok(purged)
    }

    async fn save_device(&self, device: &Device) -> StoreResult<()> {
        self.devices.lock().save(device)
    }

    async fn save_device_sole_push(&self, device: &Device) -> StoreResult<()> {
        // One lock over the check and the write: that is the atomicity the trait asks for.
        let mut tables = self.devices.lock();
        let rival = tables
            .of_user(&device.user_id)
            .iter()
            .any(|d| crate::enroll::modes::is_push_rival(device, d));
        if rival {
            return Err(StoreError::PushEnrollmentTaken);
        }
        tables.save(device)
    }

    async fn get_device(&self, id: &str) -> StoreResult<Option<Device>> {
        Ok(self.devices.lock().get(id))
    }

    async fn delete_device(&self, id: &str) -> StoreResult<Option<Device>> {
        Ok(self.devices.lock().delete(id))
    }

    async fn user_devices(&self, user_id: &str) -> StoreResult<Vec<Device>> {
        Ok(self.devices.lock().of_user(user_id))
    }

    async fn put_enrollment_code(
        &self,
        code_sha256: &str,
        code: &EnrollmentCode,
    ) -> StoreResult<()> {
        self.devices.lock().put_code(code_sha256, code);
        Ok(())
    }

    async fn peek_enrollment_code(&self, code_sha256: &str) -> StoreResult<Option<EnrollmentCode>> {
        Ok(self.devices.lock().peek_code(code_sha256))
    }

    async fn take_enrollment_code(&self, code_sha256: &str) -> StoreResult<Option<EnrollmentCode>> {
        Ok(self.devices.lock().take_code(code_sha256))
    }

    async fn put_server_key_if_absent(
        &self,
        id: &str,
        armored_secret: &str,
    ) -> StoreResult<String> {
        Ok(self.devices.lock().put_key_if_absent(id, armored_secret))
    }

    async fn get_server_key(&self, id: &str) -> StoreResult<Option<String>> {
        Ok(self.devices.lock().get_key(id))
    }

    async fn delete_server_key(&self, id: &str) -> StoreResult<()> {
        self.devices.lock().delete_key(id);
        Ok(())
    }

    async fn add_device_txn(&self, device_id: &str, id: TxnId, until: Millis) -> StoreResult<()> {
        self.devices.lock().add_txn(device_id, id, until);
        Ok(())
    }

    async fn remove_device_txn(&self, device_id: &str, id: TxnId) -> StoreResult<()> {
        self.devices.lock().remove_txn(device_id, id);
        Ok(())
    }

    async fn device_txns(&self, device_id: &str, now: Millis) -> StoreResult<Vec<TxnId>> {
        Ok(self.devices.lock().txns(device_id, now))
    }

    async fn flush(&self) -> StoreResult<()> {
        // Writes are applied before `save` & co. return: nothing is buffered.
        Ok(())
    }

    async fn put_node_stats(&self, stats: &NodeStats, ttl: std::time::Duration) -> StoreResult<()> {
        let until = self.clock.now() + ttl.as_millis() as Millis;
        let mut all = self.node_stats.lock();
        let now = self.clock.now();
        all.retain(|_, (_, until)| *until > now);
        all.insert(stats.name.clone(), (stats.clone(), until));
        Ok(())
    }

    async fn node_stats(&self) -> StoreResult<Vec<NodeStats>> {
        let now = self.clock.now();
        Ok(self
            .node_stats
            .lock()
            .values()
            .filter(|(_, until)| *until > now)
            .map(|(s, _)| s.clone())
            .collect())
    }

    async fn dead_letter_count(&self) -> StoreResult<u64> {
        Ok(self.dead_letters.lock().len() as u64)
    }

    async fn recent(&self, query: &TxnQuery) -> StoreResult<Vec<Arc<Transaction>>> {
        let now = self.clock.now();
        // Each stripe's lock is held for its own scan only; the sort runs on `Arc` clones.
        let mut txns: Vec<Arc<Transaction>> = Vec::new();
        for stripe in &self.stripes {
            let map = stripe.lock();
            txns.extend(
                map.values()
                    .filter(|e| e.purge_at > now)
                    .map(|e| e.txn.clone()),
            );
        }
        txns.sort_unstable_by_key(|t| std::cmp::Reverse((t.created_at, t.id)));
        txns.truncate(super::RECENT_SCAN);
        txns.retain(|t| query.matches(t));
        txns.truncate(query.limit);
        Ok(txns)
    }

    async fn config_doc(&self) -> StoreResult<Option<ConfigDoc>> {
        Ok(self.config_doc.lock().clone())
    }

    async fn config_doc_version(&self) -> StoreResult<u64> {
        Ok(self.config_doc.lock().as_ref().map_or(0, |d| d.version))
    }

    async fn put_config_doc(&self, expected: u64, bytes: &[u8]) -> StoreResult<u64> {
        let mut doc = self.config_doc.lock();
        let found = doc.as_ref().map_or(0, |d| d.version);
        if found != expected {
            return Err(config_doc_conflict(expected, found));
        }
        let version = found + 1;
        *doc = Some(ConfigDoc {
            version,
            bytes: bytes.to_vec(),
        });
        Ok(version)
    }

    async fn rate_limit(
        &self,
        key: &str,
        bucket: Bucket,
        consume: bool,
        now: Millis,
    ) -> StoreResult<Decision> {
        Ok(self.buckets.rate_limit(key, bucket, consume, now))
    }

    async fn put_mute(&self, key: &str, until: Millis) -> StoreResult<()> {
        self.mutes.put_max(key, until, self.clock.now());
        Ok(())
    }

    async fn mute_until(&self, key: &str, now: Millis) -> StoreResult<Option<Millis>> {
        Ok(self.mutes.get(key, now))
    }
}
