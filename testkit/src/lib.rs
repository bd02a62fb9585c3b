//! Tessera's test kit: what more than one crate's tests need, written once.
//!
//! - [`http`]: a loopback HTTP server (HTTP/1.1 and h2c, TLS with the `tls` feature) that records
//!   every request and answers what the test tells it to. It is the only HTTP server under the
//!   fakes, the engine's gateway tests and the load harness's gateway sinks.
//! - `fakes` feature: the outside services speaking their real wire formats — Twilio, the
//!   vendor's REST SMS hook, a portal's callback endpoint, FCM with Google's OAuth token
//!   endpoint, APNs, IPQualityScore ([`geo`], with the MaxMind test databases) — a forward
//!   proxy and a `CONNECT` proxy, and GnuPG playing the phone.
//! - `redis` feature: a real `redis-server` on a free loopback port, with stop and restart.
//! - `config` feature (in `fakes`): typed config builders — `tessera_config`'s own settings,
//!   rendered as TOML — instead of TOML strings copied from test to test.
//!
//! The core needs no feature: the load harness ships in the `tessera` binary and takes only the
//! loopback server from here, without TLS.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

pub mod http;
#[cfg(feature = "tls")]
pub mod tls;

#[cfg(feature = "fakes")]
pub mod callback;
#[cfg(feature = "config")]
pub mod conf;
pub mod geo;
#[cfg(feature = "fakes")]
pub mod gpg;
#[cfg(feature = "fakes")]
pub mod proxy;
#[cfg(feature = "fakes")]
pub mod push;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "fakes")]
pub mod script;
#[cfg(feature = "fakes")]
pub mod sms;

use std::path::PathBuf;
use std::time::Duration;

/// The longest any single wait of a test may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// A file of the test-only keys and certificates in `testkit/testdata/` (see its README).
pub fn testdata(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata")).join(name)
}

/// Polls `probe` every 20 ms until it returns `Some`, or panics with `what` after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {within:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A loopback port nothing listens on right now, for a test that must name a port before the
/// process that binds it starts (a config file, a second process).
///
/// Taken from below the kernel's ephemeral range (`ip_local_port_range`), never from it: a port
/// the kernel handed out for `bind(0)` and was given back is the next one it may give any
/// outgoing connection of the suite's other tests, which then holds it when the named process
/// binds (`Address already in use`, seen in CI). Ports are handed out in turn from a random start
/// so that threads of one test binary never get the same one; each is checked free by binding it.
/// Where no such range exists (an ephemeral range starting low), falls back to `bind(0)`.
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, RandomState};
    use std::net::{Ipv4Addr, TcpListener};
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Lowest port handed out: above the registered services a test machine may run
    /// (Redis 6379, Prometheus 9090, ...).
    const LOW: u32 = 10_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);

    let high = ephemeral_start().unwrap_or(32_768);
    if high <= LOW + 1_000 {
        return TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free loopback port: {e}"));
    }
    let span = high - LOW;
    if NEXT.load(Ordering::Relaxed) == 0 {
        let seed = RandomState::new().hash_one(std::process::id()) as u32;
        let _ = NEXT.compare_exchange(0, seed % span + 1, Ordering::Relaxed, Ordering::Relaxed);
    }
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let Ok(port) = u16::try_from(LOW + n % span) else {
            continue;
        };
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {LOW}..{high}");
}

/// The first port of the kernel's ephemeral range, where the system says.
fn ephemeral_start() -> Option<u32> {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct_bindable_and_outside_the_ephemeral_range() {
        let ports: Vec<u16> = (0..200).map(|_| free_port()).collect();
        let distinct: std::collections::HashSet<_> = ports.iter().collect();
        assert_eq!(distinct.len(), ports.len(), "a port handed out twice");
        let high = ephemeral_start().unwrap_or(32_768);
        for port in ports {
            assert!((10_000..high).contains(&u32::from(port)), "{port}");
            std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port is free");
        }
    }
}
