//! Mobile applications, their versions, and the push configs the versions deliver through.

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    #[default]
    Android,
    Ios,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Android => "android",
            Platform::Ios => "ios",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Application {
    /// Required, unique.
    pub id: String,
    pub name: String,
    pub pin_enabled: bool,
    pub max_pin_attempts: u32,
    pub fingerprint_enabled: bool,
    pub max_fingerprint_attempts: u32,
    /// Authenticator ids, e.g. `["face"]`.
    pub custom_authenticators: Vec<String>,
    pub max_custom_attempts: u32,
    /// Optional HTTP verifier for `custom_data`.
    pub custom_verifier_url: String,
    /// Tessera: signs each verifier request (`Tessera-Signature`, as portal callbacks); empty =
    /// unsigned. With `_env` / `_file` twins.
    pub custom_verifier_signing_secret: String,
    pub custom_verifier_signing_secret_env: String,
    pub custom_verifier_signing_secret_file: String,
    pub versions: Vec<AppVersion>,
}

impl Default for Application {
    fn default() -> Self {
        Self {
            id: String::new(),
            name: String::new(),
            pin_enabled: true,
            max_pin_attempts: 3,
            fingerprint_enabled: false,
            max_fingerprint_attempts: 3,
            custom_authenticators: Vec::new(),
            max_custom_attempts: 3,
            custom_verifier_url: String::new(),
            custom_verifier_signing_secret: String::new(),
            custom_verifier_signing_secret_env: String::new(),
            custom_verifier_signing_secret_file: String::new(),
            versions: Vec::new(),
        }
    }
}

impl Application {
    /// The version `version` for `platform`, if it is declared and enabled.
    pub fn enabled_version(&self, platform: Platform, version: &str) -> Option<&AppVersion> {
        self.versions.iter().find(|v| {
            v.platform == platform && v.version == version && v.status == VersionStatus::Enabled
        })
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum VersionStatus {
    #[default]
    Enabled,
    Disabled,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ApnsEnvironment {
    #[default]
    Production,
    Development,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AppVersion {
    pub platform: Platform,
    /// Required; unique per platform within the application.
    pub version: String,
    pub status: VersionStatus,
    /// Id of a `[[push_configs]]` entry of the same platform.
    pub push_config: String,
    /// iOS: which APNs endpoint the default endpoint resolves to.
    pub apns_environment: ApnsEnvironment,
    /// iOS: required with an APNs push config (the `apns-topic`).
    pub bundle_id: String,
    pub send_badge_number: bool,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PushKind {
    #[default]
    FcmV1,
    FcmLegacy,
    Apns,
    /// Writes pushes to the log; for demos and tests.
    Log,
}

impl PushKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PushKind::FcmV1 => "fcm_v1",
            PushKind::FcmLegacy => "fcm_legacy",
            PushKind::Apns => "apns",
            PushKind::Log => "log",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PushConfig {
    /// Required, unique.
    pub id: String,
    pub platform: Platform,
    pub kind: PushKind,
    /// Default: the provider's public endpoint (APNs: per app version's environment).
    pub endpoint: String,
    /// Extra trusted CA roots (PEM) for this endpoint.
    pub ca_file: String,
    /// fcm_v1
    pub service_account_file: String,
    /// fcm_legacy
    pub server_key: String,
    pub server_key_env: String,
    pub server_key_file: String,
    /// apns
    pub team_id: String,
    pub key_id: String,
    /// apns: the `.p8` signing key.
    pub key_file: String,
    /// Tessera: tries in all for a push the provider failed retryably (the first included);
    /// 1..=10, default 5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Tessera: the pause before the first retry, doubling per retry up to 10 s (±25 %
    /// jitter; a provider's `Retry-After` is honoured when longer); 10ms..=10s, default 200ms.
    #[serde(with = "super::blank::duration")]
    pub retry_delay: Option<Duration>,
}
