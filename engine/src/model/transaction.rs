//! The transaction record: everything the state machine needs, persisted as one document.
//!
//! Deadlines are absolute (epoch milliseconds) so an actor rebuilt from the store re-arms exactly
//! the timers that are still due. `version` grows by one on every change (versioned writes).

use serde::{Deserialize, Serialize};

use super::{Method, Millis, TxnId};

/// Where a transaction is in its life. Every state but `Pending` is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Accepted,
    Rejected,
    Expired,
    Failed,
    Cancelled,
}

impl Status {
    pub fn is_final(self) -> bool {
        self != Status::Pending
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Accepted => "accepted",
            Status::Rejected => "rejected",
            Status::Expired => "expired",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }
}

/// Why a transaction ended unsuccessfully (`not_authenticated_reason.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    NotAccepted,
    InvalidAnswer,
    FailedToSend,
    InvalidRequest,
    Expired,
    Cancelled,
    AttemptsExceeded,
    FraudReported,
    DeviceRemoved,
}

impl Reason {
    /// The final status a reason implies (API.md §2.3: status and reason go together).
    pub fn status(self) -> Status {
        match self {
            Reason::NotAccepted | Reason::FraudReported => Status::Rejected,
            Reason::Expired => Status::Expired,
            Reason::Cancelled => Status::Cancelled,
            _ => Status::Failed,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NotAccepted => "not_accepted",
            Reason::InvalidAnswer => "invalid_answer",
            Reason::FailedToSend => "failed_to_send",
            Reason::InvalidRequest => "invalid_request",
            Reason::Expired => "expired",
            Reason::Cancelled => "cancelled",
            Reason::AttemptsExceeded => "attempts_exceeded",
            Reason::FraudReported => "fraud_reported",
            Reason::DeviceRemoved => "device_removed",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Reason::NotAccepted => "The user did not accept the authentication request",
            Reason::InvalidAnswer => "The answer to the authentication request was invalid",
            Reason::FailedToSend => "The authentication request could not be delivered",
            Reason::InvalidRequest => "The authentication request was invalid",
            Reason::Expired => "The authentication request expired",
            Reason::Cancelled => "The authentication request was cancelled",
            Reason::AttemptsExceeded => "The maximum number of verification attempts was exceeded",
            Reason::FraudReported => "The user rejected the request and reported fraud",
            Reason::DeviceRemoved => "The targeted device was removed",
        }
    }
}

/// A code sent by SMS and verified by the portal. The code itself is not here: only its keyed
/// MAC (`txn::code_key`), so a stolen store does not give the codes away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeState {
    pub phone_number: String,
    /// Hex `HMAC-SHA256(store.hash_key, transaction id ‖ code)`.
    pub code_hmac: String,
    /// Digits in the code (to draw a replacement of the same length).
    pub code_length: u8,
    /// The SMS text with `{code}` where the code goes (see `start::sms_text`).
    pub template: String,
    pub sender_id: Option<String>,
    /// 0 = unlimited.
    pub max_attempts: u32,
    pub attempts_used: u32,
    /// 0 = resending disabled.
    pub max_resends: u32,
    pub resends_used: u32,
    pub resend_cooldown_ms: u64,
    /// When the code was last handed to a gateway (start or resend).
    pub last_sent_at: Option<Millis>,
}

/// One device a push transaction is addressed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushTarget {
    pub device_id: String,
    /// The encrypted document may be fetched once per device.
    pub fetched: bool,
    /// `None` until the push provider answered for this device.
    pub delivered: Option<bool>,
}

/// A push-family transaction (push, PIN, fingerprint, custom authenticator, OTP once bound).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushState {
    pub targets: Vec<PushTarget>,
    pub max_resends: u32,
    pub resends_used: u32,
    pub resend_cooldown_ms: u64,
    pub last_sent_at: Option<Millis>,
    /// Number matching: the number the portal shows and the three the app offers.
    pub number_challenge: Option<u8>,
    pub number_choices: Vec<u8>,
    pub signing_required: bool,
}

