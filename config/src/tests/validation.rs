//! Validation of everything but the mobile auth types: general, store, clients, callbacks, SMS,
//! applications, push configs, geolocation and proxy. Each rule fails with the right path.

use super::*;
use crate::*;

/// The embedded demo config: valid, with no API client.
pub(super) fn demo() -> Config {
    load_ok(DEFAULT_CONFIG)
}

/// Asserts that validating `config` finds exactly `expected`.
#[track_caller]
pub(super) fn expect(config: &Config, expected: &[(&str, &str)]) {
    let problems = match validate(config) {
        Ok(()) => Vec::new(),
        Err(error) => error.problems().to_vec(),
    };
    assert_exactly(&problems, expected);
}

fn api_client(id: &str) -> ApiClient {
    ApiClient {
        id: id.into(),
        secret_sha256: "0".repeat(64),
        ..ApiClient::default()
    }
}

pub(super) fn twilio(name: &str) -> SmsGateway {
    SmsGateway {
        name: name.into(),
        account_sid: "AC1".into(),
        auth_token: "token".into(),
        from: "+31600000000".into(),
        ..SmsGateway::default()
    }
}

#[test]
fn supported_locales_are_non_empty_and_contain_en() {
    let mut c = load_ok("");
    c.general.supported_locales = vec!["nl".into()];
    expect(
        &c,
        &[
            ("general.supported_locales", "must contain en"),
            (
                "geolocation.templates.en",
                "not in general.supported_locales",
            ),
        ],
    );
    c.general.supported_locales.clear();
    expect(
        &c,
        &[
            ("general.supported_locales", "must not be empty"),
            (
                "geolocation.templates.en",
                "not in general.supported_locales",
            ),
        ],
    );
}

#[test]
fn max_message_length_is_1_to_1600() {
    for (length, ok) in [(0, false), (1, true), (1600, true), (1601, false)] {
        let mut c = demo();
        c.general.max_message_length = length;
        let expected: &[(&str, &str)] = if ok {
            &[]
        } else {
            &[("general.max_message_length", "between 1 and 1600")]
        };
        expect(&c, expected);
    }
}

#[test]
fn a_redis_store_needs_a_redis_url_and_a_pool() {
    let mut c = demo();
    c.store.kind = StoreKind::Redis;
    c.store.hash_key = "k".repeat(32);
    expect(&c, &[]);
    c.store.redis_url = "http://cache:6379".into();
    c.store.redis_pool_size = 0;
    c.store.key_prefix = "tessera{eu}:".into();
    expect(
        &c,
        &[
            ("store.redis_url", "redis://"),
            ("store.redis_pool_size", "greater than 0"),
            ("store.key_prefix", "`{`"),
        ],
    );
}

#[test]
fn cluster_mode_takes_comma_separated_seeds_and_standalone_one_url() {
    let mut c = demo();
    c.store.kind = StoreKind::Redis;
    c.store.hash_key = "k".repeat(32);
    c.store.redis_url = "redis://10.0.0.1:7000, redis://10.0.0.2:7000".into();
    expect(&c, &[("store.redis_url", "redis_mode")]);
    c.store.redis_mode = RedisMode::Cluster;
    expect(&c, &[]);
    c.store.redis_url = "redis://10.0.0.1:7000".into();
    expect(&c, &[]);
    c.store.redis_url = "redis://10.0.0.1:7000,http://10.0.0.2:7000".into();
    expect(&c, &[("store.redis_url", "seed")]);
    c.store.redis_url = "redis://10.0.0.1:7000,".into();
    expect(&c, &[("store.redis_url", "seed")]);
    c.store.redis_url = "redis://10.0.0.1:7000,rediss://10.0.0.2:7000".into();
    expect(&c, &[("store.redis_url", "all")]);
}

#[test]
fn the_node_lease_is_between_one_second_and_a_minute() {
    for (lease, ok) in [
        (999, false),
        (1_000, true),
        (5_000, true),
        (60_000, true),
        (60_001, false),
    ] {
        let mut c = demo();
        c.store.node_lease = std::time::Duration::from_millis(lease);
        let expected: &[(&str, &str)] = if ok {
            &[]
        } else {
            &[("store.node_lease", "between 1s and 60s")]
        };
        expect(&c, expected);
    }
}

#[test]
fn names_and_ids_are_unique_in_every_list() {
    let mut c = demo();
    c.api_clients = vec![api_client("portal"), api_client("portal")];
    c.sms_gateways = vec![twilio("tw"), twilio("tw")];
    c.applications.push(c.applications[0].clone());
    c.push_configs.push(c.push_configs[1].clone());
    let callback = CallbackConfig {
        url: "https://portal.example.com/cb".into(),
        ..CallbackConfig::default()
    };
    c.callback_configs = vec![callback.clone(), callback];
    expect(
        &c,
        &[
            (
                "api_clients[1].id",
                "duplicate id `portal` (first at api_clients[0])",
            ),
            ("sms_gateways[1].name", "duplicate name `tw`"),
            ("applications[1].id", "duplicate id `demo`"),
            (
                "push_configs[2].id",
                "duplicate id `log-ios` (first at push_configs[1])",
            ),
            ("callback_configs[1].url", "duplicate url"),
        ],
    );
}

