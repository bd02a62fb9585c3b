//! Shared harness of the end-to-end tests: the real `tessera` binary started on a generated
//! config ([`binary`]), a portal-side HTTP client for it ([`portal`]), TOML snippets ([`conf`]),
//! the push tests' world of providers and phones ([`world`]) and a raw HTTP/1.1 client for
//! requests no well-behaved client would send ([`raw`]), and the store every binary is started
//! on, memory or Redis ([`store`]); an engine under `tessera loadtest` load ([`loaded`]), a
//! real Prometheus ([`prometheus`]) and the expressions of the deployment files ([`exprs`]).
//! The loopback fakes of the outside services come from `tessera-testkit`.

pub mod binary;
pub mod conf;
pub mod device;
pub mod exprs;
pub mod gpg;
pub mod h2;
pub mod loaded;
pub mod portal;
pub mod prometheus;
pub mod raw;
pub mod store;
pub mod world;

pub use binary::Tessera;
pub use tessera_testkit::{DEADLINE, eventually};

use conf::{gateways, hook_gateway};
use tessera_testkit::sms::SmsHookFake;

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

/// The sorted keys of a JSON object.
pub fn sorted_keys(v: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}
