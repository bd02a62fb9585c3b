//! The shapes on the wire, shared by the server and the clients ([`crate::client`],
//! [`crate::management_client`], [`crate::device_client`]) so they cannot drift: the portal API
//! (API.md §2) here, user & device management (§3) in [`management`], the device API (§4) in
//! [`device`]. Request types deserialize from form fields and JSON alike: empty strings count as
//! absent, unknown fields are ignored (vendor clients send extras), and a known field of the
//! wrong JSON type is an error.

use serde::{Deserialize, Deserializer, Serialize};

mod device;
mod management;

pub use device::*;
pub use management::*;

// === requests ===

/// `POST /authenticate/user` (API.md §2.2). Which selector counts depends on the API version:
/// v4 `device_id`, v3 `app_id`, v2 neither.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StartParams {
    #[serde(
        rename = "type",
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub type_name: Option<String>,
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub callback_uri: Option<String>,
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub secure_message: Option<String>,
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub signing_data: Option<String>,
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub language_code: Option<String>,
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

impl StartParams {
    /// A request for `type_name`; fill in the rest with struct update syntax.
    pub fn new(type_name: impl Into<String>) -> Self {
        Self {
            type_name: Some(type_name.into()),
            ..Self::default()
        }
    }
}

/// `POST /authenticate/user/{user_id}/sms` (API.md §2.4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SmsVerifyParams {
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub sms_code: Option<String>,
}

/// `POST /authenticate/user/{user_id}/sms/resend` (API.md §2.4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TransactionRef {
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
}

/// The query of `GET /authenticate/transaction/{id}` (API.md §2.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResultQuery {
    /// Long-poll for at most this many milliseconds (clamped to 60000).
    #[serde(deserialize_with = "number", skip_serializing_if = "Option::is_none")]
    pub wait: Option<u64>,
}

/// The query of `GET /oauth/api/v1/events` (API.md §2.7).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventsQuery {
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Epoch milliseconds, inclusive.
    #[serde(deserialize_with = "number", skip_serializing_if = "Option::is_none")]
    pub from: Option<u64>,
    /// Epoch milliseconds, inclusive.
    #[serde(deserialize_with = "number", skip_serializing_if = "Option::is_none")]
    pub to: Option<u64>,
    /// Default 100, at most 1000.
    #[serde(deserialize_with = "number", skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

// === responses ===

/// `200` of a start (API.md §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartResponse {
    pub transaction_id: String,
    /// The method actually started, lower-case (`sms`, `push`, ...).
    pub auth_method: String,
    /// Milliseconds.
    pub time_to_live: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp: Option<String>,
    /// The one device the push went to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceRef>,
    /// The devices the push went to, when there are several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<DeviceRef>>,
    /// Number matching: the two-digit number the portal shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_challenge: Option<u8>,
}

/// A device as a start names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRef {
    pub name: String,
    /// `android` or `ios`.
    pub platform: String,
}

/// `200` of `GET /transaction/{id}` (API.md §2.3): the vendor fields plus Tessera's `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionResult {
    pub callback_uri: Option<String>,
    pub transaction_id: String,
    /// When it finished, or when it started while pending (epoch ms).
    pub timestamp: u64,
    pub user_id: Option<String>,
    pub is_authenticated: bool,
    pub authentication_method: String,
    pub used_authentication_attempts: u32,
    /// `pending | accepted | rejected | expired | failed | cancelled`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_authenticated_reason: Option<NotAuthenticatedReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_public_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_verified: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotAuthenticatedReason {
    pub reason: String,
    pub description: String,
}

/// `200` of a correct SMS code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsVerified {
    pub transaction_id: String,
}

/// `200` of `GET /user/{user_id}/enabled` (API.md §2.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Availability {
    pub enabled: Vec<AvailableType>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvailableType {
    #[serde(rename = "type")]
    pub type_name: String,
    /// Vendor upper-case name (`PUSH_WITH_PIN`, `SMS`, ...).
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_fallback_allowed: Option<bool>,
    /// Push types (v4 and v3): where a push would go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apps_enrolled_for_push: Option<Vec<EnrolledForPush>>,
}

/// One item of `apps_enrolled_for_push`: v4 names devices, v3 only applications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EnrolledForPush {
    Device(PushDevice),
    App(PushApp),
}

/// v4: a device enrolled for push, with its application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushDevice {
    pub app_id: String,
    pub app_name: String,
    pub device_id: String,
    pub device_name: String,
    /// `android` or `ios`.
    pub platform: String,
}

/// v3: an application with at least one device enrolled for push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushApp {
    pub id: String,
    pub name: String,
}

/// `200` of the device / application scoped availability: the usable type names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnabledTypes {
    pub enabled: Vec<String>,
}

/// `200` of v2's `GET /user/{user_id}/enabled/{type}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnabledFlag {
    pub enabled: bool,
}

/// `200` of `GET /oauth/api/v1/events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventList {
    pub events: Vec<EventRecord>,
}

/// One audit event, vendor field names (API.md §2.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    pub event_identifier: String,
    pub event_name: String,
    pub event_type: String,
    pub client_id: Option<String>,
    pub app_name: Option<String>,
    pub transaction_id: Option<String>,
    pub user_id: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// Epoch milliseconds.
    pub occurred: u64,
}

/// The error body everywhere but client authentication (API.md §1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error_code: String,
    pub description: String,
    /// `invalid_authenticator`: wrong tokens still allowed before the limit's consequence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_attempts: Option<u32>,
}

/// The OAuth-style body of `401 invalid_client` and `403 insufficient_scope`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthErrorBody {
    pub error: String,
    pub error_description: String,
}

/// `/health/live` and `/health/ready`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
}

// === field rules ===

/// A string field; empty means absent. Numbers, booleans, arrays and objects are refused.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

/// A non-negative integer given as a JSON number or as a decimal string (query and form fields
/// are always strings); empty means absent.
fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    // Strings first: query strings and forms (the common case) then match without building
    // an error for the failed numeric attempt.
    #[serde(untagged)]
    enum Num {
        S(String),
        N(u64),
    }
    match Option::<Num>::deserialize(d)? {
        None => Ok(None),
        Some(Num::N(n)) => Ok(Some(n)),
        Some(Num::S(s)) if s.is_empty() => Ok(None),
        Some(Num::S(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("expected a non-negative integer")),
    }
}
