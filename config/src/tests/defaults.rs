//! Every default CONFIG.md documents, the embedded default config, and the shipped examples.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use super::*;
use crate::load::load_with;
use crate::*;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn an_empty_file_has_every_documented_default() {
    let c = load_ok("");

    assert_eq!(
        c.server.listen,
        "127.0.0.1:8080".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(c.server.ops_listen, None);
    assert_eq!(c.server.workers, 0);
    assert_eq!(c.server.max_connections, 10_000);
    assert_eq!(c.server.max_connections_per_ip, 256);
    assert_eq!(c.server.handshake_timeout, secs(10));
    assert_eq!(c.server.idle_timeout, secs(60));
    assert_eq!(c.server.h2_max_concurrent_streams, 100);
    assert_eq!(c.server.shutdown_grace, secs(20));

    assert_eq!(c.store.kind, StoreKind::Memory);
    assert_eq!(c.store.redis_url, "redis://127.0.0.1:6379");
    assert_eq!(c.store.redis_pool_size, 16);
    assert_eq!(c.store.redis_mode, RedisMode::Standalone);
    assert_eq!(c.store.node_lease, Duration::from_secs(5));
    assert_eq!(c.store.key_prefix, "tessera:");
    assert_eq!(c.store.result_retention, secs(600));

    let g = &c.general;
    assert!(g.mobile_authentication_enabled);
    assert!(g.enrollment_enabled);
    assert!(!g.unique_keys_per_enrollment);
    assert_eq!(g.push_enrollment_mode, PushEnrollmentMode::SingleDevice);
    assert!(g.push_enrollment_enabled);
    assert!(g.push_authorization_enabled);
    assert!(g.sms_authentication_enabled);
    assert!(!g.callback_allow_list_enabled);
    assert_eq!(g.supported_locales, ["en"]);
    assert_eq!(g.max_message_length, 155);
    assert_eq!(g.default_sender_id, "");

    assert_eq!(c.callbacks.timeout, secs(5));
    assert_eq!(c.callbacks.max_tries, 6);
    assert_eq!(c.callbacks.initial_backoff, secs(1));

    assert_eq!(c.sms.gateways, ["console"]);
    assert_eq!(c.sms.failover_cooldown, secs(30));

    let geo = &c.geolocation;
    assert!(!geo.enabled);
    assert_eq!(geo.provider, GeoProvider::Http);
    assert_eq!(geo.url, "https://www.ipqualityscore.com/api/json/ip/");
    assert_eq!(geo.private_key, "");
    assert_eq!(geo.mmdb_path, "");
    assert_eq!(geo.cache_ttl, secs(24 * 3600));
    assert_eq!(geo.location_precision, LocationPrecision::City);
    assert_eq!(
        geo.templates,
        BTreeMap::from([(
            "en".to_string(),
            "[message] Device: [operatingSystem] [browser], Location: [countryCode], [region], [city]".to_string()
        )])
    );

    let proxy = &c.proxy;
    assert!(!proxy.enabled);
    assert_eq!(proxy.host, "");
    assert_eq!(proxy.port, 8080);
    assert_eq!(proxy.schema, ProxySchema::Http);
    assert_eq!(proxy.username, "");
    assert_eq!(proxy.password, "");
    assert!(!proxy.preemptive_auth);

    assert!(
        c.api_clients.is_empty() && c.mobile_auth_types.is_empty() && c.applications.is_empty()
    );
    assert!(
        c.callback_configs.is_empty() && c.sms_gateways.is_empty() && c.push_configs.is_empty()
    );
}

#[test]
fn list_items_have_every_documented_default() {
    let c = load_ok(
        r#"
        [[api_clients]]
        id = "portal"
        secret = "s-0123456789abcdef0123456789"
        [[mobile_auth_types]]
        name = "sms"
        [[callback_configs]]
        url = "https://portal.example.com/callback"
        [[sms_gateways]]
        name = "rest"
        kind = "rest"
        url = "https://sms.example.com/send"
        [[applications]]
        id = "acme"
        [[applications.versions]]
        version = "1.0"
        push_config = "log"
        [[push_configs]]
        id = "log"
        kind = "log"
        "#,
    );

    let client = &c.api_clients[0];
    assert_eq!(client.scopes, [Scope::MobileAuthentication, Scope::EndUser]);
    assert!(client.allowed_ips.is_empty());

    let t = &c.mobile_auth_types[0];
    assert_eq!(t.method, Method::Sms);
    assert_eq!(t.time_to_live, secs(300));
    assert_eq!(t.fallback, "");
    assert_eq!(t.fallback_after, None);
    assert!(!t.fallback_on_delivery_failure);
    assert_eq!(t.max_attempts, 3);
    assert_eq!(t.max_resends, 0);
    assert_eq!(t.resend_cooldown, Duration::ZERO);
    assert_eq!(t.code_length, 6);
    assert!(!t.number_matching && !t.transaction_signing);
    assert_eq!(t.sender_id, "");
    assert_eq!(
        t.default_messages,
        BTreeMap::from([("en".into(), "Your code is {code}".into())])
    );

    let cb = &c.callback_configs[0];
    assert_eq!(
        (
            cb.username.as_str(),
            cb.password.as_str(),
            cb.signing_secret.as_str()
        ),
        ("", "", "")
    );

    let gw = &c.sms_gateways[0];
    assert_eq!(gw.base_url, "https://api.twilio.com");
    assert_eq!(gw.timeout, secs(10));
    assert_eq!(SmsGateway::default().kind, SmsGatewayKind::Twilio);

    let app = &c.applications[0];
    assert!(app.pin_enabled);
    assert_eq!(app.max_pin_attempts, 3);
    assert!(!app.fingerprint_enabled);
    assert_eq!(app.max_fingerprint_attempts, 3);
    assert!(app.custom_authenticators.is_empty());
    assert_eq!(app.max_custom_attempts, 3);
    assert_eq!(app.custom_verifier_url, "");
    assert_eq!(app.custom_verifier_signing_secret, "");

    let v = &app.versions[0];
    assert_eq!(v.platform, Platform::Android);
    assert_eq!(v.status, VersionStatus::Enabled);
    assert_eq!(v.apns_environment, ApnsEnvironment::Production);
    assert_eq!(v.bundle_id, "");
    assert!(!v.send_badge_number);

    let push = &c.push_configs[0];
    assert_eq!(push.platform, Platform::Android);
    assert_eq!(PushConfig::default().kind, PushKind::FcmV1);
    assert_eq!((push.endpoint.as_str(), push.ca_file.as_str()), ("", ""));
}

#[test]
fn the_embedded_default_config_is_a_complete_demo() {
    let c = load(None).expect("DEFAULT_CONFIG loads");
    assert_eq!(c, load_ok(DEFAULT_CONFIG));

    assert_eq!(c.store.kind, StoreKind::Memory);
    assert_eq!(c.sms.gateways, ["console"]);
    assert!(c.sms_gateways.is_empty());

    let sms = c.mobile_auth_type("sms").unwrap();
    assert_eq!(sms.method, Method::Sms);
    assert_eq!(sms.default_messages["en"], "Your Tessera code is {code}");
    assert!(sms.default_messages.contains_key("nl"));
    let push = c.mobile_auth_type("push").unwrap();
    assert_eq!((push.method, push.fallback.as_str()), (Method::Push, "sms"));
    assert_eq!(
        c.mobile_auth_type("push_with_pin").unwrap().method,
        Method::PushWithPin
    );
    assert_eq!(c.mobile_auth_type("otp").unwrap().method, Method::Otp);

    let demo = &c.applications[0];
    assert_eq!(demo.id, "demo");
    let versions: Vec<_> = demo
        .versions
        .iter()
        .map(|v| (v.platform, v.version.as_str()))
        .collect();
    assert_eq!(
        versions,
        [(Platform::Android, "1.0"), (Platform::Ios, "1.0")]
    );
    for version in &demo.versions {
        let push = c.push_config(&version.push_config).unwrap();
        assert_eq!(
            (push.kind, push.platform),
            (PushKind::Log, version.platform)
        );
    }

    assert!(c.api_clients.is_empty());
    assert!(needs_demo_client(&c));

    // `tessera serve` without a file keeps CONFIG.md's limits (only test and load harnesses
    // turn them off, in their own configs).
    assert_eq!(c.rate_limits, RateLimits::default());
    assert_eq!(
        c.rate_limits.push_starts_per_user,
        Rate::new(5, Duration::from_secs(600))
    );
    assert_eq!(c.sms_policy, SmsPolicy::default());
}

#[test]
fn a_config_with_a_client_needs_no_demo_client() {
    let c = load_ok(&with_defaults(
        "[[api_clients]]\nid = \"portal\"\nsecret = \"s-0123456789abcdef0123456789\"\n",
    ));
    assert!(!needs_demo_client(&c));
}

fn example(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

#[test]
fn the_full_example_loads() {
    let c = load(Some(&example("full.toml"))).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.api_clients[0].id, "portal");
    assert_eq!(c.sms_gateways.len(), 2);
    assert_eq!(check(&example("full.toml")).unwrap(), c);
}

#[test]
fn the_twilio_example_loads() {
    let env = env_of(&[
        ("TWILIO_AUTH_TOKEN", "token"),
        ("PORTAL_SECRET", "abcdefghijklmnopqrstuvwxyz"),
    ]);
    let c = load_with(Some(&example("twilio.toml")), &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.sms.gateways, ["twilio", "console"]);
    assert_eq!(c.sms_gateways[0].auth_token, "token");
    assert_eq!(
        c.api_clients[0].secret_sha256,
        "71c480df93d6ae2f1efad1447c66c9525e316218cf51fc8d9ed832f2daf18b73"
    );
}

/// Every key path of a TOML table, list indexes written as `[]`.
fn shapes(table: &toml::Table, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner)
                if !path.ends_with("default_messages") && !path.ends_with("templates") =>
            {
                shapes(inner, &path, out)
            }
            toml::Value::Array(items) if items.first().is_some_and(toml::Value::is_table) => {
                for item in items {
                    shapes(item.as_table().unwrap(), &format!("{path}[]"), out);
                }
            }
            _ => {
                out.insert(path);
            }
        }
    }
}

