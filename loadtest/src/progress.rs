//! The live line on stderr, once a second: completions per second, in flight, errors so far and
//! the flow's p99 so far. It also sweeps pushes nobody claimed from the sink's mailbox.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::sinks::Sinks;
use crate::stats::Recorder;

const EVERY: Duration = Duration::from_secs(1);
/// A push kept this long without a flow claiming it belonged to a flow that failed.
const UNCLAIMED_MAX_AGE: Duration = Duration::from_secs(120);

/// What the line reads.
pub struct Progress {
    pub label: String,
    pub warm: Arc<Recorder>,
    pub measured: Arc<Recorder>,
    pub flow_index: usize,
    pub t_measure: Instant,
    /// Flows started and not yet ended.
    pub in_flight: Arc<AtomicUsize>,
    pub sinks: Arc<Sinks>,
}

/// The running line; [`Running::stop`] ends it.
pub struct Running(JoinHandle<()>);

impl Running {
    pub fn stop(self) {
        self.0.abort();
    }
}

impl Progress {
    pub fn spawn(self) -> Running {
        Running(tokio::spawn(async move {
            let t0 = Instant::now();
            let mut tick = tokio::time::interval_at(t0 + EVERY, EVERY);
            let mut last_done = 0;
            let mut last_offered = 0;
            loop {
                tick.tick().await;
                let done = self.done();
                let offered = self.warm.offered() + self.measured.offered();
                eprintln!(
                    "{}",
                    self.line(t0, done - last_done, offered - last_offered)
                );
                (last_done, last_offered) = (done, offered);
                self.sinks.push.sweep(UNCLAIMED_MAX_AGE);
            }
        }))
    }

    fn done(&self) -> u64 {
        [&self.warm, &self.measured]
            .iter()
            .map(|r| r.ok() + r.failed())
            .sum()
    }

    fn line(&self, t0: Instant, done: u64, offered: u64) -> String {
        let warming = Instant::now() < self.t_measure;
        let rec = if warming { &self.warm } else { &self.measured };
        let in_flight = self.in_flight.load(Ordering::Relaxed);
        format!(
            "{label} {elapsed:>4}s{phase} {done:>7} flows/s (offered {offered}/s)  in flight {in_flight:>5}  errors {errors:>6}  p99 {p99:.2} ms",
            label = self.label,
            elapsed = t0.elapsed().as_secs(),
            phase = if warming { " warmup" } else { "" },
            errors = rec.failed(),
            p99 = rec.p99_ms(self.flow_index),
        )
    }
}
