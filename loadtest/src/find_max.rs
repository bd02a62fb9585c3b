//! `--find-max`: raise the offered rate step by step (× `--step-factor`) until a step's error
//! rate or p99 crosses its bound, bisect between the last good and the first failing rate, and
//! report the highest sustainable one; then run once more at half of it (the "p99 at half the
//! peak" figure).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::report::Report;
use crate::stats::StepStats;

/// Pause after a step within the bounds, so its tail does not land in the next.
const COOLDOWN: Duration = Duration::from_secs(1);
/// Pause after an overloaded step and before the half-rate run: an overloaded engine has a
/// backlog to work off (and the half-rate run is the one whose p99 is quoted).
const RECOVERY: Duration = Duration::from_secs(5);
/// Halvings tried when even the first rate fails.
const DESCENTS: u32 = 4;

/// What "sustainable" means.
#[derive(Debug, Clone)]
pub struct Bounds {
    pub max_p99_ms: f64,
    pub max_error_rate: f64,
    /// Step whose p99 is bounded (`start` matches `start` and every `kind.start` of a mix).
    pub p99_step: String,
    pub factor: f64,
    pub refine: u32,
    pub max_rate: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FindMaxReport {
    pub max_p99_ms: f64,
    pub max_error_rate: f64,
    pub p99_step: String,
    /// The highest rate that stayed within both bounds (0: none did).
    pub sustainable_rate: f64,
    pub trials: Vec<Trial>,
    pub half_rate: Option<HalfRate>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Trial {
    pub rate: f64,
    pub flows_per_s: f64,
    pub error_rate: f64,
    pub p99_ms: f64,
    pub pass: bool,
}

/// The run at half the sustainable rate.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HalfRate {
    pub rate: f64,
    pub flows_per_s: f64,
    pub errors: u64,
    pub steps: BTreeMap<String, StepStats>,
}

impl Bounds {
    /// The bounded p99 of `r`: the worst step named `p99_step`, else the whole flow.
    pub fn p99_of(&self, r: &Report) -> f64 {
        let suffix = format!(".{}", self.p99_step);
        let matching = r
            .steps
            .iter()
            .filter(|(n, _)| **n == self.p99_step || n.ends_with(&suffix))
            .map(|(_, s)| s.p99_ms)
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
        matching
            .or_else(|| r.steps.get("flow").map(|s| s.p99_ms))
            .unwrap_or(f64::INFINITY)
    }

