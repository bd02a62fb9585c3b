//! Metric names, their help texts and labels: the one place they are defined (the API renders
//! them for Prometheus at `/metrics`; the README's metric table, the Grafana dashboard and the
//! alert rules under `deploy/` use exactly these names). Names start with `tessera_`; every
//! label is bounded — configured names (type, gateway, provider), enumerations (method, outcome,
//! state, result, reason, surface, op) and route templates — never raw paths, user, device or
//! transaction ids, phone numbers or IP addresses.

use std::time::Duration;

use metrics::{Gauge, SharedString};

mod cached;
/// Checks a rendered `/metrics` text against the catalogue (tests only).
#[cfg(any(test, feature = "test-util"))]
pub mod exposition;
#[cfg(test)]
mod tests;

pub use cached::{PushMetrics, PushResult, SmsGatewayMetrics, StoreOp, TypeMetrics};

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

// === transactions ===
// Starts, ends and the pending gauge are recorded through [`TypeMetrics`], which the node's
// stats keep per type (`stats::Collector`): one recording point for `/stats` and Prometheus.

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

/// A fallback inside a running transaction; `trigger`: start | fallback_after |
/// delivery_failure.
pub fn fallback(trigger: &'static str) {
    metrics::counter!(FALLBACKS, "trigger" => trigger).increment(1);
}

// === outbound ===

/// What became of one portal callback try or delivery (`result` of `tessera_callbacks_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackResult {
    /// The portal answered 2xx.
    Sent,
    /// One try failed.
    Failed,
    /// A try after a failure (a retry, or a replay of a dead letter) is about to be made.
    Retried,
    /// Every try failed: kept as a dead letter.
    DeadLettered,
    /// No delivery was started (the queue was full, or no runtime): kept as a dead letter
    /// when possible, never tried.
    Dropped,
}

pub fn callback(result: CallbackResult) {
    let counter = match result {
        CallbackResult::Sent => metrics::counter!(CALLBACKS, "result" => "sent"),
        CallbackResult::Failed => metrics::counter!(CALLBACKS, "result" => "failed"),
        CallbackResult::Retried => metrics::counter!(CALLBACKS, "result" => "retried"),
        CallbackResult::DeadLettered => metrics::counter!(CALLBACKS, "result" => "dead_lettered"),
        CallbackResult::Dropped => metrics::counter!(CALLBACKS, "result" => "dropped"),
    };
    counter.increment(1);
}

/// One callback request took `took` (answered, refused or timed out).
pub fn callback_request(took: Duration) {
    metrics::histogram!(CALLBACK_DURATION).record(took.as_secs_f64());
}

/// An APNs provider token was re-signed or an FCM OAuth token fetched for push config
/// `provider`. Rare (about once an hour), so the label is built per call.
pub fn provider_token_refresh(provider: &str, ok: bool) {
    let result = if ok { "ok" } else { "failed" };
    metrics::counter!(PROVIDER_TOKEN_REFRESHES, "provider" => provider.to_owned(), "result" => result)
        .increment(1);
}

/// Push config `provider`'s token refresh counters start at zero (with its other handles).
pub fn provider_token_refreshes_zero(provider: &str) {
    for result in ["ok", "failed"] {
        metrics::counter!(PROVIDER_TOKEN_REFRESHES, "provider" => provider.to_owned(), "result" => result)
            .absolute(0);
    }
}

/// The dead letters in the store now (refreshed once a second by the stats loop).
pub fn dead_letters(count: u64) {
    metrics::gauge!(DEAD_LETTERS).set(count as f64);
}

// === devices ===

pub fn enrollment(ok: bool) {
    let counter = if ok {
        metrics::counter!(ENROLLMENTS, "result" => "ok")
    } else {
        metrics::counter!(ENROLLMENTS, "result" => "failed")
    };
    counter.increment(1);
}

pub fn push_enrollment(ok: bool) {
    let counter = if ok {
        metrics::counter!(PUSH_ENROLLMENTS, "result" => "ok")
    } else {
        metrics::counter!(PUSH_ENROLLMENTS, "result" => "failed")
    };
    counter.increment(1);
}

/// What a revocation took away (`what` of `tessera_revocations_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// A device record (deleted, disconnected by the PIN limit, replaced under a push
    /// enrollment mode) or its mobile authentication.
    Device,
    /// A push enrollment (token and push flag).
    Push,
    /// A fingerprint or custom authenticator (disabled, or revoked at its limit).
    Authenticator,
}

pub fn revocation(what: Revoked) {
    let counter = match what {
        Revoked::Device => metrics::counter!(REVOCATIONS, "what" => "device"),
        Revoked::Push => metrics::counter!(REVOCATIONS, "what" => "push"),
        Revoked::Authenticator => metrics::counter!(REVOCATIONS, "what" => "authenticator"),
    };
    counter.increment(1);
}

