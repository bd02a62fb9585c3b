//! A real `redis-server` on a free loopback port, for the Redis store's tests.
//!
//! Each [`RedisServer`] owns one process started from the `redis-server` on `PATH` with no
//! persistence (`--save "" --appendonly no`): the data lives exactly as long as the process, so
//! tests never share state and never touch a developer's Redis on 6379. [`RedisServer::stop`]
//! and [`RedisServer::restart`] keep the port, so outage tests can take Redis away and bring it
//! back under the same URL. [`RedisServer::start_tls`] serves TLS only (`rediss://`), with the
//! test certificate for `127.0.0.1` signed by the test CA ([`TEST_CA_PEM`]).
//! [`RedisServer::start_persistent`] keeps an append-only file in a temporary directory, so what
//! was written before a `stop()` is there again after `restart()` (outage tests).
//!
//! [`shared_url`] is one server for a whole test process, for suites that give each user of it
//! its own `store.key_prefix` instead of a server each. [`RedisCluster`] is a three-node Redis
//! Cluster (`store.redis_mode = "cluster"`).

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::DEADLINE;

mod cluster;

pub use cluster::RedisCluster;

/// The test CA (PEM) that signed the TLS server's certificate: what a client must trust.
pub const TEST_CA_PEM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/ca.pem");
const TLS_CERT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/server.pem");
const TLS_KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/server.key");

/// The port a developer's own Redis listens on: never ours.
const DEFAULT_REDIS_PORT: u16 = 6379;

/// A `redis-server` child process. Killed on drop.
pub struct RedisServer {
    port: u16,
    tls: bool,
    /// With persistence: the directory of the append-only file (removed on drop).
    dir: Option<PathBuf>,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts `redis-server` on a free loopback port and waits until it answers `PING`.
    ///
    /// Panics when `redis-server` is not on `PATH` or does not come up within [`DEADLINE`]:
    /// this is test setup, and a clear panic is the useful failure there.
    pub fn start() -> Self {
        Self::started(false, false)
    }

    /// [`RedisServer::start`] speaking TLS only, with the test certificate; clients need not
    /// present one.
    pub fn start_tls() -> Self {
        Self::started(true, false)
    }

    /// [`RedisServer::start`] with `--appendonly yes` (every write fsynced) in a temporary
    /// directory: [`RedisServer::restart`] brings the data back.
    pub fn start_persistent() -> Self {
        Self::started(false, true)
    }

    fn started(tls: bool, persistent: bool) -> Self {
        let port = free_port();
        let dir = persistent.then(|| {
            let dir =
                std::env::temp_dir().join(format!("tessera-redis-{}-{port}", std::process::id()));
            std::fs::create_dir_all(&dir)
                .unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
            dir
        });
        let mut server = Self {
            port,
            tls,
            dir,
            child: None,
        };
        server.spawn();
        server
    }

