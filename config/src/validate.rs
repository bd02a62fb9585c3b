//! Validation of a loaded config: every rule that serde's types cannot express, each problem
//! reported with the path of the offending field. Areas with many rules have their own file.

use std::collections::HashMap;
use std::time::Duration;

use crate::error::{Problems, Result};
use crate::schema::{
    Config, GeoProvider, Rate, RedisMode, StoreKind, template_problem, valid_e164_prefix,
};

mod apps;
mod gateways;
mod types;

/// Checks a config whose secrets are resolved (as [`crate::load`] returns it, or after a change
/// made at run time through the admin API).
pub fn validate(config: &Config) -> Result<()> {
    problems(config).into_result(())
}

pub(crate) fn problems(config: &Config) -> Problems {
    let mut p = Problems::default();
    general(config, &mut p);
    server(config, &mut p);
    store(config, &mut p);
    api_clients(config, &mut p);
    types::check(config, &mut p);
    callbacks(config, &mut p);
    gateways::check(config, &mut p);
    apps::check(config, &mut p);
    geolocation(config, &mut p);
    proxy(config, &mut p);
    rate_limits(config, &mut p);
    sms_policy(config, &mut p);
    p
}

fn general(config: &Config, p: &mut Problems) {
    let general = &config.general;
    if general.supported_locales.is_empty() {
        p.push("general.supported_locales", "must not be empty");
    } else if !general.supported_locales.iter().any(|l| l == "en") {
        // Every text falls back to English when the user's language has none.
        p.push("general.supported_locales", "must contain en");
    }
    if !(1..=1600).contains(&general.max_message_length) {
        p.push("general.max_message_length", "must be between 1 and 1600");
    }
}

fn server(config: &Config, p: &mut Problems) {
    let server = &config.server;
    // The global cap becomes a semaphore (at most u32::MAX permits are acquired at once when
    // draining); zero would refuse every connection.
    if !(1..=1_000_000).contains(&server.max_connections) {
        p.push("server.max_connections", "must be between 1 and 1000000");
    }
    if server.max_connections_per_ip == 0 {
        p.push("server.max_connections_per_ip", "must be greater than 0");
    }
    if server.h2_max_concurrent_streams == 0 {
        p.push("server.h2_max_concurrent_streams", "must be greater than 0");
    }
    for (key, value) in [
        ("server.handshake_timeout", server.handshake_timeout),
        ("server.idle_timeout", server.idle_timeout),
    ] {
        if value.is_zero() {
            p.push(key, "must be greater than 0s");
        }
    }
}

fn store(config: &Config, p: &mut Problems) {
    let store = &config.store;
    if store.kind == StoreKind::Redis {
        match store.redis_mode {
            RedisMode::Standalone if !url_with_scheme(&store.redis_url, &["redis", "rediss"]) => {
                p.push(
                    "store.redis_url",
                    "must be a redis:// or rediss:// URL (several comma-separated seeds need \
                     redis_mode = \"cluster\")",
                );
            }
            RedisMode::Cluster => {
                let seeds: Vec<&str> = store.redis_url.split(',').map(str::trim).collect();
                if !seeds
                    .iter()
                    .all(|s| url_with_scheme(s, &["redis", "rediss"]))
                {
                    p.push(
                        "store.redis_url",
                        "must be one or more comma-separated redis:// or rediss:// seed URLs",
                    );
                } else if seeds.iter().any(|s| s.starts_with("rediss:"))
                    && !seeds.iter().all(|s| s.starts_with("rediss:"))
                {
                    p.push(
                        "store.redis_url",
                        "cluster seeds must all use redis:// or all rediss://",
                    );
                }
            }
            RedisMode::Standalone => {}
        }
        if store.redis_pool_size == 0 {
            p.push("store.redis_pool_size", "must be greater than 0");
        }
        // Keys are `<prefix>{<tag>}...`: a brace in the prefix would move the hash tag.
        if store.key_prefix.contains(['{', '}']) {
            p.push("store.key_prefix", "must not contain `{` or `}`");
        }
        // Every node must compute the same HMAC of a code, so the key cannot be drawn per process.
        if store.hash_key.is_empty() {
            p.push(
                "store.hash_key",
                "required with redis (shared by all nodes): give hash_key, hash_key_env or hash_key_file",
            );
        }
    }
    // Renewed several times per lease: under a second is churn on the store, over a minute
    // leaves a dead node's users waiting that long.
    if !(Duration::from_secs(1)..=Duration::from_secs(60)).contains(&store.node_lease) {
        p.push("store.node_lease", "must be between 1s and 60s");
    }
    if !store.hash_key.is_empty() && store.hash_key.chars().count() < MIN_HASH_KEY_CHARS {
        p.push(
            "store.hash_key",
            "too short: at least 32 characters (e.g. `openssl rand -base64 32`)",
        );
    }
}

/// Shortest `store.hash_key`: the key is all that stands between a stolen store and its codes.
const MIN_HASH_KEY_CHARS: usize = 32;

fn api_clients(config: &Config, p: &mut Problems) {
    let ids = config.api_clients.iter().map(|c| c.id.as_str());
    unique(p, "api_clients", "id", ids);
    for (i, client) in config.api_clients.iter().enumerate() {
        let path = format!("api_clients[{i}]");
        required(p, &format!("{path}.id"), &client.id);
        let hash = &client.secret_sha256;
        if hash.is_empty() {
            p.push(
                format!("{path}.secret_sha256"),
                "missing: give one of secret_sha256, secret, secret_env and secret_file",
            );
        } else if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            p.push(
                format!("{path}.secret_sha256"),
                "must be 64 hex characters (a SHA-256)",
            );
        }
        if client.scopes.is_empty() {
            p.push(format!("{path}.scopes"), "must not be empty");
        }
    }
}

