//! Loading: embedded defaults → file (or the embedded default config) → environment overrides →
//! secret resolution → validation, reporting every problem found along the way.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use toml::{Table, Value};

use crate::error::{Error, Problems, Result};
use crate::overrides::{self, Applied, Env};
use crate::schema::{Config, DEFAULT_MESSAGE, Method};
use crate::{DEFAULT_CONFIG, keys, secrets, validate};

/// Loads `file`, or the embedded default config when there is none, with overrides from the
/// process environment. Relative `*_file` paths are relative to the working directory.
pub fn load(file: Option<&Path>) -> Result<Config> {
    load_with(file, &|name| std::env::var(name).ok())
}

/// `tessera config check FILE`: loads and validates `file` exactly as `tessera serve` would.
/// On failure, [`Error::problems`] lists every problem found (`Display` prints them one per line).
pub fn check(file: &Path) -> Result<Config> {
    load(Some(file))
}

/// [`load`] with an injected environment.
pub(crate) fn load_with(file: Option<&Path>, env: Env<'_>) -> Result<Config> {
    match file {
        None => load_str(DEFAULT_CONFIG, env),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
                path: path.to_path_buf(),
                source,
            })?;
            load_str(&text, env)
        }
    }
}

/// Loads a config from TOML text, reading environment overrides and `*_env` secrets through
/// `env` (the real loader passes `std::env::var`; tests pass a map).
pub fn load_str(toml: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
    let mut root: Table = toml::from_str(toml).map_err(|e| Error::Syntax {
        message: e.to_string().trim_end().to_string(),
    })?;

    let mut problems = Problems::default();
    keys::strip_unknown(&mut root, &mut problems);
    let applied = overrides::apply(&mut root, env, &mut problems);

    let mut sections = Sections {
        root,
        applied,
        problems: Problems::default(),
    };
    let mut config = Config {
        server: sections.table("server"),
        store: sections.table("store"),
        general: sections.table("general"),
        api_clients: sections.list("api_clients"),
        mobile_auth_types: sections.list("mobile_auth_types"),
        callback_configs: sections.list("callback_configs"),
        callbacks: sections.table("callbacks"),
        sms: sections.table("sms"),
        sms_gateways: sections.list("sms_gateways"),
        applications: sections.list("applications"),
        push_configs: sections.list("push_configs"),
        geolocation: sections.table("geolocation"),
        proxy: sections.table("proxy"),
        rate_limits: sections.table("rate_limits"),
        sms_policy: sections.table("sms_policy"),
    };
    // A value of the wrong type leaves a default in its place; checking the rest against that
    // stand-in would report mistakes the file does not contain, so stop here.
    if !sections.problems.is_empty() {
        problems.extend(sections.problems);
        return problems.into_result(config);
    }

    // CONFIG.md's default message ("Your code is {code}") is an SMS text; push and OTP types
    // without messages of their own need a message in each start request instead.
    apply_defaults(&mut config);
    overrides::apply_sms_gateway_alias(&mut config, env, &mut problems);
    let unresolved = secrets::resolve(&mut config, env, &mut problems);
    for problem in validate::problems(&config).into_vec() {
        if !unresolved.contains(&problem.path) {
            problems.push(problem.path, problem.message);
        }
    }
    problems.into_result(config)
}

/// Deserializes the file one section (and one list item) at a time, so that a type error in one
/// place does not hide those in others.
struct Sections {
    root: Table,
    applied: Applied,
    problems: Problems,
}

impl Sections {
    fn table<T: DeserializeOwned + Default>(&mut self, key: &str) -> T {
        match self.root.remove(key) {
            None => T::default(),
            Some(value) => self.item(value, key.to_string()).unwrap_or_default(),
        }
    }

    fn list<T: DeserializeOwned>(&mut self, key: &str) -> Vec<T> {
        match self.root.remove(key) {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .filter_map(|(i, item)| self.item(item, format!("{key}[{i}]")))
                .collect(),
            Some(other) => {
                let message = format!("expected an array of tables, found {}", other.type_str());
                self.problems.push(key, message);
                Vec::new()
            }
        }
    }

    /// Deserializes one item. A field that fails is reported, removed and the item tried
    /// again, so every bad field of the item is reported rather than only the first.
    fn item<T: DeserializeOwned>(&mut self, mut value: Value, path: String) -> Option<T> {
        let mut failed = false;
        for _ in 0..MAX_TRIES {
            let error = match serde_path_to_error::deserialize(value.clone()) {
                Ok(item) => return (!failed).then_some(item),
                Err(error) => error,
            };
            failed = true;
            let inner = error.path().to_string();
            let full = match inner.as_str() {
                "." => path.clone(),
                seq if seq.starts_with('[') => format!("{path}{seq}"),
                field => format!("{path}.{field}"),
            };
            // An overridden value is the variable's fault, not the file's.
            let full = self.applied.get(&full).cloned().unwrap_or(full);
            let removed = remove(&mut value, error.path());
            let error: toml::de::Error = error.into_inner();
            self.problems.push(full, error.message().to_string());
            if !removed {
                break;
            }
        }
        None
    }
}

/// How often one item is retried after removing a bad field; more than any struct has fields.
const MAX_TRIES: usize = 64;

/// Removes the table entry `path` leads to; for a bad list element, the whole list (removing
/// only the element would shift the indexes of the ones after it). False when there is no such
/// entry, e.g. when the item itself is of the wrong type.
fn remove(value: &mut Value, path: &serde_path_to_error::Path) -> bool {
    let mut segments: Vec<&Segment> = path.iter().collect();
    while matches!(segments.last(), Some(Segment::Seq { .. })) {
        segments.pop();
    }
    let Some((Segment::Map { key }, parents)) = segments.split_last() else {
        return false;
    };
    let mut current = value;
    for segment in parents {
        let next = match (segment, current) {
            (Segment::Map { key }, Value::Table(table)) => table.get_mut(key),
            (Segment::Seq { index }, Value::Array(items)) => items.get_mut(*index),
            _ => None,
        };
        let Some(next) = next else {
            return false;
        };
        current = next;
    }
    match current {
        Value::Table(table) => table.remove(key).is_some(),
        _ => false,
    }
}

/// The defaults that depend on other fields (an SMS type without messages gets
/// [`DEFAULT_MESSAGE`]), applied at load and to every change made through the admin API.
pub fn apply_defaults(config: &mut Config) {
    for t in &mut config.mobile_auth_types {
        if t.method == Method::Sms && t.default_messages.is_empty() {
            t.default_messages
                .insert("en".into(), DEFAULT_MESSAGE.into());
        }
    }
}
