//! Environment overrides: `TESSERA_<SECTION>_<KEY>` for the keys of the top-level table sections,
//! and the seed's `TOKEN_SERVER_*` names as aliases (a `TESSERA_*` variable wins when both are set).
//!
//! Values are strings; each is read as the type of the key it overrides (booleans, integers,
//! comma lists, strings) and written into the parsed file before deserialization, so the usual
//! type checks apply. A problem with an overridden value is reported under the variable's name.

use std::collections::BTreeMap;

use toml::{Table, Value};

use crate::error::Problems;
use crate::keys::KNOWN;
use crate::schema::{CONSOLE_GATEWAY, Config, SmsGatewayKind};

/// Looks an environment variable up; injectable so tests need not touch the process environment.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The sections `TESSERA_<SECTION>_<KEY>` reaches: the top-level tables (lists of tables such as
/// `[[sms_gateways]]` have no single place to write to).
pub const ENV_SECTIONS: &[&str] = &[
    "server",
    "store",
    "general",
    "sms",
    "callbacks",
    "geolocation",
    "proxy",
    "rate_limits",
    "sms_policy",
];

/// The seed's names for single keys: (variable, section, key).
pub const ENV_ALIASES: &[(&str, &str, &str)] = &[
    (
        "TOKEN_SERVER_ENGINE_EXTERNAL_REST_SERVICES_PROXY_ENABLED_BOOLEAN",
        "proxy",
        "enabled",
    ),
    (
        "TOKEN_SERVER_ENGINE_EXTERNAL_REST_SERVICES_PROXY_HOST",
        "proxy",
        "host",
    ),
    (
        "TOKEN_SERVER_ENGINE_EXTERNAL_REST_SERVICES_PROXY_PORT",
        "proxy",
        "port",
    ),
    (
        "TOKEN_SERVER_ENGINE_EXTERNAL_REST_SERVICES_PROXY_SCHEMA",
        "proxy",
        "schema",
    ),
    (
        "TOKEN_SERVER_ENGINE_EXTERNAL_REST_SERVICES_PROXY_USERNAME",
        "proxy",
        "username",
    ),
    (
        "TOKEN_SERVER_ENGINE_EXTERNAL_REST_SERVICES_PROXY_PASSWORD",
        "proxy",
        "password",
    ),
    (
        "TOKEN_SERVER_ENGINE_EXTERNAL_REST_SERVICES_PROXY_PREEMPTIVE_AUTH_ENABLED_BOOLEAN",
        "proxy",
        "preemptive_auth",
    ),
    (
        "TOKEN_SERVER_ADMIN_GENERAL_SUPPORTED_LOCALES",
        "general",
        "supported_locales",
    ),
];

/// The seed's choice of SMS gateway kind (`twilio` | `rest` | `console`).
pub const SMS_GATEWAY_ALIAS: &str = "TOKEN_SERVER_ENGINE_CUSTOM_HOOKS_SMS_GATEWAY";

/// Where each override went: TOML path (`proxy.port`) → variable name.
pub(crate) type Applied = BTreeMap<String, String>;

/// The `TESSERA_*` name of a key.
pub(crate) fn variable(section: &str, key: &str) -> String {
    format!("TESSERA_{}_{}", section.to_uppercase(), key.to_uppercase())
}

/// Writes every override found in `env` into `root`.
pub(crate) fn apply(root: &mut Table, env: Env<'_>, problems: &mut Problems) -> Applied {
    let mut writer = Writer {
        root,
        problems,
        applied: Applied::new(),
    };
    for section in ENV_SECTIONS {
        let Some(Value::Table(keys)) = KNOWN.get(*section) else {
            continue;
        };
        for key in keys.iter().filter(|(_, v)| !v.is_table()).map(|(k, _)| k) {
            let name = variable(section, key);
            if let Some(raw) = env(&name) {
                writer.set(section, key, &name, &raw);
            }
        }
    }
    for (name, section, key) in ENV_ALIASES {
        if writer.applied.contains_key(&format!("{section}.{key}")) {
            continue; // TESSERA_* wins.
        }
        if let Some(raw) = env(name) {
            writer.set(section, key, name, &raw);
        }
    }
    writer.applied
}

struct Writer<'a> {
    root: &'a mut Table,
    problems: &'a mut Problems,
    applied: Applied,
}

impl Writer<'_> {
    /// Writes variable `name`'s value `raw` to `section.key`, read as that key's type.
    fn set(&mut self, section: &str, key: &str, name: &str, raw: &str) {
        let value = match parse(raw, &KNOWN[section][key]) {
            Ok(value) => value,
            Err(message) => return self.problems.push(name, message),
        };
        let table = self
            .root
            .entry(section.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        // A section that is not a table is reported by deserialization; nothing to write into.
        if let Value::Table(table) = table {
            table.insert(key.to_string(), value);
            self.applied
                .insert(format!("{section}.{key}"), name.to_string());
        }
    }
}

/// Reads `raw` as a value of the same TOML type as `like`.
fn parse(raw: &str, like: &Value) -> Result<Value, String> {
    let trimmed = raw.trim();
    match like {
        Value::Boolean(_) => match trimmed.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Boolean(true)),
            "false" => Ok(Value::Boolean(false)),
            _ => Err(format!("expected true or false, found `{raw}`")),
        },
        Value::Integer(_) => trimmed
            .parse()
            .map(Value::Integer)
            .map_err(|_| format!("expected an integer, found `{raw}`")),
        Value::Array(_) => Ok(Value::Array(
            trimmed
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| Value::String(item.to_string()))
                .collect(),
        )),
        _ => Ok(Value::String(raw.to_string())),
    }
}

/// `TOKEN_SERVER_ENGINE_CUSTOM_HOOKS_SMS_GATEWAY`: the seed picks one gateway kind. Tessera puts the
/// first declared gateway of that kind (or `console`) first in `sms.gateways`, keeping the rest as
/// failover. Ignored when `TESSERA_SMS_GATEWAYS` is set, which states the whole list.
pub(crate) fn apply_sms_gateway_alias(config: &mut Config, env: Env<'_>, problems: &mut Problems) {
    if env(&variable("sms", "gateways")).is_some() {
        return;
    }
    let Some(raw) = env(SMS_GATEWAY_ALIAS) else {
        return;
    };
    let kind = match raw.trim().to_ascii_lowercase().as_str() {
        "twilio" => SmsGatewayKind::Twilio,
        "rest" => SmsGatewayKind::Rest,
        "console" => SmsGatewayKind::Console,
        _ => {
            return problems.push(
                SMS_GATEWAY_ALIAS,
                format!("expected twilio, rest or console, found `{raw}`"),
            );
        }
    };
    let declared = config.sms_gateways.iter().find(|g| g.kind == kind);
    let name = match (declared, kind) {
        (Some(gateway), _) => gateway.name.clone(),
        (None, SmsGatewayKind::Console) => CONSOLE_GATEWAY.to_string(),
        (None, _) => {
            let message = format!("no [[sms_gateways]] of kind {} is declared", kind.as_str());
            return problems.push(SMS_GATEWAY_ALIAS, message);
        }
    };
    config.sms.gateways.retain(|g| *g != name);
    config.sms.gateways.insert(0, name);
}