/// A wrong token (or a custom verifier's rejection) was counted against an authenticator;
/// `method`: pin | fingerprint | custom.
pub fn authenticator_failure(method: &'static str) {
    metrics::counter!(AUTHENTICATOR_FAILURES, "method" => method).increment(1);
}

// === HTTP server ===

/// One answered request: `route` is the route template (`unmatched` for none), never a path.
pub fn http_request(route: &'static str, status: u16, took: Duration) {
    let surface = surface(route);
    metrics::counter!(HTTP_REQUESTS,
        "surface" => surface, "route" => route, "status" => status_label(status))
    .increment(1);
    metrics::histogram!(HTTP_DURATION, "surface" => surface, "route" => route)
        .record(took.as_secs_f64());
}

/// The API a route template belongs to: portal | users | device | admin | ops | none. The
/// vendor's events API (`/oauth/api/v1/events`) is read by portals with their credentials.
pub fn surface(route: &str) -> &'static str {
    if route.starts_with("/device/") {
        "device"
    } else if route.starts_with("/admin/") {
        "admin"
    } else if route.starts_with("/health/") || route == "/metrics" || route == "/openapi.yaml" {
        "ops"
    } else if let Some(rest) = route.strip_prefix("/oauth/api/") {
        match rest.split('/').nth(1) {
            Some("users") => "users",
            Some("authenticate" | "events") => "portal",
            _ => "none",
        }
    } else {
        "none"
    }
}

/// The status as a label without an allocation for the codes Tessera answers.
fn status_label(status: u16) -> SharedString {
    let known: &'static str = match status {
        200 => "200",
        201 => "201",
        204 => "204",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        409 => "409",
        410 => "410",
        413 => "413",
        415 => "415",
        429 => "429",
        500 => "500",
        503 => "503",
        other => return other.to_string().into(),
    };
    known.into()
}

/// One on a gauge for as long as it is held: an open connection, a waiting long-poll. Taken
/// back when dropped, however its holder ends (answered, cut off, cancelled).
#[must_use = "the gauge goes down again when this is dropped"]
pub struct Held(Gauge);

impl Held {
    fn raise(gauge: Gauge) -> Self {
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// A client connection is open until the returned value is dropped.
pub fn connection_open() -> Held {
    Held::raise(metrics::gauge!(CONNECTIONS_OPEN))
}

/// The server closed a connection on its own; `reason`: handshake_timeout | idle | per_ip_cap.
pub fn connection_closed(reason: &'static str) {
    metrics::counter!(CONNECTIONS_CLOSED, "reason" => reason).increment(1);
}

/// A status request waits in a long-poll until the returned value is dropped.
pub fn long_poll_waiting() -> Held {
    Held::raise(metrics::gauge!(LONG_POLL_WAITERS))
}

/// A transaction's (or a shard's) mailbox was full: the request is answered 503.
pub fn mailbox_rejected() {
    metrics::counter!(MAILBOX_REJECTIONS).increment(1);
}

/// A rate limit refused a request with 429; `limit`: the `[rate_limits]` key (issue 14).
pub fn rate_limited(limit: &'static str) {
    metrics::counter!(RATE_LIMITED, "limit" => limit).increment(1);
}

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

/// The geolocation provider looked an address up; `result` is `found` or one of
/// [`GEOLOCATION_FAILURES`].
pub fn geolocation_lookup(provider: &'static str, result: &'static str) {
    metrics::counter!(GEOLOCATION_LOOKUPS, "provider" => provider, "result" => result).increment(1);
}

/// Zeroed series for the configured provider, so a failure ratio reads 0, not "no data".
pub fn geolocation_zero(provider: &'static str) {
    for result in std::iter::once(&"found").chain(GEOLOCATION_FAILURES) {
        metrics::counter!(GEOLOCATION_LOOKUPS, "provider" => provider, "result" => *result)
            .absolute(0);
    }
}

/// A device reported fraud (`reject_reason = "fraud"`).
pub fn fraud_report() {
    metrics::counter!(FRAUD_REPORTS).increment(1);
}

// === store and process ===
// Store operations are timed and their failures counted by `store::TimedStore` ([`StoreOp`]).

/// The store's health watch heard (`true`) or missed (`false`) its `PING`.
pub fn store_up(up: bool) {
    metrics::gauge!(STORE_UP).set(if up { 1.0 } else { 0.0 });
}

/// Set once when the engine starts; `store`: memory | redis.
pub fn build_info(store: &'static str) {
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION"), "store" => store).set(1.0);
}

/// One audit event was recorded; `event` is its vendor name (a fixed set).
pub fn event(event: &'static str) {
    metrics::counter!(EVENTS, "event" => event).increment(1);
}
