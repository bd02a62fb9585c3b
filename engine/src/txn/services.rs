//! What every actor of every shard shares: the store, outbound gateways, events, the clock.

use std::sync::Arc;

use crate::clock::Clock;
use crate::events::EventSink;
use crate::outbound::{CallbackDispatcher, SmsRouter};
use crate::store::Store;

pub struct Services {
    pub store: Arc<dyn Store>,
    pub events: EventSink,
    pub sms: Arc<SmsRouter>,
    pub callbacks: CallbackDispatcher,
    pub clock: Clock,
    /// How long finished transactions stay readable.
    pub retention_ms: u64,
}
