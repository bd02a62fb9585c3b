//! Environment overrides: every `TESSERA_<SECTION>_<KEY>`, every `TOKEN_SERVER_*` alias.

use std::collections::BTreeSet;
use std::time::Duration;

use super::*;
use crate::overrides::variable;
use crate::*;

/// The default config with a proxy host, so that enabling the proxy alone is valid, and a
/// declared SMS gateway to list.
fn base() -> String {
    with_defaults(
        "[proxy]\nhost = \"proxy.internal\"\n\
         [[sms_gateways]]\nname = \"relay\"\nkind = \"rest\"\nurl = \"https://relay.example.com/\"\n",
    )
}

type Check = fn(&Config) -> bool;

/// One override per key the `TESSERA_*` scheme reaches: (variable, value, what it must change).
const OVERRIDES: &[(&str, &str, Check)] = &[
    ("TESSERA_SERVER_LISTEN", "0.0.0.0:9000", |c| {
        c.server.listen.port() == 9000
    }),
    ("TESSERA_SERVER_OPS_LISTEN", "0.0.0.0:9100", |c| {
        c.server.ops_listen.is_some_and(|a| a.port() == 9100)
    }),
    ("TESSERA_SERVER_WORKERS", "4", |c| c.server.workers == 4),
    ("TESSERA_SERVER_MAX_CONNECTIONS", "500", |c| {
        c.server.max_connections == 500
    }),
    ("TESSERA_SERVER_MAX_CONNECTIONS_PER_IP", "8", |c| {
        c.server.max_connections_per_ip == 8
    }),
    ("TESSERA_SERVER_HANDSHAKE_TIMEOUT", "3s", |c| {
        c.server.handshake_timeout == Duration::from_secs(3)
    }),
    ("TESSERA_SERVER_IDLE_TIMEOUT", "2m", |c| {
        c.server.idle_timeout == Duration::from_secs(120)
    }),
    ("TESSERA_SERVER_H2_MAX_CONCURRENT_STREAMS", "7", |c| {
        c.server.h2_max_concurrent_streams == 7
    }),
    ("TESSERA_SERVER_SHUTDOWN_GRACE", "5s", |c| {
        c.server.shutdown_grace == Duration::from_secs(5)
    }),
    ("TESSERA_STORE_KIND", "redis", |c| {
        c.store.kind == StoreKind::Redis
    }),
    ("TESSERA_STORE_REDIS_URL", "redis://cache:6380", |c| {
        c.store.redis_url == "redis://cache:6380"
    }),
    ("TESSERA_STORE_REDIS_MODE", "cluster", |c| {
        c.store.redis_mode == RedisMode::Cluster
    }),
    ("TESSERA_STORE_NODE_LEASE", "12s", |c| {
        c.store.node_lease == Duration::from_secs(12)
    }),
    ("TESSERA_STORE_REDIS_POOL_SIZE", "64", |c| {
        c.store.redis_pool_size == 64
    }),
    ("TESSERA_STORE_KEY_PREFIX", "bank-a:", |c| {
        c.store.key_prefix == "bank-a:"
    }),
    (
        "TESSERA_STORE_HASH_KEY",
        "env-hash-key-0123456789abcdef01234",
        |c| c.store.hash_key == "env-hash-key-0123456789abcdef01234",
    ),
    ("TESSERA_STORE_HASH_KEY_ENV", "LONG_KEY", |c| {
        c.store.hash_key == LONG_SECRET
    }),
    ("TESSERA_STORE_HASH_KEY_FILE", "@@hash-key", |c| {
        c.store.hash_key == LONG_SECRET
    }),
    ("TESSERA_STORE_RESULT_RETENTION", "1h", |c| {
        c.store.result_retention == Duration::from_secs(3600)
    }),
    (
        "TESSERA_GENERAL_MOBILE_AUTHENTICATION_ENABLED",
        "false",
        |c| !c.general.mobile_authentication_enabled,
    ),
    ("TESSERA_GENERAL_ENROLLMENT_ENABLED", "FALSE", |c| {
        !c.general.enrollment_enabled
    }),
    ("TESSERA_GENERAL_UNIQUE_KEYS_PER_ENROLLMENT", "true", |c| {
        c.general.unique_keys_per_enrollment
    }),
    (
        "TESSERA_GENERAL_PUSH_ENROLLMENT_MODE",
        "multiple_devices",
        |c| c.general.push_enrollment_mode == PushEnrollmentMode::MultipleDevices,
    ),
    ("TESSERA_GENERAL_PUSH_ENROLLMENT_ENABLED", "false", |c| {
        !c.general.push_enrollment_enabled
    }),
    ("TESSERA_GENERAL_PUSH_AUTHORIZATION_ENABLED", "false", |c| {
        !c.general.push_authorization_enabled
    }),
    ("TESSERA_GENERAL_SMS_AUTHENTICATION_ENABLED", "false", |c| {
        !c.general.sms_authentication_enabled
    }),
    ("TESSERA_GENERAL_CALLBACK_ALLOW_LIST_ENABLED", "true", |c| {
        c.general.callback_allow_list_enabled
    }),
    ("TESSERA_GENERAL_SUPPORTED_LOCALES", "en, nl ,de", |c| {
        c.general.supported_locales == ["en", "nl", "de"]
    }),
    ("TESSERA_GENERAL_MAX_MESSAGE_LENGTH", "160", |c| {
        c.general.max_message_length == 160
    }),
    ("TESSERA_GENERAL_DEFAULT_SENDER_ID", "ACME", |c| {
        c.general.default_sender_id == "ACME"
    }),
    ("TESSERA_SMS_GATEWAYS", "relay,console", |c| {
        c.sms.gateways == ["relay", "console"]
    }),
    ("TESSERA_SMS_FAILOVER_COOLDOWN", "2m", |c| {
        c.sms.failover_cooldown == Duration::from_secs(120)
    }),
    ("TESSERA_CALLBACKS_TIMEOUT", "2s", |c| {
        c.callbacks.timeout == Duration::from_secs(2)
    }),
    ("TESSERA_CALLBACKS_MAX_TRIES", "3", |c| {
        c.callbacks.max_tries == 3
    }),
    ("TESSERA_CALLBACKS_INITIAL_BACKOFF", "500ms", |c| {
        c.callbacks.initial_backoff == Duration::from_millis(500)
    }),
    ("TESSERA_GEOLOCATION_ENABLED", "true", |c| {
        c.geolocation.enabled
    }),
    ("TESSERA_GEOLOCATION_PROVIDER", "mmdb", |c| {
        c.geolocation.provider == GeoProvider::Mmdb
    }),
    ("TESSERA_GEOLOCATION_URL", "https://geo.internal/ip/", |c| {
        c.geolocation.url == "https://geo.internal/ip/"
    }),
    ("TESSERA_GEOLOCATION_PRIVATE_KEY", "k1", |c| {
        c.geolocation.private_key == "k1"
    }),
    ("TESSERA_GEOLOCATION_PRIVATE_KEY_ENV", "GEO_KEY", |c| {
        c.geolocation.private_key == "from-env"
    }),
    ("TESSERA_GEOLOCATION_PRIVATE_KEY_FILE", "@geo_key", |c| {
        c.geolocation.private_key == "from-file"
    }),
    ("TESSERA_GEOLOCATION_MMDB_PATH", "/var/geo.mmdb", |c| {
        c.geolocation.mmdb_path == "/var/geo.mmdb"
    }),
    ("TESSERA_GEOLOCATION_CACHE_TTL", "1h", |c| {
        c.geolocation.cache_ttl == Duration::from_secs(3600)
    }),
    ("TESSERA_GEOLOCATION_LOCATION_PRECISION", "country", |c| {
        c.geolocation.location_precision == LocationPrecision::Country
    }),
    ("TESSERA_PROXY_ENABLED", "true", |c| c.proxy.enabled),
    ("TESSERA_PROXY_HOST", "squid", |c| c.proxy.host == "squid"),
    ("TESSERA_PROXY_PORT", "3128", |c| c.proxy.port == 3128),
    ("TESSERA_PROXY_SCHEMA", "https", |c| {
        c.proxy.schema == ProxySchema::Https
    }),
    ("TESSERA_PROXY_USERNAME", "u", |c| c.proxy.username == "u"),
    ("TESSERA_PROXY_PASSWORD", "p", |c| c.proxy.password == "p"),
    ("TESSERA_PROXY_PASSWORD_ENV", "GEO_KEY", |c| {
        c.proxy.password == "from-env"
    }),
    ("TESSERA_PROXY_PASSWORD_FILE", "@geo_key", |c| {
        c.proxy.password == "from-file"
    }),
    ("TESSERA_PROXY_PREEMPTIVE_AUTH", "true", |c| {
        c.proxy.preemptive_auth
    }),
    ("TESSERA_RATE_LIMITS_PER_CLIENT", "100/s", |c| {
        c.rate_limits.per_client == Rate::new(100, Duration::from_secs(1))
    }),
    ("TESSERA_RATE_LIMITS_PUSH_STARTS_PER_USER", "3/5m", |c| {
        c.rate_limits.push_starts_per_user == Rate::new(3, Duration::from_secs(300))
    }),
    ("TESSERA_RATE_LIMITS_SMS_PER_PHONE", "0", |c| {
        c.rate_limits.sms_per_phone.is_off()
    }),
    ("TESSERA_RATE_LIMITS_SMS_PER_PREFIX", "50/1h", |c| {
        c.rate_limits.sms_per_prefix == Rate::new(50, Duration::from_secs(3600))
    }),
    ("TESSERA_RATE_LIMITS_DEVICE_PER_IP", "10/1m", |c| {
        c.rate_limits.device_per_ip == Rate::new(10, Duration::from_secs(60))
    }),
    (
        "TESSERA_RATE_LIMITS_CREDENTIAL_FAILURES_PER_IP",
        "5/1h",
        |c| c.rate_limits.credential_failures_per_ip == Rate::new(5, Duration::from_secs(3600)),
    ),
    ("TESSERA_RATE_LIMITS_FRAUD_MUTE", "2h", |c| {
        c.rate_limits.fraud_mute == Duration::from_secs(7200)
    }),
    ("TESSERA_SMS_POLICY_ALLOWED_PREFIXES", "+31,+32", |c| {
        c.sms_policy.allowed_prefixes == ["+31", "+32"]
    }),
    ("TESSERA_SMS_POLICY_DENIED_PREFIXES", "+3197", |c| {
        c.sms_policy.denied_prefixes == ["+3197"]
    }),
];

