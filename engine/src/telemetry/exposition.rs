//! Reading a rendered `/metrics` text back against the catalogue, for tests (this crate's and
//! the API's): every series is a catalogue metric with exactly its label names and only the
//! label values its documentation allows, under the `# HELP` and `# TYPE` of its kind.

use std::collections::BTreeMap;

use super::*;
use crate::model::{EventName, FineState, Method, Status};

/// One sample line: `name{label="value",...} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The samples of `text`, comments left out. Panics on a line that is not a sample.
pub fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("`series value`");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.strip_suffix('}').expect("closing brace")),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|l| !l.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once("=\"").expect("label=\"value\"");
                    (k.to_owned(), v.trim_end_matches('"').to_owned())
                })
                .collect();
            Sample {
                name: name.to_owned(),
                labels,
                value: value.parse().expect("a number"),
            }
        })
        .collect()
}

/// The catalogue metric a sample belongs to: its name, or a histogram's `_bucket`, `_sum`
/// and `_count` series.
pub fn metric_of(sample: &str) -> Option<&'static Metric> {
    CATALOGUE.iter().find(|m| {
        m.name == sample
            || (m.kind == Kind::Histogram
                && ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|suffix| sample.strip_suffix(suffix) == Some(m.name)))
    })
}

/// Everything in `text` that breaks the catalogue's contract (empty: nothing).
pub fn problems(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = BTreeMap::new();
    for s in samples(text) {
        let Some(m) = metric_of(&s.name) else {
            problems.push(format!("{}: not in the catalogue", s.name));
            continue;
        };
        seen.insert(m.name, m.kind);
        let keys: Vec<&str> = s
            .labels
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !(*k == "le" && s.name.ends_with("_bucket")))
            .collect();
        if keys != m.labels {
            problems.push(format!("{}: labels {keys:?}, not {:?}", s.name, m.labels));
        }
        for (k, v) in &s.labels {
            if !value_allowed(m.name, k, v) {
                problems.push(format!("{}: {k}=\"{v}\" is not an allowed value", s.name));
            }
        }
    }
    for (name, kind) in seen {
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        if !text
            .lines()
            .any(|l| l.starts_with(&format!("# HELP {name} ")))
        {
            problems.push(format!("{name}: no # HELP"));
        }
        if !text.lines().any(|l| l == format!("# TYPE {name} {kind}")) {
            problems.push(format!("{name}: no # TYPE {kind}"));
        }
    }
    problems
}

/// The label values the catalogue documents; names from the configuration (type, gateway,
/// provider, limit), the version, route templates and operations are checked for shape.
fn value_allowed(metric: &str, label: &str, value: &str) -> bool {
    let one_of = |allowed: &[&str]| allowed.contains(&value);
    let outcomes: Vec<&str> = [
        Status::Accepted,
        Status::Rejected,
        Status::Expired,
        Status::Failed,
        Status::Cancelled,
    ]
    .iter()
    .map(|s| s.as_str())
    .collect();
    let states: Vec<&str> = FineState::PENDING.iter().map(|s| s.as_str()).collect();
    let methods: Vec<&str> = [
        Method::Push,
        Method::PushWithPin,
        Method::PushWithFingerprint,
        Method::PushWithCustomAuthenticator,
        Method::Otp,
        Method::Sms,
    ]
    .iter()
    .map(|m| m.as_str())
    .collect();
    let name_like = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    match (metric, label) {
        (_, "le") => value == "+Inf" || value.parse::<f64>().is_ok(),
        (_, "type" | "gateway" | "provider" | "limit") => name_like,
        (_, "outcome") => one_of(&outcomes),
        (_, "state") => one_of(&states),
        (TRANSACTIONS_STARTED | TRANSACTIONS_FINISHED, "method") => one_of(&methods),
        (AUTHENTICATOR_FAILURES, "method") => one_of(&["pin", "fingerprint", "custom"]),
        (FALLBACKS, "trigger") => one_of(&["start", "fallback_after", "delivery_failure"]),
        (SMS_SENT, "result") => one_of(&["sent", "failed"]),
        (PUSH_SENT, "result") => one_of(&["accepted", "unregistered", "retryable", "failed"]),
        (PROVIDER_TOKEN_REFRESHES, "result") => one_of(&["ok", "failed"]),
        (CALLBACKS, "result") => one_of(&["sent", "failed", "retried", "dead_lettered", "dropped"]),
        (ENROLLMENTS | PUSH_ENROLLMENTS, "result") => one_of(&["ok", "failed"]),
        (GEOLOCATION_LOOKUPS, "result") => value == "found" || one_of(GEOLOCATION_FAILURES),
        (REVOCATIONS, "what") => one_of(&["device", "push", "authenticator"]),
        (_, "surface") => one_of(&["portal", "users", "device", "admin", "ops", "none"]),
        // A template: placeholders in braces, never an id.
        (_, "route") => {
            value == "unmatched"
                || (value.starts_with('/')
                    && value.split('/').skip(1).all(|seg| {
                        (seg.starts_with('{') && seg.ends_with('}'))
                            || seg
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                    })
                    && !value
                        .split('/')
                        .any(|seg| seg.len() > 24 && !seg.starts_with('{')))
        }
        (_, "status") => value.len() == 3 && value.bytes().all(|b| b.is_ascii_digit()),
        (CONNECTIONS_CLOSED, "reason") => one_of(&["handshake_timeout", "idle", "per_ip_cap"]),
        (_, "op") => !value.is_empty() && value.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
        (BUILD_INFO, "version") => value == env!("CARGO_PKG_VERSION"),
        (BUILD_INFO, "store") => one_of(&["memory", "redis"]),
        (EVENTS, "event") => EventName::parse(value).is_some(),
        _ => false,
    }
}
