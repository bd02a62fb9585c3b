//! The router: [`Api`] applies the limits a request meets on arrival (`rate_limits`), checks
//! header credentials (`gate`), reads the body, then one `match` on (method, path segments)
//! picks the endpoint, and every answer is counted by route template and status.
//!
//! Versioned prefixes are split off first, so the match sees which API (and version) a path
//! belongs to and the remaining segments: the portal's `/oauth/api/{v2,v3,v4}/authenticate/...`
//! (API.md §2.6), management's `/oauth/api/{v3,v4}/users/...` (§3) and the device API's
//! `/device/v1/...` (§4).

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bytes::Bytes;
use futures::FutureExt as _;
use http::{Method, Request, Response};
use hyper::body::Body;
use metrics_exporter_prometheus::PrometheusHandle;
use tessera_engine::Engine;
use tokio::time::Instant;

use crate::admin::ops as admin_ops;
use crate::api_body::ApiBody;
use crate::body::{self, BodyError};
use crate::context::{Cx, Version};
use crate::error::{Allow, ApiError, Codes};
use crate::gate::{self, Gate};
use crate::rate_limits;
use crate::reply::Reply;
use crate::{admin, device, events, management, ops, portal};

/// The route label of requests that matched no endpoint.
const UNMATCHED: &str = "unmatched";

/// The whole HTTP API as an in-memory handler; cheap to clone (one per connection).
#[derive(Clone)]
pub struct Api {
    shared: Arc<Shared>,
    surface: Surface,
}

/// What every request of every connection shares.
pub(crate) struct Shared {
    pub engine: Engine,
    pub metrics: Option<PrometheusHandle>,
}

/// Which routes a listener serves: with `server.ops_listen` set, `/metrics` and `/health/*` move
/// from the main listener to the ops listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    All,
    Main,
    Ops,
}

/// The API over `engine`. `metrics` renders `/metrics` (absent: `404`). Serves the ops routes
/// too unless the config moves them to `server.ops_listen` (then see [`Api::ops`]).
pub fn service(engine: Engine, metrics: Option<PrometheusHandle>) -> Api {
    let split = engine.config().server.ops_listen.is_some();
    Api {
        shared: Arc::new(Shared { engine, metrics }),
        surface: if split { Surface::Main } else { Surface::All },
    }
}

impl Api {
    /// The ops listener's API: `/health/*`, `/metrics` and `/openapi.yaml` only.
    pub fn ops(&self) -> Api {
        Api {
            shared: self.shared.clone(),
            surface: Surface::Ops,
        }
    }

    /// Answers one request from `peer`. Never fails: errors are answers too, and a panicking
    /// handler becomes a `500` instead of taking the connection down.
    pub async fn handle<B>(&self, req: Request<B>, peer: SocketAddr) -> Response<ApiBody>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let started = Instant::now();
        let (parts, body) = req.into_parts();
        let path = parts.uri.path();
        let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
        let (area, rest) = split(&segments);
        if let Some(refused) = self.store_gate(area, rest) {
            let resp = refused.into_response();
            crate::metrics::record_request(UNMATCHED, resp.status(), started.elapsed());
            return resp;
        }
        // An address out of failed logins (or a device API flood) is refused before its
        // credentials are looked up or its body is read.
        if let Some(limited) =
            rate_limits::on_arrival(&self.shared.engine, area, rest, peer.ip()).await
        {
            let resp = limited.into_response();
            crate::metrics::record_request(UNMATCHED, resp.status(), started.elapsed());
            return resp;
        }
        // GET endpoints take their parameters from the path and query only; header credentials
        // are checked before a body is read (`gate`).
        let mut device = None;
        let raw = if parts.method == Method::GET {
            Ok(Bytes::new())
        } else {
            match gate::check(&self.shared, &parts, peer, area, rest).await {
                Gate::Refused => Err(BodyError::Unread),
                Gate::Device(d) => {
                    device = Some(*d);
                    body::read(&parts.headers, body).await
                }
                Gate::Open => body::read(&parts.headers, body).await,
            }
        };
        let body = match &raw {
            Ok(bytes) => body::parse(&parts.headers, bytes),
            Err(e) => Err(e.clone()),
        };
        let cx = Cx {
            shared: &self.shared,
            peer,
            headers: parts.headers,
            query: parts.uri.query().map(str::to_owned),
            raw,
            body,
            device,
        };
        let routed = AssertUnwindSafe(dispatch(&cx, &parts.method, area, rest, self.surface))
            .catch_unwind()
            .await;
        let (route, result) = routed.unwrap_or_else(|_| {
            tracing::error!(path = parts.uri.path(), "handler panicked");
            (UNMATCHED, Err(ApiError::internal()))
        });
        let resp = result.unwrap_or_else(ApiError::into_response);
        let elapsed = started.elapsed();
        // Start latency for the admin stats (request to answer, successful starts only).
        if resp.status() == http::StatusCode::OK && route.ends_with("/authenticate/user") {
            self.shared.engine.record_start_latency(elapsed);
        }
        crate::metrics::record_request(route, resp.status(), elapsed);
        resp
    }
}

