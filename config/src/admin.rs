//! The admin API's wire shapes (API.md §5, `/admin/v1`): what the server (`tessera-api`) writes
//! and its clients (the operator TUI, automation, tests) read. They live here, beside the
//! resource types they reuse, so a client of the admin API depends on neither the engine nor the
//! server.
//!
//! Resources are the config file's own types ([`crate::MobileAuthType`], [`crate::Application`],
//! [`crate::AppVersion`], [`crate::PushConfig`], [`crate::CallbackConfig`], [`crate::SmsGateway`],
//! [`crate::General`]) read and written as JSON with the file's key names. Secret fields read back
//! as [`MASKED`]; writing [`MASKED`] back keeps the stored secret, so a client can `GET`, change a
//! field and `PUT` the whole object. API clients are the exception: their secret is never stored,
//! only its hash ([`ApiClientView`], [`ApiClientCreated`]).
//!
//! Times are epoch milliseconds, durations milliseconds (`*_ms`), as everywhere in the API.

use std::collections::BTreeMap;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::Scope;

/// What a secret field reads back as; writing it back keeps the stored value.
pub const MASKED: &str = "********";

/// Every admin error: `{"error_code", "description"}`, plus `fields` (field → message) on
/// `422 invalid_config`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub error_code: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

/// The admin error codes (API.md §5).
pub mod codes {
    /// `422`: the resource breaks a config rule; `fields` says which and why.
    pub const INVALID_CONFIG: &str = "invalid_config";
    /// `404`: no resource, transaction or dead letter with this name or id.
    pub const NOT_FOUND: &str = "not_found";
    /// `409`: deleting something others refer to (a push config an application uses, a type
    /// another falls back to).
    pub const IN_USE: &str = "in_use";
    /// `409`: cancelling a transaction that already finished.
    pub const ALREADY_FINAL: &str = "already_final";
    /// `400`: a malformed body or query.
    pub const INVALID_REQUEST: &str = "invalid_request";
    /// `503`: the store cannot be reached.
    pub const STORE_UNAVAILABLE: &str = "store_unavailable";
    /// `503`: `GET /stream` while the node's cap on open streams is reached (or it is
    /// shutting down).
    pub const TOO_MANY_STREAMS: &str = "too_many_streams";
}

/// `GET` on a collection (`/mobile-auth-types`, `/applications`, `/push-configs`,
/// `/callback-configs`, `/api-clients`, `/sms-gateways`): every item, ordered by name.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct List<T> {
    pub items: Vec<T>,
}

/// An API client as the admin API shows it: never its secret nor the secret's hash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ApiClientView {
    pub id: String,
    pub scopes: Vec<Scope>,
    /// CIDRs; empty = any address.
    #[serde(default)]
    pub allowed_ips: Vec<IpNet>,
}

/// `PUT /api-clients/{id}` body. Creating a client without `secret` generates one (≥ 128 bits,
/// CSPRNG) and returns it once; with `secret` (≥ 32 characters) that one is used. Updating an
/// existing client keeps its secret unless `secret` is given.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ApiClientWrite {
    pub scopes: Vec<Scope>,
    #[serde(default)]
    pub allowed_ips: Vec<IpNet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// Answer to creating an API client (`201`) or `POST /api-clients/{id}/rotate-secret` (`200`):
/// the only time the secret is shown.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ApiClientCreated {
    #[serde(flatten)]
    pub client: ApiClientView,
    pub client_secret: String,
}

/// A transaction in lists and in `/stream` (`event: transaction`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TransactionSummary {
    pub transaction_id: String,
    /// The mobile auth type's name.
    #[serde(rename = "type")]
    pub type_name: String,
    /// `push`, `push_with_pin`, `push_with_fingerprint`, `push_with_custom_authenticator`,
    /// `otp`, `sms`.
    pub method: String,
    pub client_id: String,
    #[serde(default)]
    pub user_id: Option<String>,
    /// `pending`, `accepted`, `rejected`, `expired`, `failed`, `cancelled`.
    pub status: String,
    /// Finer than `status` while pending: `sending`, `sent`, `delivered`, `fetched`,
    /// `code_sent`, `waiting` (OTP not redeemed), `fallback`; equal to `status` once final.
    pub state: String,
    /// Why it did not succeed (`not_accepted`, `invalid_answer`, `failed_to_send`, ...).
    #[serde(default)]
    pub reason: Option<String>,
    pub created_at: u64,
    /// Absolute time-to-live deadline.
    pub deadline: u64,
    #[serde(default)]
    pub finished_at: Option<u64>,
    /// The node running its timers (several nodes share a Redis store).
    #[serde(default)]
    pub node: Option<String>,
    pub version: u64,
}

/// `GET /transactions?state=&type=&user_id=&limit=`: newest first. `state` filters on `status`
/// or on the finer `state`; `limit` defaults to 100, at most 1000.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TransactionList {
    pub transactions: Vec<TransactionSummary>,
}

/// One push target of a transaction.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TargetView {
    pub device_id: String,
    /// `None` while the provider has not answered.
    #[serde(default)]
    pub delivered: Option<bool>,
    pub fetched: bool,
}

