//! Building an engine: its store, outbound routers, services and shards, and the background
//! loops it starts (health, node lease, stats, configuration poll).

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use parking_lot::RwLock;
use tessera_config::{Config, StoreKind};
use tokio::sync::watch;

use crate::clock::Clock;
use crate::context::SecureContext;
use crate::enroll::keys::KeyRing;
use crate::error::{Result, StartupError};
use crate::events::EventSink;
use crate::limits::Limiter;
use crate::outbound::{CallbackDispatcher, PushProvider, PushRouter, SmsGateway, SmsRouter, http};
use crate::settings::Settings;
use crate::stats::Collector;
use crate::store::{MemoryStore, RedisStore, Store, StoreHealth, TimedStore};
use crate::txn::code_key::CodeKey;
use crate::txn::services::Services;
use crate::txn::shard::{self, Shard};

use super::{Engine, EngineOptions, Inner, PURGE_EVERY, nodes, redis_url_problem};

impl Engine {
    /// Builds the engine and its shards. Must run inside an actix `System`. A file the config
    /// names that cannot be used (a key, a service account) is a [`StartupError`] naming its key.
    pub fn launch(config: Config, opts: EngineOptions) -> Result<Self, StartupError> {
        Self::launch_with(config, opts, Vec::new())
    }

    /// `launch`, with push providers that replace those the config names (tests use failing
    /// or recording providers here).
    pub fn launch_with(
        config: Config,
        opts: EngineOptions,
        providers: Vec<(String, Arc<dyn PushProvider>)>,
    ) -> Result<Self, StartupError> {
        Self::launch_with_sms(config, opts, providers, None)
    }

    /// `launch_with`, and with `sms` the SMS gateway list in failover order instead of the
    /// config's (in-process tests record what would have been texted).
    pub fn launch_with_sms(
        config: Config,
        opts: EngineOptions,
        providers: Vec<(String, Arc<dyn PushProvider>)>,
        sms: Option<Vec<Arc<dyn SmsGateway>>>,
    ) -> Result<Self, StartupError> {
        Self::launch_on(config, opts, None, providers, sms)
    }

    /// `launch_with_sms` over `store` instead of the one the config names (tests put a store
    /// that fails on purpose here).
    pub fn launch_on(
        config: Config,
        opts: EngineOptions,
        store: Option<Arc<dyn Store>>,
        providers: Vec<(String, Arc<dyn PushProvider>)>,
        sms: Option<Vec<Arc<dyn SmsGateway>>>,
    ) -> Result<Self, StartupError> {
        let clock = Clock::new();
        let retention_ms = config.store.result_retention.as_millis() as u64;
        let inner: Arc<dyn Store> = match (store, config.store.kind) {
            (Some(store), _) => store,
            (None, StoreKind::Memory) => Arc::new(MemoryStore::with_clock(clock)),
            (None, StoreKind::Redis) => {
                let s = &config.store;
                // Only the URL can be refused here: the pool connects on first use.
                let redis = RedisStore::from_config(s)
                    .map_err(|e| StartupError::invalid("store.redis_url", redis_url_problem(&e)))?;
                Arc::new(redis)
            }
        };
        // Every operation is timed, whoever calls it (actors, requests, background loops).
        let store: Arc<dyn Store> = Arc::new(TimedStore::new(inner));
        crate::telemetry::build_info(config.store.kind.as_str());
        crate::telemetry::zero_init();
        let code_key = CodeKey::from_config(&config.store.hash_key);
        let changes = store.subscribe();
        let shared = changes.is_some() || config.store.kind == StoreKind::Redis;
        let node = nodes::node_name(config.server.listen);
        let events = EventSink::new(store.clone());
        let client = http::client(&config.proxy, Duration::from_secs(10))?;
        let stats = Arc::new(Collector::new(clock.now()));
        let sms_fixed = sms.is_some();
        let sms = match sms {
            Some(gateways) => SmsRouter::new(gateways, config.sms.failover_cooldown, clock),
            None => SmsRouter::from_config(&config, client.clone())?,
        };
        let sms = Arc::new(sms.with_stats(stats.clone()));
        let callbacks = CallbackDispatcher::new(
            &config,
            client.clone(),
            store.clone(),
            events.clone(),
            clock,
        )
        .with_stats(stats.clone());
        let push = providers
            .iter()
            .try_fold(PushRouter::from_config(&config)?, |router, (id, p)| {
                Ok::<_, StartupError>(router.with(id, p.clone()))
            })?;
        let limits = Limiter::new(
            store.clone(),
            config.rate_limits.clone(),
            code_key.clone(),
            clock,
        );
        let context = SecureContext::from_config(&config)?;
        let svc = Arc::new(Services {
            limits,
            context,
            config: RwLock::new(Arc::new(config)),
            keys: KeyRing::new(store.clone()),
            push: RwLock::new(Arc::new(push)),
            http: client,
            store,
            live: events.hub().clone(),
            events,
            sms: RwLock::new(sms),
            callbacks,
            clock,
            retention_ms,
            code_key,
            node,
            shared,
            stats,
        });

        let (shards, arbiters) = if opts.in_place {
            let s = svc.clone();
            (
                vec![Shard::create(move |_| Shard::new(s))],
                vec![Arbiter::current()],
            )
        } else {
            let n = if opts.shards == 0 {
                std::thread::available_parallelism().map_or(1, |n| n.get())
            } else {
                opts.shards
            };
            let mut shards = Vec::with_capacity(n);
            let mut arbiters = Vec::with_capacity(n);
            for index in 0..n {
                let arbiter = Arbiter::new().handle();
                let s = svc.clone();
                shards.push(Shard::start_in_arbiter(&arbiter, move |_| {
                    shard::mark_here(index);
                    Shard::new(s)
                }));
                arbiters.push(arbiter);
            }
            (shards, arbiters)
        };

        if let Some(changes) = changes {
            Self::spawn_change_listener(shards.clone(), changes);
        }

        let purge_store = svc.store.clone();
        actix::spawn(async move {
            let mut tick = tokio::time::interval(PURGE_EVERY);
            loop {
                tick.tick().await;
                if let Err(e) = purge_store.purge_expired(clock.now()).await {
                    tracing::warn!(error = %e, "purging finished transactions failed");
                }
            }
        });

        let engine = Self {
            inner: Arc::new(Inner {
                shards,
                arbiters,
                store_health: StoreHealth::watch(svc.store.clone()),
                settings: Settings::new(svc.clone(), providers, sms_fixed),
                svc,
                draining: watch::Sender::new(false),
            }),
        };
        engine.spawn_stats_publisher();
        if shared {
            engine.spawn_config_poll();
        }
        Ok(engine)
    }
}
