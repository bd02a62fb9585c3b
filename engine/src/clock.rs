//! Wall time for records, driven by tokio's clock so tests can pause and advance it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::model::Millis;

/// Epoch milliseconds = the wall time when the clock was made + tokio time elapsed since.
///
/// Reading tokio's clock (not `SystemTime`) keeps deadlines and timers on one time line: a test
/// with paused time that advances 5 minutes sees transactions expire exactly 5 minutes later.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin_ms: Millis,
    origin: tokio::time::Instant,
}

impl Clock {
    /// Anchored at the current wall time. Must be called inside a tokio runtime when time is
    /// paused; otherwise anywhere.
    pub fn new() -> Self {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Self::starting_at(wall.as_millis() as Millis)
    }

    /// A clock that reads `origin_ms` now.
    pub fn starting_at(origin_ms: Millis) -> Self {
        Self {
            origin_ms,
            origin: tokio::time::Instant::now(),
        }
    }

    pub fn now(&self) -> Millis {
        self.origin_ms + self.origin.elapsed().as_millis() as Millis
    }

    /// The tokio instant at which epoch time `at` is reached (now, if it has passed).
    pub fn instant_at(&self, at: Millis) -> tokio::time::Instant {
        self.origin + Duration::from_millis(at.saturating_sub(self.origin_ms))
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}
