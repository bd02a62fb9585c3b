//! Starts per second over the last minute, lock-free: 60 slots, one per second of the minute,
//! each one atomic word holding the second it counts (high 32 bits) and its count (low 32).
//! A start in a new second takes its slot over with one compare-and-swap, so no reset pass
//! and no lock; a reader ignores slots whose second is outside the window.

use std::sync::atomic::{AtomicU64, Ordering};

/// Seconds in the window.
pub(crate) const WINDOW: usize = 60;

pub(crate) struct SecondRing {
    slots: [AtomicU64; WINDOW],
}

impl Default for SecondRing {
    fn default() -> Self {
        Self {
            slots: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl SecondRing {
    /// Counts one at epoch second `sec`.
    pub(crate) fn record(&self, sec: u64) {
        let slot = &self.slots[(sec % WINDOW as u64) as usize];
        let tag = sec & 0xFFFF_FFFF;
        // `fetch_update` retries on a racing writer; the closure always answers Some.
        let _ = slot.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |word| {
            let count = if word >> 32 == tag {
                word & 0xFFFF_FFFF
            } else {
                0
            };
            Some((tag << 32) | count.saturating_add(1).min(0xFFFF_FFFF))
        });
    }

    /// The counts of the 60 seconds ending with `now_sec` (included), oldest first.
    pub(crate) fn read(&self, now_sec: u64) -> Vec<u32> {
        let first = now_sec.saturating_sub(WINDOW as u64 - 1);
        (first..=now_sec)
            .map(|sec| {
                let word = self.slots[(sec % WINDOW as u64) as usize].load(Ordering::Relaxed);
                if word >> 32 == sec & 0xFFFF_FFFF {
                    (word & 0xFFFF_FFFF) as u32
                } else {
                    0
                }
            })
            .collect()
    }
}
