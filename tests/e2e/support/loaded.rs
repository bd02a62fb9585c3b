//! A `tessera serve` under load from `tessera loadtest --target`, as an operator would run the
//! two: the engine on the config `tessera loadtest --print-config` prints (every scenario's type,
//! its SMS and FCM sinks on a free port), on the suite's store ([`super::store`]), and the
//! harness as a second process driving it over HTTP, killed on drop.

use std::fs::File;
use std::process::Stdio;
use std::time::Duration;

use tessera_loadtest::Report;

use super::binary::{self, TempDir, Tessera};
use super::prometheus::ChildGuard;
use tessera_testkit::free_port;

/// The engine with what the harness needs to drive it.
pub struct Loaded {
    pub tessera: Tessera,
    client_secret: String,
    /// Where the harness's sinks listen (the engine's config points there).
    sinks: String,
}

impl Loaded {
    /// Starts `tessera serve` on the harness's config.
    pub async fn start() -> Self {
        let sinks = format!("127.0.0.1:{}", free_port());
        let out = binary::command()
            // `--context`: the secure message's context on (the `mmdb` provider on the GeoLite2
            // test database), so the geolocation series have data like every other.
            .args([
                "loadtest",
                "--print-config",
                "--context",
                "--sink-listen",
                &sinks,
            ])
            .output()
            .expect("run tessera loadtest --print-config");
        assert!(
            out.status.success(),
            "--print-config: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed = String::from_utf8_lossy(&out.stdout).into_owned();
        let client_secret = printed
            .lines()
            .find_map(|l| l.strip_prefix("secret = \""))
            .and_then(|s| s.strip_suffix('"'))
            .expect("the load client's secret in the printed config")
            .to_owned();
        // A free port, and no store kind of its own: the suite's store applies.
        let config: String = printed
            .lines()
            .filter(|l| l.trim() != "kind = \"memory\"")
            .map(|l| match l.strip_prefix("listen = ") {
                Some(_) => "listen = \"127.0.0.1:0\"\n".to_owned(),
                None => format!("{l}\n"),
            })
            .collect();
        Self {
            tessera: Tessera::start(&config).await,
            client_secret,
            sinks,
        }
    }

    /// Starts `tessera loadtest --target` with the `mixed` scenario at `rate` flows/s for
    /// `duration`, in the background; push starts carry the requester context (`--context`).
    pub fn load(&self, rate: u32, duration: Duration) -> Load {
        let dir = TempDir::new();
        let json = dir.path().join("report.json");
        let log = File::create(dir.path().join("loadtest.log")).expect("a log file");
        let mut cmd = binary::command();
        cmd.arg("loadtest")
            .args(["--target", &self.tessera.base])
            .args(["--client-secret", &self.client_secret])
            .args(["--sink-listen", &self.sinks])
            .args([
                "--scenario",
                "mixed",
                "--context",
                "--rate",
                &rate.to_string(),
            ])
            .arg("--duration")
            .arg(format!("{}ms", duration.as_millis()))
            .args(["--warmup", "0s", "--devices", "8", "--quiet", "--json"])
            .arg(&json)
            .stdout(Stdio::null())
            .stderr(log);
        Load {
            child: ChildGuard::spawn(cmd, "tessera loadtest"),
            dir,
        }
    }
}

/// A running `tessera loadtest`, killed on drop.
pub struct Load {
    child: ChildGuard,
    dir: TempDir,
}

impl Load {
    /// Waits for the run to end (within `within`) and reads its report.
    pub async fn finish(mut self, within: Duration) -> Report {
        let deadline = tokio::time::Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.exited() {
                break status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "tessera loadtest still running after {within:?}\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(
            status.success(),
            "tessera loadtest: {status}\n{}",
            self.log()
        );
        let json = std::fs::read_to_string(self.dir.path().join("report.json"))
            .unwrap_or_else(|e| panic!("the load report: {e}\n{}", self.log()));
        serde_json::from_str(&json).expect("the load report as JSON")
    }

    /// Panics with the harness's log if it has failed (it may have ended successfully).
    pub fn assert_alive(&mut self) {
        if let Some(status) = self.child.exited().filter(|s| !s.success()) {
            panic!("tessera loadtest: {status}\n{}", self.log());
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("loadtest.log")).unwrap_or_default()
    }
}