/// What `LONG_KEY` and `@@` files hold: long enough for a hash key.
const LONG_SECRET: &str = "long-secret-0123456789abcdef0123456789";

/// Runs one override against the base config; `@name` values stand for a temp file holding
/// `from-file` (`@@name`: [`LONG_SECRET`]), `GEO_KEY` is always set to `from-env` and
/// `LONG_KEY` to [`LONG_SECRET`].
fn run(name: &str, value: &str) -> crate::Result<Config> {
    let file;
    let value = match value.strip_prefix('@') {
        Some(file_name) => {
            let (file_name, contents) = match file_name.strip_prefix('@') {
                Some(long) => (long, format!("{LONG_SECRET}\n")),
                None => (file_name, "from-file\n".to_owned()),
            };
            file = temp_file(file_name, &contents).display().to_string();
            file.as_str()
        }
        None => value,
    };
    // A Redis store needs a hash key; the key's own overrides bring theirs.
    let hash_key = if name == "TESSERA_STORE_KIND" {
        "TESSERA_STORE_HASH_KEY"
    } else {
        "UNUSED"
    };
    let key = "redis-hash-key-0123456789abcdef0123";
    load_with_env(
        &base(),
        &[
            (name, value),
            ("GEO_KEY", "from-env"),
            ("LONG_KEY", LONG_SECRET),
            (hash_key, key),
        ],
    )
}

