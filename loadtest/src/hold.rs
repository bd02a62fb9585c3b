//! `hold`: fill the engine with `--count` pending transactions (type `hold`: SMS, a time to
//! live longer than the fill), report the engine's memory, then watch a sample spread over the
//! fill until each expires: how late after its deadline the engine finished it
//! (`expire_late`, from the engine's own timestamps) and when the portal's long-poll saw it
//! (`expire_seen`). The population expires at the rate it was created, so the sample measures
//! timer accuracy while the engine expires everything else.
//!
//! The fill is closed-loop (as fast as `--concurrency` workers go, capped at 256): `start`
//! latencies here are not corrected for coordinated omission; they are not the point.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tessera_api::wire::StartParams;
use tokio::time::Instant;

use crate::flows::{FlowError, World};
use crate::procfs::EngineProcess;
use crate::stats::Recorder;

const STEPS: [&str; 3] = ["start", "expire_late", "expire_seen"];
const START: usize = 0;
const EXPIRE_LATE: usize = 1;
const EXPIRE_SEEN: usize = 2;
const MAX_FILL_WORKERS: usize = 256;
/// The target: expired within this long after the deadline.
const LATE_BOUND_MS: u64 = 100;
/// A watched transaction still pending this long after its deadline counts as an error.
const NEVER_EXPIRED_MS: u64 = 60_000;
/// Every held SMS goes to one number nobody waits on; the sink counts and drops them.
const HOLD_PHONE: &str = "+31699999999";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HoldReport {
    pub count: u64,
    /// Transactions the engine accepted.
    pub started: u64,
    pub ttl_ms: u64,
    pub fill_s: f64,
    pub fill_rate: f64,
    pub rss_before_bytes: Option<u64>,
    /// With every held transaction pending.
    pub rss_after_fill_bytes: Option<u64>,
    pub bytes_per_pending: Option<f64>,
    /// `rss_before + bytes_per_pending × 1,000,000` when fewer were held: an extrapolation,
    /// not a measurement.
    pub extrapolated_rss_1m_bytes: Option<u64>,
    pub sample: u64,
    pub sample_expired: u64,
    /// Of the expired sample, how many the engine finished within 100 ms of the deadline.
    pub sample_within_100ms: u64,
}

/// What to hold.
#[derive(Debug, Clone, Copy)]
pub struct Hold {
    pub count: u64,
    pub sample: u64,
    pub concurrency: usize,
    pub quiet: bool,
}

/// Runs the scenario; the recorder holds `start`, `expire_late` and `expire_seen`.
pub async fn run(
    world: &Arc<World>,
    hold: Hold,
    engine: EngineProcess,
) -> (Arc<Recorder>, HoldReport) {
    let rec = Arc::new(Recorder::new(
        STEPS.iter().map(|s| (*s).to_owned()).collect(),
    ));
    let before = engine.memory();
    let every = (hold.count / hold.sample.max(1)).max(1);
    let next = Arc::new(AtomicU64::new(0));
    let within = Arc::new(AtomicU64::new(0));
    let ttl_ms = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let ticker = (!hold.quiet).then(|| spawn_ticker(Arc::clone(&rec), hold.count, engine));

    let workers: Vec<_> = (0..hold.concurrency.clamp(1, MAX_FILL_WORKERS))
        .map(|_| {
            let (world, rec, next) = (Arc::clone(world), Arc::clone(&rec), Arc::clone(&next));
            let (within, ttl_ms) = (Arc::clone(&within), Arc::clone(&ttl_ms));
            tokio::spawn(async move {
                let mut watchers = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= hold.count {
                        break watchers;
                    }
                    rec.offered.fetch_add(1, Ordering::Relaxed);
                    match start_one(&world, &rec, i, i % every == 0).await {
                        Ok(Some((id, deadline, ttl))) => {
                            ttl_ms.store(ttl, Ordering::Relaxed);
                            let (world, rec, within) =
                                (Arc::clone(&world), Arc::clone(&rec), Arc::clone(&within));
                            watchers.push(tokio::spawn(async move {
                                match watch(&world, &rec, &id, deadline).await {
                                    Ok(late) if late <= LATE_BOUND_MS => {
                                        within.fetch_add(1, Ordering::Relaxed);
                                    }
                                    Ok(_) => {}
                                    Err(e) => rec.flow_failed(&e.key()),
                                }
                            }));
                        }
                        Ok(None) => {}
                        Err(e) => rec.flow_failed(&e.key()),
                    }
                }
            })
        })
        .collect();
    let mut watchers = Vec::new();
    for w in workers {
        watchers.extend(w.await.unwrap_or_default());
    }
    let fill = t0.elapsed();
    let after = engine.memory();
    let started = rec.ok();
    if !hold.quiet {
        eprintln!(
            "hold: {started} pending after {:.1}s; watching {} until they expire",
            fill.as_secs_f64(),
            watchers.len()
        );
    }
    let sample = watchers.len() as u64;
    for w in watchers {
        let _ = w.await;
    }
    if let Some(t) = ticker {
        t.abort();
    }

    let bytes_per_pending = before
        .zip(after)
        .filter(|_| started > 0)
        .map(|(b, a)| a.rss.saturating_sub(b.rss) as f64 / started as f64);
    let report = HoldReport {
        count: hold.count,
        started,
        ttl_ms: ttl_ms.load(Ordering::Relaxed),
        fill_s: fill.as_secs_f64(),
        fill_rate: started as f64 / fill.as_secs_f64().max(1e-9),
        rss_before_bytes: before.map(|m| m.rss),
        rss_after_fill_bytes: after.map(|m| m.rss),
        bytes_per_pending,
        extrapolated_rss_1m_bytes: before
            .zip(bytes_per_pending)
            .filter(|_| started < 1_000_000)
            .map(|(b, per)| b.rss + (per * 1_000_000.0) as u64),
        sample,
        sample_expired: rec.step_stats().get("expire_late").map_or(0, |s| s.count),
        sample_within_100ms: within.load(Ordering::Relaxed),
    };
    (rec, report)
}

