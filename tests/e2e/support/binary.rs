//! Starting and stopping the real binary.
//!
//! Each [`Tessera`] owns one `tessera serve` process with its own config file in its own temp
//! directory. Its stdout and stderr are drained by background threads into line buffers for the
//! whole life of the process, so the pipes never fill, the listening address can be parsed, and
//! the console SMS gateway's lines can be read by tests. Every process is started on the store
//! the suite runs on ([`store`]).

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{DEADLINE, store};

pub const BIN: &str = env!("CARGO_BIN_EXE_tessera");

const LISTENING: &str = "tessera listening on http://";

/// Lines read so far from one of the child's pipes.
#[derive(Default)]
pub struct Lines {
    lines: Mutex<Vec<String>>,
}

impl Lines {
    fn drain(self: &Arc<Self>, pipe: impl Read + Send + 'static) -> JoinHandle<()> {
        let this = Arc::clone(self);
        std::thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut buf = Vec::new();
            // read_until rather than lines(): a non-UTF-8 byte must not stop the draining.
            while reader.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
                let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                this.lines.lock().unwrap().push(line);
                buf.clear();
            }
        })
    }

    pub fn snapshot(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    pub fn text(&self) -> String {
        self.snapshot().join("\n")
    }
}

/// A private directory under Cargo's temp dir for tests, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("tessera-e2e-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("create temp dir");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `name` in this directory and returns its path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write temp file");
        path
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `tessera serve`. Killed on drop.
pub struct Tessera {
    child: Child,
    pub addr: SocketAddr,
    pub base: String,
    pub stdout: Arc<Lines>,
    pub stderr: Arc<Lines>,
    pub http: reqwest::Client,
    /// The Redis key prefix of this process on the suite's Redis ([`store`]), if it runs there.
    pub store_prefix: Option<String>,
    _dir: TempDir,
}

/// A `tessera` command with a quiet log and no configuration leaking in from the environment.
pub fn command() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("TESSERA_LOG", "warn").env_remove("TESSERA_CONFIG");
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if (key.starts_with("TESSERA_") && key != "TESSERA_LOG") || key.starts_with("TOKEN_SERVER_")
        {
            cmd.env_remove(key);
        }
    }
    cmd.stdin(Stdio::null());
    cmd
}

impl Tessera {
    /// Starts `tessera serve --config <file with toml>` and waits for its listening line.
    pub async fn start(toml: &str) -> Self {
        let dir = TempDir::new();
        let path = dir.write("tessera.toml", toml);
        let mut cmd = command();
        cmd.arg("serve").arg("--config").arg(&path);
        Self::spawn(cmd, dir).await
    }

    /// Starts a prepared command (`serve ...`) whose files live in `dir`, on the suite's store
    /// ([`store::apply`]).
    pub async fn spawn(mut cmd: Command, dir: TempDir) -> Self {
        let store_prefix = store::apply(&mut cmd);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn the tessera binary");
        let stdout = Arc::new(Lines::default());
        let stderr = Arc::new(Lines::default());
        let mut readers = vec![
            stdout.drain(child.stdout.take().expect("piped stdout")),
            stderr.drain(child.stderr.take().expect("piped stderr")),
        ];

        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let addr = loop {
            let found = stdout
                .snapshot()
                .iter()
                .find_map(|l| l.strip_prefix(LISTENING).map(str::to_owned));
            if let Some(addr) = found {
                break addr
                    .trim_end_matches('/')
                    .parse::<SocketAddr>()
                    .unwrap_or_else(|e| panic!("bad listening line `{addr}`: {e}"));
            }
            if let Ok(Some(status)) = child.try_wait() {
                // The readers end at EOF, with the process's last lines read.
                for reader in readers.drain(..) {
                    let _ = reader.join();
                }
                panic!(
                    "tessera exited with {status} before listening\nstdout:\n{}\nstderr:\n{}",
                    stdout.text(),
                    stderr.text()
                );
            }
            if tokio::time::Instant::now() >= deadline {
                let _ = child.kill();
                panic!(
                    "tessera did not print its listening line\nstdout:\n{}\nstderr:\n{}",
                    stdout.text(),
                    stderr.text()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(70))
            .build()
            .expect("reqwest client");
        Self {
            child,
            addr,
            base: format!("http://{addr}"),
            stdout,
            stderr,
            http,
            store_prefix,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The process id, to signal it.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit code once it has exited.
    pub fn exit_code(&mut self) -> Option<i32> {
        self.child.try_wait().ok().flatten().and_then(|s| s.code())
    }

    /// Still running?
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for a stdout line containing `needle` that is not among the first `skip` lines.
    pub async fn stdout_line(&self, needle: &str, skip: usize) -> String {
        super::eventually(
            DEADLINE,
            &format!("stdout line with `{needle}`"),
            || async {
                self.stdout
                    .snapshot()
                    .into_iter()
                    .skip(skip)
                    .find(|l| l.contains(needle))
            },
        )
        .await
    }

    /// Diagnostics for a failed assertion.
    pub fn logs(&self) -> String {
        format!(
            "--- tessera stdout ---\n{}\n--- tessera stderr ---\n{}",
            self.stdout.text(),
            self.stderr.text()
        )
    }
}

impl Drop for Tessera {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The result of running the binary to completion.
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// Runs the binary with `args` to completion, killing it after `within`, on the suite's store
/// ([`store::apply`]).
pub fn run(mut cmd: Command, within: Duration) -> Output {
    store::apply(&mut cmd);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn the tessera binary");
    let stdout = Arc::new(Lines::default());
    let stderr = Arc::new(Lines::default());
    let readers = [
        stdout.drain(child.stdout.take().expect("piped stdout")),
        stderr.drain(child.stderr.take().expect("piped stderr")),
    ];
    let deadline = tokio::time::Instant::now() + within;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for tessera") {
            break status;
        }
        if tokio::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "tessera did not exit within {within:?}\nstdout:\n{}\nstderr:\n{}",
                stdout.text(),
                stderr.text()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // The pipes close when the process exits: the readers end at EOF.
    for reader in readers {
        let _ = reader.join();
    }
    Output {
        status,
        stdout: stdout.text(),
        stderr: stderr.text(),
    }
}
