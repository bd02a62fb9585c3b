//! A run's result: the JSON shape tools compare (`scenario`, `rate`, `duration_s`, `flows`,
//! `flows_per_s`, `errors`, `errors_by_code`, `steps`, `rss_peak_bytes`, plus extras) and the
//! table printed at the end.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::bomber::BomberReport;
use crate::error::{Error, Result};
use crate::find_max::FindMaxReport;
use crate::hold::HoldReport;
use crate::stats::StepStats;

const MIB: f64 = 1024.0 * 1024.0;

/// The top-level fields every `--json` report has, so runs can be compared by tools.
pub const JSON_FIELDS: [&str; 9] = [
    "scenario",
    "rate",
    "duration_s",
    "flows",
    "flows_per_s",
    "errors",
    "errors_by_code",
    "steps",
    "rss_peak_bytes",
];

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    pub scenario: String,
    /// Arrivals per second offered (with --find-max: the highest sustainable rate).
    pub rate: f64,
    /// Measured time, seconds (warm-up excluded).
    pub duration_s: f64,
    /// Flows that completed every step.
    pub flows: u64,
    pub flows_per_s: f64,
    /// Flows that failed, dropped arrivals included.
    pub errors: u64,
    /// `"step: code"` (`"verify: 404 3003"`, `"dropped"`, `"flow: timeout"`) → count.
    pub errors_by_code: BTreeMap<String, u64>,
    /// Step name → quantiles; `flow` is the whole flow from its intended start.
    pub steps: BTreeMap<String, StepStats>,
    /// Engine peak RSS (embedded: this process's `VmHWM`, harness included).
    pub rss_peak_bytes: Option<u64>,

    /// Arrivals in the measured window.
    #[serde(default)]
    pub offered: u64,
    #[serde(default)]
    pub error_rate: f64,
    #[serde(default)]
    pub warmup_s: f64,
    #[serde(default)]
    pub concurrency: usize,
    /// `embedded` or the target URL.
    #[serde(default)]
    pub engine: String,
    #[serde(default)]
    pub rss_bytes: Option<u64>,
    /// Engine CPU over the measured window (embedded: its threads only).
    #[serde(default)]
    pub engine_cpu_s: Option<f64>,
    #[serde(default)]
    pub engine_cpu_us_per_flow: Option<f64>,
    /// The harness's CPU over the measured window (embedded only).
    #[serde(default)]
    pub harness_cpu_s: Option<f64>,
    /// `flows_per_s` over `bare`'s in the same run.
    #[serde(default)]
    pub bare_ratio: Option<f64>,
    #[serde(default)]
    pub machine: Machine,
    /// What the harness's gateway sinks received during the whole scenario.
    #[serde(default)]
    pub sinks: SinkCounts,
    /// Step names in flow order (the table's order).
    #[serde(default)]
    pub step_order: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub find_max: Option<FindMaxReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<HoldReport>,
    /// `push_bomb`: what the attacker got (the rest of the report is the normal users').
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bomber: Option<BomberReport>,
}

/// Deliveries at the sinks: SMS and pushes the engine sent, and those no flow waited for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkCounts {
    pub sms: u64,
    pub push: u64,
    pub unclaimed: u64,
}

/// Where the numbers were taken.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu: String,
    pub kernel: String,
    pub memory_bytes: u64,
}

impl Machine {
    pub fn this() -> Self {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let cpu = read("/proc/cpuinfo")
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_default();
        let memory_bytes = read("/proc/meminfo")
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |k| k * 1024);
        Self {
            cores: crate::args::cores(),
            cpu,
            kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
            memory_bytes,
        }
    }
}

