//! Typed config builders. Tests describe API clients, mobile authentication types, applications
//! and push configs with `tessera_config`'s own settings (so a renamed or retyped setting breaks
//! the build, not a test at run time) and render them as TOML for a config file or
//! `tessera_config::load_str`.

use std::collections::BTreeMap;

use serde::Serialize;
pub use tessera_config::{
    ApiClient, ApnsEnvironment, AppVersion, Application, Method, MobileAuthType, Platform,
    PushConfig, PushKind, Rate, RateLimits, Scope, SmsPolicy, VersionStatus,
};

/// `items` as an array of tables `[[key]]` (with their sub-tables), as in a config file.
pub fn array<T: Serialize>(key: &str, items: &[T]) -> String {
    let table = BTreeMap::from([(key, items)]);
    let toml = toml::to_string(&table).expect("settings render as TOML");
    format!("\n{toml}")
}

/// `value` as the table `[key]`, as in a config file.
pub fn table<T: Serialize>(key: &str, value: &T) -> String {
    let table = BTreeMap::from([(key, value)]);
    let toml = toml::to_string(&table).expect("settings render as TOML");
    format!("\n{toml}")
}

/// `[rate_limits]` with every limit off and no fraud mute: for harnesses whose requests come
/// from one address, one API client, a few users and one phone number, where CONFIG.md's
/// defaults (5 push starts per user per 10 minutes, 60 device calls per address per minute,
/// ...) would refuse ordinary test traffic. Tests of the limits set their own.
pub fn no_rate_limits() -> RateLimits {
    RateLimits::off()
}

/// An API client with an inline `secret` and `scopes`, from any address.
pub fn api_client(id: &str, secret: &str, scopes: &[Scope]) -> ApiClient {
    ApiClient {
        id: id.into(),
        secret: secret.into(),
        scopes: scopes.to_vec(),
        ..Default::default()
    }
}

/// `client` limited to calls from `cidr`.
pub fn from_network(client: ApiClient, cidr: &str) -> ApiClient {
    ApiClient {
        allowed_ips: vec![cidr.parse().expect("a CIDR")],
        ..client
    }
}

/// A type `name` of `method` with an English default `message`, otherwise defaults.
pub fn auth_type(name: &str, method: Method, message: &str) -> MobileAuthType {
    MobileAuthType {
        name: name.into(),
        method,
        default_messages: [("en".to_owned(), message.to_owned())].into(),
        ..Default::default()
    }
}

/// An application `id` with PIN enabled (the default) and `versions`.
pub fn application(id: &str, name: &str, versions: Vec<AppVersion>) -> Application {
    Application {
        id: id.into(),
        name: name.into(),
        versions,
        ..Default::default()
    }
}

/// An enabled app version pushing through `push_config`.
pub fn version(platform: Platform, version: &str, push_config: &str) -> AppVersion {
    AppVersion {
        platform,
        version: version.into(),
        push_config: push_config.into(),
        ..Default::default()
    }
}

/// A push config that only logs the pushes (`kind = "log"`).
pub fn log_push(id: &str, platform: Platform) -> PushConfig {
    PushConfig {
        id: id.into(),
        platform,
        kind: PushKind::Log,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn rendered_settings_load_back_as_built() {
        let push = MobileAuthType {
            fallback: "sms".into(),
            fallback_after: Some(Duration::from_secs(2)),
            number_matching: true,
            ..auth_type("push", Method::PushWithPin, "Log in?")
        };
        let sms = auth_type("sms", Method::Sms, "Your code is {code}");
        let mut old = version(Platform::Android, "0.9", "log");
        old.status = VersionStatus::Disabled;
        let app = application(
            "acme",
            "ACME",
            vec![version(Platform::Android, "1.0", "log"), old],
        );
        let toml = [
            array(
                "api_clients",
                &[api_client(
                    "portal",
                    "portal-secret-0123456789abcdef",
                    &[Scope::MobileAuthentication],
                )],
            ),
            array("mobile_auth_types", &[push.clone(), sms]),
            array("applications", std::slice::from_ref(&app)),
            array("push_configs", &[log_push("log", Platform::Android)]),
            table("rate_limits", &no_rate_limits()),
            table(
                "sms_policy",
                &SmsPolicy {
                    allowed_prefixes: vec!["+31".into()],
                    denied_prefixes: vec!["+3197".into()],
                },
            ),
        ]
        .concat();
        let config = match tessera_config::load_str(&toml, &|_| None) {
            Ok(c) => c,
            Err(e) => panic!("{e}\n{toml}"),
        };
        let loaded = config.mobile_auth_types.iter().find(|t| t.name == "push");
        assert_eq!(loaded, Some(&push));
        assert_eq!(config.applications, [app]);
        assert_eq!(config.api_clients[0].id, "portal");
        assert_eq!(config.api_clients[0].scopes, [Scope::MobileAuthentication]);
        assert_eq!(config.push_configs[0].kind, PushKind::Log);
        assert_eq!(config.rate_limits, no_rate_limits());
        assert!(config.rate_limits.push_starts_per_user.is_off());
        assert_eq!(config.sms_policy.denied_prefixes, ["+3197"]);
    }
}