    /// `redis://127.0.0.1:<port>` (`rediss://` for a TLS server).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the process is running (between `start`/`restart` and `stop`).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server (its data goes with it unless it is persistent). The port is kept.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server if it runs and starts it again on the same port: empty, or with what it
    /// held when persistent.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    fn spawn(&mut self) {
        let child = self
            .command(Command::new("redis-server"))
            .spawn()
            .unwrap_or_else(|e| panic!("starting redis-server (is it on PATH?): {e}"));
        self.child = Some(child);
        if !self.wait_until_it_answers() {
            self.stop();
            panic!("redis-server on port {} did not answer PING", self.port);
        }
    }

    /// `cmd` (a `redis-server`, or a program that runs one with the arguments it is given) with
    /// this server's arguments and quiet pipes.
    fn command(&self, mut cmd: Command) -> Command {
        let port = self.port.to_string();
        if self.tls {
            cmd.args(["--port", "0", "--tls-port", &port])
                .args(["--tls-cert-file", TLS_CERT, "--tls-key-file", TLS_KEY])
                .args([
                    "--tls-ca-cert-file",
                    TEST_CA_PEM,
                    "--tls-auth-clients",
                    "no",
                ]);
        } else {
            cmd.args(["--port", &port]);
        }
        cmd.args(["--bind", "127.0.0.1", "--save", ""]);
        match &self.dir {
            Some(dir) => cmd
                .args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
                .arg(dir),
            None => cmd.args(["--appendonly", "no"]),
        };
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    fn wait_until_it_answers(&self) -> bool {
        let deadline = std::time::SystemTime::now() + DEADLINE;
        while !self.answers() {
            if std::time::SystemTime::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }
}

/// The URL of one plain `redis-server` shared by every caller in this test process, started on
/// first use.
///
/// A static is never dropped, so the server cannot be killed on drop: it runs under a `sh` that
/// waits on its stdin and kills the server at end of file. That pipe's writing end lives here
/// until the test process ends — however it ends, even `kill -9`, the kernel closes it and the
/// server goes too. Its data lives as long as the process: callers keep apart by key prefix.
pub fn shared_url() -> String {
    static SHARED: OnceLock<(String, Child)> = OnceLock::new();
    let (url, _watcher) = SHARED.get_or_init(|| {
        let server = RedisServer {
            port: free_port(),
            tls: false,
            child: None,
            dir: None,
        };
        let mut sh = Command::new("sh");
        sh.args([
            "-c",
            r#"redis-server "$@" & server=$!; read -r _; kill "$server"; wait "$server""#,
            "sh",
        ]);
        // The watcher keeps its stdin pipe (`Child::stdin`) for as long as the static lives.
        let mut watcher = server
            .command(sh)
            .stdin(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting sh to run redis-server: {e}"));
        if !server.wait_until_it_answers() {
            drop(watcher.stdin.take());
            let _ = watcher.wait();
            panic!(
                "the shared redis-server on port {} did not answer PING (is it on PATH?)",
                server.port
            );
        }
        (server.url(), watcher)
    });
    url.clone()
}

impl RedisServer {
    /// Up and answering: `PING` in plain text; for TLS, the port accepts connections.
    fn answers(&self) -> bool {
        if self.tls {
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        } else {
            ping(self.port)
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A loopback port nothing listens on right now (never Redis's default port).
fn free_port() -> u16 {
    loop {
        let port = crate::free_port();
        if port != DEFAULT_REDIS_PORT {
            return port;
        }
    }
}

/// One inline `PING`, answered `+PONG`.
fn ping(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buf = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut buf).is_ok()
        && &buf == b"+PONG\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_on_a_free_port_answers_ping_and_restarts_on_the_same_port() {
        let mut redis = RedisServer::start();
        assert_ne!(redis.port(), DEFAULT_REDIS_PORT);
        assert_eq!(redis.url(), format!("redis://127.0.0.1:{}", redis.port()));
        assert!(ping(redis.port()));

        redis.stop();
        assert!(!redis.is_running());
        assert!(!ping(redis.port()));

        redis.restart();
        assert!(redis.is_running());
        assert!(ping(redis.port()));
    }

    #[test]
    fn a_tls_server_takes_connections_on_a_rediss_url() {
        let redis = RedisServer::start_tls();
        assert_eq!(redis.url(), format!("rediss://127.0.0.1:{}", redis.port()));
        assert!(redis.answers());
        // Plain text is not spoken there.
        assert!(!ping(redis.port()));
    }

    #[test]
    fn a_persistent_server_keeps_its_data_across_a_restart() {
        let mut redis = RedisServer::start_persistent();
        assert!(command(redis.port(), "SET k v").starts_with("+OK"));
        redis.restart();
        assert!(command(redis.port(), "GET k").contains("v"));
        let dir = redis.dir.clone().unwrap();
        drop(redis);
        assert!(!dir.exists());
    }

    /// One inline command; what came back.
    fn command(port: u16, line: &str) -> String {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        stream.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        let mut buf = [0u8; 64];
        let n = stream.read(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn the_shared_server_is_one_server_and_answers() {
        let url = shared_url();
        assert_eq!(shared_url(), url);
        let port: u16 = url
            .strip_prefix("redis://127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("not a loopback redis URL: {url}"));
        assert_ne!(port, DEFAULT_REDIS_PORT);
        assert!(ping(port));
    }

    #[test]
    fn dropping_kills_the_server() {
        let redis = RedisServer::start();
        let port = redis.port();
        drop(redis);
        assert!(!ping(port));
    }
}
