//! [`Engine`]: the handle the API calls. It prepares starts (pure rules in `txn::start`), routes
//! every other request to the shard owning the transaction, and reads finished transactions
//! from the store.

use std::sync::{Arc, Weak};
use std::time::Duration;

use actix::prelude::*;
use subtle::ConstantTimeEq as _;
use tessera_config::Config;
use tokio::sync::{oneshot, watch};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::events::EventSink;
use crate::model::{Event, EventQuery, Transaction, TxnId};
use crate::settings::Settings;
use crate::store::{Store, StoreError, StoreHealth};
use crate::txn::actor;
use crate::txn::machine::{Refusal, Reply};
use crate::txn::services::Services;
use crate::txn::shard::{ActiveCount, Shard};
use routing::{mailbox_full, refused};

/// Longest long-poll (API.md §2.3).
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// How often finished transactions past their retention are dropped from the memory store.
const PURGE_EVERY: Duration = Duration::from_secs(5);
/// How often `recover_at_start` asks a store that does not answer yet.
const STARTUP_RETRY: Duration = Duration::from_millis(500);
/// Most pending transactions one recovery pass reloads.
pub(crate) const RECOVER_LIMIT: usize = 10_000_000;

/// How the engine lays itself out.
#[derive(Debug, Clone, Copy)]
pub struct EngineOptions {
    /// Number of shards, each on its own arbiter thread; 0 = one per core.
    pub shards: usize,
    /// Run a single shard on the current arbiter (tests with paused time).
    pub in_place: bool,
}

impl EngineOptions {
    pub fn from_config(cfg: &Config) -> Self {
        Self {
            shards: cfg.server.workers,
            in_place: false,
        }
    }
}

#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    shards: Vec<Addr<Shard>>,
    /// The configuration as the admin API changes it (`crate::settings`).
    settings: Settings,
    arbiters: Vec<ArbiterHandle>,
    svc: Arc<Services>,
    /// Whether the store answered its last `PING`.
    store_health: StoreHealth,
    /// `true` once shutdown began: long-polls answer at once with the current state.
    draining: watch::Sender<bool>,
}

impl Engine {
    pub(crate) fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// A handle that does not keep the engine alive (background loops).
    pub(crate) fn downgrade(&self) -> Weak<Inner> {
        Arc::downgrade(&self.inner)
    }

    pub(crate) fn upgrade(weak: &Weak<Inner>) -> Option<Self> {
        weak.upgrade().map(|inner| Self { inner })
    }

    pub fn config(&self) -> Arc<Config> {
        self.inner.svc.config()
    }

    /// The arbiters the shards run on: the API runs one accept loop on each.
    pub fn arbiters(&self) -> &[ArbiterHandle] {
        &self.inner.arbiters
    }

    pub fn events(&self) -> &EventSink {
        &self.inner.svc.events
    }

    pub fn clock(&self) -> Clock {
        self.inner.svc.clock
    }

    /// The abuse limits (`[rate_limits]`) and fraud mutes.
    pub fn limits(&self) -> &crate::limits::Limiter {
        &self.inner.svc.limits
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.svc.store
    }

    /// The transaction, if `client_id` started it (API.md §1, Ownership). Another client's
    /// transaction is answered exactly like an unknown one, so ids of other portals can be
    /// neither read, changed nor told apart from ids that do not exist. The owner never
    /// changes after the start, so checking before acting leaves no race.
    pub async fn owned(&self, id: TxnId, client_id: &str) -> Result<Arc<Transaction>> {
        let txn = self.read(id).await?;
        let owner = txn.client_id.as_bytes().ct_eq(client_id.as_bytes());
        if bool::from(owner) {
            Ok(txn)
        } else {
            Err(Error::UnknownTransaction)
        }
    }

    /// [`Engine::owned`] for a request about to change the transaction: asks its actor when this
    /// node holds one (the owner never changes, so its copy answers without a store read), the
    /// store otherwise.
    pub async fn check_owner(&self, id: TxnId, client_id: &str) -> Result<()> {
        let txn = self.current(id).await?;
        if bool::from(txn.client_id.as_bytes().ct_eq(client_id.as_bytes())) {
            Ok(())
        } else {
            Err(Error::UnknownTransaction)
        }
    }

