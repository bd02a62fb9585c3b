//! The device API (API.md §4): what the app sends and receives around the encrypted documents.
//! The documents and answers themselves are `tessera_engine::{Document, AnswerBody}`, inside
//! OpenPGP.

use serde::{Deserialize, Serialize};

use super::text;

/// The content type of transaction documents and answers.
pub const PGP_ENCRYPTED: &str = "application/pgp-encrypted";

/// `POST /device/v1/enrollments`. Every field but `model` and `os_version` is required; they are
/// optional here so a missing one is reported by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EnrollmentParams {
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub enrollment_code: Option<String>,
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    /// `ios` or `android`.
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// The app's armored OpenPGP public key.
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// `201` of an enrollment. The secret is shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    pub device_id: String,
    pub device_secret: String,
    pub profile_id: String,
    /// The server's armored OpenPGP public key for this device.
    pub server_public_key: String,
}

/// `PUT /device/v1/push-enrollment`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PushEnrollmentParams {
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub push_token: Option<String>,
    /// The token this one replaces; informational (the device holds one token at a time).
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub old_push_token: Option<String>,
}

/// Body of `PUT /device/v1/authenticators/...`: the proof that allows a new token (API.md §4,
/// "Proof before replacing"). Empty for a device's first PIN, and, where the application has
/// PIN disabled, for an authenticator's first registration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthenticatorProof {
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub pin_token: Option<String>,
    /// Where PIN is disabled: the current token of the fingerprint being replaced.
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub fingerprint_token: Option<String>,
    /// Where PIN is disabled: the current token of the custom authenticator being replaced.
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub custom_token: Option<String>,
}

/// `201` of `PUT /device/v1/authenticators/pin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinToken {
    pub pin_token: String,
}

/// `201` of `PUT /device/v1/authenticators/fingerprint`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FingerprintToken {
    pub fingerprint_token: String,
}

/// `201` of `PUT /device/v1/authenticators/custom/{authenticator_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomToken {
    pub custom_token: String,
}

/// `200` of `GET /device/v1/transactions/pending`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingTransactions {
    pub transactions: Vec<PendingTransaction>,
}

/// A push transaction addressed to the device and not fetched yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingTransaction {
    pub transaction_id: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub message: String,
    /// When it started (epoch ms).
    pub timestamp: u64,
    /// Milliseconds left.
    pub time_to_live: u64,
}

/// How the server took an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerOutcome {
    Accepted,
    Rejected,
}

/// `200` of `POST /device/v1/transactions/{id}/answer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerResult {
    pub result: AnswerOutcome,
}

/// `POST /device/v1/otp`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OtpParams {
    #[serde(deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub otp: Option<String>,
}