#[test]
fn every_scalar_key_of_every_section_has_a_tessera_override() {
    for (name, value, check) in OVERRIDES {
        let config = run(name, value).unwrap_or_else(|e| panic!("{name}={value}:\n{e}"));
        assert!(check(&config), "{name}={value} did not take effect");
        assert!(
            !check(&load_ok(&base())),
            "{name}: the check holds without the override"
        );
    }
}

#[test]
fn the_override_table_covers_every_key() {
    let mut expected = BTreeSet::new();
    for section in ENV_SECTIONS {
        for (key, value) in crate::keys::KNOWN[*section].as_table().unwrap() {
            if !value.is_table() {
                expected.insert(variable(section, key));
            }
        }
    }
    let tested: BTreeSet<String> = OVERRIDES
        .iter()
        .map(|(name, ..)| name.to_string())
        .collect();
    assert_eq!(tested, expected);
}

#[test]
fn a_bad_value_is_a_problem_named_after_the_variable() {
    let problems = problems_with_env(
        &base(),
        &[
            ("TESSERA_SERVER_WORKERS", "many"),
            ("TESSERA_PROXY_ENABLED", "yes"),
            ("TESSERA_SERVER_LISTEN", "localhost"),
            ("TESSERA_PROXY_PORT", "70000"),
            ("TESSERA_STORE_KIND", "postgres"),
        ],
    );
    assert_exactly(
        &problems,
        &[
            (
                "TESSERA_SERVER_WORKERS",
                "expected an integer, found `many`",
            ),
            (
                "TESSERA_PROXY_ENABLED",
                "expected true or false, found `yes`",
            ),
            ("TESSERA_SERVER_LISTEN", "invalid"),
            ("TESSERA_PROXY_PORT", "70000"),
            ("TESSERA_STORE_KIND", "unknown variant `postgres`"),
        ],
    );
}

#[test]
fn an_override_is_validated_like_the_file() {
    let problems = problems_with_env(&base(), &[("TESSERA_GENERAL_MAX_MESSAGE_LENGTH", "0")]);
    assert_exactly(
        &problems,
        &[("general.max_message_length", "between 1 and 1600")],
    );
}

const PROXY: &str = "TOKEN_SERVER_ENGINE_EXTERNAL_REST_SERVICES_PROXY_";

