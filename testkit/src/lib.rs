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
