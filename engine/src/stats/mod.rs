//! This node's operational statistics, for the admin API's `GET /stats` (and through it the
//! TUI's overview): starts, finishes by status, pending transactions by fine state, starts per
//! second over the last minute, latency quantiles, SMS gateway / push provider / callback
//! health.
//!
//! The collector sits on the hot path (every start, every state change, every send), so
//! recording is atomics only: counters per type are resolved once per transaction actor (an
//! `Arc` it keeps), the per-second ring and the latency windows are lock-free (`ring.rs`,
//! `window.rs`), and locks are taken only to register a name seen for the first time or to
//! keep a failure's message. Reading (`snapshot`) is the slow side: once a second per node.
//!
//! A type's counters carry its Prometheus series too ([`TypeMetrics`]): starts, ends and the
//! pending gauge by fine state are recorded here, once, for both `/stats` and `/metrics`, so
//! the two cannot disagree.
//!
//! With several nodes each one publishes its snapshot to the store every second (see
//! `engine/admin.rs`); `/stats` reads them all back.

mod outbound;
mod ring;
#[cfg(test)]
mod tests;
mod window;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::RwLock;
use tessera_config::admin::{CallbackStats, NodeStats, TypeStats};
use tessera_config::{Config, SmsGatewayKind};

use self::outbound::OutboundSet;
use self::ring::SecondRing;
use self::window::LatencyWindow;
use crate::model::{FineState, Method, Millis, Status};
use crate::telemetry::TypeMetrics;

/// The final statuses, in the order of the per-status counters.
const FINAL: [Status; 5] = [
    Status::Accepted,
    Status::Rejected,
    Status::Expired,
    Status::Failed,
    Status::Cancelled,
];

fn final_index(status: Status) -> Option<usize> {
    FINAL.iter().position(|s| *s == status)
}

/// One mobile auth type's counters on this node.
pub(crate) struct TypeCounters {
    method: &'static str,
    started: AtomicU64,
    /// Pending transactions this node runs (gauge: may dip below zero for a moment, read
    /// clamped).
    active: AtomicI64,
    finished: [AtomicU64; 5],
    starts: SecondRing,
    metrics: TypeMetrics,
}

impl TypeCounters {
    fn new(name: &str, method: &'static str) -> Self {
        Self {
            method,
            started: AtomicU64::new(0),
            active: AtomicI64::new(0),
            finished: Default::default(),
            starts: SecondRing::default(),
            metrics: TypeMetrics::new(name),
        }
    }
}

/// What a transaction actor has counted in the gauges: its fine state and its type's counters.
pub(crate) type Tracked = Option<(FineState, Arc<TypeCounters>)>;

/// The node's collector: one per engine, shared by every shard.
pub struct Collector {
    started_at: Millis,
    types: RwLock<HashMap<String, Arc<TypeCounters>>>,
    /// Pending transactions this node runs, by [`FineState::PENDING`] index.
    active: [AtomicI64; FineState::PENDING.len()],
    start_latency: LatencyWindow,
    flow_latency: LatencyWindow,
    pub(crate) sms: OutboundSet,
    pub(crate) push: OutboundSet,
    callbacks_sent: AtomicU64,
    callbacks_failed: AtomicU64,
    callbacks_dead: AtomicU64,
    callbacks_in_flight: AtomicI64,
}

impl Collector {
    pub(crate) fn new(started_at: Millis) -> Self {
        Self {
            started_at,
            types: RwLock::new(HashMap::new()),
            active: Default::default(),
            start_latency: LatencyWindow::default(),
            flow_latency: LatencyWindow::default(),
            sms: OutboundSet::default(),
            push: OutboundSet::default(),
            callbacks_sent: AtomicU64::new(0),
            callbacks_failed: AtomicU64::new(0),
            callbacks_dead: AtomicU64::new(0),
            callbacks_in_flight: AtomicI64::new(0),
        }
    }

    /// The counters of `type_name` (created on first use; `method` is the one its first
    /// transaction ran).
    pub(crate) fn type_counters(&self, type_name: &str, method: &'static str) -> Arc<TypeCounters> {
        if let Some(t) = self.types.read().get(type_name) {
            return t.clone();
        }
        self.types
            .write()
            .entry(type_name.to_owned())
            .or_insert_with(|| Arc::new(TypeCounters::new(type_name, method)))
            .clone()
    }

    /// A transaction of `ty` started on this node at `now` with `method` (not when rebuilt
    /// from the store).
    pub(crate) fn started(&self, ty: &TypeCounters, method: Method, now: Millis) {
        ty.started.fetch_add(1, Ordering::Relaxed);
        ty.starts.record(now / 1000);
        ty.metrics.started(method);
    }

    /// A transaction of `ty` run with `method` reached `status` at `now`, `flow_ms` after its
    /// start.
    pub(crate) fn finished(
        &self,
        ty: &TypeCounters,
        method: Method,
        status: Status,
        flow_ms: u64,
        now: Millis,
    ) {
        if let Some(i) = final_index(status) {
            ty.finished[i].fetch_add(1, Ordering::Relaxed);
        }
        self.flow_latency.record(now, flow_ms.saturating_mul(1000));
        ty.metrics
            .finished(method, status, Duration::from_millis(flow_ms));
    }

