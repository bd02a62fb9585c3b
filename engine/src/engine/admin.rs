//! What the admin API's operations ask the engine (API.md §5): this node's and every live
//! node's stats, the live feed, transaction lists and details, an operator's cancel, dead
//! letters and their replay. Resources are returned as the admin wire shapes
//! (`tessera_config::admin`), built in `views.rs`.

use std::time::Duration;

use tessera_config::admin::{
    DeadLetterView, EventView, ReplayOutcome, Stats, StoreStats, TransactionDetail,
    TransactionSummary,
};
use uuid::Uuid;

use super::{Engine, views};
use crate::error::{Error, Result};
use crate::live::{LiveHub, Subscription};
use crate::model::{EventQuery, TxnId, TxnQuery};

/// How often each node publishes its stats to the store (`/stats` of any node reads them).
const PUBLISH_EVERY: Duration = Duration::from_secs(1);
/// A transaction's timeline holds at most this many events.
const TIMELINE_LIMIT: usize = 1000;

impl Engine {
    /// The admin stream's feed of this node (its events and transaction changes).
    pub fn live(&self) -> &LiveHub {
        &self.inner.svc.live
    }

    /// A new feed, or `None` when the subscriber cap is reached or the node is shutting down.
    pub fn subscribe_live(&self) -> Option<Subscription> {
        self.inner.svc.live.subscribe()
    }

    /// A portal start request took `latency` from request to answer (the API measures it).
    pub fn record_start_latency(&self, latency: Duration) {
        let svc = &self.inner.svc;
        svc.stats.start_latency(svc.clock.now(), latency);
    }

    /// Publishes this node's stats every second for `store.node_lease`, so the `/stats` of
    /// every node sharing the store lists it while it lives, and refreshes the dead-letter
    /// gauge from the store (one small read a second, never one per request). Runs until the
    /// engine drains.
    pub(super) fn spawn_stats_publisher(&self) {
        let engine = self.clone();
        let mut draining = self.inner.draining.subscribe();
        actix::spawn(async move {
            let mut tick = tokio::time::interval(PUBLISH_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = draining.wait_for(|d| *d) => return,
                }
                let svc = &engine.inner.svc;
                let cfg = svc.config();
                let snapshot = svc.stats.snapshot(&svc.node, &cfg, svc.clock.now());
                if let Err(e) = svc
                    .store
                    .put_node_stats(&snapshot, cfg.store.node_lease)
                    .await
                {
                    tracing::debug!(error = %e, "could not publish this node's stats");
                }
                if let Ok(count) = svc.store.dead_letter_count().await {
                    crate::telemetry::dead_letters(count);
                }
            }
        });
    }

    /// `GET /stats`: this node's fresh numbers first, then every other node that published
    /// within its lease, the dead-letter count and the store's health. A store that does not
    /// answer leaves the other nodes and the count out, and says so (`healthy: false`).
    pub async fn stats(&self) -> Stats {
        let svc = &self.inner.svc;
        let cfg = svc.config();
        let now = svc.clock.now();
        let mut nodes = vec![svc.stats.snapshot(&svc.node, &cfg, now)];
        let others = svc.store.node_stats().await;
        let count = svc.store.dead_letter_count().await;
        if let Ok(count) = &count {
            crate::telemetry::dead_letters(*count);
        }
        let healthy = self.store_available() && others.is_ok() && count.is_ok();
        let mut others: Vec<_> = others
            .unwrap_or_default()
            .into_iter()
            .filter(|n| n.name != svc.node)
            .collect();
        others.sort_by(|a, b| a.name.cmp(&b.name));
        nodes.extend(others);
        Stats {
            node: svc.node.clone(),
            at: now,
            store: StoreStats {
                kind: cfg.store.kind.as_str().to_owned(),
                healthy,
            },
            dead_letters: count.unwrap_or(0),
            nodes,
        }
    }

    /// `GET /transactions`: newest first, filtered, at most `query.limit`.
    pub async fn list_transactions(&self, query: &TxnQuery) -> Result<Vec<TransactionSummary>> {
        let txns = self.inner.svc.store.recent(query).await?;
        Ok(txns.iter().map(|t| views::summary(t)).collect())
    }

    /// `GET /transactions/{id}`: any client's transaction, with its timeline.
    pub async fn transaction_detail(&self, id: TxnId) -> Result<TransactionDetail> {
        let txn = self.read(id).await?;
        let events = self
            .query_events(&EventQuery {
                transaction_id: Some(id),
                limit: TIMELINE_LIMIT,
                ..Default::default()
            })
            .await?;
        Ok(views::detail(&txn, events))
    }

    /// `POST /transactions/{id}/cancel` by the operator client `by`: any client's transaction.
    pub async fn cancel_as_operator(&self, id: TxnId, by: &str) -> Result<()> {
        self.cancel_by(id, Some(by.to_owned())).await
    }

    /// `GET /events` of the admin API.
    pub async fn event_views(&self, query: &EventQuery) -> Result<Vec<EventView>> {
        let events = self.query_events(query).await?;
        Ok(events.iter().map(views::event).collect())
    }

    /// `GET /dead-letters`: oldest first, of the newest `limit`.
    pub async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetterView>> {
        let mut letters = self.inner.svc.store.dead_letters(limit).await?;
        letters.reverse();
        Ok(letters.iter().map(views::dead_letter).collect())
    }

    /// `POST /dead-letters/{id}/replay`: one delivery try now. `UnknownTransaction` stands for
    /// "no such dead letter" (the API answers `404 not_found`).
    pub async fn replay_dead_letter(&self, id: Uuid) -> Result<ReplayOutcome> {
        let replayed = self
            .inner
            .svc
            .callbacks
            .replay(id)
            .await?
            .ok_or(Error::UnknownTransaction)?;
        Ok(ReplayOutcome {
            id: replayed.letter.id.to_string(),
            transaction_id: replayed.letter.transaction_id.to_string(),
            delivered: replayed.error.is_none(),
            error: replayed.error,
        })
    }
}
