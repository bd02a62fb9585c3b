//! The memory store's rate-limit buckets and fraud mutes: striped maps of key → a time (bucket
//! arrival times in epoch µs, mute ends in epoch ms), swept
//! as they grow so a flood of distinct keys (10,000 phone numbers, a botnet's addresses) keeps
//! only the entries still in force.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use parking_lot::Mutex;

use crate::limits::{Bucket, Decision, gcra};
use crate::model::Millis;

const STRIPES: usize = 16;
/// A stripe over this many entries first drops the ones that ran out; one still over
/// [`MAX_PER_STRIPE`] after that refuses new keys (an attack in progress: failing closed keeps
/// memory bounded, and the keys already tracked keep their state).
const SWEEP_AT: usize = 4096;
const MAX_PER_STRIPE: usize = 65_536;

/// Key → a time in one unit per map: a bucket's arrival time (µs), or a mute's end (ms). An entry
/// at or before `now` (in that unit) is the same as none.
pub(super) struct Timestamps {
    stripes: Vec<Mutex<Stripe>>,
    hasher: RandomState,
}

struct Stripe {
    map: HashMap<String, Millis>,
    /// The size at which the next sweep runs (doubles while sweeps free little).
    sweep_at: usize,
}

impl Default for Timestamps {
    fn default() -> Self {
        Self {
            stripes: (0..STRIPES)
                .map(|_| {
                    Mutex::new(Stripe {
                        map: HashMap::new(),
                        sweep_at: SWEEP_AT,
                    })
                })
                .collect(),
            hasher: RandomState::new(),
        }
    }
}

impl Timestamps {
    fn stripe(&self, key: &str) -> &Mutex<Stripe> {
        let i = self.hasher.hash_one(key) as usize % STRIPES;
        &self.stripes[i]
    }

    /// A GCRA check (see [`gcra`]).
    pub(super) fn rate_limit(&self, key: &str, b: Bucket, consume: bool, now: Millis) -> Decision {
        let now_us = now.saturating_mul(1000);
        let mut stripe = self.stripe(key).lock();
        let tat = stripe.map.get(key).copied().filter(|&t| t > now_us);
        let (decision, store) = gcra(tat, now, b, consume);
        if let Some(new_tat) = store
            && !stripe.insert(key, new_tat, now_us)
        {
            // Full of live entries: refuse rather than grow.
            return Decision::Denied {
                retry_after_ms: b.interval_us.div_ceil(1000).max(1),
            };
        }
        decision
    }

    /// Sets `key` to `until` unless it already holds a later time.
    pub(super) fn put_max(&self, key: &str, until: Millis, now: Millis) {
        let mut stripe = self.stripe(key).lock();
        let current = stripe.map.get(key).copied().unwrap_or(0);
        if until > current {
            // A mute is never refused for room: it only ever protects the user.
            stripe.insert_always(key, until, now);
        }
    }

    /// The time `key` holds, if it is after `now`.
    pub(super) fn get(&self, key: &str, now: Millis) -> Option<Millis> {
        self.stripe(key)
            .lock()
            .map
            .get(key)
            .copied()
            .filter(|&t| t > now)
    }

    /// Entries held now (swept or not), for tests of the bound.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.stripes.iter().map(|s| s.lock().map.len()).sum()
    }
}

impl Stripe {
    /// Inserts or updates `key`; `false` when the stripe is full of live entries and `key` is new.
    fn insert(&mut self, key: &str, at: Millis, now: Millis) -> bool {
        if let Some(slot) = self.map.get_mut(key) {
            *slot = at;
            return true;
        }
        self.make_room(now);
        if self.map.len() >= MAX_PER_STRIPE {
            return false;
        }
        self.map.insert(key.to_owned(), at);
        true
    }

    fn insert_always(&mut self, key: &str, at: Millis, now: Millis) {
        self.make_room(now);
        self.map.insert(key.to_owned(), at);
    }

    fn make_room(&mut self, now: Millis) {
        if self.map.len() < self.sweep_at {
            return;
        }
        self.map.retain(|_, &mut t| t > now);
        // Sweep again when the map has doubled from what is left: amortized O(1) per insert.
        self.sweep_at = (self.map.len() * 2).clamp(SWEEP_AT, MAX_PER_STRIPE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10,000 distinct keys, each counted once, then time passes: what is held afterwards is
    /// bounded by the sweep, not by the number of keys ever seen.
    #[test]
    fn distinct_keys_that_ran_out_are_swept() {
        let t = Timestamps::default();
        // "5/10m": one send holds a key for 2 minutes.
        let b = Bucket {
            interval_us: 120_000_000,
            period_us: 600_000_000,
        };
        // 20 rounds of 10,000 new numbers, 2 minutes apart: 200,000 distinct keys.
        for round in 0..20u64 {
            let now = 1_000 + round * 120_000;
            for i in 0..10_000 {
                let d = t.rate_limit(&format!("rl:sms_per_phone:{round}:{i}"), b, true, now);
                assert_eq!(d, Decision::Allowed);
            }
        }
        assert!(t.len() <= STRIPES * SWEEP_AT, "{}", t.len());
    }
}
