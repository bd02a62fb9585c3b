//! Metric names, their help texts and labels: the one place they are defined (the API renders
//! them for Prometheus at `/metrics`; the README's metric table, the Grafana dashboard and the
//! alert rules under `deploy/` use exactly these names). Names start with `tessera_`; every
//! label is bounded — configured names (type, gateway, provider), enumerations (method, outcome,
//! state, result, reason, surface, op) and route templates — never raw paths, user, device or
//! transaction ids, phone numbers or IP addresses.
//!
//! Here: the catalogue, the histogram buckets, the label values that are fixed sets and the
//! zeroed series. Recording: `record.rs` (by concern), `server.rs` (the HTTP server),
//! `cached.rs` (handles resolved once for the hot paths); all re-exported from here.

mod cached;
/// Checks a rendered `/metrics` text against the catalogue (tests only).
#[cfg(any(test, feature = "test-util"))]
pub mod exposition;
mod record;
mod server;
#[cfg(test)]
mod tests;

pub use cached::{PushMetrics, PushResult, SmsGatewayMetrics, StoreOp, TypeMetrics};
pub use record::*;
pub use server::*;

/// What Prometheus is told a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One metric of the catalogue: name, kind, its label names and the `# HELP` text.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    pub labels: &'static [&'static str],
    pub help: &'static str,
}

