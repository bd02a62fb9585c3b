//! The typed form of `tessera.toml` (CONFIG.md). Field names are the file's keys; every struct
//! rejects unknown keys and every key has the default CONFIG.md documents.
//!
//! Secrets have `*_env` / `*_file` twins; after [`crate::load`] they are resolved into the inline
//! field and the twins are empty, so a loaded config only ever carries the inline form.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod apps;
mod auth_types;
mod blank;
mod clients;
mod geolocation;
mod limits;
mod proxy;
mod sms;

pub use apps::*;
pub use auth_types::*;
pub use clients::*;
pub use geolocation::*;
pub use limits::*;
pub use proxy::*;
pub use sms::*;

/// The whole configuration file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: Server,
    pub store: Store,
    pub general: General,
    pub api_clients: Vec<ApiClient>,
    pub mobile_auth_types: Vec<MobileAuthType>,
    pub callback_configs: Vec<CallbackConfig>,
    /// Tessera addition: how callbacks are delivered.
    pub callbacks: CallbackDelivery,
    pub sms: Sms,
    pub sms_gateways: Vec<SmsGateway>,
    pub applications: Vec<Application>,
    pub push_configs: Vec<PushConfig>,
    pub geolocation: Geolocation,
    pub proxy: Proxy,
    pub rate_limits: RateLimits,
    pub sms_policy: SmsPolicy,
}

impl Config {
    /// The mobile auth type called `name`.
    pub fn mobile_auth_type(&self, name: &str) -> Option<&MobileAuthType> {
        self.mobile_auth_types.iter().find(|t| t.name == name)
    }

    /// The push config with this `id`.
    pub fn push_config(&self, id: &str) -> Option<&PushConfig> {
        self.push_configs.iter().find(|p| p.id == id)
    }

    /// The application with this `id`.
    pub fn application(&self, id: &str) -> Option<&Application> {
        self.applications.iter().find(|a| a.id == id)
    }

    /// The declared SMS gateway called `name` (the built-in `console` is not declared).
    pub fn sms_gateway(&self, name: &str) -> Option<&SmsGateway> {
        self.sms_gateways.iter().find(|g| g.name == name)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Server {
    /// Portal, management, device and admin APIs.
    pub listen: SocketAddr,
    /// If set, `/metrics` and `/health/*` move to this listener. `""` in the file means `None`.
    #[serde(with = "blank::socket_addr")]
    pub ops_listen: Option<SocketAddr>,
    /// 0 = one shard (and accept loop) per core.
    pub workers: usize,
    /// Open connections per node; beyond it new connections wait in the kernel's backlog.
    pub max_connections: usize,
    /// Open connections per source address; one over the cap is closed at once.
    pub max_connections_per_ip: usize,
    /// From accept to a complete first request head (h2 preface included); then closed.
    #[serde(with = "humantime_serde")]
    pub handshake_timeout: Duration,
    /// A connection with no request in progress (HTTP/1 keep-alive, h2 without open streams) is
    /// closed after this long. A long-poll in progress is not idle.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    pub h2_max_concurrent_streams: u32,
    /// SIGTERM: how long in-flight requests, callback tries and store writes may take to finish.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
}

impl Default for Server {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            ops_listen: None,
            workers: 0,
            max_connections: 10_000,
            max_connections_per_ip: 256,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            h2_max_concurrent_streams: 100,
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    #[default]
    Memory,
    Redis,
}

impl StoreKind {
    /// The name used in the file (`store.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Memory => "memory",
            StoreKind::Redis => "redis",
        }
    }
}

/// How the Redis store reaches Redis.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RedisMode {
    /// One Redis server (`redis_url` is its URL).
    #[default]
    Standalone,
    /// Redis Cluster (`redis_url` is one or more comma-separated seed URLs).
    Cluster,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Store {
    pub kind: StoreKind,
    /// `redis://` or `rediss://`; in cluster mode, several comma-separated seed URLs.
    pub redis_url: String,
    pub redis_mode: RedisMode,
    /// How many multiplexed connections the store opens (used round-robin).
    pub redis_pool_size: u32,
    /// Prepended to every Redis key, so several deployments can share one Redis. No `{` or `}`:
    /// the keys' hash tags come after it.
    pub key_prefix: String,
    /// HMAC key for short secrets at rest (SMS codes): a bare hash of a six-digit code is
    /// brute-forced offline in a moment. Required with Redis (shared by all nodes); empty with
    /// the memory store means a random key per process.
    pub hash_key: String,
    pub hash_key_env: String,
    pub hash_key_file: String,
    /// How long finished transactions stay readable.
    #[serde(with = "humantime_serde")]
    pub result_retention: Duration,
    /// How long a node's registration outlives its last renewal: a dead node's transactions are
    /// taken over within about this much. 1s..=60s.
    #[serde(with = "humantime_serde")]
    pub node_lease: Duration,
}

impl Default for Store {
    fn default() -> Self {
        Self {
            kind: StoreKind::Memory,
            redis_url: "redis://127.0.0.1:6379".into(),
            redis_mode: RedisMode::Standalone,
            redis_pool_size: 16,
            key_prefix: "tessera:".into(),
            hash_key: String::new(),
            hash_key_env: String::new(),
            hash_key_file: String::new(),
            result_retention: Duration::from_secs(600),
            node_lease: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PushEnrollmentMode {
    #[default]
    SingleDevice,
    OverrideAllowed,
    MultipleDevices,
}

/// The seed's "General mobile config".
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct General {
    pub mobile_authentication_enabled: bool,
    pub enrollment_enabled: bool,
    pub unique_keys_per_enrollment: bool,
    pub push_enrollment_mode: PushEnrollmentMode,
    pub push_enrollment_enabled: bool,
    pub push_authorization_enabled: bool,
    pub sms_authentication_enabled: bool,
    pub callback_allow_list_enabled: bool,
    /// Non-empty and always contains `en`, the language every text falls back to.
    pub supported_locales: Vec<String>,
    /// 1..=1600 characters.
    pub max_message_length: usize,
    pub default_sender_id: String,
}

impl Default for General {
    fn default() -> Self {
        Self {
            mobile_authentication_enabled: true,
            enrollment_enabled: true,
            unique_keys_per_enrollment: false,
            push_enrollment_mode: PushEnrollmentMode::SingleDevice,
            push_enrollment_enabled: true,
            push_authorization_enabled: true,
            sms_authentication_enabled: true,
            callback_allow_list_enabled: false,
            supported_locales: vec!["en".into()],
            max_message_length: 155,
            default_sender_id: String::new(),
        }
    }
}
