//! What a phase of a run records: one HDR histogram per named step (microseconds), flow
//! counters, and errors by code. Flows on every harness thread record into the same
//! [`Recorder`]; each histogram has its own lock, held for one `record` call.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// Latencies above an hour are clamped to it.
const MAX_US: u64 = 3_600_000_000;

/// Quantiles of one step, milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepStats {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    #[serde(default)]
    pub max_ms: f64,
    #[serde(default)]
    pub mean_ms: f64,
}

/// The recordings of one phase (warm-up or measurement).
pub struct Recorder {
    names: Vec<String>,
    steps: Vec<Mutex<Histogram<u64>>>,
    errors: Mutex<BTreeMap<String, u64>>,
    /// Arrivals scheduled in this phase, dropped ones included.
    pub offered: AtomicU64,
    /// Flows that completed every step.
    pub ok: AtomicU64,
    /// Flows that failed (each counted once, by its first error), dropped ones included.
    pub failed: AtomicU64,
}

impl Recorder {
    /// One histogram per name; [`Recorder::record`] takes the index into `names`.
    pub fn new(names: Vec<String>) -> Self {
        let steps = names
            .iter()
            .map(|_| {
                Mutex::new(
                    Histogram::new_with_bounds(1, MAX_US, 3).expect("static histogram bounds"),
                )
            })
            .collect();
        Self {
            names,
            steps,
            errors: Mutex::new(BTreeMap::new()),
            offered: AtomicU64::new(0),
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// One latency of step `step`.
    pub fn record(&self, step: usize, latency: Duration) {
        let us = (latency.as_micros() as u64).clamp(1, MAX_US);
        self.steps[step].lock().saturating_record(us);
    }

    pub fn flow_ok(&self) {
        self.ok.fetch_add(1, Ordering::Relaxed);
    }

    /// A failed flow, by its error code.
    pub fn flow_failed(&self, code: &str) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        *self.errors.lock().entry(code.to_owned()).or_default() += 1;
    }

    pub fn ok(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
    }

    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    pub fn offered(&self) -> u64 {
        self.offered.load(Ordering::Relaxed)
    }

    pub fn errors_by_code(&self) -> BTreeMap<String, u64> {
        self.errors.lock().clone()
    }

    /// The p99 of step `step` so far, milliseconds (0 when nothing was recorded).
    pub fn p99_ms(&self, step: usize) -> f64 {
        let h = self.steps[step].lock();
        if h.is_empty() {
            0.0
        } else {
            h.value_at_quantile(0.99) as f64 / 1000.0
        }
    }

    /// Every step with at least one recording, by name.
    pub fn step_stats(&self) -> BTreeMap<String, StepStats> {
        self.names
            .iter()
            .zip(&self.steps)
            .filter_map(|(name, h)| {
                let h = h.lock();
                (!h.is_empty()).then(|| (name.clone(), stats_of(&h)))
            })
            .collect()
    }
}

fn stats_of(h: &Histogram<u64>) -> StepStats {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    StepStats {
        count: h.len(),
        p50_ms: ms(0.50),
        p90_ms: ms(0.90),
        p99_ms: ms(0.99),
        p999_ms: ms(0.999),
        max_ms: h.max() as f64 / 1000.0,
        mean_ms: h.mean() / 1000.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_in_milliseconds() {
        let r = Recorder::new(vec!["start".into(), "verify".into()]);
        for i in 1..=1000u64 {
            r.record(0, Duration::from_micros(i * 10));
        }
        let stats = r.step_stats();
        assert_eq!(stats.len(), 1, "steps without recordings are left out");
        let s = &stats["start"];
        assert_eq!(s.count, 1000);
        assert!((s.p50_ms - 5.0).abs() < 0.01, "{s:?}");
        assert!((s.p99_ms - 9.9).abs() < 0.01, "{s:?}");
        assert!((r.p99_ms(0) - 9.9).abs() < 0.01);
        assert_eq!(r.p99_ms(1), 0.0);
    }

    #[test]
    fn errors_are_counted_by_code() {
        let r = Recorder::new(vec!["start".into()]);
        r.flow_failed("dropped");
        r.flow_failed("dropped");
        r.flow_failed("start: 503 1002");
        r.flow_ok();
        assert_eq!((r.ok(), r.failed()), (1, 3));
        assert_eq!(r.errors_by_code()["dropped"], 2);
    }
}
