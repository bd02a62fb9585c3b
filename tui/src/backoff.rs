//! Reconnect delays: a pure value (linkerd keeps its backoff a value too), doubling from
//! `BASE` to `MAX`, reset by a success. One dashboard reconnecting needs no jitter.

use std::time::Duration;

const BASE: Duration = Duration::from_millis(500);
const MAX: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backoff {
    attempt: u32,
}

impl Backoff {
    /// Failures since the last success.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Counts a failure; the delay before the next try.
    pub fn fail(&mut self) -> Duration {
        let delay = BASE
            .saturating_mul(2u32.saturating_pow(self.attempt.min(16)))
            .min(MAX);
        self.attempt = self.attempt.saturating_add(1);
        delay
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let mut b = Backoff::default();
        let delays: Vec<_> = (0..7).map(|_| b.fail().as_millis()).collect();
        assert_eq!(delays, [500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
        assert_eq!(b.attempt(), 7);
        b.reset();
        assert_eq!(b.fail(), BASE);
    }
}