#[test]
fn api_clients_need_an_id_and_scopes() {
    let mut c = demo();
    c.api_clients = vec![
        api_client(""),
        ApiClient {
            scopes: Vec::new(),
            ..api_client("ops")
        },
    ];
    expect(
        &c,
        &[
            ("api_clients[0].id", "required"),
            ("api_clients[1].scopes", "must not be empty"),
        ],
    );
}

#[test]
fn callback_urls_are_absolute_http_urls() {
    let mut c = demo();
    for url in [
        "/callback",
        "ftp://portal.example.com/cb",
        "",
        "https://portal.example.com/ok",
    ] {
        c.callback_configs.push(CallbackConfig {
            url: url.into(),
            ..CallbackConfig::default()
        });
    }
    c.callbacks.max_tries = 0;
    expect(
        &c,
        &[
            ("callback_configs[0].url", "not an absolute http(s) URL"),
            ("callback_configs[1].url", "not an absolute http(s) URL"),
            ("callback_configs[2].url", "required"),
            ("callbacks.max_tries", "at least 1"),
        ],
    );
}

#[test]
fn sms_gateways_lists_declared_gateways_or_console() {
    let mut c = demo();
    c.sms.gateways.clear();
    expect(&c, &[("sms.gateways", "must not be empty")]);

    c.sms_gateways = vec![twilio("tw")];
    c.sms.gateways = vec!["tw".into(), "nexmo".into(), "console".into(), "tw".into()];
    expect(
        &c,
        &[
            ("sms.gateways[1]", "no [[sms_gateways]] named `nexmo`"),
            ("sms.gateways[3]", "`tw` is listed twice"),
        ],
    );
}

#[test]
fn a_twilio_gateway_needs_credentials_and_one_sender() {
    let mut c = demo();
    let mut both = twilio("both");
    both.messaging_service_sid = "MG1".into();
    let neither = SmsGateway {
        from: String::new(),
        ..twilio("neither")
    };
    let bare = SmsGateway {
        name: "bare".into(),
        messaging_service_sid: "MG1".into(),
        base_url: "api.twilio.com".into(),
        ..SmsGateway::default()
    };
    c.sms_gateways = vec![twilio("ok"), both, neither, bare];
    expect(
        &c,
        &[
            (
                "sms_gateways[1].from",
                "exactly one of from and messaging_service_sid",
            ),
            (
                "sms_gateways[2].from",
                "exactly one of from and messaging_service_sid",
            ),
            ("sms_gateways[3].account_sid", "required"),
            ("sms_gateways[3].auth_token", "required"),
            ("sms_gateways[3].base_url", "not an absolute http(s) URL"),
        ],
    );
}

#[test]
fn a_rest_gateway_needs_an_http_url() {
    let mut c = demo();
    let rest = |name: &str, url: &str| SmsGateway {
        name: name.into(),
        kind: SmsGatewayKind::Rest,
        url: url.into(),
        ..SmsGateway::default()
    };
    c.sms_gateways = vec![
        rest("a", "https://sms.example.com/send"),
        rest("b", ""),
        rest("c", "sms.example.com"),
    ];
    c.sms_gateways.push(SmsGateway {
        name: "console".into(),
        ..twilio("x")
    });
    expect(
        &c,
        &[
            ("sms_gateways[1].url", "required"),
            ("sms_gateways[2].url", "not an absolute http(s) URL"),
            ("sms_gateways[3].name", "built-in console gateway"),
        ],
    );
}

#[test]
fn app_versions_use_a_declared_push_config_of_their_platform() {
    let mut c = demo();
    let versions = &mut c.applications[0].versions;
    versions[0].push_config = "nope".into();
    versions[1].push_config = "log-android".into();
    versions.push(AppVersion {
        version: "2.0".into(),
        ..AppVersion::default()
    });
    versions.push(AppVersion {
        version: "1.0".into(),
        push_config: "log-android".into(),
        ..AppVersion::default()
    });
    expect(
        &c,
        &[
            (
                "applications[0].versions[0].push_config",
                "no push config with id `nope`",
            ),
            (
                "applications[0].versions[1].push_config",
                "push config `log-android` is for android, this version is ios",
            ),
            ("applications[0].versions[2].push_config", "required"),
            (
                "applications[0].versions[3].version",
                "duplicate android version `1.0`",
            ),
        ],
    );
}

