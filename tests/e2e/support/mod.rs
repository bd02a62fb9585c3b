//! Shared harness of the end-to-end tests: the real `tessera` binary started on a generated
//! config ([`binary`]), a portal-side HTTP client for it ([`portal`]), loopback fakes that speak
//! the providers' wire formats ([`fakes`]), TOML snippets ([`conf`]) and a raw HTTP/1.1 client for
//! requests no well-behaved client would send ([`raw`]).
//!
//! Every test file compiles this module on its own and uses only part of it.

pub mod binary;
pub mod conf;
pub mod device;
// The fakes keep their whole surface (accessors) though not every test reads all of it.
#[allow(dead_code)]
pub mod fakes;
pub mod gpg;
pub mod h2;
pub mod portal;
#[allow(dead_code)]
pub mod providers;
pub mod raw;

use std::time::Duration;

pub use binary::Tessera;

use conf::{gateways, hook_gateway};
use fakes::SmsHookFake;

/// The longest any single wait of the suite may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(10);

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

/// Tessera sending SMS through a REST hook fake (the gateway `hook`), with `sections` added to
/// the config.
pub async fn with_hook(sections: &str) -> (SmsHookFake, Tessera) {
    let hook = SmsHookFake::start().await;
    let config = conf::with(&format!(
        "{}{}{sections}",
        gateways(&["hook"]),
        hook_gateway("hook", &hook)
    ));
    let tessera = Tessera::start(&config).await;
    (hook, tessera)
}

/// The last run of at least four ASCII digits in an SMS body: the verification code.
pub fn code_in(body: &str) -> Option<String> {
    let runs: Vec<&str> = body
        .split(|c: char| !c.is_ascii_digit())
        .filter(|r| r.len() >= 4)
        .collect();
    runs.last().map(|r| r.to_string())
}

/// A code of the same length that is certainly wrong: every digit shifted by one.
pub fn wrong_code(code: &str) -> String {
    code.chars()
        .map(|c| {
            let d = c.to_digit(10).expect("codes are digits");
            char::from_digit((d + 1) % 10, 10).expect("a digit")
        })
        .collect()
}

/// `8-4-4-4-12` lower- or upper-case hex with version nibble 4: a random UUID.
pub fn is_uuid_v4(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    lens == [8, 4, 4, 4, 12]
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
        && groups[2].starts_with('4')
}
