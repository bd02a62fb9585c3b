//! How admin changes are refused: unusable bodies and broken rules become `422 invalid_config`
//! with `fields` (paths relative to the resource written; problems elsewhere in the
//! configuration keep their full path), absent resources `404 not_found`, references
//! `409 in_use`, an unreachable store `503 store_unavailable`.

use std::collections::BTreeMap;

use http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tessera_config::Problem;
use tessera_config::admin::codes;
use tessera_engine::ChangeError;

use crate::body::Fields;
use crate::error::{ApiError, Codes};

/// Why a change function refused, before validation.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// `404 not_found`, saying what is missing.
    NotFound(&'static str),
    /// `409 in_use`, saying what refers to it.
    InUse(String),
    /// `422 invalid_config`: the list at this path holds [`MAX_ITEMS`] already.
    Full(String),
}

/// Most items of one list (types, applications, versions of one application, push configs,
/// callback configs, SMS gateways, API clients): the stored document and every node's copy stay
/// bounded whoever holds an admin client.
pub(crate) const MAX_ITEMS: usize = 1000;

pub(crate) fn not_found(what: &'static str) -> ApiError {
    ApiError::admin(StatusCode::NOT_FOUND, codes::NOT_FOUND, what)
}

/// `422 invalid_config` naming one field.
pub(crate) fn field(path: impl Into<String>, message: impl Into<String>) -> ApiError {
    ApiError::invalid_config(BTreeMap::from([(path.into(), message.into())]))
}

/// The answer to a change that was not made. `prefix` is where the written resource sits in
/// the configuration (`mobile_auth_types[2]`, `general`): its problems are named relative to it.
pub(crate) fn change_error(e: ChangeError<Refusal>, prefix: &str) -> ApiError {
    match e {
        ChangeError::Refused(Refusal::NotFound(what)) => not_found(what),
        ChangeError::Refused(Refusal::InUse(why)) => {
            ApiError::admin(StatusCode::CONFLICT, codes::IN_USE, why)
        }
        ChangeError::Refused(Refusal::Full(list)) => {
            field(list, format!("at most {MAX_ITEMS} items"))
        }
        ChangeError::Invalid(problems) => ApiError::invalid_config(fields(&problems, prefix)),
        ChangeError::Store(e) => {
            // Logged here, never shown: store errors name keys and hosts.
            tracing::warn!(error = %e, "admin change: store error");
            ApiError::store_unavailable(Codes::Named)
        }
    }
}

fn fields(problems: &[Problem], prefix: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for p in problems {
        let path = relative(&p.path, prefix);
        // Two problems on one field: keep both messages.
        out.entry(path)
            .and_modify(|m: &mut String| {
                m.push_str("; ");
                m.push_str(&p.message);
            })
            .or_insert_with(|| p.message.clone());
    }
    out
}

/// `mobile_auth_types[2].time_to_live` under `mobile_auth_types[2]` is `time_to_live`; a path
/// elsewhere stays whole.
fn relative(path: &str, prefix: &str) -> String {
    if prefix.is_empty() {
        return path.to_owned();
    }
    match path.strip_prefix(prefix) {
        Some("") => ".".to_owned(),
        Some(rest) if rest.starts_with('.') => rest[1..].to_owned(),
        Some(rest) if rest.starts_with('[') => rest.to_owned(),
        _ => path.to_owned(),
    }
}

/// The body as the config type `T`: a field of the wrong type, an unknown field or a bad
/// duration is `422 invalid_config` naming it, as the config file's loader names it.
pub(crate) fn decode<T: DeserializeOwned>(fields: Fields) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(Value::Object(fields)).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { "body".to_owned() } else { path };
        field(path, e.inner().to_string())
    })
}

/// Puts the path's key into the body: absent there, it is taken from the path; present, it
/// must be the same (a rename is a delete and a create).
pub(crate) fn key_from_path(fields: &mut Fields, name: &str, value: Value) -> Result<(), ApiError> {
    match fields.get(name) {
        Some(given) if *given != value => Err(field(
            name,
            format!("must equal the {name} in the path ({value})"),
        )),
        _ => {
            fields.insert(name.to_owned(), value);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_to_the_resource_written() {
        let p = "mobile_auth_types[2]";
        assert_eq!(
            relative("mobile_auth_types[2].time_to_live", p),
            "time_to_live"
        );
        assert_eq!(relative("mobile_auth_types[2]", p), ".");
        assert_eq!(
            relative("mobile_auth_types[20].fallback", p),
            "mobile_auth_types[20].fallback"
        );
        assert_eq!(
            relative("general.max_message_length", "general"),
            "max_message_length"
        );
        assert_eq!(
            relative("applications[0].versions[1].push_config", "applications[0]"),
            "versions[1].push_config"
        );
        assert_eq!(relative("sms.gateways[0]", "sms"), "gateways[0]");
    }
}
