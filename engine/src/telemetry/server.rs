//! The HTTP server's metrics: requests by surface, route template and status, open
//! connections and long-polls held, connections closed, mailbox rejections.

use std::time::Duration;

use metrics::{Gauge, SharedString};

use super::*;

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
pub(super) fn status_label(status: u16) -> SharedString {
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