impl Api {
    /// While the store does not answer (the engine's health watch says so), every request that
    /// needs it is answered `503` at once, before credentials are looked up or a body is read:
    /// a prompt refusal instead of each request waiting out the store's timeouts. The ops
    /// routes stay served (`/health/live` 200, `/health/ready` 503).
    fn store_gate(&self, area: Area, rest: &[&str]) -> Option<ApiError> {
        if self.shared.engine.store_available() {
            return None;
        }
        let codes = match area {
            Area::Portal(_) => Codes::Numeric,
            Area::Users(_) | Area::Device => Codes::Named,
            // The vendor's events API speaks the portal's dialect; other root paths are ops.
            Area::Root if rest == ["oauth", "api", "v1", "events"] => Codes::Numeric,
            Area::Root => return None,
        };
        Some(ApiError::store_unavailable(codes))
    }
}

/// Label templates per portal version, e.g. `/oauth/api/v4/authenticate/transaction/{id}`.
macro_rules! portal {
    ($v:expr, $suffix:literal) => {
        match $v {
            Version::V2 => concat!("/oauth/api/v2/authenticate", $suffix),
            Version::V3 => concat!("/oauth/api/v3/authenticate", $suffix),
            Version::V4 => concat!("/oauth/api/v4/authenticate", $suffix),
        }
    };
}

/// Label templates per management version, e.g. `/oauth/api/v4/users/{user_id}/devices`.
macro_rules! users {
    ($v:expr, $suffix:literal) => {
        match $v {
            Version::V4 => concat!("/oauth/api/v4/users/{user_id}", $suffix),
            _ => concat!("/oauth/api/v3/users/{user_id}", $suffix),
        }
    };
}

/// Which API a path belongs to; the match sees it with the rest of the segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Area {
    /// Ops and events: the whole path.
    Root,
    /// `/oauth/api/{v2,v3,v4}/authenticate/...` (API.md §2).
    Portal(Version),
    /// `/oauth/api/{v3,v4}/users/...` (API.md §3).
    Users(Version),
    /// `/device/v1/...` (API.md §4).
    Device,
}

