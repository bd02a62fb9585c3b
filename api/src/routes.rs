//! The router: [`Api`] reads the body, then one `match` on (method, path segments) picks the
//! endpoint, and every answer is counted by route template and status.
//!
//! Portal paths exist in three versions (API.md §2.6): `/oauth/api/{v2,v3,v4}/authenticate/...`
//! is split off first, so the match sees the version and the remaining segments.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bytes::Bytes;
use futures::FutureExt as _;
use http::{Method, Request, Response};
use http_body_util::Full;
use hyper::body::Body;
use metrics_exporter_prometheus::PrometheusHandle;
use tessera_engine::Engine;
use tokio::time::Instant;

use crate::body::{self, Fields};
use crate::context::{Cx, Version};
use crate::error::ApiError;
use crate::reply::Reply;
use crate::{events, ops, portal};

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
    pub async fn handle<B>(&self, req: Request<B>, peer: SocketAddr) -> Response<Full<Bytes>>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let started = Instant::now();
        let (parts, body) = req.into_parts();
        // GET endpoints take their parameters from the path and query only.
        let body = if parts.method == Method::GET {
            Ok(Fields::new())
        } else {
            match body::read(&parts.headers, body).await {
                Ok(bytes) => body::parse(&parts.headers, &bytes),
                Err(e) => Err(e),
            }
        };
        let cx = Cx {
            shared: &self.shared,
            peer,
            headers: parts.headers,
            query: parts.uri.query().map(str::to_owned),
            body,
        };
        let routed = AssertUnwindSafe(dispatch(&cx, &parts.method, parts.uri.path(), self.surface))
            .catch_unwind()
            .await;
        let (route, result) = routed.unwrap_or_else(|_| {
            tracing::error!(path = parts.uri.path(), "handler panicked");
            (UNMATCHED, Err(ApiError::internal()))
        });
        let resp = result.unwrap_or_else(ApiError::into_response);
        crate::metrics::record_request(route, resp.status(), started.elapsed());
        resp
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

type Routed = (&'static str, Result<Reply, ApiError>);

async fn dispatch(cx: &Cx<'_>, method: &Method, path: &str, surface: Surface) -> Routed {
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    let (version, rest) = match segments.as_slice() {
        ["oauth", "api", v, "authenticate", rest @ ..] if Version::parse(v).is_some() => {
            (Version::parse(v), rest)
        }
        all => (None, all),
    };
    if !surface.serves(version, rest) {
        return (UNMATCHED, Err(ApiError::not_found()));
    }
    use Version::{V2, V3, V4};
    match (method, version, rest) {
        (&Method::GET, None, ["health", "live"]) => ("/health/live", ops::live(cx).await),
        (&Method::GET, None, ["health", "ready"]) => ("/health/ready", ops::ready(cx).await),
        (&Method::GET, None, ["metrics"]) => ("/metrics", ops::metrics(cx).await),
        (&Method::GET, None, ["openapi.yaml"]) => ("/openapi.yaml", ops::openapi(cx).await),
        (&Method::GET, None, ["oauth", "api", "v1", "events"]) => {
            ("/oauth/api/v1/events", events::list(cx).await)
        }

        (&Method::GET, Some(v), ["user", user, "enabled"]) => (
            portal!(v, "/user/{user_id}/enabled"),
            portal::availability(cx, v, user).await,
        ),
        (&Method::GET, Some(V4), ["user", user, "device", device, "enabled"]) => (
            "/oauth/api/v4/authenticate/user/{user_id}/device/{device_id}/enabled",
            portal::enabled_types(cx, V4, user, device).await,
        ),
        (&Method::GET, Some(V3), ["user", user, "application", app, "enabled"]) => (
            "/oauth/api/v3/authenticate/user/{user_id}/application/{app_id}/enabled",
            portal::enabled_types(cx, V3, user, app).await,
        ),
        (&Method::GET, Some(V2), ["user", user, "enabled", type_name]) => (
            "/oauth/api/v2/authenticate/user/{user_id}/enabled/{type}",
            portal::type_enabled(cx, V2, user, type_name).await,
        ),
        (&Method::POST, Some(v), ["user"]) => (portal!(v, "/user"), portal::start(cx, v).await),
        (&Method::GET, Some(v), ["transaction", id]) => (
            portal!(v, "/transaction/{id}"),
            portal::result(cx, v, id).await,
        ),
        (&Method::POST, Some(v), ["transaction", id, "cancel"]) => (
            portal!(v, "/transaction/{id}/cancel"),
            portal::cancel(cx, v, id).await,
        ),
        (&Method::POST, Some(v), ["transaction", id, "resend"]) => (
            portal!(v, "/transaction/{id}/resend"),
            portal::resend(cx, v, id).await,
        ),
        (&Method::POST, Some(v), ["user", user, "sms"]) => (
            portal!(v, "/user/{user_id}/sms"),
            portal::verify_sms(cx, v, user).await,
        ),
        (&Method::POST, Some(v), ["user", user, "sms", "resend"]) => (
            portal!(v, "/user/{user_id}/sms/resend"),
            portal::resend_sms(cx, v, user).await,
        ),

        // Known paths, other methods.
        (
            _,
            None,
            ["health", "live" | "ready"]
            | ["metrics"]
            | ["openapi.yaml"]
            | ["oauth", "api", "v1", "events"],
        )
        | (
            _,
            Some(_),
            ["user"]
            | ["user", _, "enabled"]
            | ["user", _, "sms"]
            | ["user", _, "sms", "resend"]
            | ["transaction", _]
            | ["transaction", _, "cancel" | "resend"],
        )
        | (_, Some(V4), ["user", _, "device", _, "enabled"])
        | (_, Some(V3), ["user", _, "application", _, "enabled"])
        | (_, Some(V2), ["user", _, "enabled", _]) => {
            (UNMATCHED, Err(ApiError::method_not_allowed()))
        }

        _ => (UNMATCHED, Err(ApiError::not_found())),
    }
}

impl Surface {
    fn serves(self, version: Option<Version>, rest: &[&str]) -> bool {
        let ops = version.is_none() && matches!(rest, ["health", ..] | ["metrics"]);
        let openapi = version.is_none() && rest == ["openapi.yaml"];
        match self {
            Surface::All => true,
            Surface::Main => !ops,
            Surface::Ops => ops || openapi,
        }
    }
}
