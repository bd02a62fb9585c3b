//! `GET /admin/v1/dead-letters` → `DeadLetterList` (oldest first) and
//! `POST /admin/v1/dead-letters/{id}/replay` → `ReplayOutcome`: one delivery try through the
//! callback dispatcher, made before answering (signed and authenticated as usual). Delivered:
//! the letter is gone. Not delivered: it stays, with one more try and the error.

use tessera_config::admin::DeadLetterList;
use uuid::Uuid;

use super::{Params, engine_error, not_found};
use crate::context::Cx;
use crate::error::ApiError;
use crate::reply::{self, Reply};

/// Dead letters listed at most (the store keeps at most 10 000).
const MAX_LISTED: usize = 10_000;

pub(crate) async fn list(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    cx.admin().await?;
    Params::parse(cx, &[])?;
    let dead_letters = cx
        .engine()
        .dead_letters(MAX_LISTED)
        .await
        .map_err(engine_error)?;
    Ok(reply::ok(&DeadLetterList { dead_letters }))
}

pub(crate) async fn replay(cx: &Cx<'_>, id: &str) -> Result<Reply, ApiError> {
    cx.admin().await?;
    let id: Uuid = id.parse().map_err(|_| not_found("no such dead letter"))?;
    let outcome = cx
        .engine()
        .replay_dead_letter(id)
        .await
        .map_err(|e| match e {
            tessera_engine::Error::UnknownTransaction => not_found("no such dead letter"),
            other => engine_error(other),
        })?;
    Ok(reply::ok(&outcome))
}
