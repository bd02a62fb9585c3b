//! The one exponential backoff behind every retry Tessera makes — portal callbacks and push
//! deliveries. A pure value (as linkerd's backoff); the callers sleep on tokio's clock.

use std::time::Duration;

/// `first × 2^(retry − 1)`, at most `max`, then scaled by a factor that `jitter` picks from
/// `spread`, so that many retries failing together do not come back in lockstep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The pause before the first retry (before jitter).
    pub first: Duration,
    /// The longest pause before jitter.
    pub max: Duration,
    /// The jitter factor's range, `(low, high)`: `jitter` 0 gives `low`, 1 gives `high`.
    pub spread: (f64, f64),
}

impl Backoff {
    /// The pause before retry number `retry` (1 = after the first failed try); `jitter` in
    /// `[0, 1]`.
    pub fn delay(&self, retry: u32, jitter: f64) -> Duration {
        // A capped shift: no retry count, however silly, can overflow.
        let doublings = retry.saturating_sub(1).min(20);
        let base = self.first.saturating_mul(1u32 << doublings).min(self.max);
        let (low, high) = self.spread;
        let factor = low + (high - low) * jitter.clamp(0.0, 1.0);
        Duration::try_from_secs_f64(base.as_secs_f64() * factor).unwrap_or(Duration::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVEN: Backoff = Backoff {
        first: Duration::from_secs(1),
        max: Duration::from_secs(8),
        spread: (1.0, 1.0),
    };

    #[test]
    fn doubles_from_the_first_pause_up_to_the_cap() {
        let secs: Vec<u64> = (1..=6).map(|r| EVEN.delay(r, 0.5).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 8, 8]);
        // Retry 0 is treated as the first.
        assert_eq!(EVEN.delay(0, 0.5), Duration::from_secs(1));
    }

    #[test]
    fn jitter_scales_within_the_spread_after_the_cap() {
        let b = Backoff {
            spread: (0.5, 1.5),
            ..EVEN
        };
        assert_eq!(b.delay(4, 0.0), Duration::from_secs(4));
        assert_eq!(b.delay(4, 1.0), Duration::from_secs(12));
        assert_eq!(
            b.delay(4, 7.0),
            Duration::from_secs(12),
            "jitter is clamped"
        );
    }

    #[test]
    fn nothing_overflows() {
        let b = Backoff {
            first: Duration::MAX,
            max: Duration::MAX,
            spread: (1.0, 2.0),
        };
        assert_eq!(b.delay(u32::MAX, 1.0), Duration::MAX);
    }
}
