//! SMS delivery: the ordered gateway list and the declared Twilio / REST gateways.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The name of the built-in gateway that writes messages to the log instead of sending them.
pub const CONSOLE_GATEWAY: &str = "console";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Sms {
    /// Ordered, with failover: names of `[[sms_gateways]]` or `console`.
    pub gateways: Vec<String>,
    /// How long a failed gateway is skipped before it is tried again.
    #[serde(with = "humantime_serde")]
    pub failover_cooldown: Duration,
}

impl Default for Sms {
    fn default() -> Self {
        Self {
            gateways: vec![CONSOLE_GATEWAY.into()],
            failover_cooldown: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SmsGatewayKind {
    #[default]
    Twilio,
    Rest,
    Console,
}

impl SmsGatewayKind {
    /// The name used in the file and by `TOKEN_SERVER_ENGINE_CUSTOM_HOOKS_SMS_GATEWAY`.
    pub fn as_str(self) -> &'static str {
        match self {
            SmsGatewayKind::Twilio => "twilio",
            SmsGatewayKind::Rest => "rest",
            SmsGatewayKind::Console => "console",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SmsGateway {
    /// Required, unique; what `sms.gateways` lists.
    pub name: String,
    pub kind: SmsGatewayKind,
    /// twilio
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: String,
    pub auth_token_env: String,
    pub auth_token_file: String,
    pub from: String,
    pub messaging_service_sid: String,
    /// rest
    pub url: String,
    pub username: String,
    pub password: String,
    pub password_env: String,
    pub password_file: String,
    /// Tessera: per-request timeout.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for SmsGateway {
    fn default() -> Self {
        Self {
            name: String::new(),
            kind: SmsGatewayKind::Twilio,
            base_url: "https://api.twilio.com".into(),
            account_sid: String::new(),
            auth_token: String::new(),
            auth_token_env: String::new(),
            auth_token_file: String::new(),
            from: String::new(),
            messaging_service_sid: String::new(),
            url: String::new(),
            username: String::new(),
            password: String::new(),
            password_env: String::new(),
            password_file: String::new(),
            timeout: Duration::from_secs(10),
        }
    }
}
