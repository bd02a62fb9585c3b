//! Tests of loading, overrides, secrets and validation, through the public API. Helpers here;
//! one file per area below.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::{Config, DEFAULT_CONFIG, Error, Problem, load_str};

mod compose;
mod defaults;
mod env;
mod geolocation;
mod limits;
mod loading;
mod secrets;
mod validation;
mod validation_gateways;
mod validation_types;

/// An environment holding exactly `vars`.
pub(crate) fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| vars.get(name).cloned()
}

/// Loads `toml` with an empty environment, panicking with every problem if it fails.
pub(crate) fn load_ok(toml: &str) -> Config {
    load_with_env(toml, &[]).unwrap_or_else(|e| panic!("expected the config to load, got:\n{e}"))
}

pub(crate) fn load_with_env(toml: &str, vars: &[(&str, &str)]) -> crate::Result<Config> {
    load_str(toml, &env_of(vars))
}

/// The problems loading `toml` with `vars` reports (panics if it loads).
pub(crate) fn problems_with_env(toml: &str, vars: &[(&str, &str)]) -> Vec<Problem> {
    match load_with_env(toml, vars) {
        Ok(_) => panic!("expected problems, but the config loaded"),
        Err(Error::Invalid(problems)) => problems,
        Err(other) => panic!("expected problems, got: {other}"),
    }
}

pub(crate) fn problems_of(toml: &str) -> Vec<Problem> {
    problems_with_env(toml, &[])
}

/// The default config with `extra` appended (tables and array items).
pub(crate) fn with_defaults(extra: &str) -> String {
    format!("{DEFAULT_CONFIG}\n{extra}")
}

/// Asserts that `problems` holds exactly one problem per `(path, message fragment)`, and no other.
#[track_caller]
pub(crate) fn assert_exactly(problems: &[Problem], expected: &[(&str, &str)]) {
    let listing = problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(
        problems.len(),
        expected.len(),
        "expected {} problems, got:\n{listing}",
        expected.len()
    );
    for (path, fragment) in expected {
        assert!(
            problems
                .iter()
                .any(|p| p.path == *path && p.message.contains(fragment)),
            "no problem at `{path}` mentioning `{fragment}`; got:\n{listing}"
        );
    }
}

/// Writes `contents` to a fresh file in this test run's temporary directory. Each call gets its
/// own file: tests run in parallel and may pick the same `name`.
pub(crate) fn temp_file(name: &str, contents: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("tessera-config-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let path = dir.join(format!("{n}-{name}"));
    std::fs::write(&path, contents).expect("write temp file");
    path
}