    /// The transaction as its actor here holds it (what it just stored), else as stored. A
    /// pending one read from a shared store gets an actor here: the request that asked is about
    /// to change it, and finds the actor without a second read.
    async fn current(&self, id: TxnId) -> Result<Arc<Transaction>> {
        if let Some(addr) = self.actor(id).await? {
            let (tx, rx) = oneshot::channel();
            if addr.try_send(actor::Peek { reply: tx }).is_ok()
                && let Ok(txn) = rx.await
            {
                return Ok(txn);
            }
        }
        let txn = self.read(id).await?;
        if self.inner.svc.shared && !txn.is_final() {
            self.actor_for(&txn).await?;
        }
        Ok(txn)
    }

    /// The transaction as stored; with `wait`, returns as soon as it is final or `wait` passed.
    pub async fn result(&self, id: TxnId, wait: Option<Duration>) -> Result<Arc<Transaction>> {
        let txn = self.read(id).await?;
        self.wait_final(txn, wait).await
    }

    /// [`Engine::result`] for a transaction the caller just read (an ownership check): the
    /// wait starts from it instead of a second read.
    pub async fn wait_final(
        &self,
        txn: Arc<Transaction>,
        wait: Option<Duration>,
    ) -> Result<Arc<Transaction>> {
        let id = txn.id;
        let wait = wait.unwrap_or_default().min(MAX_WAIT);
        let mut draining = self.inner.draining.subscribe();
        if txn.is_final() || wait.is_zero() || *draining.borrow_and_update() {
            return Ok(txn);
        }
        let Some(addr) = self.actor_for(&txn).await? else {
            return self.read(id).await;
        };
        let (tx, rx) = oneshot::channel();
        match addr.try_send(actor::WaitFinal { reply: tx }) {
            Ok(()) => {}
            Err(SendError::Full(_)) => return Err(mailbox_full()),
            // Stopped between lookup and send: it just finished, the store has the outcome.
            Err(SendError::Closed(_)) => return self.read(id).await,
        }
        let _waiting = crate::telemetry::long_poll_waiting();
        // Shutdown does not wait for long-polls: they get the state as it is then.
        let drained = async move {
            let _ = draining.wait_for(|d| *d).await;
        };
        tokio::select! {
            woken = tokio::time::timeout(wait, rx) => match woken {
                Ok(Ok(txn)) => Ok(txn),
                _ => self.read(id).await,
            },
            () = drained => self.read(id).await,
        }
    }

    /// The portal submits the SMS code (API.md §2.4).
    pub async fn verify_sms(&self, user_id: &str, id: TxnId, code: &str) -> Result<()> {
        let (user_id, code) = (user_id.to_owned(), code.to_owned());
        let reply = self
            .ask(id, move |reply| actor::VerifyCode {
                user_id,
                code,
                reply,
            })
            .await?;
        gone_when_final(reply).and_then(|r| match r {
            Reply::Accepted => Ok(()),
            _ => Err(Error::UnknownTransaction),
        })
    }

    /// Sends the same SMS code again (API.md §2.4).
    pub async fn resend_sms(&self, user_id: &str, id: TxnId) -> Result<()> {
        let user_id = Some(user_id.to_owned());
        let reply = self
            .ask(id, move |reply| actor::Resend { user_id, reply })
            .await?;
        resend_outcome(reply)
    }

    /// Sends the push again to the same devices (API.md §2.3).
    pub async fn resend(&self, id: TxnId) -> Result<()> {
        let reply = self
            .ask(id, |reply| actor::Resend {
                user_id: None,
                reply,
            })
            .await?;
        resend_outcome(reply)
    }

    pub async fn cancel(&self, id: TxnId) -> Result<()> {
        self.cancel_by(id, None).await
    }

    /// [`Engine::cancel`] by `by`, an operator's API client: the cancel event names it.
    pub(crate) async fn cancel_by(&self, id: TxnId, by: Option<String>) -> Result<()> {
        match self.ask(id, |reply| actor::Cancel { by, reply }).await? {
            Some(Reply::Done) => Ok(()),
            Some(Reply::Refused(r)) => Err(r.into()),
            // Finished before we got there (`ask` checked it exists): "already final".
            Some(_) | None => Err(Error::AlreadyFinal),
        }
    }

