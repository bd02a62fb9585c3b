//! `GET /admin/v1/stats` → `Stats`: this node first, every other live node after it, the
//! dead-letter count and the store's health.

use crate::context::Cx;
use crate::error::ApiError;
use crate::reply::{self, Reply};

pub(crate) async fn get(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    cx.admin().await?;
    Ok(reply::ok(&cx.engine().stats().await))
}
