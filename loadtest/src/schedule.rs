//! Open-loop arrivals: arrival `n` is due at `t0 + n / rate`, whatever happened to the ones
//! before it, so a slow engine cannot slow the schedule down and hide its latency. A scheduler
//! that wakes late launches every overdue arrival at once, each still timed from its intended
//! instant (the schedule has a thread of its own, see [`drive`]). At most `concurrency` flows are in flight; an arrival beyond that is recorded as a
//! `dropped` error, never queued.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, oneshot};
use tokio::time::Instant;

use crate::flows::{Layout, World};
use crate::procfs::{self, EngineProcess};
use crate::progress::Progress;
use crate::stats::Recorder;

/// What to offer, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub rate: f64,
    pub warmup: Duration,
    pub duration: Duration,
    pub concurrency: usize,
    pub flow_timeout: Duration,
}

/// The measured phase of one drive.
pub struct Driven {
    pub rec: Arc<Recorder>,
    /// Engine CPU time over the measured phase (and its drain).
    pub engine_cpu: Option<Duration>,
    pub harness_cpu: Duration,
}

/// Offers `load` to the engine through `layout`'s flows; returns when every measured flow
/// ended (or timed out).
pub async fn drive(
    world: &Arc<World>,
    layout: &Arc<Layout>,
    load: Load,
    engine: EngineProcess,
    label: Option<String>,
) -> Driven {
    let warm = Arc::new(Recorder::new(layout.names()));
    let measured = Arc::new(Recorder::new(layout.names()));
    let permits = Arc::new(Semaphore::new(load.concurrency));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let t_measure = t0 + load.warmup;
    let t_end = t_measure + load.duration;
    let progress = label.map(|label| {
        Progress {
            label,
            warm: Arc::clone(&warm),
            measured: Arc::clone(&measured),
            flow_index: layout.flow_index(),
            t_measure,
            in_flight: Arc::clone(&in_flight),
            sinks: Arc::clone(&world.sinks),
        }
        .spawn()
    });

    // The schedule runs on its own thread: tokio's timer ticks in whole milliseconds, and every
    // flow is timed from its intended instant, so a late wake-up would be charged to the
    // engine. A thread's sleep wakes within tens of microseconds.
    let schedule = Schedule {
        world: Arc::clone(world),
        layout: Arc::clone(layout),
        load,
        engine,
        warm: Arc::clone(&warm),
        measured: Arc::clone(&measured),
        permits: Arc::clone(&permits),
        in_flight: Arc::clone(&in_flight),
        t0,
        t_measure,
        t_end,
        runtime: tokio::runtime::Handle::current(),
    };
    let (done, cpu_at_start) = oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("lt-schedule".into())
        .spawn(move || {
            let _ = done.send(schedule.run());
        });
    let cpu_at_start = match spawned {
        Ok(_) => cpu_at_start.await.ok().flatten(),
        Err(e) => {
            tracing::error!(error = %e, "cannot start the schedule thread");
            None
        }
    };
    // Every permit back means every flow ended; flows end by themselves within flow_timeout.
    let all = u32::try_from(load.concurrency).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(
        load.flow_timeout + Duration::from_secs(5),
        permits.acquire_many(all),
    )
    .await;
    if let Some(p) = progress {
        p.stop();
    }
    let (engine_start, harness_start) =
        cpu_at_start.unwrap_or((engine.cpu(), procfs::harness_cpu()));
    Driven {
        rec: measured,
        engine_cpu: engine
            .cpu()
            .zip(engine_start)
            .map(|(end, start)| end.saturating_sub(start)),
        harness_cpu: procfs::harness_cpu().saturating_sub(harness_start),
    }
}

/// The arrival loop and what it needs, moved onto the schedule thread.
struct Schedule {
    world: Arc<World>,
    layout: Arc<Layout>,
    load: Load,
    engine: EngineProcess,
    warm: Arc<Recorder>,
    measured: Arc<Recorder>,
    permits: Arc<Semaphore>,
    in_flight: Arc<AtomicUsize>,
    t0: Instant,
    t_measure: Instant,
    t_end: Instant,
    runtime: tokio::runtime::Handle,
}

impl Schedule {
    /// Launches every arrival at its instant; returns the CPU times read when the measured
    /// phase began.
    fn run(self) -> Option<(Option<Duration>, Duration)> {
        let mut cpu_at_start = None;
        let mut n: u64 = 0;
        loop {
            let intended = self.t0 + Duration::from_secs_f64(n as f64 / self.load.rate);
            if intended >= self.t_end {
                break;
            }
            let now = Instant::now();
            if intended > now {
                std::thread::sleep(intended - now);
            }
            let in_measure = intended >= self.t_measure;
            if in_measure && cpu_at_start.is_none() {
                cpu_at_start = Some((self.engine.cpu(), procfs::harness_cpu()));
            }
            let rec = Arc::clone(if in_measure {
                &self.measured
            } else {
                &self.warm
            });
            rec.offered.fetch_add(1, Ordering::Relaxed);
            match Arc::clone(&self.permits).try_acquire_owned() {
                Ok(permit) => {
                    let world = Arc::clone(&self.world);
                    let layout = Arc::clone(&self.layout);
                    let in_flight = Arc::clone(&self.in_flight);
                    let flow_timeout = self.load.flow_timeout;
                    in_flight.fetch_add(1, Ordering::Relaxed);
                    self.runtime.spawn(async move {
                        let flow = layout.run(n, &world, &rec, intended);
                        if tokio::time::timeout(flow_timeout, flow).await.is_err() {
                            rec.flow_failed("flow: timeout");
                        }
                        in_flight.fetch_sub(1, Ordering::Relaxed);
                        drop(permit);
                    });
                }
                Err(_) => rec.flow_failed("dropped"),
            }
            n += 1;
        }
        cpu_at_start
    }
}
