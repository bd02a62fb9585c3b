//! `--compare FILE`: this run against an earlier `--json` report. The earlier file is read as
//! plain JSON, so reports written by older harness versions (fewer fields) still compare.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::report::Report;

/// Reads `path` and describes the change from it to `now`.
pub fn against_file(path: &Path, now: &Report) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Report {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let before: Value = serde_json::from_str(&text).map_err(|e| Error::Report {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    Ok(compare(&before, now, &path.display().to_string()))
}

/// The change from `before` to `now`, one line per number.
pub fn compare(before: &Value, now: &Report, label: &str) -> String {
    let mut out = String::new();
    let scenario = before["scenario"].as_str().unwrap_or("?");
    let _ = writeln!(
        out,
        "== {} compared with {label} ({scenario})",
        now.scenario
    );
    if scenario != now.scenario {
        let _ = writeln!(out, "   (different scenarios: read with care)");
    }
    let now_json = serde_json::to_value(now).unwrap_or(Value::Null);
    for (name, key, higher_is_better) in [
        ("rate", "rate", true),
        ("flows/s", "flows_per_s", true),
        ("errors", "errors", false),
        ("error rate", "error_rate", false),
        ("engine µs/flow", "engine_cpu_us_per_flow", false),
        ("RSS peak bytes", "rss_peak_bytes", false),
        ("ratio to bare", "bare_ratio", true),
    ] {
        line(
            &mut out,
            name,
            before[key].as_f64(),
            now_json[key].as_f64(),
            higher_is_better,
        );
    }
    for (step, s) in &now.steps {
        let old = &before["steps"][step];
        for (q, key, value) in [
            ("p50", "p50_ms", s.p50_ms),
            ("p99", "p99_ms", s.p99_ms),
            ("p99.9", "p999_ms", s.p999_ms),
        ] {
            line(
                &mut out,
                &format!("{step} {q} ms"),
                old[key].as_f64(),
                Some(value),
                false,
            );
        }
    }
    out
}

fn line(out: &mut String, name: &str, before: Option<f64>, now: Option<f64>, up_good: bool) {
    let (Some(b), Some(n)) = (before, now) else {
        if let Some(n) = now {
            let _ = writeln!(out, "  {name:<24} {:>12} → {n:>12.3}   (new)", "-");
        }
        return;
    };
    let change = if b == 0.0 {
        if n == 0.0 { 0.0 } else { f64::INFINITY }
    } else {
        (n - b) / b * 100.0
    };
    let verdict = match (change.abs() < 2.0, (change > 0.0) == up_good) {
        (true, _) => "",
        (false, true) => "better",
        (false, false) => "worse",
    };
    let _ = writeln!(
        out,
        "  {name:<24} {b:>12.3} → {n:>12.3}   {change:>+8.1}%  {verdict}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::StepStats;

    #[test]
    fn reports_changes_and_direction() {
        let before = serde_json::json!({
            "scenario": "sms", "rate": 1000.0, "flows_per_s": 1000.0, "errors": 0,
            "steps": {"start": {"count": 10, "p50_ms": 1.0, "p90_ms": 1.0, "p99_ms": 2.0, "p999_ms": 3.0}}
        });
        let mut now = Report {
            scenario: "sms".into(),
            rate: 1000.0,
            flows_per_s: 1100.0,
            ..Report::default()
        };
        now.steps.insert(
            "start".into(),
            StepStats {
                count: 10,
                p50_ms: 1.0,
                p99_ms: 4.0,
                p999_ms: 3.0,
                ..StepStats::default()
            },
        );
        let text = compare(&before, &now, "old.json");
        let flows = text.lines().find(|l| l.contains("flows/s")).unwrap();
        assert!(
            flows.contains("+10.0%") && flows.ends_with("better"),
            "{flows}"
        );
        let p99 = text.lines().find(|l| l.contains("start p99 ")).unwrap();
        assert!(p99.contains("+100.0%") && p99.ends_with("worse"), "{p99}");
        let p50 = text.lines().find(|l| l.contains("start p50")).unwrap();
        assert!(!p50.contains("better") && !p50.contains("worse"), "{p50}");
    }
}
