//! Metric names and recording helpers (through the `metrics` facade; the API renders them for
//! Prometheus). Names start with `tessera_`; labels stay low-cardinality (type, method, status,
//! gateway, provider, result — never ids).

use crate::model::Transaction;

pub const TRANSACTIONS_STARTED: &str = "tessera_transactions_started_total";
pub const TRANSACTIONS_FINISHED: &str = "tessera_transactions_finished_total";
pub const TRANSACTIONS_ACTIVE: &str = "tessera_transactions_active";
pub const TRANSACTION_DURATION: &str = "tessera_transaction_duration_seconds";
pub const FALLBACKS: &str = "tessera_fallbacks_total";
pub const STORE_ERRORS: &str = "tessera_store_errors_total";
pub const SMS_SENT: &str = "tessera_sms_sent_total";
pub const PUSH_SENT: &str = "tessera_push_sent_total";
pub const PUSH_RETRIES: &str = "tessera_push_retries_total";
pub const CALLBACKS: &str = "tessera_callbacks_total";
pub const ENROLLMENTS: &str = "tessera_enrollments_total";
pub const EVENTS: &str = "tessera_events_total";
/// HTTP requests by route template and status (recorded by the API crate).
pub const HTTP_REQUESTS: &str = "tessera_http_requests_total";
/// HTTP request latency by route template (recorded by the API crate).
pub const HTTP_DURATION: &str = "tessera_http_request_duration_seconds";
/// Connections the server closed, by reason (`handshake_timeout`, `idle`, `per_ip_cap`).
pub const CONNECTIONS_CLOSED: &str = "tessera_connections_closed_total";

/// A transaction actor started (not when rebuilt from the store).
pub fn transaction_started(txn: &Transaction) {
    let ty = txn.type_name.clone();
    metrics::counter!(TRANSACTIONS_STARTED, "type" => ty.clone(), "method" => txn.method.as_str())
        .increment(1);
    metrics::gauge!(TRANSACTIONS_ACTIVE, "type" => ty).increment(1.0);
}

/// A transaction reached its final state.
pub fn transaction_finished(txn: &Transaction) {
    let ty = txn.type_name.clone();
    metrics::counter!(TRANSACTIONS_FINISHED,
        "type" => ty.clone(), "method" => txn.method.as_str(), "status" => txn.status.as_str())
    .increment(1);
    metrics::gauge!(TRANSACTIONS_ACTIVE, "type" => ty.clone()).decrement(1.0);
    let ms = txn
        .finished_at
        .unwrap_or(txn.created_at)
        .saturating_sub(txn.created_at);
    metrics::histogram!(TRANSACTION_DURATION, "type" => ty).record(ms as f64 / 1000.0);
}

/// A fallback inside a running transaction (`fallback_after`, delivery failure).
pub fn fallback(trigger: &'static str) {
    metrics::counter!(FALLBACKS, "trigger" => trigger).increment(1);
}

pub fn store_error() {
    metrics::counter!(STORE_ERRORS).increment(1);
}
