//! Retry delays for callbacks: the shared exponential [`Backoff`], uncapped, with a little jitter
//! (up to 10 % more). The dispatcher sleeps on tokio's clock.

use std::time::Duration;

use crate::outbound::backoff::Backoff;

/// The wait before retry number `retry` (1 = after the first failed try): `initial * 2^(retry-1)`
/// plus `jitter` (in `0..1`) × 10 %, so many callbacks failing together do not retry in lockstep.
pub(super) fn backoff(initial: Duration, retry: u32, jitter: f64) -> Duration {
    Backoff {
        first: initial,
        max: Duration::MAX,
        spread: (1.0, 1.1),
    }
    .delay(retry, jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_the_initial_delay_with_at_most_ten_percent_jitter() {
        let secs = |retry| backoff(Duration::from_secs(1), retry, 0.0).as_secs();
        assert_eq!((1..=5).map(secs).collect::<Vec<_>>(), [1, 2, 4, 8, 16]);
        let jittered = backoff(Duration::from_secs(4), 2, 0.999);
        assert!(jittered > Duration::from_secs(8) && jittered < Duration::from_millis(8800));
        // A silly max_tries cannot overflow.
        assert!(backoff(Duration::from_secs(1), 500, 1.0) > Duration::from_secs(1 << 19));
    }
}
