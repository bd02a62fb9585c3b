//! Latency quantiles over the last minute, lock-free on the recording side: one histogram per
//! second of the minute (log-linear buckets, 8 per power of two, so a quantile is within
//! ~6 % of the true value), each tagged with the second it counts. A sample in a new second
//! claims its slot with one compare-and-swap and clears it; a sample racing that clear may be
//! lost, which a one-minute operator view can afford. Readers add up the slots of the window.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use tessera_config::admin::Quantiles;

use super::ring::WINDOW;

/// Sub-buckets per power of two.
const SUB: u64 = 8;
/// Enough buckets for any `u64` microseconds.
const BUCKETS: usize = 62 * SUB as usize;

struct Slot {
    /// The epoch second counted here (`u64::MAX`: never used).
    second: AtomicU64,
    counts: Box<[AtomicU32]>,
}

pub(crate) struct LatencyWindow {
    slots: Vec<Slot>,
}

impl Default for LatencyWindow {
    fn default() -> Self {
        let slots = (0..WINDOW)
            .map(|_| Slot {
                second: AtomicU64::new(u64::MAX),
                counts: (0..BUCKETS).map(|_| AtomicU32::new(0)).collect(),
            })
            .collect();
        Self { slots }
    }
}

/// The bucket of `us` microseconds: exact below 8, then 8 per power of two.
fn bucket(us: u64) -> usize {
    if us < SUB {
        return us as usize;
    }
    let msb = 63 - u64::from(us.leading_zeros());
    let sub = (us >> (msb - 3)) & (SUB - 1);
    (((msb - 2) * SUB + sub) as usize).min(BUCKETS - 1)
}

/// The middle of bucket `i`, in microseconds.
fn value(i: usize) -> f64 {
    let i = i as u64;
    if i < SUB {
        return i as f64;
    }
    let msb = i / SUB + 2;
    let width = 1u64 << (msb - 3);
    let low = (SUB + i % SUB) << (msb - 3);
    low as f64 + (width as f64 - 1.0) / 2.0
}

impl LatencyWindow {
    /// Records one sample of `us` microseconds at epoch millisecond `now_ms`.
    pub(crate) fn record(&self, now_ms: u64, us: u64) {
        let sec = now_ms / 1000;
        let slot = &self.slots[(sec % WINDOW as u64) as usize];
        let seen = slot.second.load(Ordering::Acquire);
        if seen != sec
            && slot
                .second
                .compare_exchange(seen, sec, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            for c in slot.counts.iter() {
                c.store(0, Ordering::Relaxed);
            }
        }
        slot.counts[bucket(us)].fetch_add(1, Ordering::Relaxed);
    }

    /// p50/p90/p99 (milliseconds) of the samples of the 60 seconds ending at `now_ms`.
    pub(crate) fn quantiles(&self, now_ms: u64) -> Quantiles {
        let now = now_ms / 1000;
        let oldest = now.saturating_sub(WINDOW as u64 - 1);
        let mut sum = vec![0u64; BUCKETS];
        for slot in &self.slots {
            let sec = slot.second.load(Ordering::Acquire);
            if sec == u64::MAX || sec < oldest || sec > now {
                continue;
            }
            for (total, c) in sum.iter_mut().zip(slot.counts.iter()) {
                *total += u64::from(c.load(Ordering::Relaxed));
            }
        }
        let count: u64 = sum.iter().sum();
        if count == 0 {
            return Quantiles::default();
        }
        let at = |q: f64| {
            // The smallest bucket holding at least q of the samples.
            let rank = ((count as f64) * q).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (i, n) in sum.iter().enumerate() {
                seen += n;
                if seen >= rank {
                    return value(i) / 1000.0;
                }
            }
            value(BUCKETS - 1) / 1000.0
        };
        Quantiles {
            count,
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_close() {
        let mut last = 0;
        for us in [
            0,
            1,
            7,
            8,
            9,
            15,
            16,
            17,
            100,
            1_000,
            12_345,
            1_000_000,
            u64::MAX,
        ] {
            let b = bucket(us);
            assert!(b >= last, "{us}");
            last = b;
            if us > 0 && us < 1 << 50 {
                let v = value(b);
                let err = (v - us as f64).abs() / us as f64;
                assert!(err <= 0.07, "{us} → {v}");
            }
        }
    }
}
