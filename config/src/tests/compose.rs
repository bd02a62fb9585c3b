//! The docker-compose stack's environment (`x-tessera-environment` in `docker-compose.yml`),
//! loaded exactly as a node loads it: the embedded default config plus those variables, after
//! Compose's `${VAR:-default}` / `${VAR:?message}` interpolation. Every variable there must be one
//! the loader reads, so the compose file cannot drift from the loader.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::*;

const COMPOSE: &str = include_str!("../../../docker-compose.yml");
const ANCHOR: &str = "x-tessera-environment: &tessera-environment";
const HASH_KEY: &str = "compose-test-hash-key-0123456789abcdef";

/// The anchor's `NAME: "value"` lines, values unquoted and not yet interpolated. The block ends
/// at the next line that is not indented (a comment inside it is indented too).
fn compose_environment() -> Vec<(String, String)> {
    let start = COMPOSE
        .lines()
        .position(|l| l == ANCHOR)
        .unwrap_or_else(|| panic!("docker-compose.yml has no `{ANCHOR}` line"));
    COMPOSE
        .lines()
        .skip(start + 1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, value) = l
                .split_once(": ")
                .unwrap_or_else(|| panic!("not a `NAME: value` line: `{l}`"));
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

/// Compose's interpolation of one value against the host environment `host`: `${VAR}`,
/// `${VAR:-default}` (unset or empty: the default) and `${VAR:?message}` (unset or empty: an
/// error, here a panic naming the message).
fn interpolate(value: &str, host: &BTreeMap<&str, &str>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let end = rest[at..].find('}').expect("unclosed ${") + at;
        let inner = &rest[at + 2..end];
        let set = |name: &str| host.get(name).filter(|v| !v.is_empty()).copied();
        let resolved = if let Some((name, default)) = inner.split_once(":-") {
            set(name).unwrap_or(default).to_owned()
        } else if let Some((name, message)) = inner.split_once(":?") {
            set(name)
                .unwrap_or_else(|| panic!("{name} is required: {message}"))
                .to_owned()
        } else {
            set(inner).unwrap_or_default().to_owned()
        };
        out.push_str(&resolved);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Loads the embedded default config with the compose environment interpolated against `host`;
/// returns the config and the names of the compose variables the loader never asked for.
fn load_compose(host: &[(&str, &str)]) -> (Config, BTreeSet<String>) {
    let host: BTreeMap<&str, &str> = host.iter().copied().collect();
    let vars: BTreeMap<String, String> = compose_environment()
        .into_iter()
        .map(|(name, value)| {
            let value = interpolate(&value, &host);
            (name, value)
        })
        .collect();
    let asked = RefCell::new(BTreeSet::new());
    let env = |name: &str| {
        asked.borrow_mut().insert(name.to_owned());
        vars.get(name).cloned()
    };
    let config = load_str(DEFAULT_CONFIG, &env)
        .unwrap_or_else(|e| panic!("the compose environment does not load:\n{e}"));
    let asked = asked.into_inner();
    let unread = vars.into_keys().filter(|n| !asked.contains(n)).collect();
    (config, unread)
}

#[test]
fn the_compose_environment_is_read_by_the_loader_and_configures_a_redis_node() {
    let (c, unread) = load_compose(&[("TESSERA_STORE_HASH_KEY", HASH_KEY)]);
    assert!(
        unread.is_empty(),
        "docker-compose.yml sets variables the loader never reads: {unread:?}"
    );
    assert_eq!(c.server.listen, "0.0.0.0:8080".parse().unwrap());
    assert_eq!(c.server.shutdown_grace, Duration::from_secs(20));
    assert_eq!(c.store.kind, StoreKind::Redis);
    assert_eq!(c.store.redis_url, "redis://redis:6379");
    assert_eq!(c.store.key_prefix, "tessera:");
    assert_eq!(c.store.node_lease, Duration::from_secs(5));
    assert_eq!(c.store.hash_key, HASH_KEY);
    assert_eq!(c.general.supported_locales, ["en", "nl"]);
    // The proxy stays off unless the host asks for it.
    assert!(!c.proxy.enabled);
    assert_eq!((c.proxy.port, c.proxy.schema), (3128, ProxySchema::Http));
    // The embedded defaults' demo types are what the stack serves.
    let types: Vec<&str> = c
        .mobile_auth_types
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(types, ["sms", "push", "push_with_pin", "otp"]);
}

#[test]
fn the_compose_proxy_variables_reach_the_proxy_section() {
    let (c, _) = load_compose(&[
        ("TESSERA_STORE_HASH_KEY", HASH_KEY),
        ("OUTBOUND_PROXY_ENABLED", "true"),
        ("OUTBOUND_PROXY_HOST", "squid.internal"),
        ("OUTBOUND_PROXY_PORT", "8443"),
        ("OUTBOUND_PROXY_SCHEMA", "https"),
        ("OUTBOUND_PROXY_USERNAME", "tessera"),
        ("OUTBOUND_PROXY_PASSWORD", "proxy-secret"),
    ]);
    let p = &c.proxy;
    assert!(p.enabled);
    assert_eq!(
        (p.host.as_str(), p.port, p.schema),
        ("squid.internal", 8443, ProxySchema::Https)
    );
    assert_eq!(
        (p.username.as_str(), p.password.as_str()),
        ("tessera", "proxy-secret")
    );
}

#[test]
#[should_panic(expected = "TESSERA_STORE_HASH_KEY is required")]
fn the_compose_stack_demands_a_hash_key() {
    load_compose(&[]);
}

#[test]
fn compose_interpolation_follows_compose() {
    let host = BTreeMap::from([("SET", "x"), ("EMPTY", "")]);
    assert_eq!(interpolate("a${SET}b", &host), "axb");
    assert_eq!(interpolate("${SET:-d}", &host), "x");
    assert_eq!(interpolate("${EMPTY:-d}", &host), "d");
    assert_eq!(interpolate("${UNSET:-}", &host), "");
    assert_eq!(interpolate("${SET:?m}/${UNSET:-p}", &host), "x/p");
}