macro_rules! catalogue {
    ($($(#[$doc:meta])* $const:ident = $name:literal, $kind:ident, [$($label:literal),*], $help:literal;)*) => {
        $($(#[$doc])* pub const $const: &str = $name;)*
        /// Every metric Tessera records, in the order the README lists them.
        pub const CATALOGUE: &[Metric] = &[
            $(Metric { name: $name, kind: Kind::$kind, labels: &[$($label),*], help: $help },)*
        ];
    };
}

catalogue! {
    // --- transactions ---
    /// A transaction was started (not when rebuilt from the store).
    TRANSACTIONS_STARTED = "tessera_transactions_started_total", Counter, ["type", "method"],
        "Transactions started, by mobile authentication type and method.";
    /// `outcome`: accepted | rejected | expired | failed | cancelled.
    TRANSACTIONS_FINISHED = "tessera_transactions_finished_total", Counter, ["type", "method", "outcome"],
        "Transactions that reached a final state, by type, method and outcome.";
    /// This node's pending transactions; `state`: sending | sent | delivered | fetched |
    /// code_sent | waiting | fallback (the admin API's fine states).
    TRANSACTIONS_ACTIVE = "tessera_transactions_active", Gauge, ["type", "state"],
        "Pending transactions held by this node, by type and state.";
    /// Start to final state.
    TRANSACTION_DURATION = "tessera_transaction_duration_seconds", Histogram, ["type", "outcome"],
        "Time from start to final state, by type and outcome.";
    /// `trigger`: start | fallback_after | delivery_failure.
    FALLBACKS = "tessera_fallbacks_total", Counter, ["trigger"],
        "Fallbacks to another method inside a running transaction, by trigger.";

    // --- outbound: SMS, push, providers, callbacks ---
    /// `result`: sent | failed.
    SMS_SENT = "tessera_sms_sent_total", Counter, ["gateway", "result"],
        "SMS send attempts, by gateway and result.";
    SMS_SEND_DURATION = "tessera_sms_send_duration_seconds", Histogram, ["gateway"],
        "Latency of one SMS gateway request, by gateway.";
    /// `result`: accepted | unregistered | retryable | failed (after retries).
    PUSH_SENT = "tessera_push_sent_total", Counter, ["provider", "result"],
        "Push notifications sent, by provider and result.";
    PUSH_SEND_DURATION = "tessera_push_send_duration_seconds", Histogram, ["provider"],
        "Latency of one push provider request, by provider.";
    PUSH_RETRIES = "tessera_push_retries_total", Counter, ["provider"],
        "Push requests retried after a retryable failure, by provider.";
    /// APNs provider JWT re-signed, FCM OAuth access token fetched; `result`: ok | failed.
    PROVIDER_TOKEN_REFRESHES = "tessera_provider_token_refreshes_total", Counter, ["provider", "result"],
        "Push provider credential refreshes (APNs JWT, FCM OAuth token), by provider and result.";
    /// `result`: sent (delivered, 2xx) | failed (one try failed) | retried (a try after a
    /// failure) | dead_lettered (tries exhausted) | dropped (queue full).
    CALLBACKS = "tessera_callbacks_total", Counter, ["result"],
        "Portal callback deliveries, by result.";
    CALLBACK_DURATION = "tessera_callback_duration_seconds", Histogram, [],
        "Latency of one portal callback request.";
    /// Dead letters in the store (shared by all nodes on Redis: aggregate with max).
    DEAD_LETTERS = "tessera_dead_letters", Gauge, [],
        "Callbacks waiting in the dead-letter list.";

    // --- devices ---
    /// `result`: ok | failed.
    ENROLLMENTS = "tessera_enrollments_total", Counter, ["result"],
        "Device enrollments, by result.";
    PUSH_ENROLLMENTS = "tessera_push_enrollments_total", Counter, ["result"],
        "Push enrollments (push token registrations and updates), by result.";
    /// `what`: device | push | authenticator.
    REVOCATIONS = "tessera_revocations_total", Counter, ["what"],
        "Revocations and removals, by what was revoked.";
    /// `method`: pin | fingerprint | custom.
    AUTHENTICATOR_FAILURES = "tessera_authenticator_failures_total", Counter, ["method"],
        "Wrong PIN, fingerprint or custom authenticator answers, by method.";

    // --- HTTP server ---
    /// `surface`: portal | users | device | admin | ops | none; `route`: the route template
    /// (`unmatched` for no route); `status`: the status code.
    HTTP_REQUESTS = "tessera_http_requests_total", Counter, ["surface", "route", "status"],
        "HTTP requests answered, by surface, route template and status.";
    HTTP_DURATION = "tessera_http_request_duration_seconds", Histogram, ["surface", "route"],
        "HTTP request latency from head to answer, by surface and route template.";
    CONNECTIONS_OPEN = "tessera_connections_open", Gauge, [],
        "Open client connections on this node.";
    /// `reason`: handshake_timeout | idle | per_ip_cap.
    CONNECTIONS_CLOSED = "tessera_connections_closed_total", Counter, ["reason"],
        "Connections the server closed on its own, by reason.";
    LONG_POLL_WAITERS = "tessera_long_poll_waiters", Gauge, [],
        "Status requests waiting in a long-poll on this node.";
    /// A transaction's mailbox was full: the request was answered 503.
    MAILBOX_REJECTIONS = "tessera_mailbox_rejections_total", Counter, [],
        "Requests refused with 503 because a transaction's mailbox was full.";
    /// `limit`: the `[rate_limits]` key that refused (issue 14).
    RATE_LIMITED = "tessera_rate_limited_total", Counter, ["limit"],
        "Requests refused with 429 by a rate limit, by limit.";
    /// A device answered `reject_reason = "fraud"`: its user's push starts are muted for
    /// `rate_limits.fraud_mute` (issue 14).
    FRAUD_REPORTS = "tessera_fraud_reports_total", Counter, [],
        "Fraud reports from devices (answers with reject_reason fraud).";

    // --- secure-message context ---
    /// An address the geolocation provider was asked about (answers from the cache, or joined
    /// to a lookup in flight, are not counted); `provider`: http | mmdb; `result`: found |
    /// timeout | unreachable | status | not_json | unsuccessful | no_location | not_found |
    /// database | busy.
    GEOLOCATION_LOOKUPS = "tessera_geolocation_lookups_total", Counter, ["provider", "result"],
        "Addresses looked up by the geolocation provider, by provider and result.";

    // --- store ---
    /// `op`: the store operation (Store trait method name).
    STORE_DURATION = "tessera_store_operation_duration_seconds", Histogram, ["op"],
        "Latency of store operations, by operation.";
    STORE_ERRORS = "tessera_store_errors_total", Counter, ["op"],
        "Store operations that failed, by operation.";
    /// 1 while the store answers, 0 while it is unavailable (requests get 503).
    STORE_UP = "tessera_store_up", Gauge, [],
        "Whether the store answers (1) or not (0).";

    // --- process ---
    /// Always 1; `version`: the crate version, `store`: memory | redis.
    BUILD_INFO = "tessera_build_info", Gauge, ["version", "store"],
        "Build information; the value is always 1.";
    /// Audit events recorded, by vendor event name (a fixed set).
    EVENTS = "tessera_events_total", Counter, ["event"],
        "Audit events recorded, by event name.";
}

// === histogram buckets ===

/// HTTP answers: 100 µs to 10 s, then 30 and 60 s for status long-polls (`wait` up to 60 s).
pub const HTTP_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0, 60.0,
];
/// Store operations: 10 µs (the memory store) to 2.5 s (a Redis call is cut off after 1 s).
pub const STORE_BUCKETS: &[f64] = &[
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0, 2.5,
];
/// One request to an SMS gateway, push provider or portal: 5 ms to the providers' timeouts
/// (10 s for SMS gateways and push providers, 5 s by default for callbacks; 30 s for those
/// configured longer).
pub const OUTBOUND_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Start to final state: 100 ms (an OTP redeemed at once) to 10 minutes (the longest time to
/// live a type is usually given).
pub const TRANSACTION_BUCKETS: &[f64] = &[
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// Every histogram of the catalogue with its buckets (the recorder is built from this table;
/// a histogram without buckets would render as a summary).
pub const BUCKETS: &[(&str, &[f64])] = &[
    (TRANSACTION_DURATION, TRANSACTION_BUCKETS),
    (SMS_SEND_DURATION, OUTBOUND_BUCKETS),
    (PUSH_SEND_DURATION, OUTBOUND_BUCKETS),
    (CALLBACK_DURATION, OUTBOUND_BUCKETS),
    (HTTP_DURATION, HTTP_BUCKETS),
    (STORE_DURATION, STORE_BUCKETS),
];

/// Registers every metric's `# HELP` text with the current recorder (call once, after the
/// recorder is installed).
pub fn describe() {
    for m in CATALOGUE {
        match m.kind {
            Kind::Counter => metrics::describe_counter!(m.name, m.help),
            Kind::Gauge => metrics::describe_gauge!(m.name, m.help),
            Kind::Histogram => metrics::describe_histogram!(m.name, m.help),
        }
    }
}

// === zeroed series ===

/// Series whose labels are a fixed set start at zero when the engine starts, so dashboards and
/// alert ratios read 0 rather than "no data" before the first failure (Prometheus's advice:
/// initialise what you can). Configured names (gateways, providers) start at zero with their
/// handles; types with their first transaction.
pub fn zero_init() {
    for trigger in ["start", "fallback_after", "delivery_failure"] {
        metrics::counter!(FALLBACKS, "trigger" => trigger).absolute(0);
    }
    for result in ["sent", "failed", "retried", "dead_lettered", "dropped"] {
        metrics::counter!(CALLBACKS, "result" => result).absolute(0);
    }
    let _registered = metrics::histogram!(CALLBACK_DURATION);
    for result in ["ok", "failed"] {
        metrics::counter!(ENROLLMENTS, "result" => result).absolute(0);
        metrics::counter!(PUSH_ENROLLMENTS, "result" => result).absolute(0);
    }
    for what in ["device", "push", "authenticator"] {
        metrics::counter!(REVOCATIONS, "what" => what).absolute(0);
    }
    for method in ["pin", "fingerprint", "custom"] {
        metrics::counter!(AUTHENTICATOR_FAILURES, "method" => method).absolute(0);
    }
    for reason in ["handshake_timeout", "idle", "per_ip_cap"] {
        metrics::counter!(CONNECTIONS_CLOSED, "reason" => reason).absolute(0);
    }
    metrics::counter!(MAILBOX_REJECTIONS).absolute(0);
    for limit in RATE_LIMITS {
        metrics::counter!(RATE_LIMITED, "limit" => *limit).absolute(0);
    }
    metrics::counter!(FRAUD_REPORTS).absolute(0);
}

/// The `limit` values of `tessera_rate_limited_total`: CONFIG.md's `[rate_limits]` keys.
pub const RATE_LIMITS: &[&str] = &[
    "per_client",
    "push_starts_per_user",
    "sms_per_phone",
    "sms_per_prefix",
    "device_per_ip",
    "credential_failures_per_ip",
    "fraud_mute",
];

/// The `result` values of `tessera_geolocation_lookups_total` other than `found`.
pub const GEOLOCATION_FAILURES: &[&str] = &[
    "timeout",
    "unreachable",
    "status",
    "not_json",
    "unsuccessful",
    "no_location",
    "not_found",
    "database",
    "busy",
];
