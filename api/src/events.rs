//! `GET /oauth/api/v1/events` (API.md §2.7): the vendor-compatible audit event query, scope
//! `events`. Newest first; `limit` defaults to 100 and is capped at 1000.

use tessera_config::Scope;
use tessera_engine::model::{Event, EventQuery, TxnId};

use crate::body::decode_fields;
use crate::context::Cx;
use crate::error::ApiError;
use crate::reply::{self, Reply};
use crate::wire::{EventList, EventRecord, EventsQuery};

const DEFAULT_LIMIT: u64 = 100;
const MAX_LIMIT: u64 = 1000;

pub(crate) async fn list(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    cx.authorize(Scope::Events).await?;
    let q: EventsQuery = decode_fields(&cx.query()?)?;
    let transaction_id = match q.transaction_id {
        Some(raw) => Some(
            raw.parse::<TxnId>()
                .map_err(|_| ApiError::unknown_transaction())?,
        ),
        None => None,
    };
    let query = EventQuery {
        transaction_id,
        user_id: q.user_id,
        event_name: None,
        from: q.from,
        to: q.to,
        limit: q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT) as usize,
    };
    let events = cx.engine().query_events(&query).await?;
    Ok(reply::ok(&EventList {
        events: events.into_iter().map(record).collect(),
    }))
}

fn record(e: Event) -> EventRecord {
    EventRecord {
        event_identifier: e.event_identifier.to_string(),
        event_name: e.event_name,
        event_type: e.event_type,
        client_id: e.client_id,
        app_name: e.app_name,
        transaction_id: e.transaction_id.map(|t| t.to_string()),
        user_id: e.user_id,
        client_ip: e.client_ip,
        user_agent: e.user_agent,
        occurred: e.occurred,
    }
}