/// `GET /transactions/{id}`: the summary, its counters and the full timeline. Secrets (codes,
/// OTPs) never appear; a phone number is masked but for its last 3 digits.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TransactionDetail {
    #[serde(flatten)]
    pub summary: TransactionSummary,
    #[serde(default)]
    pub callback_uri: Option<String>,
    pub used_authentication_attempts: u32,
    #[serde(default)]
    pub max_authentication_attempts: Option<u32>,
    pub resends_used: u32,
    #[serde(default)]
    pub phone_number_masked: Option<String>,
    #[serde(default)]
    pub targets: Vec<TargetView>,
    /// The fallback type planned or taken, if any.
    #[serde(default)]
    pub fallback: Option<String>,
    /// Audit events of this transaction, oldest first.
    pub timeline: Vec<EventView>,
}

/// An audit event (the vendor's catalogue names) in `/events`, timelines and `/stream`
/// (`event: event`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EventView {
    pub event_identifier: String,
    pub event_name: String,
    pub event_type: String,
    /// For admin changes: the acting API client.
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub app_name: Option<String>,
    #[serde(default)]
    pub transaction_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub client_ip: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
    /// What changed or went wrong, when the event says more than its name (an admin change:
    /// `"push-configs/fcm updated"`; a delivery failure: the cause). Never a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub occurred: u64,
}

/// `GET /events?transaction_id=&user_id=&event_name=&from=&to=&limit=`: newest first; `limit`
/// defaults to 100, at most 1000.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EventList {
    pub events: Vec<EventView>,
}

/// A callback that could not be delivered after every try.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeadLetterView {
    pub id: String,
    pub transaction_id: String,
    pub callback_uri: String,
    pub tries: u32,
    pub last_error: String,
    pub created_at: u64,
}

/// `GET /dead-letters`: oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeadLetterList {
    pub dead_letters: Vec<DeadLetterView>,
}

/// `POST /dead-letters/{id}/replay`: one more delivery try, made before answering. Delivered:
/// the letter is gone. Not delivered: it stays (with `tries` + 1) and `error` says why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReplayOutcome {
    pub id: String,
    pub transaction_id: String,
    pub delivered: bool,
    #[serde(default)]
    pub error: Option<String>,
}

/// `GET /stats`: everything the TUI's overview draws, for every live node.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Stats {
    /// The node that answered.
    pub node: String,
    pub at: u64,
    pub store: StoreStats,
    /// Dead letters waiting for a replay (all nodes).
    pub dead_letters: u64,
    /// Every live node, the answering one first. With the memory store: just this one. With
    /// Redis, each node publishes its snapshot every second; a node that stopped publishing
    /// for `node_lease` is left out.
    pub nodes: Vec<NodeStats>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoreStats {
    /// `memory` or `redis`.
    pub kind: String,
    pub healthy: bool,
}

/// One node's counters since it started, and its rates over the last minute.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct NodeStats {
    pub name: String,
    pub started_at: u64,
    /// When this snapshot was taken.
    pub at: u64,
    /// Per mobile auth type, ordered by name.
    pub types: Vec<TypeStats>,
    /// Pending transactions this node runs, by `TransactionSummary::state`.
    pub active_by_state: BTreeMap<String, u64>,
    /// Finished transactions by status (`accepted`, `rejected`, `expired`, `failed`,
    /// `cancelled`).
    pub outcomes: BTreeMap<String, u64>,
    /// Portal start requests: request to answer.
    pub start_latency: Quantiles,
    /// Start to final state.
    pub flow_latency: Quantiles,
    pub sms_gateways: Vec<OutboundHealth>,
    pub push_providers: Vec<OutboundHealth>,
    pub callbacks: CallbackStats,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TypeStats {
    pub name: String,
    pub method: String,
    pub started: u64,
    /// Pending now, on this node.
    pub active: u64,
    /// Finished, by status.
    pub finished: BTreeMap<String, u64>,
    /// Starts per second over the last 60 seconds, oldest first (60 entries).
    pub starts_per_second: Vec<u32>,
}

/// Latency quantiles over the last minute, in milliseconds (`count` = samples behind them).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Quantiles {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
}

/// An SMS gateway or push provider as seen from this node.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutboundHealth {
    pub name: String,
    /// `twilio`, `rest`, `console`, `apns`, `fcm_v1`, `fcm_legacy`, `log`, ...
    pub kind: String,
    pub sent: u64,
    pub failed: u64,
    /// False when the last try failed.
    pub healthy: bool,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub last_error_at: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CallbackStats {
    pub sent: u64,
    pub failed_tries: u64,
    pub dead_lettered: u64,
    /// Deliveries in progress (first try or waiting to retry).
    pub in_flight: u64,
}

/// The SSE event names of `GET /stream` (`event: <name>`, `data: <one JSON line>`).
pub mod stream {
    /// `data`: a [`super::TransactionSummary`], sent on every change of a transaction.
    pub const TRANSACTION: &str = "transaction";
    /// `data`: an [`super::EventView`].
    pub const EVENT: &str = "event";
    /// `data`: [`super::Dropped`]; the last message before the server closes a subscriber that
    /// fell too far behind. The client reconnects and re-reads lists to catch up.
    pub const DROPPED: &str = "dropped";
}

/// Sent (as `event: dropped`) to a subscriber that could not keep up, just before it is closed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Dropped {
    pub reason: String,
    /// Messages it missed before being dropped.
    pub missed: u64,
}