    fn trial(&self, r: &Report) -> Trial {
        let p99_ms = self.p99_of(r);
        Trial {
            rate: r.rate,
            flows_per_s: r.flows_per_s,
            error_rate: r.error_rate,
            p99_ms,
            pass: r.error_rate <= self.max_error_rate && p99_ms <= self.max_p99_ms && r.flows > 0,
        }
    }
}

/// Runs the search; `measure(rate)` runs one step and reports it.
pub async fn search<F, Fut>(bounds: &Bounds, start_rate: f64, mut measure: F) -> Report
where
    F: FnMut(f64) -> Fut,
    Fut: Future<Output = Report>,
{
    let mut trials = Vec::new();
    let mut best: Option<Report> = None;
    let mut last: Option<Report> = None;
    let mut failed_at: Option<f64> = None;

    let mut rate = start_rate.min(bounds.max_rate);
    loop {
        let (r, pass) = step(bounds, &mut measure, rate, &mut trials).await;
        if !pass {
            failed_at = Some(rate);
            last = Some(r);
            break;
        }
        best = Some(r);
        if rate >= bounds.max_rate {
            break;
        }
        rate = (rate * bounds.factor).min(bounds.max_rate);
    }
    if best.is_none() {
        let mut rate = start_rate;
        for _ in 0..DESCENTS {
            rate /= 2.0;
            let (r, pass) = step(bounds, &mut measure, rate, &mut trials).await;
            if pass {
                best = Some(r);
                break;
            }
            failed_at = Some(rate);
        }
    }
    if let (Some(mut good), Some(mut bad)) = (best.as_ref().map(|r| r.rate), failed_at) {
        for _ in 0..bounds.refine {
            let mid = (good + bad) / 2.0;
            let (r, pass) = step(bounds, &mut measure, mid, &mut trials).await;
            if pass {
                good = mid;
                best = Some(r);
            } else {
                bad = mid;
            }
        }
    }

    let sustainable_rate = best.as_ref().map_or(0.0, |r| r.rate);
    let half_rate = if sustainable_rate > 0.0 {
        if failed_at.is_some() {
            tokio::time::sleep(RECOVERY).await;
        }
        let r = measure(sustainable_rate / 2.0).await;
        Some(HalfRate {
            rate: r.rate,
            flows_per_s: r.flows_per_s,
            errors: r.errors,
            steps: r.steps,
        })
    } else {
        None
    };
    let mut report = best.or(last).unwrap_or_default();
    report.find_max = Some(FindMaxReport {
        max_p99_ms: bounds.max_p99_ms,
        max_error_rate: bounds.max_error_rate,
        p99_step: bounds.p99_step.clone(),
        sustainable_rate,
        trials,
        half_rate,
    });
    report
}

/// One trial at `rate`: measured, judged, logged, followed by a cool-down.
async fn step<F, Fut>(
    bounds: &Bounds,
    measure: &mut F,
    rate: f64,
    trials: &mut Vec<Trial>,
) -> (Report, bool)
where
    F: FnMut(f64) -> Fut,
    Fut: Future<Output = Report>,
{
    let r = measure(rate).await;
    let t = bounds.trial(&r);
    eprintln!(
        "find-max: {:.0}/s → {:.1} flows/s, error rate {:.4}, {} p99 {:.2} ms: {}",
        rate,
        t.flows_per_s,
        t.error_rate,
        bounds.p99_step,
        t.p99_ms,
        if t.pass { "ok" } else { "over the bound" }
    );
    let pass = t.pass;
    trials.push(t);
    tokio::time::sleep(if pass { COOLDOWN } else { RECOVERY }).await;
    (r, pass)
}

impl FindMaxReport {
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "find-max: highest sustainable rate {:.0}/s ({} p99 ≤ {} ms, error rate ≤ {})",
            self.sustainable_rate, self.p99_step, self.max_p99_ms, self.max_error_rate
        );
        for t in &self.trials {
            let _ = writeln!(
                out,
                "  {:>10.0}/s  {:>10.1} flows/s  errors {:>7.4}  p99 {:>9.2} ms  {}",
                t.rate,
                t.flows_per_s,
                t.error_rate,
                t.p99_ms,
                if t.pass { "ok" } else { "over" }
            );
        }
        if let Some(h) = &self.half_rate {
            let _ = writeln!(
                out,
                "at half ({:.0}/s): {:.1} flows/s, {} errors",
                h.rate, h.flows_per_s, h.errors
            );
            for (name, s) in &h.steps {
                let _ = writeln!(
                    out,
                    "  {name:<22} p50 {:>8.3}  p99 {:>8.3}  p99.9 {:>8.3} ms",
                    s.p50_ms, s.p99_ms, s.p999_ms
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(rate: f64, p99: f64) -> Report {
        let mut r = Report {
            rate,
            flows: 10,
            flows_per_s: rate,
            ..Report::default()
        };
        r.steps.insert(
            "start".into(),
            StepStats {
                p99_ms: p99,
                ..StepStats::default()
            },
        );
        r
    }

    fn bounds() -> Bounds {
        Bounds {
            max_p99_ms: 10.0,
            max_error_rate: 0.01,
            p99_step: "start".into(),
            factor: 2.0,
            refine: 2,
            max_rate: 1e9,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn climbs_then_bisects() {
        // p99 crosses 10 ms above 700/s.
        let found = search(&bounds(), 100.0, |rate| async move {
            report(rate, if rate > 700.0 { 50.0 } else { 1.0 })
        })
        .await;
        let f = found.find_max.unwrap();
        let rates: Vec<f64> = f.trials.iter().map(|t| t.rate).collect();
        // 100, 200, 400, 800 (fails), then 600 (ok), 700 (ok).
        assert_eq!(rates, vec![100.0, 200.0, 400.0, 800.0, 600.0, 700.0]);
        assert_eq!(f.sustainable_rate, 700.0);
        assert_eq!(found.rate, 700.0);
        assert_eq!(f.half_rate.unwrap().rate, 350.0);
    }

    #[tokio::test(start_paused = true)]
    async fn descends_when_the_first_rate_fails() {
        let b = Bounds {
            refine: 0,
            ..bounds()
        };
        let found = search(&b, 1000.0, |rate| async move {
            report(rate, if rate > 300.0 { 50.0 } else { 1.0 })
        })
        .await;
        assert_eq!(found.find_max.unwrap().sustainable_rate, 250.0);
    }

    #[test]
    fn the_bounded_step_falls_back_to_flow() {
        let mut r = Report::default();
        r.steps.insert(
            "flow".into(),
            StepStats {
                p99_ms: 3.0,
                ..StepStats::default()
            },
        );
        assert_eq!(bounds().p99_of(&r), 3.0);
    }
}
