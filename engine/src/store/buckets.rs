//! The memory store's rate-limit buckets and fraud mutes: striped maps of key → a time (bucket
//! arrival times in epoch µs, mute ends in epoch ms), swept as they grow so a flood of distinct
//! keys (10,000 phone numbers, a botnet's addresses) keeps only the entries still in force.
//!
//! The bound: [`STRIPES`] × [`MAX_PER_STRIPE`] entries per map (≈ 1 M, ~100 MB of short keys at
//! worst). A stripe that reaches [`SWEEP_AT`] entries drops the ones that ran out, and sweeps again
//! when it has doubled from what was left (amortized O(1) per insert). A stripe still full of live
//! entries refuses new keys (an attack in progress: failing closed keeps memory bounded, and the
//! keys already tracked keep their state) and is scanned again at most once a second, so a full
//! map costs no scan per request.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use parking_lot::Mutex;

use crate::limits::{Bucket, Decision, gcra};
use crate::model::Millis;

const STRIPES: usize = 16;
/// A stripe over this many entries first drops the ones that ran out; one still at
/// [`MAX_PER_STRIPE`] after that refuses new keys.
const SWEEP_AT: usize = 4096;
const MAX_PER_STRIPE: usize = 65_536;

/// Key → a time in one unit per map: a bucket's arrival time (µs), or a mute's end (ms). An entry
/// at or before `now` (in that unit) is the same as none.
pub(super) struct Timestamps {
    stripes: Vec<Mutex<Stripe>>,
    hasher: RandomState,
    /// One second in this map's unit: how long a full stripe waits between scans.
    second: u64,
}

struct Stripe {
    map: HashMap<String, u64>,
    /// The size at which the next sweep runs (doubles while sweeps free little).
    sweep_at: usize,
    /// A stripe full of live entries is not scanned again before this time (map's unit).
    rescan_at: u64,
}

impl Timestamps {
    /// Times in microseconds (bucket arrival times).
    pub(super) fn micros() -> Self {
        Self::with_second(1_000_000)
    }

    /// Times in milliseconds (mute ends).
    pub(super) fn millis() -> Self {
        Self::with_second(1_000)
    }

    fn with_second(second: u64) -> Self {
        Self {
            stripes: (0..STRIPES)
                .map(|_| {
                    Mutex::new(Stripe {
                        map: HashMap::new(),
                        sweep_at: SWEEP_AT,
                        rescan_at: 0,
                    })
                })
                .collect(),
            hasher: RandomState::new(),
            second,
        }
    }

    fn stripe(&self, key: &str) -> &Mutex<Stripe> {
        let i = self.hasher.hash_one(key) as usize % STRIPES;
        &self.stripes[i]
    }

    /// A GCRA check (see [`gcra`]); the map must be in µs ([`Timestamps::micros`]).
    pub(super) fn rate_limit(&self, key: &str, b: Bucket, consume: bool, now: Millis) -> Decision {
        let now_us = now.saturating_mul(1000);
        let mut stripe = self.stripe(key).lock();
        let tat = stripe.map.get(key).copied().filter(|&t| t > now_us);
        let (decision, store) = gcra(tat, now, b, consume);
        if let Some(new_tat) = store
            && !stripe.insert(key, new_tat, now_us, self.second)
        {
            // Full of live entries: refuse rather than grow (the earliest a rescan may free room).
            return Decision::Denied {
                retry_after_ms: stripe
                    .rescan_at
                    .saturating_sub(now_us)
                    .div_ceil(1000)
                    .max(1),
            };
        }
        decision
    }

    /// Sets `key` to `until` unless it already holds a later time.
    pub(super) fn put_max(&self, key: &str, until: u64, now: u64) {
        let mut stripe = self.stripe(key).lock();
        let current = stripe.map.get(key).copied().unwrap_or(0);
        if until > now && until > current {
            // A mute is never refused for room: it only ever protects the user (and only an
            // authenticated device's fraud report sets one).
            stripe.insert_always(key, until, now, self.second);
        }
    }