/// What the device that answered left for the portal's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub device_id: String,
    pub signature: Option<String>,
    pub user_public_key: Option<String>,
    pub signature_verified: Option<bool>,
}

/// A fallback prepared at start, taken inside the same transaction (`fallback_after` elapsed or
/// every push delivery failed). Only SMS fallbacks run in-transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FallbackPlan {
    pub type_name: String,
    /// When `fallback_after` elapses, if set.
    pub at: Option<Millis>,
    pub on_delivery_failure: bool,
    /// The SMS the fallback will send (code drawn at start).
    pub code: CodeState,
}

/// The optional parts of a start request: shown inside the app, signed, or logged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestContext {
    pub secure_message: Option<String>,
    pub signing_data: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

impl RequestContext {
    /// `None` when the request carried none of them.
    pub fn boxed(self) -> Option<Box<Self>> {
        (self != Self::default()).then(|| Box::new(self))
    }
}

/// One authentication transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub id: TxnId,
    pub version: u64,
    /// The mobile authentication type the portal asked for.
    pub type_name: String,
    /// The method running now: the type's, or its fallback's.
    pub method: Method,
    /// The portal's API client.
    pub client_id: String,
    pub user_id: Option<String>,
    pub callback_uri: Option<String>,
    pub language: String,
    pub message: String,
    /// What few starts carry, kept out of line (see the accessors).
    pub context: Option<Box<RequestContext>>,
    pub created_at: Millis,
    /// Time to live over all attempts.
    pub deadline: Millis,
    pub status: Status,
    pub reason: Option<Reason>,
    pub finished_at: Option<Millis>,
    pub used_authentication_attempts: u32,
    pub code: Option<CodeState>,
    /// Boxed: absent for SMS, and the record stays small while thousands are pending.
    pub push: Option<Box<PushState>>,
    /// SHA-256 of the OTP's secret part while the OTP is unredeemed.
    pub otp_sha256: Option<String>,
    /// The OTP's secret part sealed under `store.hash_key` (`txn::code_key`), so any node can
    /// draw the QR code; present and cleared together with `otp_sha256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp_sealed: Option<String>,
    pub fallback: Option<Box<FallbackPlan>>,
    pub answer: Option<Box<Answer>>,
    /// The node whose timers run this transaction (several nodes share a Redis store): the one
    /// that started it, or the one that took it over when that one died. `None` in records
    /// written before nodes were named; any node takes those over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Final, and its portal callback not yet delivered (or dead-lettered): the record stays
    /// in the store's pending index so a node recovering the dead sender's work sends it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub callback_due: bool,
}

impl Transaction {
    pub fn is_final(&self) -> bool {
        self.status.is_final()
    }

    /// Whether a node still has work on it: pending, or final with its callback still due. The
    /// store's pending index holds exactly these (recovery and takeover read it).
    pub fn held(&self) -> bool {
        !self.is_final() || self.callback_due
    }

    /// Time to live left, in milliseconds (0 once passed).
    pub fn remaining_ms(&self, now: Millis) -> u64 {
        self.deadline.saturating_sub(now)
    }

    pub fn secure_message(&self) -> Option<&str> {
        self.context.as_ref()?.secure_message.as_deref()
    }

    pub fn signing_data(&self) -> Option<&str> {
        self.context.as_ref()?.signing_data.as_deref()
    }

    pub fn ip_address(&self) -> Option<&str> {
        self.context.as_ref()?.ip_address.as_deref()
    }

    pub fn user_agent(&self) -> Option<&str> {
        self.context.as_ref()?.user_agent.as_deref()
    }

    /// When the store may forget this record.
    pub fn purge_at(&self, retention_ms: u64) -> Millis {
        self.finished_at.unwrap_or(self.deadline) + retention_ms
    }
}
