//! Ops routes, unauthenticated: liveness, readiness, Prometheus metrics, the OpenAPI document.
//! With `server.ops_listen` set they live on that listener (the router decides, not these).

use std::time::Duration;

use crate::context::Cx;
use crate::error::ApiError;
use crate::reply::{self, PROMETHEUS_TEXT, Reply, YAML};
use crate::wire::Health;

/// How long every shard has to answer before the node reports itself not ready.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /health/live`: the process serves HTTP.
pub(crate) async fn live(_cx: &Cx<'_>) -> Result<Reply, ApiError> {
    Ok(reply::ok(&Health {
        status: "ok".into(),
    }))
}

/// `GET /health/ready`: the store answered its last health `PING` (kept by the engine, not
/// asked per request) and every shard answers its mailbox in time, so requests can be taken.
pub(crate) async fn ready(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    if !cx.engine().store_available() {
        return Err(ApiError::not_ready());
    }
    match tokio::time::timeout(READY_TIMEOUT, cx.engine().active()).await {
        Ok(_) => Ok(reply::ok(&Health {
            status: "ready".into(),
        })),
        Err(_) => Err(ApiError::not_ready()),
    }
}

/// `GET /metrics`: the Prometheus text exposition, rendered from our recorder's handle.
pub(crate) async fn metrics(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let handle = cx.shared.metrics.as_ref().ok_or_else(ApiError::not_found)?;
    Ok(reply::text(PROMETHEUS_TEXT, handle.render()))
}

/// `GET /openapi.yaml`.
pub(crate) async fn openapi(_cx: &Cx<'_>) -> Result<Reply, ApiError> {
    Ok(reply::text(YAML, crate::OPENAPI_YAML))
}