impl Report {
    /// The table printed at the end of a scenario.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "== {} ({}) — rate {:.0}/s for {:.1}s after {:.1}s warm-up, concurrency {}",
            self.scenario, self.engine, self.rate, self.duration_s, self.warmup_s, self.concurrency
        );
        let _ = writeln!(
            out,
            "flows {} ({:.1}/s)   offered {}   errors {} ({:.3}%)",
            self.flows,
            self.flows_per_s,
            self.offered,
            self.errors,
            self.error_rate * 100.0
        );
        if let Some(r) = self.bare_ratio {
            let _ = writeln!(out, "ratio to bare: {r:.3}");
        }
        let mut resources = Vec::new();
        if let Some(cpu) = self.engine_cpu_s {
            let per = self
                .engine_cpu_us_per_flow
                .map_or(String::new(), |u| format!(" = {u:.0} µs/flow"));
            resources.push(format!("engine CPU {cpu:.2} s{per}"));
        }
        if let Some(cpu) = self.harness_cpu_s {
            resources.push(format!("harness CPU {cpu:.2} s"));
        }
        if let Some(peak) = self.rss_peak_bytes {
            resources.push(format!("RSS peak {:.1} MiB", peak as f64 / MIB));
        }
        if self.sinks != SinkCounts::default() {
            resources.push(format!(
                "sinks: {} SMS, {} pushes ({} unclaimed)",
                self.sinks.sms, self.sinks.push, self.sinks.unclaimed
            ));
        }
        if !resources.is_empty() {
            let _ = writeln!(out, "{}", resources.join("   "));
        }
        let _ = writeln!(
            out,
            "{:<22} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "step (ms)", "count", "p50", "p90", "p99", "p99.9", "max"
        );
        for name in self.ordered_steps() {
            let s = &self.steps[name];
            let _ = writeln!(
                out,
                "{name:<22} {:>9} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
                s.count, s.p50_ms, s.p90_ms, s.p99_ms, s.p999_ms, s.max_ms
            );
        }
        if !self.errors_by_code.is_empty() {
            let _ = writeln!(out, "errors by code:");
            for (code, n) in &self.errors_by_code {
                let _ = writeln!(out, "  {n:>9}  {code}");
            }
        }
        if let Some(f) = &self.find_max {
            out.push_str(&f.table());
        }
        if let Some(h) = &self.hold {
            out.push_str(&h.table());
        }
        if let Some(b) = &self.bomber {
            let _ = writeln!(out, "{}", b.line());
        }
        out
    }

    /// Steps in flow order, then any others.
    fn ordered_steps(&self) -> Vec<&String> {
        let mut names: Vec<&String> = self
            .step_order
            .iter()
            .filter(|n| self.steps.contains_key(*n))
            .collect();
        names.extend(self.steps.keys().filter(|k| !self.step_order.contains(k)));
        names
    }

    pub fn write_json(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Report {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        std::fs::write(path, text + "\n").map_err(|e| Error::Report {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }
}

/// The file of `scenario` for `--json` / `--compare FILE`: FILE itself when the run has one
/// scenario, `FILE-<scenario>.<ext>` beside it when it has several.
pub fn path_for(file: &Path, scenario: &str, several: bool) -> PathBuf {
    if !several {
        return file.to_path_buf();
    }
    let stem = file
        .file_stem()
        .map_or_else(|| "report".into(), |s| s.to_string_lossy().into_owned());
    let ext = file
        .extension()
        .map_or_else(|| "json".into(), |s| s.to_string_lossy().into_owned());
    file.with_file_name(format!("{stem}-{scenario}.{ext}"))
}

/// One line per scenario when a run has several.
pub fn summary(reports: &[Report]) -> String {
    let mut out = String::from("== summary\n");
    let _ = writeln!(
        out,
        "{:<16} {:>10} {:>11} {:>8} {:>12} {:>12} {:>8} {:>14}",
        "scenario",
        "rate/s",
        "flows/s",
        "÷ bare",
        "start p99",
        "flow p99",
        "errors",
        "engine µs/flow"
    );
    for r in reports {
        let p99 = |step: &str| {
            r.steps
                .iter()
                .filter(|(n, _)| *n == step || n.ends_with(&format!(".{step}")))
                .map(|(_, s)| s.p99_ms)
                .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
                .map_or("-".into(), |v| format!("{v:.2} ms"))
        };
        let _ = writeln!(
            out,
            "{:<16} {:>10.0} {:>11.1} {:>8} {:>12} {:>12} {:>8} {:>14}",
            r.scenario,
            r.rate,
            r.flows_per_s,
            r.bare_ratio.map_or("-".into(), |v| format!("{v:.3}")),
            p99(if r.scenario == "bare" {
                "live"
            } else {
                "start"
            }),
            p99("flow"),
            r.errors,
            r.engine_cpu_us_per_flow
                .map_or("-".into(), |v| format!("{v:.0}")),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_scenarios_get_one_file_each() {
        let f = Path::new("/tmp/run.json");
        assert_eq!(path_for(f, "sms", false), PathBuf::from("/tmp/run.json"));
        assert_eq!(path_for(f, "sms", true), PathBuf::from("/tmp/run-sms.json"));
    }

    #[test]
    fn json_has_the_fields_tools_read() {
        let mut r = Report {
            scenario: "sms".into(),
            rate: 100.0,
            duration_s: 10.0,
            flows: 1000,
            flows_per_s: 100.0,
            ..Report::default()
        };
        r.steps.insert(
            "start".into(),
            StepStats {
                count: 1000,
                p50_ms: 0.5,
                ..StepStats::default()
            },
        );
        r.errors_by_code.insert("dropped".into(), 1);
        let v = serde_json::to_value(&r).unwrap();
        for key in JSON_FIELDS {
            assert!(v.get(key).is_some(), "{key}");
        }
        for key in ["count", "p50_ms", "p90_ms", "p99_ms", "p999_ms"] {
            assert!(v["steps"]["start"].get(key).is_some(), "{key}");
        }
        assert!(r.table().contains("start"));
    }
}
