//! The recording helpers of the catalogue's metrics, by concern: transactions, outbound calls,
//! devices, abuse limits, the secure message's context, store and process. The HTTP server's
//! are in `server.rs`; the hot paths' cached handles in `cached.rs`.

use std::time::Duration;

use super::*;

// === transactions ===
// Starts, ends and the pending gauge are recorded through [`super::TypeMetrics`], which the
// node's stats keep per type (`stats::Collector`): one recording point for `/stats` and
// Prometheus.

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

/// A rate limit refused a request with 429; `limit`: the `[rate_limits]` key (issue 14).
pub fn rate_limited(limit: &'static str) {
    metrics::counter!(RATE_LIMITED, "limit" => limit).increment(1);
}

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
