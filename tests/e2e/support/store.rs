//! Which store the binaries the suite starts keep their state in: the one place the suite reads
//! `TESSERA_E2E_STORE`.
//!
//! Unset (or `memory`), every binary keeps the store its config names — the memory store unless
//! a test says otherwise. `TESSERA_E2E_STORE=redis` runs the same tests on the Redis store: each
//! binary the suite starts whose config does not name a `store.kind` of its own gets
//! `kind = "redis"` on one `redis-server` shared by the whole test process, under a key prefix of
//! its own, so every process starts on an empty store as it would on the memory store. The keys
//! come as `TESSERA_STORE_*` variables, which the binary reads over its file, so a test's other
//! `[store]` keys (`result_retention`) still apply. A test whose config names its own store kind
//! (`redis_store`, the store errors at start) keeps it.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The parameter: `memory` (the default) or `redis`.
pub const PARAMETER: &str = "TESSERA_E2E_STORE";

/// The hash key every Redis-backed binary of the suite gets (at least 32 characters).
const HASH_KEY: &str = "e2e-hash-key-0123456789abcdef0123456789";

/// The store the suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Memory,
    Redis,
}

/// The store chosen by [`PARAMETER`]; anything but `memory`, `redis` or unset is a mistake that
/// must not quietly run the memory store.
pub fn kind() -> Kind {
    match std::env::var(PARAMETER).as_deref() {
        Err(_) | Ok("" | "memory") => Kind::Memory,
        Ok("redis") => Kind::Redis,
        Ok(other) => panic!("{PARAMETER}={other}: expected `memory` or `redis`"),
    }
}

/// Points `cmd` (a `tessera` command) at the chosen store, unless its config names a store kind.
/// Returns the Redis key prefix the process was given, if any.
pub fn apply(cmd: &mut Command) -> Option<String> {
    if kind() == Kind::Memory || names_a_store_kind(cmd) {
        return None;
    }
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let prefix = format!("e2e-{}-{n}:", std::process::id());
    cmd.env("TESSERA_STORE_KIND", "redis")
        .env(
            "TESSERA_STORE_REDIS_URL",
            tessera_testkit::redis::shared_url(),
        )
        .env("TESSERA_STORE_HASH_KEY", HASH_KEY)
        .env("TESSERA_STORE_KEY_PREFIX", &prefix);
    Some(prefix)
}

/// Whether the config file `cmd` reads (`--config`, `config check <file>` or `TESSERA_CONFIG`)
/// sets `kind` in its `[store]` table.
fn names_a_store_kind(cmd: &Command) -> bool {
    config_file(cmd)
        .and_then(|path| std::fs::read_to_string(path).ok())
        .is_some_and(|toml| store_kind_in(&toml))
}

fn config_file(cmd: &Command) -> Option<PathBuf> {
    let args: Vec<&OsStr> = cmd.get_args().collect();
    let flag = args
        .iter()
        .position(|a| *a == "--config")
        .and_then(|i| args.get(i + 1));
    let check = match args.as_slice() {
        [config, check, file, ..] if *config == "config" && *check == "check" => Some(file),
        _ => None,
    };
    let env = cmd
        .get_envs()
        .find(|(key, _)| *key == "TESSERA_CONFIG")
        .and_then(|(_, value)| value);
    flag.or(check).copied().or(env).map(PathBuf::from)
}

/// Whether `toml` has a `kind = ...` line inside its `[store]` table.
fn store_kind_in(toml: &str) -> bool {
    let mut in_store = false;
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_store = line == "[store]";
        } else if in_store && line.split('=').next().map(str::trim) == Some("kind") {
            return true;
        }
    }
    false
}

/// The keys of the shared Redis that start with `prefix` (`KEYS`, fine for a test's few keys).
fn keys_under(prefix: &str) -> Vec<String> {
    use std::io::{BufRead, BufReader, Write};
    let url = tessera_testkit::redis::shared_url();
    let addr = url.trim_start_matches("redis://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the shared redis");
    let pattern = format!("{prefix}*");
    let request = format!("*2\r\n$4\r\nKEYS\r\n${}\r\n{pattern}\r\n", pattern.len());
    stream.write_all(request.as_bytes()).expect("send KEYS");
    let mut lines = BufReader::new(stream)
        .lines()
        .map(|l| l.expect("read a reply line"));
    let header = lines.next().unwrap_or_default();
    let count: usize = header
        .strip_prefix('*')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not an array reply: {header}"));
    // Each element is a `$<len>` line, then the key.
    (0..count)
        .map(|_| lines.nth(1).unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn a_binary_the_suite_starts_keeps_its_state_in_the_chosen_store() {
    let (hook, t) = super::with_hook(&super::conf::sms_type("sms")).await;
    let id = super::portal::txn_id(&t.start_sms("sms", "alice", &[]).await);
    hook.wait_for_messages(1).await;
    match kind() {
        Kind::Memory => assert_eq!(t.store_prefix, None),
        Kind::Redis => {
            let prefix = t
                .store_prefix
                .clone()
                .expect("a key prefix on the Redis store");
            let keys = keys_under(&prefix);
            let txn = format!("{prefix}{{t:{id}}}");
            assert!(keys.contains(&txn), "no `{txn}` among {keys:?}");
        }
    }
}

#[test]
fn a_store_kind_is_found_in_the_store_table_only() {
    assert!(store_kind_in(
        "[server]\nx = 1\n[store]\nkind = \"redis\"\n"
    ));
    assert!(!store_kind_in(
        "[store]\nresult_retention = \"1s\"\n[sms]\nkind = 1\n"
    ));
    assert!(!store_kind_in("[[sms_gateways]]\nkind = \"rest\"\n"));
}

#[test]
fn the_config_file_is_found_however_the_command_names_it() {
    let mut serve = Command::new("tessera");
    serve.args(["serve", "--config", "/a.toml"]);
    let mut check = Command::new("tessera");
    check.args(["config", "check", "/b.toml"]);
    let mut env = Command::new("tessera");
    env.arg("serve").env("TESSERA_CONFIG", "/c.toml");
    let mut none = Command::new("tessera");
    none.arg("serve");
    assert_eq!(config_file(&serve), Some("/a.toml".into()));
    assert_eq!(config_file(&check), Some("/b.toml".into()));
    assert_eq!(config_file(&env), Some("/c.toml".into()));
    assert_eq!(config_file(&none), None);
}