    /// The time `key` holds, if it is after `now`.
    pub(super) fn get(&self, key: &str, now: u64) -> Option<u64> {
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
    fn insert(&mut self, key: &str, at: u64, now: u64, second: u64) -> bool {
        if let Some(slot) = self.map.get_mut(key) {
            *slot = at;
            return true;
        }
        self.make_room(now, second);
        if self.map.len() >= MAX_PER_STRIPE {
            return false;
        }
        self.map.insert(key.to_owned(), at);
        true
    }

    fn insert_always(&mut self, key: &str, at: u64, now: u64, second: u64) {
        self.make_room(now, second);
        self.map.insert(key.to_owned(), at);
    }

    fn make_room(&mut self, now: u64, second: u64) {
        if self.map.len() < self.sweep_at {
            return;
        }
        if self.map.len() >= MAX_PER_STRIPE && now < self.rescan_at {
            // Full, and scanned less than a second ago: no scan per request during a flood.
            return;
        }
        self.map.retain(|_, &mut t| t > now);
        // Sweep again when the map has doubled from what is left: amortized O(1) per insert.
        self.sweep_at = (self.map.len() * 2).clamp(SWEEP_AT, MAX_PER_STRIPE);
        self.rescan_at = now.saturating_add(second);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10,000 distinct keys, each counted once, then time passes: what is held afterwards is
    /// bounded by the sweep, not by the number of keys ever seen.
    #[test]
    fn distinct_keys_that_ran_out_are_swept() {
        let t = Timestamps::micros();
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

    fn full_stripe(live_until: u64) -> Stripe {
        let mut stripe = Stripe {
            map: HashMap::new(),
            sweep_at: SWEEP_AT,
            rescan_at: 0,
        };
        for i in 0..MAX_PER_STRIPE {
            assert!(stripe.insert(&format!("k{i}"), live_until, 0, 1000));
        }
        // Filled long ago: due for a scan.
        stripe.rescan_at = 0;
        stripe
    }

    /// A stripe full of live entries refuses new keys but keeps updating the ones it holds; it
    /// is not scanned again within a second (no scan per request during a flood), and once its
    /// entries ran out and the second passed, the next new key sweeps them and gets in.
    #[test]
    fn a_full_stripe_refuses_new_keys_and_rescans_once_a_second() {
        let mut stripe = full_stripe(500);
        assert!(
            !stripe.insert("new", 2_000, 100, 1000),
            "full of live entries"
        );
        assert_eq!(stripe.rescan_at, 1_100, "scanned once, at 100");
        assert!(
            stripe.insert("k7", 2_000, 100, 1000),
            "a key held is updated"
        );
        assert_eq!(stripe.map.len(), MAX_PER_STRIPE);
        // Every entry ran out at 500, but the last scan was less than a second ago.
        assert!(!stripe.insert("new", 2_000, 600, 1000));
        assert_eq!(stripe.map.len(), MAX_PER_STRIPE, "not scanned");
        assert!(stripe.insert("new", 2_000, 1_100, 1000));
        assert_eq!(stripe.map.len(), 2, "k7 (updated) and the new key");
    }

    /// Through `rate_limit`: a new key on a full stripe is refused, with the wait until the
    /// stripe may be scanned again.
    #[test]
    fn a_bucket_on_a_full_stripe_fails_closed() {
        let t = Timestamps::micros();
        let b = Bucket {
            interval_us: 1_000,
            period_us: 5_000,
        };
        let now: Millis = 1_000_000;
        let now_us = now * 1000;
        *t.stripe("rl:new").lock() = full_stripe(now_us + 60_000_000);
        assert_eq!(
            t.rate_limit("rl:new", b, true, now),
            Decision::Denied {
                retry_after_ms: 1000
            }
        );
        // A check stores nothing, so it is not refused for room.
        assert_eq!(t.rate_limit("rl:new", b, false, now), Decision::Allowed);
        // Mutes are never refused for room.
        let mutes = Timestamps::millis();
        *mutes.stripe("mute:a").lock() = full_stripe(now + 60_000);
        mutes.put_max("mute:a", now + 1_000, now);
        assert_eq!(mutes.get("mute:a", now), Some(now + 1_000));
    }
}