/// Starts held transaction `i`; a sampled one comes back with its id, deadline and TTL.
async fn start_one(
    w: &World,
    rec: &Recorder,
    i: u64,
    sampled: bool,
) -> Result<Option<(String, u64, u64)>, FlowError> {
    let params = StartParams {
        user_id: Some(w.user(i)),
        phone_number: Some(HOLD_PHONE.into()),
        ..StartParams::new("hold")
    };
    let t = Instant::now();
    let started = w
        .portal(i as usize)
        .start(&params)
        .await
        .map_err(FlowError::at("start"))?;
    rec.record(START, t.elapsed());
    rec.flow_ok();
    if !sampled {
        return Ok(None);
    }
    // While pending, the result's timestamp is when the engine created it.
    let pending = w
        .portal(i as usize + 1)
        .result(&started.transaction_id, None)
        .await
        .map_err(FlowError::at("watch"))?;
    let deadline = pending.timestamp + started.time_to_live;
    Ok(Some((
        started.transaction_id,
        deadline,
        started.time_to_live,
    )))
}

/// Long-polls `id` until it expires; records and returns how late the engine finished it (ms).
async fn watch(w: &World, rec: &Recorder, id: &str, deadline: u64) -> Result<u64, FlowError> {
    loop {
        let left = deadline.saturating_sub(epoch_ms());
        let wait = Duration::from_millis(left + 5_000).min(Duration::from_secs(60));
        let r = w
            .portal(w.turn())
            .result(id, Some(wait))
            .await
            .map_err(FlowError::at("watch"))?;
        match r.status.as_str() {
            "expired" => {
                let late = r.timestamp.saturating_sub(deadline);
                let seen = epoch_ms().saturating_sub(deadline);
                rec.record(EXPIRE_LATE, Duration::from_millis(late));
                rec.record(EXPIRE_SEEN, Duration::from_millis(seen));
                return Ok(late);
            }
            "pending" if epoch_ms() < deadline + NEVER_EXPIRED_MS => {}
            "pending" => return Err(FlowError::new("watch", "never_expired")),
            other => return Err(FlowError::new("watch", format!("status_{other}"))),
        }
    }
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn spawn_ticker(
    rec: Arc<Recorder>,
    count: u64,
    engine: EngineProcess,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let t0 = Instant::now();
        let mut tick =
            tokio::time::interval_at(t0 + Duration::from_secs(1), Duration::from_secs(1));
        let mut last = 0;
        loop {
            tick.tick().await;
            let started = rec.ok();
            let rss = engine.memory().map_or(String::new(), |m| {
                format!("  RSS {:.1} MiB", m.rss as f64 / 1048576.0)
            });
            let expired = rec.step_stats().get("expire_late").map_or(0, |s| s.count);
            eprintln!(
                "hold {:>4}s  pending {started}/{count} (+{}/s)  errors {}  sample expired {expired}{rss}",
                t0.elapsed().as_secs(),
                started - last,
                rec.failed(),
            );
            last = started;
        }
    })
}

impl HoldReport {
    pub fn table(&self) -> String {
        let mib = |b: u64| b as f64 / 1048576.0;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "hold: {} of {} pending (TTL {} ms), filled in {:.1}s ({:.0}/s)",
            self.started, self.count, self.ttl_ms, self.fill_s, self.fill_rate
        );
        if let (Some(b), Some(a)) = (self.rss_before_bytes, self.rss_after_fill_bytes) {
            let _ = writeln!(
                out,
                "RSS {:.1} MiB before, {:.1} MiB with all pending: {:.0} bytes per pending transaction",
                mib(b),
                mib(a),
                self.bytes_per_pending.unwrap_or(0.0)
            );
        }
        if let Some(x) = self.extrapolated_rss_1m_bytes {
            let _ = writeln!(
                out,
                "extrapolated (not measured) to 1,000,000 pending: {:.0} MiB",
                mib(x)
            );
        }
        let _ = writeln!(
            out,
            "sample: {} watched, {} expired, {} within {LATE_BOUND_MS} ms of the deadline",
            self.sample, self.sample_expired, self.sample_within_100ms
        );
        out
    }
}
