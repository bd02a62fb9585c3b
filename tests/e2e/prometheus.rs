//! Tessera as Prometheus sees it, with the real tools: the `/metrics` page of an engine under
//! `tessera loadtest --target` mixed load passes `promtool check metrics` and carries the core
//! series; and a real `prometheus` scraping that engine every second runs every expression of
//! the Grafana dashboard (`deploy/grafana/dashboards/tessera.json`, each must return data) and
//! of the rule files (`deploy/prometheus/rules/*.yml`, each must parse; the groups load and
//! evaluate healthy).
//!
//! Needs `prometheus` and `promtool` (Debian package `prometheus`; `.ci/run` installs it): a
//! missing tool fails the test with that advice. Every process a test starts is killed on drop.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::exprs::{self, RuleFile};
use crate::support::loaded::{Load, Loaded};
use crate::support::prometheus::{Prometheus, require, rule_files};
use crate::support::store;

/// The load: the `mixed` scenario (every method) at a rate a loaded 2-core machine sustains.
const RATE: u32 = 30;
/// How long a load run and the harness's device enrollment may take, at most.
const LOAD_WITHIN: Duration = Duration::from_secs(60);
/// How long Prometheus may take to gather the scrapes the queries need.
const SCRAPES_WITHIN: Duration = Duration::from_secs(30);
/// The window of the dashboard's range queries, and their step.
const RANGE: Duration = Duration::from_secs(60);
const STEP: Duration = Duration::from_secs(2);
/// The load harness's types, one per method (`tessera loadtest --print-config`).
const TYPES: [&str; 4] = ["sms", "push", "push_with_pin", "otp"];

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Runs `promtool check metrics` on `page`: its exit status and everything it printed.
fn promtool_check(page: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    let mut stdin = child.stdin.take().expect("promtool's stdin");
    let page = page.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(page.as_bytes()));
    let out = child.wait_with_output().expect("promtool's output");
    writer
        .join()
        .expect("the writer thread")
        .expect("write the page to promtool");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), printed)
}

/// The sample lines of metric `name` on a Prometheus text page.
fn samples<'a>(page: &'a str, name: &str) -> Vec<&'a str> {
    page.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(['{', ' ']))
        })
        .collect()
}

/// Whether some sample line of `name` carries every one of `labels` (`key="value"`).
fn has_sample(page: &str, name: &str, labels: &[&str]) -> bool {
    samples(page, name)
        .iter()
        .any(|l| labels.iter().all(|label| l.contains(label)))
}

