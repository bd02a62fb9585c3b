//! When to try a push again: the shared exponential [`Backoff`] with ±25 % jitter, honouring
//! `Retry-After`, for a bounded number of tries. A pure value; `delivery` runs the loop against
//! the transaction's time to live.

use std::time::Duration;

use crate::outbound::backoff::Backoff;

/// How a failed-but-retryable push is tried again. One per push config (`PushRouter::route`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub max_attempts: u32,
    /// The pauses between tries (a provider's `Retry-After` may ask for more).
    pub backoff: Backoff,
}

impl Default for RetryPolicy {
    /// 200 ms, 400 ms, 800 ms, 1.6 s: five tries within about three seconds, well inside any
    /// push's time to live, so a brief outage is ridden out before the user gives up waiting.
    /// Pauses stop doubling at 10 s and are spread ±25 %.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            backoff: Backoff {
                first: Duration::from_millis(200),
                max: Duration::from_secs(10),
                spread: (0.75, 1.25),
            },
        }
    }
}

impl RetryPolicy {
    /// A push config's policy: its `max_attempts` and `retry_delay` (validated by the config),
    /// the defaults otherwise.
    pub fn of(config: &tessera_config::PushConfig) -> Self {
        let default = Self::default();
        Self {
            max_attempts: config.max_attempts.unwrap_or(default.max_attempts),
            backoff: Backoff {
                first: config.retry_delay.unwrap_or(default.backoff.first),
                ..default.backoff
            },
        }
    }

    /// The pause before the next try after `failures` (≥ 1) failed tries, or `None` when the
    /// tries are used up.
    ///
    /// `jitter` (in `[0, 1)`) spreads the backoff so that pushes failing together do not all
    /// come back at the same instant. A provider's `retry_after` is a floor: it is honoured even
    /// when longer than the backoff.
    pub fn delay(
        &self,
        failures: u32,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Option<Duration> {
        if failures == 0 || failures >= self.max_attempts {
            return None;
        }
        let pause = self.backoff.delay(failures, jitter);
        Some(retry_after.map_or(pause, |after| after.max(pause)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn doubles_from_200_ms_and_stops_after_five_tries() {
        let p = RetryPolicy::default();
        let mid = |n| p.delay(n, None, 0.5);
        assert_eq!(mid(1), Some(MS(200)));
        assert_eq!(mid(2), Some(MS(400)));
        assert_eq!(mid(3), Some(MS(800)));
        assert_eq!(mid(4), Some(MS(1600)));
        assert_eq!(mid(5), None, "five tries in all");
        assert_eq!(mid(0), None);
    }

    #[test]
    fn jitter_spreads_a_quarter_each_way() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(2, None, 0.0), Some(MS(300)));
        assert_eq!(
            p.delay(2, None, 0.999_999).map(|d| d.as_millis()),
            Some(499)
        );
    }

    #[test]
    fn backoff_is_capped_but_retry_after_is_not() {
        let p = RetryPolicy {
            max_attempts: 40,
            ..RetryPolicy::default()
        };
        assert_eq!(p.delay(30, None, 0.5), Some(Duration::from_secs(10)));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(30)), 0.5),
            Some(Duration::from_secs(30))
        );
        // A Retry-After shorter than the backoff does not shorten it.
        assert_eq!(p.delay(3, Some(MS(10)), 0.5), Some(MS(800)));
    }
}
