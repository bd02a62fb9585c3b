//! The deployment files (docs/deploy.md): the Prometheus alert rules and their unit tests, the
//! Prometheus config, the docker-compose stack, the Dockerfile and the image's health check
//! (`tessera health`), checked with the tools that read them (promtool, docker-compose). The
//! Grafana dashboard is [`dashboard`]'s; PromQL names against the catalogue are [`promql`]'s.
//!
//! A missing tool fails the test with how to install it (`.ci/run` installs both): the files
//! would otherwise go unchecked.

mod dashboard;
mod promql;
mod rules;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::mpsc;
use std::time::Duration;

use crate::support::Tessera;
use crate::support::binary::{command, run};
use crate::support::conf::{self, gateways, sms_type};

const RULES: &str = "deploy/prometheus/rules/tessera.yml";
const RULE_TESTS: &str = "deploy/prometheus/tests/tessera_test.yml";
const PROMETHEUS: &str = "deploy/prometheus/prometheus.yml";
/// Generous: promtool and docker-compose start in well under a second, but the machine is shared.
const WITHIN: Duration = Duration::from_secs(120);
const HASH_KEY: &str = "deploy-test-hash-key-0123456789abcdef";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn path(relative: &str) -> PathBuf {
    root().join(relative)
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(path(relative)).unwrap_or_else(|e| panic!("read {relative}: {e}"))
}

/// `name` run in the repository root, once `name --version` shows it is installed.
fn tool(name: &str, package: &str) -> Command {
    let installed = Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        installed,
        "`{name}` is not installed: install the Debian package `{package}` \
         (`apt-get install {package}`; `.ci/run` installs it when missing)"
    );
    let mut cmd = Command::new(name);
    cmd.current_dir(root());
    cmd
}

fn promtool() -> Command {
    tool("promtool", "prometheus")
}

fn docker_compose() -> Command {
    let mut cmd = tool("docker-compose", "docker-compose");
    cmd.arg("-f").arg(path("docker-compose.yml"));
    cmd
}

/// Runs `cmd` to completion within [`WITHIN`].
fn output(mut cmd: Command) -> Output {
    let shown = format!("{cmd:?}");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(cmd.output());
    });
    match rx.recv_timeout(WITHIN) {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => panic!("{shown}: {e}"),
        Err(_) => panic!("{shown} did not finish within {WITHIN:?}"),
    }
}

/// Runs `cmd`, asserting success; its stdout and stderr together.
fn succeeds(cmd: Command) -> String {
    let shown = format!("{cmd:?}");
    let out = output(cmd);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{shown} failed:\n{text}");
    text
}

/// The `N` of promtool's `SUCCESS: N rules found` lines, in order.
fn rules_found(report: &str) -> Vec<usize> {
    report
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("SUCCESS: ")?
                .strip_suffix(" rules found")
        })
        .map(|n| n.parse().expect("a count"))
        .collect()
}

#[test]
fn promtool_accepts_the_alert_rules_and_every_rule_is_read_here() {
    let mut cmd = promtool();
    cmd.args(["check", "rules", RULES]);
    let report = succeeds(cmd);
    let (alerts, records) = rules::alert_rules(&read(RULES));
    assert_eq!(
        rules_found(&report),
        [alerts.len() + records],
        "promtool counts other rules than the ones read here:\n{report}"
    );
}

#[test]
fn the_alert_rule_unit_tests_pass() {
    let mut cmd = promtool();
    cmd.args(["test", "rules", RULE_TESTS]);
    let report = succeeds(cmd);
    assert!(report.contains("SUCCESS"), "{report}");
}

