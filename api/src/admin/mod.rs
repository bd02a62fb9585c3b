//! The admin API (`/admin/v1`, scope `admin`, API.md §5). Errors are `{"error_code",
//! "description"}` with the snake_case codes of `tessera_config::admin::codes`; a change that
//! breaks a config rule is `422 invalid_config` with `fields`.
//!
//! Configuration resources (this module's [`route`]): `general` and `sms` (single objects),
//! `mobile-auth-types`, `applications` (and their versions), `push-configs`,
//! `callback-configs`, `sms-gateways` ([`resources`], one generic CRUD over the config file's
//! own types) and `api-clients` ([`clients`]). Each change goes through
//! `Engine::change_config`: applied to the configuration as stored, validated exactly like the
//! file, stored (versioned, secrets sealed), used by new work at once and by other nodes within
//! a second, and recorded as an audit event naming the acting client.

pub(crate) mod clients;
pub(crate) mod ops;
mod problems;
pub(crate) mod resources;
mod resources_kinds;
pub(crate) mod singletons;
pub(crate) mod versions;

use http::Method;
use tessera_config::{Application, CallbackConfig, MobileAuthType, PushConfig, SmsGateway};

use crate::context::Cx;
use crate::error::{Allow, ApiError};
use crate::reply::Reply;

/// The first path segments (after `/admin/v1/`) that [`route`] answers.
const OWNED: &[&str] = &[
    "general",
    "sms",
    "mobile-auth-types",
    "applications",
    "push-configs",
    "callback-configs",
    "sms-gateways",
    "api-clients",
];

/// Whether `rest` (the path after `/admin/v1/`) is a configuration resource.
pub(crate) fn owns(rest: &[&str]) -> bool {
    rest.first().is_some_and(|first| OWNED.contains(first))
}

/// The four routes of one collection: list, read, create or replace, delete.
macro_rules! collection {
    ($cx:expr, $method:expr, $rest:expr, $kind:ty, $path:literal) => {
        match ($method, $rest) {
            (&Method::GET, [$path]) => Some((
                concat!("/admin/v1/", $path),
                resources::list::<$kind>($cx).await,
            )),
            (&Method::GET, [$path, key]) => Some((
                concat!("/admin/v1/", $path, "/{key}"),
                resources::get::<$kind>($cx, key).await,
            )),
            (&Method::PUT, [$path, key]) => Some((
                concat!("/admin/v1/", $path, "/{key}"),
                resources::put::<$kind>($cx, key).await,
            )),
            (&Method::DELETE, [$path, key]) => Some((
                concat!("/admin/v1/", $path, "/{key}"),
                resources::delete::<$kind>($cx, key).await,
            )),
            (_, [$path]) => Some(("unmatched", Err(ApiError::method_not_allowed(Allow::Get)))),
            (_, [$path, _]) => Some((
                "unmatched",
                Err(ApiError::method_not_allowed(Allow::GetPutDelete)),
            )),
            _ => None,
        }
    };
}

/// Answers a configuration resource request (`rest`: the path after `/admin/v1/`, for which
/// [`owns`] holds). Returns the route label and the answer.
pub(crate) async fn route(
    cx: &Cx<'_>,
    method: &Method,
    rest: &[&str],
) -> (&'static str, Result<Reply, ApiError>) {
    if let Some(routed) = collection!(cx, method, rest, MobileAuthType, "mobile-auth-types") {
        return routed;
    }
    if let Some(routed) = collection!(cx, method, rest, Application, "applications") {
        return routed;
    }
    if let Some(routed) = collection!(cx, method, rest, PushConfig, "push-configs") {
        return routed;
    }
    if let Some(routed) = collection!(cx, method, rest, CallbackConfig, "callback-configs") {
        return routed;
    }
    if let Some(routed) = collection!(cx, method, rest, SmsGateway, "sms-gateways") {
        return routed;
    }
    const VERSION: &str = "/admin/v1/applications/{id}/versions/{platform}/{version}";
    match (method, rest) {
        (&Method::GET, ["general"]) => ("/admin/v1/general", singletons::get_general(cx).await),
        (&Method::PUT, ["general"]) => ("/admin/v1/general", singletons::put_general(cx).await),
        (&Method::GET, ["sms"]) => ("/admin/v1/sms", singletons::get_sms(cx).await),
        (&Method::PUT, ["sms"]) => ("/admin/v1/sms", singletons::put_sms(cx).await),
        (&Method::GET, ["applications", app, "versions", platform, version]) => {
            (VERSION, versions::get(cx, app, platform, version).await)
        }
        (&Method::PUT, ["applications", app, "versions", platform, version]) => {
            (VERSION, versions::put(cx, app, platform, version).await)
        }
        (&Method::DELETE, ["applications", app, "versions", platform, version]) => {
            (VERSION, versions::delete(cx, app, platform, version).await)
        }
        (&Method::GET, ["api-clients"]) => ("/admin/v1/api-clients", clients::list(cx).await),
        (&Method::GET, ["api-clients", id]) => {
            ("/admin/v1/api-clients/{id}", clients::get(cx, id).await)
        }
        (&Method::PUT, ["api-clients", id]) => {
            ("/admin/v1/api-clients/{id}", clients::put(cx, id).await)
        }
        (&Method::DELETE, ["api-clients", id]) => {
            ("/admin/v1/api-clients/{id}", clients::delete(cx, id).await)
        }
        (&Method::POST, ["api-clients", id, "rotate-secret"]) => (
            "/admin/v1/api-clients/{id}/rotate-secret",
            clients::rotate(cx, id).await,
        ),
        (_, ["general" | "sms"]) => (
            "unmatched",
            Err(ApiError::method_not_allowed(Allow::GetPut)),
        ),
        (_, ["api-clients"]) => ("unmatched", Err(ApiError::method_not_allowed(Allow::Get))),
        (_, ["api-clients", _] | ["applications", _, "versions", _, _]) => (
            "unmatched",
            Err(ApiError::method_not_allowed(Allow::GetPutDelete)),
        ),
        (_, ["api-clients", _, "rotate-secret"]) => {
            ("unmatched", Err(ApiError::method_not_allowed(Allow::Post)))
        }
        _ => ("unmatched", Err(ApiError::not_found())),
    }
}