#[test]
fn the_seed_proxy_and_locale_names_are_aliases() {
    let vars = [
        (format!("{PROXY}ENABLED_BOOLEAN"), "true"),
        (format!("{PROXY}HOST"), "seed-proxy"),
        (format!("{PROXY}PORT"), "3128"),
        (format!("{PROXY}SCHEMA"), "https"),
        (format!("{PROXY}USERNAME"), "seed-user"),
        (format!("{PROXY}PASSWORD"), "seed-pass"),
        (format!("{PROXY}PREEMPTIVE_AUTH_ENABLED_BOOLEAN"), "true"),
        (
            "TOKEN_SERVER_ADMIN_GENERAL_SUPPORTED_LOCALES".to_string(),
            "en,nl,fr",
        ),
    ];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let c = load_with_env(DEFAULT_CONFIG, &vars).unwrap_or_else(|e| panic!("{e}"));
    let p = &c.proxy;
    assert!(p.enabled && p.preemptive_auth);
    assert_eq!(
        (p.host.as_str(), p.port, p.schema),
        ("seed-proxy", 3128, ProxySchema::Https)
    );
    assert_eq!(
        (p.username.as_str(), p.password.as_str()),
        ("seed-user", "seed-pass")
    );
    assert_eq!(c.general.supported_locales, ["en", "nl", "fr"]);
    assert_eq!(ENV_ALIASES.len(), vars.len());
}

#[test]
fn tessera_names_win_over_seed_aliases() {
    let host = format!("{PROXY}HOST");
    let c = load_with_env(
        &base(),
        &[(host.as_str(), "seed"), ("TESSERA_PROXY_HOST", "tessera")],
    )
    .unwrap();
    assert_eq!(c.proxy.host, "tessera");
    let locales = [
        ("TOKEN_SERVER_ADMIN_GENERAL_SUPPORTED_LOCALES", "en,fr"),
        ("TESSERA_GENERAL_SUPPORTED_LOCALES", "en,nl"),
    ];
    assert_eq!(
        load_with_env(&base(), &locales)
            .unwrap()
            .general
            .supported_locales,
        ["en", "nl"]
    );
}

#[test]
fn a_bad_alias_value_is_a_problem_named_after_the_alias() {
    let enabled = format!("{PROXY}ENABLED_BOOLEAN");
    let port = format!("{PROXY}PORT");
    let problems = problems_with_env(&base(), &[(enabled.as_str(), "ja"), (port.as_str(), "-1")]);
    assert_exactly(
        &problems,
        &[
            (enabled.as_str(), "expected true or false"),
            (port.as_str(), "-1"),
        ],
    );
}

const GATEWAYS: &str = r#"
[sms]
gateways = ["console", "rest-a"]
[[sms_gateways]]
name = "rest-a"
kind = "rest"
url = "https://a.example.com/sms"
[[sms_gateways]]
name = "twilio-main"
kind = "twilio"
account_sid = "AC1"
auth_token = "t"
from = "+31600000000"
[[sms_gateways]]
name = "twilio-spare"
kind = "twilio"
account_sid = "AC2"
auth_token = "t"
from = "+31600000001"
"#;

#[test]
fn the_seed_sms_gateway_kind_puts_the_first_gateway_of_that_kind_first() {
    let gateways = |kind: &str| {
        let c =
            load_with_env(GATEWAYS, &[(SMS_GATEWAY_ALIAS, kind)]).unwrap_or_else(|e| panic!("{e}"));
        c.sms.gateways
    };
    assert_eq!(gateways("twilio"), ["twilio-main", "console", "rest-a"]);
    assert_eq!(gateways("rest"), ["rest-a", "console"]);
    assert_eq!(gateways("console"), ["console", "rest-a"]);
    assert_eq!(gateways("TWILIO"), ["twilio-main", "console", "rest-a"]);
}

#[test]
fn the_seed_sms_gateway_kind_needs_a_declared_gateway_of_that_kind() {
    let problems = problems_with_env(DEFAULT_CONFIG, &[(SMS_GATEWAY_ALIAS, "twilio")]);
    assert_exactly(
        &problems,
        &[(SMS_GATEWAY_ALIAS, "no [[sms_gateways]] of kind twilio")],
    );
    let problems = problems_with_env(DEFAULT_CONFIG, &[(SMS_GATEWAY_ALIAS, "pigeon")]);
    assert_exactly(
        &problems,
        &[(SMS_GATEWAY_ALIAS, "expected twilio, rest or console")],
    );
}

#[test]
fn tessera_sms_gateways_wins_over_the_seed_sms_gateway_kind() {
    let vars = [
        (SMS_GATEWAY_ALIAS, "twilio"),
        ("TESSERA_SMS_GATEWAYS", "twilio-spare,console"),
    ];
    let c = load_with_env(GATEWAYS, &vars).unwrap();
    assert_eq!(c.sms.gateways, ["twilio-spare", "console"]);
}