/// What the brief and the runbook promise of every alert: a `for:`, a severity, a summary, a
/// description and a runbook link to its own section of docs/deploy.md; a unit test where it
/// fires and one where healthy series keep it silent.
#[test]
fn every_alert_is_documented_and_tested_both_ways() {
    let (alerts, _) = rules::alert_rules(&read(RULES));
    let names: Vec<&str> = alerts.iter().map(|a| a.name.as_str()).collect();
    for required in [
        "TesseraNodeDown",
        "TesseraStoreUnavailable",
        "TesseraPortalErrorRatioHigh",
        "TesseraStartLatencyHigh",
        "TesseraSmsDeliveryFailureRatioHigh",
        "TesseraPushDeliveryFailureRatioHigh",
        "TesseraDeadLettersGrowing",
        "TesseraCallbackFailureRatioHigh",
        "TesseraMailboxRejections",
    ] {
        assert!(names.contains(&required), "no alert {required}: {names:?}");
    }
    let cases = rules::cases(&read(RULE_TESTS));
    let docs = read("docs/deploy.md");
    let headings: BTreeSet<&str> = docs
        .lines()
        .filter_map(|l| l.strip_prefix("### "))
        .collect();
    for alert in &alerts {
        let name = &alert.name;
        assert!(alert.value("for").is_some(), "{name}: no `for:`");
        let severity = alert.value("severity").unwrap_or_default();
        assert!(
            ["critical", "warning", "info"].contains(&severity.as_str()),
            "{name}: severity `{severity}`"
        );
        for key in ["summary", "description"] {
            assert!(alert.value(key).is_some(), "{name}: no {key}");
        }
        let runbook = alert.value("runbook_url").unwrap_or_default();
        assert!(
            runbook.ends_with(&format!("docs/deploy.md#{}", name.to_lowercase())),
            "{name}: runbook_url `{runbook}`"
        );
        assert!(
            headings.contains(name.as_str()),
            "docs/deploy.md has no `### {name}` section"
        );
        for fires in [true, false] {
            assert!(
                cases.iter().any(|c| c.alert == *name && c.fires == fires),
                "{name}: no unit test where it {}",
                if fires { "fires" } else { "stays silent" }
            );
        }
    }
    // And no test for an alert that does not exist (a renamed rule would leave one behind).
    for case in &cases {
        assert!(
            names.contains(&case.alert.as_str()),
            "unit test for unknown alert {}",
            case.alert
        );
    }
}