fn callbacks(config: &Config, p: &mut Problems) {
    let urls = config.callback_configs.iter().map(|c| c.url.as_str());
    unique(p, "callback_configs", "url", urls);
    for (i, callback) in config.callback_configs.iter().enumerate() {
        http_url(p, &format!("callback_configs[{i}].url"), &callback.url);
    }
    let delivery = &config.callbacks;
    positive(p, "callbacks.timeout", delivery.timeout);
    if delivery.max_tries == 0 {
        p.push(
            "callbacks.max_tries",
            "must be at least 1 (it counts the first try)",
        );
    }
}

fn geolocation(config: &Config, p: &mut Problems) {
    let geo = &config.geolocation;
    locales(p, config, "geolocation.templates", geo.templates.keys());
    for (language, template) in &geo.templates {
        if let Some(problem) = template_problem(template) {
            p.push(format!("geolocation.templates.{language}"), problem);
        }
    }
    if !geo.enabled {
        return;
    }
    match geo.provider {
        GeoProvider::Http => http_url(p, "geolocation.url", &geo.url),
        GeoProvider::Mmdb => required(p, "geolocation.mmdb_path", &geo.mmdb_path),
    }
}

fn proxy(config: &Config, p: &mut Problems) {
    let proxy = &config.proxy;
    if proxy.enabled {
        required(p, "proxy.host", proxy.host.trim());
        if proxy.port == 0 {
            p.push("proxy.port", "must be greater than 0");
        }
    }
}

// === shared checks ===

/// Reports every repeated (non-empty) `field` value in the list called `list`.
fn unique<'a>(p: &mut Problems, list: &str, field: &str, values: impl Iterator<Item = &'a str>) {
    let mut first_at: HashMap<&str, usize> = HashMap::new();
    for (i, value) in values.enumerate().filter(|(_, v)| !v.is_empty()) {
        match first_at.get(value) {
            Some(first) => p.push(
                format!("{list}[{i}].{field}"),
                format!("duplicate {field} `{value}` (first at {list}[{first}])"),
            ),
            None => {
                first_at.insert(value, i);
            }
        }
    }
}

fn required(p: &mut Problems, path: &str, value: &str) {
    if value.is_empty() {
        p.push(path, "required");
    }
}

fn positive(p: &mut Problems, path: &str, value: Duration) {
    if value.is_zero() {
        p.push(path, "must be greater than 0");
    }
}

/// An absolute `http://` or `https://` URL with a host.
fn http_url(p: &mut Problems, path: &str, value: &str) {
    if value.is_empty() {
        p.push(path, "required");
    } else if !url_with_scheme(value, &["http", "https"]) {
        p.push(path, format!("`{value}` is not an absolute http(s) URL"));
    }
}

fn url_with_scheme(value: &str, schemes: &[&str]) -> bool {
    url::Url::parse(value).is_ok_and(|url| {
        schemes.contains(&url.scheme()) && url.host_str().is_some_and(|h| !h.is_empty())
    })
}

/// Reports every key of a language map that is not in `general.supported_locales`.
fn locales<'a>(
    p: &mut Problems,
    config: &Config,
    path: &str,
    keys: impl Iterator<Item = &'a String>,
) {
    let supported = &config.general.supported_locales;
    for key in keys.filter(|key| !supported.contains(key)) {
        p.push(
            format!("{path}.{key}"),
            format!("`{key}` is not in general.supported_locales"),
        );
    }
}

/// Longest period a rate may span, and longest fraud mute: beyond them the state a limit keeps
/// per key (and its store TTL) would outlive any sensible attack window.
const MAX_RATE_PERIOD: Duration = Duration::from_secs(7 * 24 * 3600);
const MAX_FRAUD_MUTE: Duration = Duration::from_secs(30 * 24 * 3600);

fn rate_limits(config: &Config, p: &mut Problems) {
    let r = &config.rate_limits;
    let rates: [(&str, &Rate); 6] = [
        ("per_client", &r.per_client),
        ("push_starts_per_user", &r.push_starts_per_user),
        ("sms_per_phone", &r.sms_per_phone),
        ("sms_per_prefix", &r.sms_per_prefix),
        ("device_per_ip", &r.device_per_ip),
        ("credential_failures_per_ip", &r.credential_failures_per_ip),
    ];
    for (key, rate) in rates {
        if rate.is_off() {
            continue;
        }
        if rate.period > MAX_RATE_PERIOD {
            p.push(
                format!("rate_limits.{key}"),
                "period must be at most 7 days",
            );
        } else if rate.period.as_micros() < u128::from(rate.count) {
            // Buckets count in whole microseconds per event.
            p.push(
                format!("rate_limits.{key}"),
                "more than one event per microsecond: use a longer period",
            );
        }
        if rate.count > 1_000_000 {
            p.push(
                format!("rate_limits.{key}"),
                "must be at most 1000000 per period",
            );
        }
    }
    if r.fraud_mute > MAX_FRAUD_MUTE {
        p.push("rate_limits.fraud_mute", "must be at most 30 days");
    }
}

fn sms_policy(config: &Config, p: &mut Problems) {
    let policy = &config.sms_policy;
    for (key, list) in [
        ("allowed_prefixes", &policy.allowed_prefixes),
        ("denied_prefixes", &policy.denied_prefixes),
    ] {
        for prefix in list {
            if !valid_e164_prefix(prefix) {
                p.push(
                    format!("sms_policy.{key}"),
                    format!("`{prefix}` is not an E.164 prefix (\"+\" and 1 to 15 digits)"),
                );
            }
        }
    }
}