#[test]
fn an_ios_version_with_apns_needs_a_bundle_id() {
    let mut c = demo();
    c.push_configs.push(PushConfig {
        id: "apns".into(),
        platform: Platform::Ios,
        kind: PushKind::Apns,
        team_id: "T".into(),
        key_id: "K".into(),
        key_file: "/etc/tessera/apns.p8".into(),
        ..PushConfig::default()
    });
    c.applications[0].versions[1].push_config = "apns".into();
    expect(
        &c,
        &[(
            "applications[0].versions[1].bundle_id",
            "required with an apns push config",
        )],
    );
    c.applications[0].versions[1].bundle_id = "com.example.demo".into();
    expect(&c, &[]);
}

#[test]
fn each_push_kind_needs_its_fields() {
    let mut c = demo();
    let config = |id: &str, platform, kind| PushConfig {
        id: id.into(),
        platform,
        kind,
        ..PushConfig::default()
    };
    c.push_configs
        .push(config("v1", Platform::Android, PushKind::FcmV1));
    c.push_configs
        .push(config("legacy", Platform::Android, PushKind::FcmLegacy));
    c.push_configs
        .push(config("apns", Platform::Ios, PushKind::Apns));
    c.push_configs
        .push(config("apns-android", Platform::Android, PushKind::Apns));
    c.push_configs[5] = PushConfig {
        team_id: "T".into(),
        key_id: "K".into(),
        key_file: "k.p8".into(),
        ..c.push_configs[5].clone()
    };
    c.push_configs.push(PushConfig {
        endpoint: "fcm.internal".into(),
        ..config("log", Platform::Android, PushKind::Log)
    });
    expect(
        &c,
        &[
            (
                "push_configs[2].service_account_file",
                "required for kind fcm_v1",
            ),
            ("push_configs[3].server_key", "required for kind fcm_legacy"),
            ("push_configs[4].team_id", "required for kind apns"),
            ("push_configs[4].key_id", "required for kind apns"),
            ("push_configs[4].key_file", "required for kind apns"),
            (
                "push_configs[5].platform",
                "an apns push config is for platform ios",
            ),
            ("push_configs[6].endpoint", "not an absolute http(s) URL"),
        ],
    );
}

#[test]
fn enabled_geolocation_needs_its_provider_settings() {
    let mut c = demo();
    c.geolocation.enabled = true;
    c.geolocation.url = String::new();
    expect(&c, &[("geolocation.url", "required")]);
    c.geolocation.provider = GeoProvider::Mmdb;
    expect(&c, &[("geolocation.mmdb_path", "required")]);
    c.geolocation.mmdb_path = "/var/lib/GeoLite2-City.mmdb".into();
    expect(&c, &[]);
}

#[test]
fn an_enabled_proxy_needs_a_host_and_port() {
    let mut c = demo();
    c.proxy.port = 0;
    expect(&c, &[]);
    c.proxy.enabled = true;
    expect(
        &c,
        &[("proxy.host", "required"), ("proxy.port", "greater than 0")],
    );
}

#[test]
fn rules_are_reported_from_the_file_with_every_problem_at_once() {
    let toml = r#"
        [general]
        max_message_length = 2000
        [sms]
        gateways = ["nexmo"]
        [proxy]
        enabled = true
        [[api_clients]]
        id = ""
        secret = "s-0123456789abcdef0123456789"
        "#;
    assert_exactly(
        &problems_of(toml),
        &[
            ("general.max_message_length", "between 1 and 1600"),
            ("sms.gateways[0]", "no [[sms_gateways]] named `nexmo`"),
            ("proxy.host", "required"),
            ("api_clients[0].id", "required"),
        ],
    );
}

#[test]
fn server_limits_must_be_positive() {
    let mut c = demo();
    c.server.max_connections = 0;
    c.server.max_connections_per_ip = 0;
    c.server.h2_max_concurrent_streams = 0;
    c.server.handshake_timeout = std::time::Duration::ZERO;
    c.server.idle_timeout = std::time::Duration::ZERO;
    expect(
        &c,
        &[
            ("server.max_connections", "between 1 and"),
            ("server.max_connections_per_ip", "greater than 0"),
            ("server.h2_max_concurrent_streams", "greater than 0"),
            ("server.handshake_timeout", "greater than 0s"),
            ("server.idle_timeout", "greater than 0s"),
        ],
    );
    c.server.max_connections = 1_000_001;
    c.server.max_connections_per_ip = 1;
    c.server.h2_max_concurrent_streams = 1;
    c.server.handshake_timeout = std::time::Duration::from_millis(1);
    c.server.idle_timeout = std::time::Duration::from_millis(1);
    expect(&c, &[("server.max_connections", "between 1 and")]);
}
