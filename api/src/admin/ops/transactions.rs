//! Transactions as an operator sees them: `GET /admin/v1/transactions?state=&type=&user_id=&limit=`
//! (newest first), `GET /admin/v1/transactions/{id}` (with the timeline) and
//! `POST /admin/v1/transactions/{id}/cancel` (any client's transaction; the cancel event names
//! the operator's client).

use tessera_config::admin::TransactionList;
use tessera_engine::model::{TxnId, TxnQuery};

use super::{Params, engine_error, not_found};
use crate::context::Cx;
use crate::error::ApiError;
use crate::reply::{self, Reply};

const PARAMS: &[&str] = &["state", "type", "user_id", "limit"];

pub(crate) async fn list(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    cx.admin().await?;
    let p = Params::parse(cx, PARAMS)?;
    let query = TxnQuery {
        state: p.text("state"),
        type_name: p.text("type"),
        user_id: p.text("user_id"),
        limit: p.limit()?,
    };
    let transactions = cx
        .engine()
        .list_transactions(&query)
        .await
        .map_err(engine_error)?;
    Ok(reply::ok(&TransactionList { transactions }))
}

pub(crate) async fn detail(cx: &Cx<'_>, id: &str) -> Result<Reply, ApiError> {
    cx.admin().await?;
    let id = txn_id(id)?;
    let detail = cx
        .engine()
        .transaction_detail(id)
        .await
        .map_err(engine_error)?;
    Ok(reply::ok(&detail))
}

pub(crate) async fn cancel(cx: &Cx<'_>, id: &str) -> Result<Reply, ApiError> {
    let caller = cx.admin().await?;
    let id = txn_id(id)?;
    cx.engine()
        .cancel_as_operator(id, &caller.client_id)
        .await
        .map_err(engine_error)?;
    Ok(reply::no_content())
}

/// A malformed id names no transaction: `404`, like an unknown one.
fn txn_id(raw: &str) -> Result<TxnId, ApiError> {
    raw.parse().map_err(|_| not_found("no such transaction"))
}
