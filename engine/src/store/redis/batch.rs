//! Audit events written in batches: `append_event` queues the event and returns; one writer task
//! per store (so per node) takes what arrived within [`LINGER`] (at most [`MAX_BATCH`]) and
//! writes it in one round trip (`LPUSH` of all of them, oldest first, so the list stays newest
//! first; then the cap's `LTRIM`). A flow's several events cost one round trip instead of one
//! each.
//!
//! Nothing queued is lost on purpose: [`EventBatcher::flush`] (the store's `flush` at shutdown,
//! and every events query, so a node reads its own events) returns once everything queued
//! before it is written. The queue is bounded: when it is full the event is written by its
//! caller directly, the old way, so a slow Redis slows emitters rather than growing memory.
//! A batch that fails is logged and dropped, as a failed single write was.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::conn::Connections;
use super::keys::Keys;
use super::{bounded, logs, unavailable};
use crate::store::StoreResult;

/// How long the writer waits for more events after the first of a batch.
const LINGER: Duration = Duration::from_millis(5);
/// Most events in one write.
const MAX_BATCH: usize = 256;
/// Events queued before emitters write their own.
const QUEUE: usize = 4096;
/// How long a flush waits for the queue to be written: a few bounded batch writes.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

enum Msg {
    /// An event's JSON.
    Event(String),
    /// Answered once everything queued before it is written (or failed).
    Flush(oneshot::Sender<()>),
}

pub(super) struct EventBatcher {
    conns: Arc<Connections>,
    keys: Keys,
    /// Made, and the writer spawned, on the first event (inside a runtime by then).
    queue: OnceLock<mpsc::Sender<Msg>>,
}

impl EventBatcher {
    pub(super) fn new(conns: Arc<Connections>, keys: Keys) -> Self {
        Self {
            conns,
            keys,
            queue: OnceLock::new(),
        }
    }

    /// Queues `json`; writes it directly when the queue is full or its writer is gone.
    pub(super) async fn append(&self, json: String) -> StoreResult<()> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(write_batches(rx, self.conns.clone(), self.keys.clone()));
            tx
        });
        match queue.try_send(Msg::Event(json)) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(Msg::Event(json)))
            | Err(mpsc::error::TrySendError::Closed(Msg::Event(json))) => {
                let mut conn = self.conns.get().await?;
                bounded(logs::append_events(&mut conn, &self.keys, &[json])).await
            }
            Err(_) => Ok(()),
        }
    }

    /// Returns once every event queued before this call is written (or its write failed).
    pub(super) async fn flush(&self) -> StoreResult<()> {
        let Some(queue) = self.queue.get() else {
            return Ok(()); // nothing was ever queued
        };
        let (done, written) = oneshot::channel();
        let wait = async {
            if queue.send(Msg::Flush(done)).await.is_err() {
                return; // the writer is gone, and its queue with it
            }
            let _ = written.await;
        };
        tokio::time::timeout(FLUSH_TIMEOUT, wait)
            .await
            .map_err(|_| unavailable("audit events still queued after 5 s"))
    }
}

/// The writer: one batch at a time until every sender is gone.
async fn write_batches(mut rx: mpsc::Receiver<Msg>, conns: Arc<Connections>, keys: Keys) {
    while let Some(first) = rx.recv().await {
        let mut events = Vec::new();
        let mut flushes = Vec::new();
        take(first, &mut events, &mut flushes);
        let until = tokio::time::Instant::now() + LINGER;
        // A flush waiting ends the lingering: it wants what is queued now, not later events.
        while events.len() < MAX_BATCH && flushes.is_empty() {
            match tokio::time::timeout_at(until, rx.recv()).await {
                Ok(Some(msg)) => take(msg, &mut events, &mut flushes),
                Ok(None) | Err(_) => break,
            }
        }
        while events.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(msg) => take(msg, &mut events, &mut flushes),
                Err(_) => break,
            }
        }
        if !events.is_empty() {
            let written = bounded(async {
                let mut conn = conns.get().await?;
                logs::append_events(&mut conn, &keys, &events).await
            })
            .await;
            if let Err(e) = written {
                tracing::warn!(error = %e, events = events.len(), "could not store audit events");
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

fn take(msg: Msg, events: &mut Vec<String>, flushes: &mut Vec<oneshot::Sender<()>>) {
    match msg {
        Msg::Event(json) => events.push(json),
        Msg::Flush(done) => flushes.push(done),
    }
}
