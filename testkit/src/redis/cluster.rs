//! A real three-node Redis Cluster on loopback, for the Redis store's cluster tests.
//!
//! Three `redis-server --cluster-enabled yes` processes (no persistence, no replicas), each with
//! its cluster config file in a temporary directory, joined by `redis-cli --cluster create`.
//! [`RedisCluster::start`] returns once every node reports `cluster_state:ok`; drop kills the
//! nodes and removes the directory.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use crate::DEADLINE;

/// How many primaries: the fewest `redis-cli --cluster create` accepts.
const NODES: usize = 3;
/// A node's cluster bus listens on its port plus this.
const BUS_OFFSET: u16 = 10_000;

/// Three cluster nodes. Killed on drop.
pub struct RedisCluster {
    ports: Vec<u16>,
    dir: PathBuf,
    children: Vec<Child>,
}

impl RedisCluster {
    /// Starts the nodes, creates the cluster (16384 slots split over the three) and waits until
    /// it is up.
    ///
    /// Panics when `redis-server`/`redis-cli` are not on `PATH` or the cluster does not come up
    /// within [`DEADLINE`]: this is test setup, and a clear panic is the useful failure there.
    pub fn start() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tessera-redis-cluster-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        let mut cluster = Self {
            ports: Vec::new(),
            dir,
            children: Vec::new(),
        };
        for _ in 0..NODES {
            let port = free_cluster_port(&cluster.ports);
            cluster.ports.push(port);
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes"])
                .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
                .args(["--cluster-node-timeout", "2000"])
                .args(["--save", "", "--appendonly", "no", "--dir"])
                .arg(&cluster.dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("starting redis-server (is it on PATH?): {e}"));
            cluster.children.push(child);
        }
        for &port in &cluster.ports {
            wait_for(&format!("node {port} to answer PING"), || {
                command(port, "PING").starts_with("+PONG")
            });
        }
        let nodes: Vec<String> = cluster
            .ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&nodes)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running redis-cli (is it on PATH?): {e}"));
        assert!(
            created.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&created.stdout)
        );
        for &port in &cluster.ports {
            wait_for(&format!("node {port} to report cluster_state:ok"), || {
                command(port, "CLUSTER INFO").contains("cluster_state:ok")
            });
        }
        cluster
    }

    /// The nodes' URLs, comma-separated: what `store.redis_url` takes in cluster mode.
    pub fn seeds(&self) -> String {
        self.urls().join(",")
    }

    /// Each node's `redis://127.0.0.1:<port>`.
    pub fn urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect()
    }

    pub fn ports(&self) -> &[u16] {
        &self.ports
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A loopback port free now whose bus port (+10000) is free too, not among `taken`, and never
/// Redis's default.
fn free_cluster_port(taken: &[u16]) -> u16 {
    let deadline = SystemTime::now() + DEADLINE;
    loop {
        assert!(
            SystemTime::now() < deadline,
            "no free port pair for a cluster node"
        );
        let Ok(port) = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
        else {
            continue;
        };
        let Some(bus) = port.checked_add(BUS_OFFSET) else {
            continue;
        };
        let ours = |p: u16| taken.iter().any(|&t| t == p || t + BUS_OFFSET == p);
        if port != 6379
            && !ours(port)
            && !ours(bus)
            && TcpListener::bind((Ipv4Addr::LOCALHOST, bus)).is_ok()
        {
            return port;
        }
    }
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = SystemTime::now() + DEADLINE;
    while !ready() {
        assert!(SystemTime::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One inline command to a node; what came back (empty when it did not answer).
fn command(port: u16, line: &str) -> String {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(format!("{line}\r\n").as_bytes()).is_err() {
        return String::new();
    }
    let mut buf = [0u8; 2048];
    let n = stream.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_nodes_share_the_slots_and_go_on_drop() {
        let cluster = RedisCluster::start();
        assert_eq!(cluster.ports().len(), 3);
        let info = command(cluster.ports()[0], "CLUSTER INFO");
        assert!(info.contains("cluster_slots_assigned:16384"), "{info}");
        assert!(info.contains("cluster_known_nodes:3"), "{info}");
        assert_eq!(cluster.seeds().split(',').count(), 3);
        let ports = cluster.ports().to_vec();
        drop(cluster);
        for port in ports {
            assert!(!command(port, "PING").starts_with("+PONG"));
        }
    }
}