#[tokio::test]
async fn the_live_metrics_page_passes_promtool() {
    require("promtool");
    let engine = Loaded::start().await;
    let report = engine
        .load(RATE, Duration::from_secs(5))
        .finish(LOAD_WITHIN)
        .await;
    assert!(
        report.flows > 0,
        "no flow completed: {:?}",
        report.errors_by_code
    );

    let t = &engine.tessera;
    let resp = t
        .http
        .get(t.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.expect("the metrics page");

    let (passed, printed) = promtool_check(&page);
    assert!(
        passed && printed.trim().is_empty(),
        "promtool check metrics (exit ok: {passed}) found problems:\n{printed}"
    );

    let mut missing = Vec::new();
    let mut expect = |name: &str, labels: &[&str]| {
        if !has_sample(&page, name, labels) {
            missing.push(format!("{name} {labels:?}"));
        }
    };
    for ty in TYPES {
        let (ty, method) = (format!("type=\"{ty}\""), format!("method=\"{ty}\""));
        expect("tessera_transactions_started_total", &[&ty, &method]);
        expect(
            "tessera_transactions_finished_total",
            &[&ty, &method, "outcome=\"accepted\""],
        );
    }
    for surface in ["portal", "device"] {
        expect(
            "tessera_http_requests_total",
            &[
                &format!("surface=\"{surface}\""),
                "route=\"",
                "status=\"200\"",
            ],
        );
    }
    let store = match store::kind() {
        store::Kind::Memory => "store=\"memory\"",
        store::Kind::Redis => "store=\"redis\"",
    };
    let version = format!("version=\"{}\"", env!("CARGO_PKG_VERSION"));
    expect("tessera_build_info", &[&version, store]);
    assert!(
        missing.is_empty(),
        "series missing from /metrics:\n{}\n--- page ---\n{page}",
        missing.join("\n")
    );
    let build_info = samples(&page, "tessera_build_info");
    assert!(
        build_info.iter().all(|l| l.ends_with(" 1")),
        "build info is always 1: {build_info:?}"
    );
}

/// Waits until the instant `expr` is at least `min`, failing early if the load run fails.
async fn wait_until(prom: &Prometheus, load: &mut Load, expr: &str, min: f64) {
    let deadline = tokio::time::Instant::now() + SCRAPES_WITHIN;
    loop {
        if prom.scalar(expr).await.is_some_and(|v| v >= min) {
            return;
        }
        load.assert_alive();
        assert!(
            tokio::time::Instant::now() < deadline,
            "`{expr}` stayed below {min} for {SCRAPES_WITHIN:?}\n{}",
            prom.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether a query's `data` holds no series (a scalar or string result always holds one).
fn no_data(data: &Value) -> bool {
    data["result"].as_array().is_none_or(|r| r.is_empty())
}

/// Every dashboard panel's expression, instant and over a range: each must run and return
/// data. The failures, one line each.
async fn check_dashboard(prom: &Prometheus, dashboard: &Value) -> Vec<String> {
    let mut failures = Vec::new();
    for p in exprs::dashboard(dashboard) {
        let at = format!("dashboard panel `{}`: `{}`", p.panel, p.expr);
        let expr = match exprs::substitute(&p.expr) {
            Ok(expr) => expr,
            Err(e) => {
                failures.push(format!("{at}: {e}"));
                continue;
            }
        };
        let instant = prom.query(&expr).await;
        let range = prom.query_range(&expr, RANGE, STEP).await;
        for (kind, result) in [("query", instant), ("query_range", range)] {
            match result {
                Err(e) => failures.push(format!("{at}: {kind}: {e}")),
                Ok(data) if no_data(&data) => failures.push(format!("{at}: {kind}: no data")),
                Ok(_) => {}
            }
        }
    }
    failures
}

/// Every rule expression must parse and run (alerts need not fire).
async fn check_rule_exprs(prom: &Prometheus, files: &[(PathBuf, RuleFile)]) -> Vec<String> {
    let mut failures = Vec::new();
    for (path, file) in files {
        for expr in &file.exprs {
            if let Err(e) = prom.query(expr).await {
                failures.push(format!("rule in {}: `{expr}`: {e}", path.display()));
            }
        }
    }
    failures
}

/// Prometheus loaded the groups the files name, with as many rules, and evaluates every rule
/// healthy.
async fn check_rules_loaded(prom: &Prometheus, files: &[(PathBuf, RuleFile)]) {
    let mut named: Vec<String> = files.iter().flat_map(|(_, f)| f.groups.clone()).collect();
    named.sort();
    let rules: usize = files.iter().map(|(_, f)| f.rules).sum();
    let exprs: usize = files.iter().map(|(_, f)| f.exprs.len()).sum();
    assert_eq!(rules, exprs, "every rule in the files has one expr");

    let groups = prom.rule_groups().await;
    let mut loaded: Vec<String> = groups
        .iter()
        .filter_map(|g| g["name"].as_str().map(str::to_owned))
        .collect();
    loaded.sort();
    assert_eq!(
        loaded,
        named,
        "the groups Prometheus loaded\n{}",
        prom.logs()
    );
    let count = |groups: &[Value]| -> usize {
        groups
            .iter()
            .map(|g| g["rules"].as_array().map_or(0, Vec::len))
            .sum()
    };
    assert_eq!(count(&groups), rules, "the rules Prometheus loaded");

    // A group runs once per its interval: wait for every rule's first evaluation.
    let longest = groups
        .iter()
        .filter_map(|g| g["interval"].as_f64())
        .fold(1.0, f64::max);
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(longest + 15.0);
    let evaluated = |r: &Value| {
        r["lastEvaluation"]
            .as_str()
            .is_some_and(|t| !t.starts_with("0001"))
    };
    let groups = loop {
        let groups = prom.rule_groups().await;
        let rules: Vec<&Value> = groups
            .iter()
            .flat_map(|g| g["rules"].as_array().into_iter().flatten())
            .collect();
        if rules.iter().all(|r| evaluated(r)) {
            break groups;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "rules not evaluated within {longest} s + 15 s: {groups:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let unhealthy: Vec<String> = groups
        .iter()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .filter(|r| r["health"] != "ok")
        .map(|r| {
            format!(
                "{} `{}`: {} {}",
                r["name"], r["query"], r["health"], r["lastError"]
            )
        })
        .collect();
    assert!(
        unhealthy.is_empty(),
        "unhealthy rules:\n{}",
        unhealthy.join("\n")
    );
}

#[tokio::test]
async fn every_dashboard_and_rule_expression_runs_in_a_real_prometheus() {
    require("prometheus");
    let dashboard_file = repo("deploy/grafana/dashboards/tessera.json");
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(&dashboard_file)
            .unwrap_or_else(|e| panic!("{}: {e}", dashboard_file.display())),
    )
    .expect("the dashboard is JSON");
    assert!(
        !exprs::dashboard(&dashboard).is_empty(),
        "no panel expressions"
    );
    let paths = rule_files(&repo("deploy/prometheus/rules"));
    assert!(
        !paths.is_empty(),
        "no rule files in deploy/prometheus/rules"
    );
    let files: Vec<(PathBuf, RuleFile)> = paths
        .iter()
        .map(|p| {
            let yaml =
                std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.clone(), exprs::rule_file(&yaml))
        })
        .collect();

    let engine = Loaded::start().await;
    let mut load = engine.load(RATE, Duration::from_secs(25));
    let prom = Prometheus::start(engine.tessera.addr, &paths).await;
    // Scrapes while the load runs: five good ones, and a finished series of every type seen
    // in three of them, so every rate() over the window has points.
    wait_until(
        &prom,
        &mut load,
        r#"sum_over_time(up{job="tessera"}[1m])"#,
        5.0,
    )
    .await;
    let finished = "count(count_over_time(tessera_transactions_finished_total[1m]) >= 3)";
    wait_until(&prom, &mut load, finished, TYPES.len() as f64).await;

    let mut failures = check_dashboard(&prom, &dashboard).await;
    failures.extend(check_rule_exprs(&prom, &files).await);
    let total = exprs::dashboard(&dashboard).len()
        + files.iter().map(|(_, f)| f.exprs.len()).sum::<usize>();
    assert!(
        failures.is_empty(),
        "{} failure(s) among {total} expressions:\n{}",
        failures.len(),
        failures.join("\n")
    );
    check_rules_loaded(&prom, &files).await;
}