    /// Moves one transaction in the pending gauges from what it was counted as to `to`
    /// (`None`: not counted — final, or another node's). Returns what is counted now.
    pub(crate) fn track(&self, from: Tracked, to: Tracked) -> Tracked {
        let same = match (&from, &to) {
            (Some((a, ta)), Some((b, tb))) => a == b && Arc::ptr_eq(ta, tb),
            (None, None) => true,
            _ => false,
        };
        if same {
            return to;
        }
        if let Some((state, ty)) = &from {
            if let Some(i) = state.index() {
                self.active[i].fetch_sub(1, Ordering::Relaxed);
            }
            ty.active.fetch_sub(1, Ordering::Relaxed);
            ty.metrics.active(*state, -1.0);
        }
        if let Some((state, ty)) = &to {
            if let Some(i) = state.index() {
                self.active[i].fetch_add(1, Ordering::Relaxed);
            }
            ty.active.fetch_add(1, Ordering::Relaxed);
            ty.metrics.active(*state, 1.0);
        }
        to
    }

    /// A portal start request took `latency` from request to answer.
    pub fn start_latency(&self, now: Millis, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.start_latency.record(now, us);
    }

    pub(crate) fn callback_dispatched(&self) {
        self.callbacks_in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn callback_done(&self) {
        self.callbacks_in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn callback_sent(&self) {
        self.callbacks_sent.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn callback_failed_try(&self) {
        self.callbacks_failed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn callback_dead_lettered(&self) {
        self.callbacks_dead.fetch_add(1, Ordering::Relaxed);
    }

    /// This node's numbers at `now`. Types, gateways and providers the config names are
    /// listed even before their first use.
    pub fn snapshot(&self, node: &str, cfg: &Config, now: Millis) -> NodeStats {
        let types = self.types.read();
        let mut names: Vec<&str> = cfg
            .mobile_auth_types
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        names.extend(types.keys().map(String::as_str));
        names.sort_unstable();
        names.dedup();
        let type_stats = names
            .into_iter()
            .map(|name| {
                let configured = cfg.mobile_auth_types.iter().find(|t| t.name == name);
                let counters = types.get(name);
                let method = configured
                    .map(|t| t.method.as_str())
                    .or(counters.map(|c| c.method))
                    .unwrap_or_default();
                let mut s = TypeStats {
                    name: name.to_owned(),
                    method: method.to_owned(),
                    starts_per_second: vec![0; ring::WINDOW],
                    ..Default::default()
                };
                if let Some(c) = counters {
                    s.started = c.started.load(Ordering::Relaxed);
                    s.active = c.active.load(Ordering::Relaxed).max(0) as u64;
                    s.finished = by_status(&c.finished);
                    s.starts_per_second = c.starts.read(now / 1000);
                }
                s
            })
            .collect();
        let mut outcomes: BTreeMap<String, u64> =
            FINAL.iter().map(|s| (s.as_str().to_owned(), 0)).collect();
        for c in types.values() {
            for (status, n) in by_status(&c.finished) {
                *outcomes.entry(status).or_default() += n;
            }
        }
        let active_by_state = FineState::PENDING
            .iter()
            .zip(&self.active)
            .map(|(s, n)| {
                (
                    s.as_str().to_owned(),
                    n.load(Ordering::Relaxed).max(0) as u64,
                )
            })
            .collect();
        NodeStats {
            name: node.to_owned(),
            started_at: self.started_at,
            at: now,
            types: type_stats,
            active_by_state,
            outcomes,
            start_latency: self.start_latency.quantiles(now),
            flow_latency: self.flow_latency.quantiles(now),
            sms_gateways: self.sms.health(&sms_kinds(cfg)),
            push_providers: self.push.health(&push_kinds(cfg)),
            callbacks: CallbackStats {
                sent: self.callbacks_sent.load(Ordering::Relaxed),
                failed_tries: self.callbacks_failed.load(Ordering::Relaxed),
                dead_lettered: self.callbacks_dead.load(Ordering::Relaxed),
                in_flight: self.callbacks_in_flight.load(Ordering::Relaxed).max(0) as u64,
            },
        }
    }
}

fn by_status(counts: &[AtomicU64; 5]) -> BTreeMap<String, u64> {
    FINAL
        .iter()
        .zip(counts)
        .map(|(s, n)| (s.as_str().to_owned(), n.load(Ordering::Relaxed)))
        .collect()
}

/// The configured SMS gateways in use (`sms.gateways`) with their kinds.
fn sms_kinds(cfg: &Config) -> Vec<(String, String)> {
    cfg.sms
        .gateways
        .iter()
        .map(|name| {
            let kind = cfg
                .sms_gateways
                .iter()
                .find(|g| &g.name == name)
                .map_or(SmsGatewayKind::Console.as_str(), |g| g.kind.as_str());
            (name.clone(), kind.to_owned())
        })
        .collect()
}

fn push_kinds(cfg: &Config) -> Vec<(String, String)> {
    cfg.push_configs
        .iter()
        .map(|p| (p.id.clone(), p.kind.as_str().to_owned()))
        .collect()
}