    /// Audit events (API.md §2.7).
    pub async fn query_events(&self, query: &EventQuery) -> Result<Vec<Event>> {
        Ok(self.inner.svc.store.events(query).await?)
    }

    /// Joins the nodes sharing the store: registers this node, rebuilds the actors of the
    /// pending transactions it held before a restart (re-arming their timers from their
    /// absolute deadlines) and sends the callbacks they still owed, takes over those of nodes
    /// that died, and keeps doing so while it runs (see `nodes.rs`). A configuration document
    /// in the store (admin API changes) replaces the file's managed sections first. Returns how many
    /// transactions it took on.
    pub async fn recover(&self) -> Result<usize> {
        self.adopt_config().await?;
        self.join().await
    }

    /// [`Engine::recover`] at process start: a store that does not answer yet (Redis still
    /// starting next to us) is asked again every `STARTUP_RETRY` until `within` has passed; then
    /// its error is returned, for the binary to exit with a clear message rather than serve
    /// without the state it would recover.
    pub async fn recover_at_start(&self, within: Duration) -> Result<usize> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match self.recover().await {
                Err(Error::Store(StoreError::Unavailable(e)))
                    if tokio::time::Instant::now() < deadline =>
                {
                    tracing::warn!(error = %e, "the store does not answer yet; trying again");
                    tokio::time::sleep(STARTUP_RETRY).await;
                }
                Ok(n) => {
                    self.inner.store_health.answered();
                    return Ok(n);
                }
                other => return other,
            }
        }
    }

    /// Whether the store answered its last health `PING` (about once a second): while it does
    /// not, the API answers `503` and `/health/ready` is unready.
    pub fn store_available(&self) -> bool {
        self.inner.store_health.up()
    }

    /// Live transaction actors over all shards.
    pub async fn active(&self) -> usize {
        let mut total = 0;
        for s in &self.inner.shards {
            total += s.send(ActiveCount).await.unwrap_or(0);
        }
        total
    }
}

fn resend_outcome(reply: Option<actor::Resent>) -> Result<()> {
    let reply = reply.transpose()?;
    gone_when_final(reply).and_then(|r| match r {
        Reply::Done => Ok(()),
        _ => Err(Error::UnknownTransaction),
    })
}

/// SMS verification and resends treat a finished transaction as unknown (API.md §2.4: "further
/// calls get 3004"); every other refusal maps as the machine gave it.
fn gone_when_final(reply: Option<Reply>) -> Result<Reply> {
    match reply {
        None | Some(Reply::Refused(Refusal::Final(_))) => Err(Error::UnknownTransaction),
        Some(Reply::Refused(r)) => Err(r.into()),
        Some(r) => Ok(r),
    }
}

mod admin;
mod answers;
mod devices;
mod launch;
mod nodes;
mod registration;
mod routing;
mod shutdown;
mod starting;
mod users;
pub mod views;

pub(crate) use answers::open_answer;
pub use answers::{AnswerBody, Document};
pub use devices::{EnrollRequest, Enrolled, PendingItem};
pub use registration::RegistrationProof;
pub use starting::{Available, DeviceSummary, Started};
pub use users::{Disable, IssuedCode};

#[cfg(test)]
mod context_tests;
#[cfg(test)]
mod device_tests;
#[cfg(test)]
mod limits_tests;
#[cfg(test)]
mod nodes_tests;
#[cfg(test)]
mod registration_tests;
#[cfg(test)]
mod security_tests;
#[cfg(test)]
mod store_failure_tests;
#[cfg(test)]
mod telemetry_tests;
#[cfg(test)]
mod tests;

/// Why a `store.redis_url` cannot be used, without quoting it (it may hold a password).
fn redis_url_problem(e: &StoreError) -> String {
    match e {
        StoreError::Unavailable(why) => format!("not a usable Redis URL: {why}"),
        other => format!("not a usable Redis URL: {other}"),
    }
}