#[test]
fn the_full_example_shows_every_key_but_the_secret_twins() {
    let mut known = Default::default();
    shapes(&crate::keys::KNOWN, "", &mut known);
    let mut shown = Default::default();
    let text = std::fs::read_to_string(example("full.toml")).unwrap();
    shapes(&toml::from_str(&text).unwrap(), "", &mut shown);

    // Secrets are shown inline; their `_env` / `_file` twins (and the hashed client `secret`)
    // would be a second form of the same value, which is a problem.
    const SECRETS: &[&str] = &[
        "password",
        "signing_secret",
        "custom_verifier_signing_secret",
        "auth_token",
        "server_key",
        "private_key",
        "secret",
        "hash_key",
    ];
    let twin = |path: &String| {
        let key = path.rsplit('.').next().unwrap();
        key == "secret"
            || SECRETS
                .iter()
                .any(|s| key == format!("{s}_env") || key == format!("{s}_file"))
    };
    let missing: Vec<_> = known
        .iter()
        .filter(|k| !twin(k) && !shown.contains(*k))
        .collect();
    assert!(missing.is_empty(), "full.toml lacks {missing:?}");
}

#[test]
fn a_loaded_config_serializes_to_toml_that_loads_back_unchanged() {
    let mut original = load_ok(DEFAULT_CONFIG);
    original.server.ops_listen = Some("0.0.0.0:9090".parse().unwrap());
    original.mobile_auth_types[1].fallback_after = Some(Duration::from_secs(20));
    original.api_clients.push(ApiClient {
        id: "portal".into(),
        secret_sha256: "a".repeat(64),
        ..ApiClient::default()
    });
    let text = toml::to_string(&original).unwrap();
    assert_eq!(load_ok(&text), original);
}

#[test]
fn only_sms_types_get_the_default_message() {
    let c = load_ok(
        r#"
        [[mobile_auth_types]]
        name = "sms"
        [[mobile_auth_types]]
        name = "push"
        method = "push"
        "#,
    );
    let sms = c.mobile_auth_type("sms").unwrap();
    assert_eq!(sms.default_messages["en"], DEFAULT_MESSAGE);
    assert!(
        c.mobile_auth_type("push")
            .unwrap()
            .default_messages
            .is_empty()
    );
}
