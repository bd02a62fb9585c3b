//! The set of keys the file may hold, and the walk that reports every other key with its path.
//!
//! The known keys are derived from the schema itself: a sample `Config` (defaults, with one
//! default item in every list) is serialized to a TOML table, so a field added to a struct is
//! known here without anyone maintaining a second list. Optional fields serialize as `""` and the
//! only skipped fields (`api_clients[].secret`, `push_configs[].max_attempts`) are filled in the
//! sample, so every key appears.

use std::sync::LazyLock;

use toml::{Table, Value};

use crate::error::Problems;
use crate::schema::{ApiClient, AppVersion, Application, Config, PushConfig};

/// Tables whose keys are free (language codes), with list indexes written as `[]`.
const FREE_MAPS: &[&str] = &[
    "mobile_auth_types[].default_messages",
    "geolocation.templates",
];

/// The sample config as TOML: every known key, each with a value of the type the file must use.
pub(crate) static KNOWN: LazyLock<Table> = LazyLock::new(|| {
    let sample = Config {
        api_clients: vec![ApiClient {
            secret: "sample".into(),
            ..ApiClient::default()
        }],
        mobile_auth_types: vec![Default::default()],
        callback_configs: vec![Default::default()],
        sms_gateways: vec![Default::default()],
        applications: vec![Application {
            versions: vec![AppVersion::default()],
            ..Application::default()
        }],
        push_configs: vec![PushConfig {
            max_attempts: Some(5),
            ..PushConfig::default()
        }],
        ..Config::default()
    };
    Table::try_from(sample).expect("the schema serializes to a TOML table")
});

/// Reports every key of `root` that the schema does not know, at its full path, and removes it so
/// that deserialization can go on and find the remaining problems.
pub(crate) fn strip_unknown(root: &mut Table, problems: &mut Problems) {
    walk(root, &KNOWN, "", "", problems);
}

fn walk(table: &mut Table, known: &Table, path: &str, shape: &str, problems: &mut Problems) {
    let unknown: Vec<String> = table
        .keys()
        .filter(|key| !known.contains_key(*key))
        .cloned()
        .collect();
    for key in unknown {
        table.remove(&key);
        let message = match closest(&key, known.keys()) {
            Some(near) => format!("unknown key (did you mean `{near}`?)"),
            None => "unknown key".to_string(),
        };
        problems.push(join(path, &key), message);
    }

    for (key, value) in table.iter_mut() {
        let (path, shape) = (join(path, key), join(shape, key));
        match (value, known.get(key.as_str())) {
            (Value::Table(inner), Some(Value::Table(known)))
                if !FREE_MAPS.contains(&shape.as_str()) =>
            {
                walk(inner, known, &path, &shape, problems);
            }
            (Value::Array(items), Some(Value::Array(sample))) => {
                let Some(Value::Table(known)) = sample.first() else {
                    continue;
                };
                for (i, item) in items.iter_mut().enumerate() {
                    if let Value::Table(item) = item {
                        walk(
                            item,
                            known,
                            &format!("{path}[{i}]"),
                            &format!("{shape}[]"),
                            problems,
                        );
                    }
                }
            }
            // Wrong types are left to deserialization, which names the expected type.
            _ => {}
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The known key nearest to a misspelt one, when it is near enough to be a likely typo.
fn closest<'a>(key: &str, known: impl Iterator<Item = &'a String>) -> Option<&'a str> {
    known
        .map(|candidate| (distance(key, candidate), candidate))
        .filter(|(d, candidate)| *d <= 2.max(candidate.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, candidate)| candidate.as_str())
}

/// Levenshtein distance over chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("max_attemps", "max_attempts"), 1);
        assert_eq!(distance("listen", "listen"), 0);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn known_keys_cover_optional_and_skipped_fields() {
        assert!(
            KNOWN["server"]
                .as_table()
                .unwrap()
                .contains_key("ops_listen")
        );
        let client = &KNOWN["api_clients"].as_array().unwrap()[0];
        assert!(client.as_table().unwrap().contains_key("secret"));
        let versions = &KNOWN["applications"][0]["versions"];
        assert!(versions[0].as_table().unwrap().contains_key("bundle_id"));
        let auth_type = KNOWN["mobile_auth_types"][0].as_table().unwrap();
        assert!(auth_type.contains_key("fallback_after"));
    }
}