#[test]
fn the_alert_rules_use_catalogue_metrics_and_labels() {
    let (alerts, _) = rules::alert_rules(&read(RULES));
    let mut problems = Vec::new();
    for alert in &alerts {
        for p in promql::problems(&alert.expr) {
            problems.push(format!("{}: {p}", alert.name));
        }
        // Every node is scraped as job `tessera`: a rule that forgets the job would also match
        // any other job's series of the same name.
        for s in promql::selectors(&alert.expr).unwrap_or_default() {
            let job = s.matcher("job").map(|m| (m.op.as_str(), m.value.as_str()));
            if job != Some(("=", "tessera")) {
                problems.push(format!(
                    "{}: `{}` without job=\"tessera\"",
                    alert.name, s.metric
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn promtool_accepts_the_prometheus_config_and_finds_the_rules() {
    let mut cmd = promtool();
    cmd.args(["check", "config", PROMETHEUS]);
    let report = succeeds(cmd);
    let (alerts, records) = rules::alert_rules(&read(RULES));
    assert_eq!(
        rules_found(&report),
        [alerts.len() + records],
        "prometheus.yml does not load exactly the rules file:\n{report}"
    );
    let config = read(PROMETHEUS);
    for target in ["job_name: tessera", "tessera-1:8080", "tessera-2:8080"] {
        assert!(config.contains(target), "prometheus.yml lacks `{target}`");
    }
}

#[test]
fn docker_compose_accepts_the_stack_with_a_hash_key_and_refuses_it_without() {
    let mut cmd = docker_compose();
    cmd.args(["config", "-q"])
        .env("TESSERA_STORE_HASH_KEY", HASH_KEY);
    succeeds(cmd);

    // Resolved, both nodes run on Redis with the key given.
    let mut cmd = docker_compose();
    cmd.arg("config").env("TESSERA_STORE_HASH_KEY", HASH_KEY);
    let resolved = succeeds(cmd);
    for node in ["tessera-1", "tessera-2"] {
        let block = service_block(&resolved, node);
        for line in [
            "TESSERA_STORE_KIND: redis".to_owned(),
            format!("TESSERA_STORE_HASH_KEY: {HASH_KEY}"),
            "TESSERA_SERVER_LISTEN: 0.0.0.0:8080".to_owned(),
        ] {
            assert!(block.contains(&line), "{node} lacks `{line}`:\n{block}");
        }
    }

    let mut cmd = docker_compose();
    cmd.args(["config", "-q"])
        .env_remove("TESSERA_STORE_HASH_KEY");
    let out = output(cmd);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "accepted without a hash key");
    assert!(stderr.contains("set TESSERA_STORE_HASH_KEY"), "{stderr}");
}

/// The lines of service `name` in `docker-compose config`'s output (two-space indented
/// services, their keys deeper).
fn service_block(resolved: &str, name: &str) -> String {
    let header = format!("  {name}:");
    let mut lines = resolved.lines().skip_while(|l| *l != header);
    let Some(first) = lines.next() else {
        panic!("no service {name} in:\n{resolved}");
    };
    let body: Vec<&str> = lines.take_while(|l| l.starts_with("    ")).collect();
    format!("{first}\n{}", body.join("\n"))
}

#[test]
fn the_dockerfile_builds_with_the_workspace_rust_version_and_runs_unprivileged() {
    let manifest = read("Cargo.toml");
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .map(|v| v.trim_matches('"'))
        .expect("rust-version in Cargo.toml");
    let dockerfile = read("Dockerfile");
    let rust_images: Vec<&str> = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("FROM rust:"))
        .collect();
    assert!(!rust_images.is_empty(), "no `FROM rust:` build stage");
    for image in rust_images {
        let tag = image.split_whitespace().next().unwrap_or_default();
        assert_eq!(
            tag.split('-').next(),
            Some(version),
            "`FROM rust:{tag}` is not the workspace's rust-version {version}"
        );
    }
    let user = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert!(!["root", "0", "0:0"].contains(&user.trim()), "USER {user}");
    assert!(dockerfile.lines().any(|l| l == "EXPOSE 8080"));
    let healthcheck = dockerfile
        .lines()
        .skip_while(|l| !l.starts_with("HEALTHCHECK"))
        .take(2)
        .collect::<String>();
    assert!(
        healthcheck.contains(r#"CMD ["tessera", "health""#) && healthcheck.contains("/health/live"),
        "{healthcheck}"
    );
    let ignored = read(".dockerignore");
    for entry in ["target/", ".git/"] {
        assert!(
            ignored.lines().any(|l| l == entry),
            ".dockerignore lacks {entry}"
        );
    }
}

#[tokio::test]
async fn tessera_health_is_0_for_a_serving_node_and_1_for_a_gone_one() {
    let t = Tessera::start(&conf::with(&format!(
        "{}{}",
        gateways(&["console"]),
        sms_type("sms")
    )))
    .await;
    let url = t.url("/health/live");
    let health = |url: &str| {
        let mut cmd = command();
        cmd.args(["health", "--url", url, "--timeout", "5s"]);
        run(cmd, WITHIN)
    };
    let out = health(&url);
    assert_eq!(out.code(), Some(0), "{}\n{}", out.stderr, t.logs());
    assert_eq!(out.stdout.trim(), format!("{url}: HTTP 200"));

    // An answer that is not 2xx is unhealthy too.
    let missing = t.url("/health/nowhere");
    let out = health(&missing);
    assert_eq!(out.code(), Some(1), "{}", out.stdout);
    assert!(out.stderr.contains("HTTP 404"), "{}", out.stderr);

    drop(t); // killed and waited for: nothing listens there any more
    let out = health(&url);
    assert_eq!(out.code(), Some(1), "{}", out.stdout);
    assert!(out.stderr.contains("no answer"), "{}", out.stderr);
}
