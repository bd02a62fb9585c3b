//! The benches' one timer: plain std timing in batches (no bench framework), sizes rather than a
//! regression gate.
#![allow(clippy::disallowed_types)] // std's Instant is fine outside engine code

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Times `op` in batches of `batch` calls, `rounds` times, after one warm-up batch; prints the
/// per-call mean, best and p99 of the batch means (timer overhead amortised over the batch; a
/// batch of 1 times single calls).
pub fn time<T>(name: &str, batch: u32, rounds: u32, mut op: impl FnMut() -> T) {
    for _ in 0..batch {
        black_box(op());
    }
    let mut per_call: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..batch {
                black_box(op());
            }
            start.elapsed() / batch
        })
        .collect();
    per_call.sort();
    let mean = per_call.iter().sum::<Duration>() / rounds;
    let best = per_call[0];
    let p99 = per_call[per_call.len() * 99 / 100];
    println!(
        "{name:<40} mean {mean:>9.1?}  best {best:>9.1?}  p99 {p99:>9.1?}  ({rounds}×{batch})"
    );
}
