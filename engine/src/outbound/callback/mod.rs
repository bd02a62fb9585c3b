//! Portal callbacks (API.md §2.5): on every final state, `POST <callback_uri>` with
//! `{"callback_uri", "transaction_id"}`, retried with exponential backoff, dead-lettered when
//! every try failed, replayable from the admin API.
//!
//! Delivery never blocks the transaction that finished: [`CallbackDispatcher::dispatch`] hands
//! the job to its own task and returns.

mod backoff;
mod dead_letter;
mod settings;
mod shutdown;
mod signature;

#[cfg(test)]
mod dead_letter_tests;
#[cfg(test)]
mod shutdown_tests;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use parking_lot::RwLock;
use serde::Serialize;
use tokio::sync::{Semaphore, watch};

use backoff::backoff;
use settings::Settings;
use shutdown::Phase;
pub use signature::{signature_header, wall_seconds};

use crate::clock::Clock;
use crate::events::{EventSink, TxnRef};
use crate::model::{EventName, TxnId};
use crate::outbound::http::describe;
use crate::store::Store;
use crate::telemetry::{self, CallbackResult};

/// Deliveries in flight (including their backoff sleeps) at most. A portal that is down for a
/// while under load would otherwise pile up tasks without bound; beyond this the job goes
/// straight to the dead letters, from where it can be replayed.
const MAX_IN_FLIGHT: usize = 100_000;

/// One callback to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackJob {
    pub transaction_id: TxnId,
    pub callback_uri: String,
    /// Copied into the audit events.
    pub user_id: Option<String>,
    pub client_id: Option<String>,
}

/// The exact wire body, fields in this order.
#[derive(Serialize)]
struct Body<'a> {
    callback_uri: &'a str,
    transaction_id: TxnId,
}

/// Cheap to clone: everything lives behind one `Arc`.
#[derive(Clone)]
pub struct CallbackDispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    store: Arc<dyn Store>,
    events: EventSink,
    clock: Clock,
    /// Swapped whole by [`CallbackDispatcher::reconfigure`]; tries read the current one, so a
    /// rotated password applies to the retries of deliveries already under way.
    settings: RwLock<Arc<Settings>>,
    in_flight: Arc<Semaphore>,
    /// Permits of `in_flight` when none is taken: shutdown waits until it has them all back.
    capacity: u32,
    /// Shutdown: waiting retries and then tries under way turn into dead letters.
    phase: watch::Sender<Phase>,
    /// Sends, failed tries, dead letters and deliveries in flight (admin `/stats`).
    stats: Option<Arc<crate::stats::Collector>>,
}

// === impl CallbackDispatcher ===

impl CallbackDispatcher {
    pub fn new(
        cfg: &tessera_config::Config,
        http: reqwest::Client,
        store: Arc<dyn Store>,
        events: EventSink,
        clock: Clock,
    ) -> Self {
        Self::with_capacity(cfg, http, store, events, clock, MAX_IN_FLIGHT)
    }

