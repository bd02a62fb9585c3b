//! `GET /admin/v1/events?transaction_id=&user_id=&event_name=&from=&to=&limit=` →
//! `EventList`, newest first. Unlike the vendor's `/oauth/api/v1/events`, a malformed id is
//! `400` (not an empty answer) and events carry their `detail`.

use tessera_config::admin::EventList;
use tessera_engine::model::{EventQuery, TxnId};

use super::{Params, engine_error, invalid};
use crate::context::Cx;
use crate::error::ApiError;
use crate::reply::{self, Reply};

const PARAMS: &[&str] = &[
    "transaction_id",
    "user_id",
    "event_name",
    "from",
    "to",
    "limit",
];

pub(crate) async fn list(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    cx.admin().await?;
    let p = Params::parse(cx, PARAMS)?;
    let transaction_id = p
        .text("transaction_id")
        .map(|raw| {
            raw.parse::<TxnId>()
                .map_err(|_| invalid("invalid parameter: transaction_id"))
        })
        .transpose()?;
    let query = EventQuery {
        transaction_id,
        user_id: p.text("user_id"),
        event_name: p.text("event_name"),
        from: p.number("from")?,
        to: p.number("to")?,
        limit: p.limit()?,
    };
    let events = cx
        .engine()
        .event_views(&query)
        .await
        .map_err(engine_error)?;
    Ok(reply::ok(&EventList { events }))
}
