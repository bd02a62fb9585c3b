//! What every actor of every shard shares: configuration, the store, outbound gateways, keys,
//! events, the clock.

use std::sync::Arc;

use parking_lot::RwLock;
use tessera_config::Config;

use crate::clock::Clock;
use crate::context::SecureContext;
use crate::enroll::keys::KeyRing;
use crate::error::{Error, Result};
use crate::events::EventSink;
use crate::limits::{Limit, Limiter};
use crate::live::LiveHub;
use crate::outbound::{CallbackDispatcher, PushRouter, SmsRouter};
use crate::stats::Collector;
use crate::store::Store;
use crate::txn::code_key::CodeKey;

pub struct Services {
    /// Running transactions keep the settings they started with; this is for new work.
    pub config: RwLock<Arc<Config>>,
    pub store: Arc<dyn Store>,
    pub events: EventSink,
    /// Swapped whole when the admin API changes gateways or providers (`crate::settings`): a
    /// send in progress keeps the router it took.
    pub sms: RwLock<Arc<SmsRouter>>,
    pub push: RwLock<Arc<PushRouter>>,
    pub keys: KeyRing,
    pub callbacks: CallbackDispatcher,
    /// The shared outbound HTTP client (proxy-aware), for one-off calls like verifiers.
    pub http: reqwest::Client,
    pub clock: Clock,
    /// How long finished transactions stay readable.
    pub retention_ms: u64,
    /// `store.hash_key`: SMS codes are stored as MACs under it.
    pub code_key: CodeKey,
    /// This node's name in the store (`Transaction::node`, node leases).
    pub node: String,
    /// Other processes may change the transactions (a Redis store): a write refused by a newer
    /// version is fed again on the stored state, and changes heard of refresh the actors.
    pub shared: bool,
    /// This node's statistics (admin `/stats`).
    pub stats: Arc<Collector>,
    /// `[rate_limits]` of this node's file (never changed at run time) and the fraud mutes,
    /// counted in the store: per node with memory, shared by all nodes with Redis.
    pub limits: Limiter,
    /// This node's live feed (admin `/stream`); the same hub the event sink publishes to.
    pub live: LiveHub,
    /// `[geolocation]` of this node's file: the secure message's context (`None` when off).
    pub context: Option<SecureContext>,
}

impl Services {
    pub fn config(&self) -> Arc<Config> {
        self.config.read().clone()
    }

    /// The SMS gateways now.
    pub fn sms(&self) -> Arc<SmsRouter> {
        self.sms.read().clone()
    }

    /// The push providers now.
    pub fn push(&self) -> Arc<PushRouter> {
        self.push.read().clone()
    }

    /// Whether an SMS may go to `phone` now, counting it if so: `[sms_policy]` first, then
    /// `rate_limits.sms_per_phone` and `sms_per_prefix` (the number's bucket before its
    /// prefix's, so a number that is over its own limit takes nothing from its neighbours').
    /// Every SMS passes here exactly once, before any gateway sees it: the start's in
    /// `Engine::start` (a refused start leaves no transaction behind), resends and later
    /// fallbacks in the actor's `send_sms`.
    pub async fn clear_sms(&self, phone: &str) -> Result<()> {
        self.config()
            .sms_policy
            .check(phone)
            .map_err(Error::PhoneNotAllowed)?;
        for (limit, subject) in [
            (Limit::SmsPerPhone, phone),
            (Limit::SmsPerPrefix, crate::limits::sms_prefix(phone)),
        ] {
            self.limits
                .take(limit, subject)
                .await?
                .map_err(Error::Limited)?;
        }
        Ok(())
    }

    /// Whether this node runs `txn`'s timers: it started or took it over (a record from before
    /// nodes were named belongs to whichever node holds it).
    pub fn runs_timers_of(&self, txn: &crate::model::Transaction) -> bool {
        txn.node.as_deref().is_none_or(|n| n == self.node)
    }
}