    fn with_capacity(
        cfg: &tessera_config::Config,
        http: reqwest::Client,
        store: Arc<dyn Store>,
        events: EventSink,
        clock: Clock,
        capacity: usize,
    ) -> Self {
        // Shutdown waits for all permits at once, which `acquire_many` counts in u32.
        let capacity = u32::try_from(capacity).unwrap_or(u32::MAX);
        let inner = Inner {
            http,
            store,
            events,
            clock,
            settings: RwLock::new(Arc::new(Settings::from_config(cfg))),
            in_flight: Arc::new(Semaphore::new(capacity as usize)),
            capacity,
            phase: watch::Sender::new(Phase::Running),
            stats: None,
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Counts into `stats`. Called right after construction, before any clone exists.
    pub(crate) fn with_stats(mut self, stats: Arc<crate::stats::Collector>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.stats = Some(stats);
        }
        self
    }

    fn stats(&self) -> Option<&crate::stats::Collector> {
        self.inner.stats.as_deref()
    }

    /// Takes new credentials and retry settings (the admin API changed `callback_configs`;
    /// `crate::settings` calls this with every configuration it installs).
    pub fn reconfigure(&self, cfg: &tessera_config::Config) {
        *self.inner.settings.write() = Arc::new(Settings::from_config(cfg));
    }

    /// Starts delivering `job` in the background and returns at once. Must be called from within
    /// a tokio runtime (actix arbiters are); elsewhere the job is logged and dropped.
    pub fn dispatch(&self, job: CallbackJob) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!(transaction_id = %job.transaction_id, "callback outside a runtime: dropped");
            telemetry::callback(CallbackResult::Dropped);
            return;
        };
        let this = self.clone();
        match self.inner.in_flight.clone().try_acquire_owned() {
            Ok(permit) => {
                if let Some(stats) = self.stats() {
                    stats.callback_dispatched();
                }
                runtime.spawn(async move {
                    this.deliver(&job).await;
                    if let Some(stats) = this.stats() {
                        stats.callback_done();
                    }
                    drop(permit);
                    this.release(&job).await;
                });
            }
            // Full: the short store write still gets a task (dispatch must not wait on it), but
            // no network call or backoff sleep is started.
            Err(_) => {
                runtime.spawn(async move {
                    this.dead_letter_dropped(&job, "callback queue full".into())
                        .await;
                    this.release(&job).await;
                });
            }
        }
    }

    /// The callback is no longer due (sent, or kept as a dead letter): no node recovering this
    /// one's work sends it again. A failure here costs at most a second send (the portal sees
    /// the same `Idempotency-Key`).
    async fn release(&self, job: &CallbackJob) {
        if let Err(e) = self.inner.store.release(job.transaction_id).await {
            tracing::warn!(transaction_id = %job.transaction_id, error = %e, "could not mark the callback sent");
        }
    }

    fn settings(&self) -> Arc<Settings> {
        self.inner.settings.read().clone()
    }

    async fn deliver(&self, job: &CallbackJob) {
        if let Err(e) = reqwest::Url::parse(&job.callback_uri) {
            // Retrying cannot fix the URI.
            return self
                .dead_letter(job, 0, format!("invalid callback URI: {e}"))
                .await;
        }
        let body = Body {
            callback_uri: &job.callback_uri,
            transaction_id: job.transaction_id,
        };
        let body = match serde_json::to_vec(&body) {
            Ok(body) => body,
            Err(e) => {
                return self
                    .dead_letter(job, 0, format!("cannot encode body: {e}"))
                    .await;
            }
        };
        let settings = self.settings();
        let mut last_error = String::new();
        for attempt in 1..=settings.max_tries {
            if attempt > 1 {
                telemetry::callback(CallbackResult::Retried);
            }
            let tried = tokio::select! {
                tried = self.try_once(job, &body) => tried,
                // The grace is over: this try is abandoned and its job kept, due again now.
                () = self.phase_reached(Phase::Cut) => {
                    let now = self.inner.clock.now();
                    let error = "shut down during the try".to_owned();
                    return self.dead_letter_waiting(job, attempt - 1, error, now).await;
                }
            };
            match tried {
                Ok(()) => {
                    telemetry::callback(CallbackResult::Sent);
                    if let Some(stats) = self.stats() {
                        stats.callback_sent();
                    }
                    return self.emit(EventName::PushAuthCallbackSent, job).await;
                }
                Err(error) => {
                    // The URI is not logged: a portal may put a token in its query string.
                    tracing::warn!(transaction_id = %job.transaction_id, attempt, %error, "callback failed");
                    telemetry::callback(CallbackResult::Failed);
                    if let Some(stats) = self.stats() {
                        stats.callback_failed_try();
                    }
                    self.emit(EventName::PushAuthCallbackFailed, job).await;
                    last_error = error;
                }
            }
            if attempt < settings.max_tries {
                let delay = backoff(settings.initial_backoff, attempt, rand::random::<f64>());
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    // Shutting down: the retry is stored with its due time instead of waited for.
                    () = self.phase_reached(Phase::Closing) => {
                        let due = self.inner.clock.now() + delay.as_millis() as u64;
                        return self.dead_letter_waiting(job, attempt, last_error, due).await;
                    }
                }
            }
        }
        self.dead_letter(job, settings.max_tries, last_error).await;
    }

    async fn try_once(&self, job: &CallbackJob, body: &[u8]) -> Result<(), String> {
        let settings = self.settings();
        let mut req = self
            .inner
            .http
            .post(&job.callback_uri)
            .timeout(settings.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", job.transaction_id.to_string())
            .body(body.to_vec());
        if let Some(target) = settings.targets.get(&job.callback_uri) {
            if let Some((user, password)) = &target.basic {
                req = req.basic_auth(user, Some(password));
            }
            if let Some(secret) = &target.signing_secret {
                req = req.header(
                    "Tessera-Signature",
                    signature_header(secret.as_bytes(), wall_seconds(), body)?,
                );
            }
        }
        let started = tokio::time::Instant::now();
        let sent = req.send().await;
        telemetry::callback_request(started.elapsed());
        let resp = sent.map_err(|e| describe(&e))?;
        match resp.status() {
            s if s.is_success() => Ok(()),
            s => Err(format!("portal answered {}", s.as_u16())),
        }
    }

    pub(super) async fn emit(&self, name: EventName, job: &CallbackJob) {
        let txn = TxnRef {
            id: job.transaction_id,
            user_id: job.user_id.as_deref(),
            client_id: job.client_id.as_deref(),
            client_ip: None,
            user_agent: None,
        };
        self.inner
            .events
            .emit_for(name, self.inner.clock.now(), txn)
            .await;
    }
}
