//! Mobile authentication types: the API's `type`, each with its method, limits and fallback.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::blank;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Push,
    PushWithPin,
    PushWithFingerprint,
    PushWithCustomAuthenticator,
    Otp,
    Sms,
}

impl Method {
    /// Lower-case wire name (`auth_method`, `authentication_method`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Push => "push",
            Method::PushWithPin => "push_with_pin",
            Method::PushWithFingerprint => "push_with_fingerprint",
            Method::PushWithCustomAuthenticator => "push_with_custom_authenticator",
            Method::Otp => "otp",
            Method::Sms => "sms",
        }
    }

    /// Upper-case vendor name used by the availability endpoint (`PUSH_WITH_PIN`).
    pub fn vendor_name(self) -> &'static str {
        match self {
            Method::Push => "PUSH",
            Method::PushWithPin => "PUSH_WITH_PIN",
            Method::PushWithFingerprint => "PUSH_WITH_FINGERPRINT",
            Method::PushWithCustomAuthenticator => "PUSH_WITH_CUSTOM_AUTHENTICATOR",
            Method::Otp => "OTP",
            Method::Sms => "SMS",
        }
    }

    /// Push, push with PIN / fingerprint / custom authenticator.
    pub fn is_push(self) -> bool {
        matches!(
            self,
            Method::Push
                | Method::PushWithPin
                | Method::PushWithFingerprint
                | Method::PushWithCustomAuthenticator
        )
    }
}

/// The message an SMS type gets when the file gives none (CONFIG.md); applied at load.
pub const DEFAULT_MESSAGE: &str = "Your code is {code}";

/// A mobile authentication type: the API's `type`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MobileAuthType {
    /// Required, unique.
    pub name: String,
    pub method: Method,
    /// Over all attempts, resends and fallbacks; at most 24h.
    #[serde(with = "humantime_serde")]
    pub time_to_live: Duration,
    /// Name of another type, or empty. Not allowed for `otp`.
    pub fallback: String,
    /// Tessera: switch to the fallback when unanswered this long (inside the same transaction).
    /// `""` in the file means `None`.
    #[serde(with = "blank::duration")]
    pub fallback_after: Option<Duration>,
    /// Tessera: switch to the fallback when every push delivery failed.
    pub fallback_on_delivery_failure: bool,
    /// SMS: 0 = unlimited.
    pub max_attempts: u32,
    /// SMS and push: 0 = disabled.
    pub max_resends: u32,
    #[serde(with = "humantime_serde")]
    pub resend_cooldown: Duration,
    /// SMS: 4..=10.
    pub code_length: u8,
    pub number_matching: bool,
    pub transaction_signing: bool,
    pub sender_id: String,
    /// Language code → message; SMS messages may hold `{code}`. Keys are supported locales.
    pub default_messages: BTreeMap<String, String>,
}

impl Default for MobileAuthType {
    fn default() -> Self {
        Self {
            name: String::new(),
            method: Method::Sms,
            time_to_live: Duration::from_secs(300),
            fallback: String::new(),
            fallback_after: None,
            fallback_on_delivery_failure: false,
            max_attempts: 3,
            max_resends: 0,
            resend_cooldown: Duration::ZERO,
            code_length: 6,
            number_matching: false,
            transaction_signing: false,
            sender_id: String::new(),
            default_messages: BTreeMap::new(),
        }
    }
}
