//! A real Prometheus for the tests: `prometheus` started on a free loopback port with a generated
//! config scraping one target every second (job `tessera`) and loading the given rule files, its
//! TSDB in a temp dir, killed on drop; and its HTTP API (`/api/v1/query`, `query_range`,
//! `rules`) as the tests call it.
//!
//! The tools come from the Debian package `prometheus` (`.ci/run` installs it); a test that
//! needs one and does not find it fails saying so, it never skips.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::binary::TempDir;

/// How long Prometheus may take to start and scrape its first samples on a loaded machine.
const START_WITHIN: Duration = Duration::from_secs(30);

/// A child process killed (and reaped) on drop, also when the test panics.
pub struct ChildGuard(pub Child);

impl ChildGuard {
    /// Spawns `cmd`, panicking with `what` if it cannot be started.
    pub fn spawn(mut cmd: Command, what: &str) -> Self {
        Self(
            cmd.spawn()
                .unwrap_or_else(|e| panic!("cannot start {what}: {e}")),
        )
    }

    /// The exit status once it has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.0.try_wait().ok().flatten()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Panics unless `tool` (`prometheus`, `promtool`) runs: the tests need the real thing.
pub fn require(tool: &str) {
    let runs = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        runs,
        "`{tool}` is not installed: install the Debian package `prometheus` \
         (`apt-get install prometheus`, which has both `prometheus` and `promtool`; `.ci/run` \
         installs it)"
    );
}

/// Seconds since the epoch, as Prometheus's API takes times.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The config: scrape `target` every second as job `tessera`, evaluate rules every second.
fn config(target: SocketAddr, rule_files: &[PathBuf]) -> String {
    let rules: String = rule_files
        .iter()
        .map(|p| format!("  - {:?}\n", p.display().to_string()))
        .collect();
    format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
         rule_files:\n{rules}\
         scrape_configs:\n  - job_name: tessera\n    static_configs:\n      - targets: [\"{target}\"]\n"
    )
}

/// A running `prometheus`, killed on drop.
pub struct Prometheus {
    child: ChildGuard,
    pub base: String,
    http: reqwest::Client,
    dir: TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `target` with `rule_files`, and waits until it answers.
    pub async fn start(target: SocketAddr, rule_files: &[PathBuf]) -> Self {
        require("prometheus");
        let dir = TempDir::new();
        let config_file = dir.write("prometheus.yml", &config(target, rule_files));
        let listen = format!("127.0.0.1:{}", tessera_testkit::free_port());
        let log = |name: &str| File::create(dir.path().join(name)).expect("a log file");
        let mut cmd = Command::new("prometheus");
        cmd.arg(format!("--config.file={}", config_file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={listen}"))
            .stdin(Stdio::null())
            .stdout(log("stdout.log"))
            .stderr(log("stderr.log"));
        let child = ChildGuard::spawn(cmd, "prometheus");
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("reqwest client");
        let mut prometheus = Self {
            child,
            base: format!("http://{listen}"),
            http,
            dir,
        };
        prometheus.wait_ready().await;
        prometheus
    }

    async fn wait_ready(&mut self) {
        let deadline = tokio::time::Instant::now() + START_WITHIN;
        loop {
            let ready = self.http.get(format!("{}/-/ready", self.base)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            if let Some(status) = self.child.exited() {
                panic!("prometheus exited with {status}\n{}", self.logs());
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "prometheus not ready after {START_WITHIN:?}\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Its log's errors (a rule that does not parse is one, each named), else its last lines,
    /// for a failed assertion. Prometheus logs to stderr.
    pub fn logs(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let errors: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.contains("level=error"))
            .collect();
        let shown = if errors.is_empty() {
            &lines[lines.len().saturating_sub(20)..]
        } else {
            &errors[..]
        };
        format!("--- prometheus log ---\n{}", shown.join("\n"))
    }

    /// `POST /api/v1/<endpoint>` with `form`: the `data` of a success, else Prometheus's
    /// `errorType: error`.
    async fn api(&self, endpoint: &str, form: &[(&str, String)]) -> Result<Value, String> {
        let resp = self
            .http
            .post(format!("{}/api/v1/{endpoint}", self.base))
            .form(form)
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = resp.status();
        let body: Value = resp
            .json()
            .await
            .map_err(|e| format!("{status}, not JSON: {e}"))?;
        if body["status"] == "success" {
            Ok(body["data"].clone())
        } else {
            Err(format!(
                "{status} {}: {}",
                body["errorType"].as_str().unwrap_or("?"),
                body["error"].as_str().unwrap_or("?")
            ))
        }
    }

    /// An instant query at the current time.
    pub async fn query(&self, expr: &str) -> Result<Value, String> {
        self.api("query", &[("query", expr.to_owned())]).await
    }

    /// A range query over the last `range`, one point per `step`.
    pub async fn query_range(
        &self,
        expr: &str,
        range: Duration,
        step: Duration,
    ) -> Result<Value, String> {
        let end = unix_now();
        let form = [
            ("query", expr.to_owned()),
            ("start", format!("{:.3}", end - range.as_secs_f64())),
            ("end", format!("{end:.3}")),
            ("step", format!("{}s", step.as_secs_f64())),
        ];
        self.api("query_range", &form).await
    }

    /// The single number an instant `expr` gives (the first sample), if any.
    pub async fn scalar(&self, expr: &str) -> Option<f64> {
        let data = self.query(expr).await.ok()?;
        let sample = match data["resultType"].as_str()? {
            "scalar" => data["result"].clone(),
            _ => data["result"].get(0)?["value"].clone(),
        };
        sample.get(1)?.as_str()?.parse().ok()
    }

    /// `GET /api/v1/rules`: the loaded rule groups.
    pub async fn rule_groups(&self) -> Vec<Value> {
        let resp = self
            .http
            .get(format!("{}/api/v1/rules", self.base))
            .send()
            .await
            .expect("GET /api/v1/rules");
        let body: Value = resp.json().await.expect("rules as JSON");
        assert_eq!(body["status"], "success", "/api/v1/rules: {body}");
        body["data"]["groups"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// The rule files (`*.yml`) in `dir`, sorted.
pub fn rule_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    files.sort();
    files
}
