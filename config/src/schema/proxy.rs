//! The outgoing HTTP proxy used for push, SMS, callbacks and geolocation.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProxySchema {
    #[default]
    Http,
    Https,
}

/// Outgoing proxy for push, SMS, callbacks and geolocation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Proxy {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub schema: ProxySchema,
    pub username: String,
    pub password: String,
    pub password_env: String,
    pub password_file: String,
    /// Send credentials with the first request instead of waiting for a 407.
    pub preemptive_auth: bool,
}

impl Default for Proxy {
    fn default() -> Self {
        Self {
            enabled: false,
            host: String::new(),
            port: 8080,
            schema: ProxySchema::Http,
            username: String::new(),
            password: String::new(),
            password_env: String::new(),
            password_file: String::new(),
            preemptive_auth: false,
        }
    }
}
