//! [`OtpCache`]: the OTPs this node handed out, kept so `GET /transaction/{id}/otp.svg` can draw
//! them (API.md §2.2).
//!
//! The engine stores only a hash of an OTP's secret, so the OTP itself exists in exactly one
//! place after a start: the start's answer. Rather than widen the engine's record to keep a
//! secret it deliberately forgets, the API keeps a copy in memory here, filled at start:
//! - **bounded**: at most [`CAPACITY`] entries; when full, the entry whose deadline comes first
//!   makes room (it is the one least likely to be scanned still);
//! - **dropped at the transaction's deadline**: an entry past it is never served and is purged on
//!   the next insert or lookup, and handlers drop entries of redeemed or finished transactions;
//! - **per node**: behind a load balancer, `otp.svg` works on the node that answered the start
//!   (with a shared store, other nodes answer `404 3004`). Portals that need more render the
//!   `otp` field of the start answer themselves.

use std::collections::{BTreeSet, HashMap};

use parking_lot::Mutex;
use tessera_engine::model::{Millis, TxnId};

/// Most OTPs kept at once: about 2 MB of OTPs and index, far more than are ever on screen.
pub(crate) const CAPACITY: usize = 16_384;

pub(crate) struct OtpCache {
    capacity: usize,
    // One short critical section per start or lookup; never held across an await.
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    by_id: HashMap<TxnId, (String, Millis)>,
    /// `(deadline, id)`, so expiry and eviction take the front.
    by_deadline: BTreeSet<(Millis, TxnId)>,
}

impl OtpCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Keeps `otp` for transaction `id` until `deadline` (epoch ms).
    pub(crate) fn insert(&self, id: TxnId, otp: String, deadline: Millis, now: Millis) {
        if deadline <= now {
            return;
        }
        let mut inner = self.inner.lock();
        inner.purge(now);
        inner.remove(id);
        while inner.by_id.len() >= self.capacity {
            let Some(&(at, first)) = inner.by_deadline.first() else {
                break;
            };
            inner.by_deadline.remove(&(at, first));
            inner.by_id.remove(&first);
        }
        inner.by_id.insert(id, (otp, deadline));
        inner.by_deadline.insert((deadline, id));
    }

    /// The OTP of `id`, while its deadline has not passed.
    pub(crate) fn get(&self, id: TxnId, now: Millis) -> Option<String> {
        let mut inner = self.inner.lock();
        inner.purge(now);
        inner.by_id.get(&id).map(|(otp, _)| otp.clone())
    }

    pub(crate) fn remove(&self, id: TxnId) {
        self.inner.lock().remove(id);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().by_id.len()
    }
}

impl Inner {
    fn purge(&mut self, now: Millis) {
        while let Some(&(at, id)) = self.by_deadline.first() {
            if at > now {
                break;
            }
            self.by_deadline.remove(&(at, id));
            self.by_id.remove(&id);
        }
    }

    fn remove(&mut self, id: TxnId) {
        if let Some((_, at)) = self.by_id.remove(&id) {
            self.by_deadline.remove(&(at, id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_end_at_their_deadline() {
        let cache = OtpCache::new(8);
        let id = TxnId::random();
        cache.insert(id, "otp".into(), 1_000, 0);
        assert_eq!(cache.get(id, 999).as_deref(), Some("otp"));
        assert_eq!(cache.get(id, 1_000), None);
        assert_eq!(cache.len(), 0);
        // Already past: never stored.
        cache.insert(id, "otp".into(), 1_000, 1_000);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn full_cache_drops_the_soonest_deadline() {
        let cache = OtpCache::new(2);
        let (a, b, c) = (TxnId::random(), TxnId::random(), TxnId::random());
        cache.insert(a, "a".into(), 3_000, 0);
        cache.insert(b, "b".into(), 1_000, 0);
        cache.insert(c, "c".into(), 2_000, 0);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(b, 0), None);
        assert_eq!(cache.get(a, 0).as_deref(), Some("a"));
        assert_eq!(cache.get(c, 0).as_deref(), Some("c"));
        cache.remove(a);
        assert_eq!(cache.get(a, 0), None);
        // Re-inserting an id replaces its entry rather than adding one.
        cache.insert(c, "c2".into(), 5_000, 0);
        assert_eq!((cache.len(), cache.get(c, 0).as_deref()), (1, Some("c2")));
    }
}
