//! Audit events: written to the store, logged, and fanned out to live subscribers (the admin
//! stream, the TUI, metrics).

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::live::LiveHub;
use crate::model::{Event, EventName, Millis, TxnId};
use crate::store::Store;

/// How many events a slow live subscriber may fall behind before it misses some.
const LIVE_BUFFER: usize = 4096;

/// Cheap to clone; every part of the engine that notices something emits through one of these.
#[derive(Clone)]
pub struct EventSink {
    store: Arc<dyn Store>,
    live: broadcast::Sender<Arc<Event>>,
    /// The admin stream's feed (`live.rs`): events and transaction changes of this node.
    hub: LiveHub,
}

impl EventSink {
    pub fn new(store: Arc<dyn Store>) -> Self {
        let (live, _) = broadcast::channel(LIVE_BUFFER);
        Self {
            store,
            live,
            hub: LiveHub::default(),
        }
    }

    /// The admin stream's feed this sink publishes to.
    pub fn hub(&self) -> &LiveHub {
        &self.hub
    }

    /// Records `event`. Never fails the caller: a store error is logged and the event still goes
    /// to live subscribers.
    pub async fn emit(&self, event: Event) {
        // Events are built from `EventName`, so the name is one of a fixed set.
        if let Some(name) = EventName::parse(&event.event_name) {
            crate::telemetry::event(name.as_str());
        }
        // Debug, not info: every transaction emits several events and formatting a log line
        // each would dominate the hot path. `TESSERA_LOG=tessera_engine::events=debug` shows them.
        tracing::debug!(
            event = %event.event_name,
            transaction_id = ?event.transaction_id,
            client_id = ?event.client_id,
            "audit event"
        );
        if let Err(e) = self.store.append_event(&event).await {
            tracing::warn!(error = %e, "could not store audit event");
        }
        let event = Arc::new(event);
        self.hub.event(&event);
        let _ = self.live.send(event);
    }

    /// Shorthand for an event about one transaction.
    pub async fn emit_for(&self, name: EventName, at: Millis, txn: TxnRef<'_>) {
        self.emit(txn.event(name, at)).await;
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.live.subscribe()
    }
}

/// The transaction fields an event copies.
#[derive(Debug, Clone, Copy)]
pub struct TxnRef<'a> {
    pub id: TxnId,
    pub user_id: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub client_ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

impl<'a> TxnRef<'a> {
    /// An event about this transaction, its fields copied.
    pub fn event(&self, name: EventName, at: Millis) -> Event {
        let mut e = Event::new(name, at);
        e.transaction_id = Some(self.id);
        e.user_id = self.user_id.map(str::to_owned);
        e.client_id = self.client_id.map(str::to_owned);
        e.client_ip = self.client_ip.map(str::to_owned);
        e.user_agent = self.user_agent.map(str::to_owned);
        e
    }

    pub fn of(txn: &'a crate::model::Transaction) -> Self {
        Self {
            id: txn.id,
            user_id: txn.user_id.as_deref(),
            client_id: Some(txn.client_id.as_str()),
            client_ip: txn.ip_address(),
            user_agent: txn.user_agent(),
        }
    }
}
