//! Who may call Tessera (API clients) and which portal callbacks it may call back.

use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    MobileAuthentication,
    EndUser,
    Admin,
    Events,
}

/// An API client (portal, help desk, operator). After loading, `secret_sha256` always holds the
/// lower-case hex SHA-256 of the secret; the inline / file / env forms are resolved and cleared.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ApiClient {
    /// Required.
    pub id: String,
    pub secret_sha256: String,
    /// Never written back out: it is always empty after loading.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub secret: String,
    pub secret_env: String,
    pub secret_file: String,
    pub scopes: Vec<Scope>,
    /// CIDRs; empty = any.
    pub allowed_ips: Vec<IpNet>,
}

impl Default for ApiClient {
    fn default() -> Self {
        Self {
            id: String::new(),
            secret_sha256: String::new(),
            secret: String::new(),
            secret_env: String::new(),
            secret_file: String::new(),
            scopes: vec![Scope::MobileAuthentication, Scope::EndUser],
            allowed_ips: Vec::new(),
        }
    }
}

/// A callback allow-list entry with the credentials used when calling it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CallbackConfig {
    /// Matched exactly against the requested `callback_uri`.
    pub url: String,
    pub username: String,
    pub password: String,
    pub password_env: String,
    pub password_file: String,
    pub signing_secret: String,
    pub signing_secret_env: String,
    pub signing_secret_file: String,
}

/// How callbacks are delivered (API.md §2.5 defaults). A Tessera addition: `[callbacks]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CallbackDelivery {
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Total tries including the first.
    pub max_tries: u32,
    /// First retry delay; doubles each retry.
    #[serde(with = "humantime_serde")]
    pub initial_backoff: Duration,
}

impl Default for CallbackDelivery {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            max_tries: 6,
            initial_backoff: Duration::from_secs(1),
        }
    }
}