fn split<'a>(segments: &'a [&'a str]) -> (Area, &'a [&'a str]) {
    let area = match segments {
        ["oauth", "api", v, api, rest @ ..] => match (Version::parse(v), *api) {
            (Some(v), "authenticate") => Some((Area::Portal(v), rest)),
            // Management has no v2.
            (Some(v @ (Version::V3 | Version::V4)), "users") => Some((Area::Users(v), rest)),
            _ => None,
        },
        ["device", "v1", rest @ ..] => Some((Area::Device, rest)),
        _ => None,
    };
    area.unwrap_or((Area::Root, segments))
}

type Routed = (&'static str, Result<Reply, ApiError>);

async fn dispatch(
    cx: &Cx<'_>,
    method: &Method,
    area: Area,
    rest: &[&str],
    surface: Surface,
) -> Routed {
    if !surface.serves(area, rest) {
        return (UNMATCHED, Err(ApiError::not_found()));
    }
    use Area::{Device, Portal, Root, Users};
    use Version::{V2, V3, V4};
    match (method, area, rest) {
        (&Method::GET, Root, ["health", "live"]) => ("/health/live", ops::live(cx).await),
        (&Method::GET, Root, ["health", "ready"]) => ("/health/ready", ops::ready(cx).await),
        (&Method::GET, Root, ["metrics"]) => ("/metrics", ops::metrics(cx).await),
        (&Method::GET, Root, ["openapi.yaml"]) => ("/openapi.yaml", ops::openapi(cx).await),
        (&Method::GET, Root, ["oauth", "api", "v1", "events"]) => {
            ("/oauth/api/v1/events", events::list(cx).await)
        }

        // === admin API: operations (§5) ===
        (&Method::GET, Root, ["admin", "v1", "stats"]) => {
            ("/admin/v1/stats", admin_ops::stats::get(cx).await)
        }
        (&Method::GET, Root, ["admin", "v1", "stream"]) => {
            ("/admin/v1/stream", admin_ops::stream::open(cx).await)
        }
        (&Method::GET, Root, ["admin", "v1", "transactions"]) => (
            "/admin/v1/transactions",
            admin_ops::transactions::list(cx).await,
        ),
        (&Method::GET, Root, ["admin", "v1", "transactions", id]) => (
            "/admin/v1/transactions/{id}",
            admin_ops::transactions::detail(cx, id).await,
        ),
        (&Method::POST, Root, ["admin", "v1", "transactions", id, "cancel"]) => (
            "/admin/v1/transactions/{id}/cancel",
            admin_ops::transactions::cancel(cx, id).await,
        ),
        (&Method::GET, Root, ["admin", "v1", "events"]) => {
            ("/admin/v1/events", admin_ops::events::list(cx).await)
        }
        (&Method::GET, Root, ["admin", "v1", "dead-letters"]) => (
            "/admin/v1/dead-letters",
            admin_ops::dead_letters::list(cx).await,
        ),
        (&Method::POST, Root, ["admin", "v1", "dead-letters", id, "replay"]) => (
            "/admin/v1/dead-letters/{id}/replay",
            admin_ops::dead_letters::replay(cx, id).await,
        ),
        // === admin API: configuration resources (§5) ===
        (_, Root, ["admin", "v1", rest @ ..]) if admin::owns(rest) => {
            admin::route(cx, method, rest).await
        }

        // === portal (§2) ===
        (&Method::GET, Portal(v), ["user", user, "enabled"]) => (
            portal!(v, "/user/{user_id}/enabled"),
            portal::availability(cx, v, user).await,
        ),
        (&Method::GET, Portal(V4), ["user", user, "device", device, "enabled"]) => (
            "/oauth/api/v4/authenticate/user/{user_id}/device/{device_id}/enabled",
            portal::enabled_types(cx, V4, user, device).await,
        ),
        (&Method::GET, Portal(V3), ["user", user, "application", app, "enabled"]) => (
            "/oauth/api/v3/authenticate/user/{user_id}/application/{app_id}/enabled",
            portal::enabled_types(cx, V3, user, app).await,
        ),
        (&Method::GET, Portal(V2), ["user", user, "enabled", type_name]) => (
            "/oauth/api/v2/authenticate/user/{user_id}/enabled/{type}",
            portal::type_enabled(cx, V2, user, type_name).await,
        ),
        (&Method::POST, Portal(v), ["user"]) => (portal!(v, "/user"), portal::start(cx, v).await),
        (&Method::GET, Portal(v), ["transaction", id]) => (
            portal!(v, "/transaction/{id}"),
            portal::result(cx, v, id).await,
        ),
        (&Method::GET, Portal(v), ["transaction", id, "otp.svg"]) => (
            portal!(v, "/transaction/{id}/otp.svg"),
            portal::otp_svg(cx, v, id).await,
        ),
        (&Method::POST, Portal(v), ["transaction", id, "cancel"]) => (
            portal!(v, "/transaction/{id}/cancel"),
            portal::cancel(cx, v, id).await,
        ),
        (&Method::POST, Portal(v), ["transaction", id, "resend"]) => (
            portal!(v, "/transaction/{id}/resend"),
            portal::resend(cx, v, id).await,
        ),
        (&Method::POST, Portal(v), ["user", user, "sms"]) => (
            portal!(v, "/user/{user_id}/sms"),
            portal::verify_sms(cx, v, user).await,
        ),
        (&Method::POST, Portal(v), ["user", user, "sms", "resend"]) => (
            portal!(v, "/user/{user_id}/sms/resend"),
            portal::resend_sms(cx, v, user).await,
        ),

        // === user & device management (§3) ===
        (&Method::GET, Users(v), [user, "devices"]) => {
            (users!(v, "/devices"), management::list(cx, v, user).await)
        }
        (&Method::DELETE, Users(v), [user, "devices"]) => (
            users!(v, "/devices"),
            management::delete_all(cx, v, user).await,
        ),
        (&Method::POST, Users(v), [user, "devices"]) => (
            users!(v, "/devices"),
            management::delete_many(cx, v, user).await,
        ),
        (&Method::DELETE, Users(v), [user, "devices", device]) => (
            users!(v, "/devices/{device_id}"),
            management::delete(cx, v, user, device).await,
        ),
        (
            &Method::POST,
            Users(v),
            [
                user,
                "devices",
                device,
                action @ ("disableFingerprint"
                | "disableMobileAuthentication"
                | "disablePushAuthentication"),
            ],
        ) => (
            users!(v, "/devices/{device_id}/{disable}"),
            management::disable(cx, v, user, device, action).await,
        ),
        (&Method::POST, Users(V4), [user, "enrollment-codes"]) => (
            "/oauth/api/v4/users/{user_id}/enrollment-codes",
            management::enrollment_code(cx, user).await,
        ),

        // === device API (§4) ===
        (&Method::POST, Device, ["enrollments"]) => {
            ("/device/v1/enrollments", device::enroll(cx).await)
        }
        (&Method::PUT, Device, ["push-enrollment"]) => {
            ("/device/v1/push-enrollment", device::push_enroll(cx).await)
        }
        (&Method::DELETE, Device, ["push-enrollment"]) => (
            "/device/v1/push-enrollment",
            device::push_unenroll(cx).await,
        ),
        (&Method::PUT, Device, ["authenticators", kind @ ("pin" | "fingerprint")]) => (
            "/device/v1/authenticators/{kind}",
            device::register(cx, kind, None).await,
        ),
        (&Method::PUT, Device, ["authenticators", "custom", id]) => (
            "/device/v1/authenticators/custom/{authenticator_id}",
            device::register(cx, "custom", Some(id)).await,
        ),
        (&Method::GET, Device, ["transactions", "pending"]) => {
            ("/device/v1/transactions/pending", device::pending(cx).await)
        }
        (&Method::GET, Device, ["transactions", id]) => {
            ("/device/v1/transactions/{id}", device::fetch(cx, id).await)
        }
        (&Method::POST, Device, ["transactions", id, "answer"]) => (
            "/device/v1/transactions/{id}/answer",
            device::answer(cx, id).await,
        ),
        (&Method::POST, Device, ["otp"]) => ("/device/v1/otp", device::redeem_otp(cx).await),

        // Known paths, other methods.
        _ => match allowed(area, rest) {
            Some(allow) => (UNMATCHED, Err(ApiError::method_not_allowed(allow))),
            None => (UNMATCHED, Err(ApiError::not_found())),
        },
    }
}

/// The methods [`dispatch`] serves on a path (the admin configuration resources answer their
/// own, `admin::route`), for the `Allow` header of a `405`; `None` for a path it does not know.
fn allowed(area: Area, rest: &[&str]) -> Option<Allow> {
    use Area::{Device, Portal, Root, Users};
    use Version::{V2, V3, V4};
    Some(match (area, rest) {
        (
            Root,
            ["health", "live" | "ready"]
            | ["metrics"]
            | ["openapi.yaml"]
            | ["oauth", "api", "v1", "events"]
            | [
                "admin",
                "v1",
                "stats" | "stream" | "transactions" | "events" | "dead-letters",
            ]
            | ["admin", "v1", "transactions", _],
        ) => Allow::Get,
        (
            Root,
            ["admin", "v1", "transactions", _, "cancel"]
            | ["admin", "v1", "dead-letters", _, "replay"],
        ) => Allow::Post,
        (
            Portal(_),
            ["user", _, "enabled"] | ["transaction", _] | ["transaction", _, "otp.svg"],
        ) => Allow::Get,
        (Portal(V4), ["user", _, "device", _, "enabled"])
        | (Portal(V3), ["user", _, "application", _, "enabled"])
        | (Portal(V2), ["user", _, "enabled", _]) => Allow::Get,
        (
            Portal(_),
            ["user"]
            | ["user", _, "sms"]
            | ["user", _, "sms", "resend"]
            | ["transaction", _, "cancel" | "resend"],
        ) => Allow::Post,
        (Users(_), [_, "devices"]) => Allow::GetPostDelete,
        (Users(_), [_, "devices", _]) => Allow::Delete,
        (
            Users(_),
            [
                _,
                "devices",
                _,
                "disableFingerprint" | "disableMobileAuthentication" | "disablePushAuthentication",
            ],
        )
        | (Users(V4), [_, "enrollment-codes"]) => Allow::Post,
        (Device, ["enrollments"] | ["transactions", _, "answer"] | ["otp"]) => Allow::Post,
        (Device, ["push-enrollment"]) => Allow::PutDelete,
        (Device, ["authenticators", "pin" | "fingerprint"] | ["authenticators", "custom", _]) => {
            Allow::Put
        }
        (Device, ["transactions", _]) => Allow::Get,
        _ => return None,
    })
}

impl Surface {
    fn serves(self, area: Area, rest: &[&str]) -> bool {
        let root = area == Area::Root;
        let ops = root && matches!(rest, ["health", ..] | ["metrics"]);
        let openapi = root && rest == ["openapi.yaml"];
        match self {
            Surface::All => true,
            Surface::Main => !ops,
            Surface::Ops => ops || openapi,
        }
    }
}
