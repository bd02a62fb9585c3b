//! Live settings: the configuration the admin API changes at run time (API.md §5).
//!
//! The managed sections (general settings, SMS routing, API clients, mobile auth types,
//! callback configs, SMS gateways, applications, push configs) live in the store as one
//! versioned document ([`doc`]), its secret values sealed ([`seal`]). A change is a function
//! applied to the configuration as the store holds it; the result must pass exactly the config
//! file's validation and build its push providers and SMS gateways, and is then written with a
//! compare-and-set on the version. When another node wrote first, the change is applied again
//! to what that node wrote, so neither change is lost.
//!
//! A change takes effect for new work at once: the configuration, the push providers and the
//! SMS gateways are swapped whole (running transactions keep the settings they started with).
//! Other nodes poll the document's version every second ([`sync`]) and install what they do
//! not have yet. Polling, not pub/sub: a notice missed while a subscription is down (a Redis
//! failover) would leave a node on old settings until the next change, while a poll catches up
//! by itself within a second; one `HGET` a second per node costs nothing.
//!
//! Until the first change, nothing is stored and each node runs its file. Once a document
//! exists, a node starting against that store adopts it instead of its file's sections (with a
//! warning saying so).

mod doc;
mod seal;
mod sync;

use std::sync::Arc;

use tessera_config::{Config, Problem};
use tokio::sync::Mutex;

pub(crate) use self::doc::Managed;
use crate::Engine;
use crate::error::StartupError;
use crate::model::{Event, EventName};
use crate::outbound::{PushProvider, PushRouter, SmsRouter};
use crate::store::StoreError;
use crate::txn::services::Services;

/// How often a change is applied again after losing the race to another node's write.
const MAX_TRIES: usize = 8;

/// Why a configuration change was not made.
#[derive(Debug)]
pub enum ChangeError<R> {
    /// The change itself refused (the caller's reason: not found, in use, ...).
    Refused(R),
    /// The changed configuration breaks the config file's rules; every problem with its full
    /// path (`mobile_auth_types[2].time_to_live`).
    Invalid(Vec<Problem>),
    /// The store did not answer, or other nodes kept writing first.
    Store(StoreError),
}

/// The running configuration's place in the store's history, and what rebuilding needs.
pub(crate) struct Settings {
    svc: Arc<Services>,
    /// Held while installing or changing, so this node's own changes never race each other.
    state: Mutex<State>,
    /// Providers a test put in place of the config's; kept across rebuilds.
    push_overrides: Vec<(String, Arc<dyn PushProvider>)>,
    /// The SMS gateways were given at launch (tests): never rebuilt from the config.
    sms_fixed: bool,
}

#[derive(Default)]
struct State {
    /// The document version running here; 0 = the file's sections, nothing adopted.
    version: u64,
    /// A stored version that could not be installed here (logged once, not every second).
    refused: u64,
}

/// What a configuration needs built before it can run.
struct Built {
    push: Arc<PushRouter>,
    sms: Option<Arc<SmsRouter>>,
}

impl Settings {
    pub(crate) fn new(
        svc: Arc<Services>,
        push_overrides: Vec<(String, Arc<dyn PushProvider>)>,
        sms_fixed: bool,
    ) -> Self {
        Self {
            svc,
            state: Mutex::new(State::default()),
            push_overrides,
            sms_fixed,
        }
    }

    /// The push providers and SMS gateways of `cfg`; a key file that cannot be read or a
    /// gateway that cannot be built is a problem at its path.
    fn build(&self, cfg: &Config) -> Result<Built, Problem> {
        let problem = |e: StartupError| Problem::new(e.key(), problem_text(&e));
        let push = self.push_overrides.iter().try_fold(
            PushRouter::from_config(cfg).map_err(problem)?,
            |r, (id, p)| Ok::<_, Problem>(r.with(id, p.clone())),
        )?;
        let sms = if self.sms_fixed {
            None
        } else {
            Some(Arc::new(
                SmsRouter::from_config(cfg, self.svc.http.clone())
                    .map_err(problem)?
                    .with_stats(self.svc.stats.clone()),
            ))
        };
        Ok(Built {
            push: Arc::new(push),
            sms,
        })
    }

    /// Runs `cfg` from now on, as document `version`.
    fn install(&self, state: &mut State, version: u64, cfg: Config, built: Built) {
        self.svc.callbacks.reconfigure(&cfg);
        *self.svc.push.write() = built.push;
        if let Some(sms) = built.sms {
            *self.svc.sms.write() = sms;
        }
        *self.svc.config.write() = Arc::new(cfg);
        state.version = version;
    }

    /// The configuration `doc` describes over this node's own sections, checked and built.
    fn prepare(&self, managed: Managed) -> Result<(Config, Built), Vec<Problem>> {
        let mut cfg = managed.apply_to(&self.svc.config());
        tessera_config::apply_defaults(&mut cfg);
        if let Err(e) = tessera_config::validate(&cfg) {
            return Err(e.problems().to_vec());
        }
        let built = self.build(&cfg).map_err(|p| vec![p])?;
        Ok((cfg, built))
    }

    /// Applies `change` to the configuration as stored, checks it, writes it and runs it.
    async fn change<T, R>(
        &self,
        mut change: impl FnMut(&mut Config) -> Result<T, R>,
    ) -> Result<T, ChangeError<R>> {
        let store = self.svc.store.clone();
        let mut state = self.state.lock().await;
        for _ in 0..MAX_TRIES {
            // Catch up with what other nodes wrote: the change applies to the newest settings.
            let stored = store
                .config_doc_version()
                .await
                .map_err(ChangeError::Store)?;
            if stored != state.version {
                self.catch_up(&mut state)
                    .await
                    .map_err(ChangeError::Store)?;
                // A stored version this node cannot run (logged with its reasons): a change
                // applied to older settings would only conflict with it again and again.
                if state.refused == stored {
                    return Err(ChangeError::Invalid(vec![Problem::new(
                        "config document",
                        "the stored configuration cannot run on this node: see its log",
                    )]));
                }
            }
            let mut next = (*self.svc.config()).clone();
            let out = change(&mut next).map_err(ChangeError::Refused)?;
            let (cfg, built) = self
                .prepare(Managed::of(&next))
                .map_err(ChangeError::Invalid)?;
            let bytes = Managed::of(&cfg).encode(&self.svc.code_key);
            match store.put_config_doc(state.version, &bytes).await {
                Ok(version) => {
                    self.install(&mut state, version, cfg, built);
                    return Ok(out);
                }
                // Another node wrote first: read its version and apply the change again.
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(ChangeError::Store(e)),
            }
        }
        Err(ChangeError::Store(StoreError::Unavailable(
            "the configuration kept changing under this write".into(),
        )))
    }

    /// Installs the stored document when it is newer than what runs here. A document this node
    /// cannot use (another `hash_key`, a key file missing here) is logged once per version and
    /// left; the node keeps its settings.
    async fn catch_up(&self, state: &mut State) -> Result<bool, StoreError> {
        let Some(doc) = self.svc.store.config_doc().await? else {
            return Ok(false);
        };
        if doc.version == state.version || doc.version == state.refused {
            return Ok(false);
        }
        let prepared = Managed::decode(&doc.bytes, &self.svc.code_key)
            .map_err(|e| vec![Problem::new("config document", e.to_string())])
            .and_then(|managed| self.prepare(managed));
        match prepared {
            Ok((cfg, built)) => {
                self.install(state, doc.version, cfg, built);
                Ok(true)
            }
            Err(problems) => {
                state.refused = doc.version;
                for p in problems {
                    tracing::error!(
                        version = doc.version,
                        path = %p.path,
                        "the stored configuration cannot run on this node: {}",
                        p.message
                    );
                }
                Ok(false)
            }
        }
    }
}

/// A startup error's text without its key (the key is the problem's path).
fn problem_text(e: &StartupError) -> String {
    match e {
        StartupError::Unreadable { path, source, .. } => format!("cannot read {path}: {source}"),
        StartupError::Invalid { problem, .. } => problem.clone(),
    }
}

// === the engine's side ===

impl Engine {
    /// Changes the configuration through `change` (API.md §5), which may run more than once:
    /// when another node changed the configuration first, it is applied again to that node's
    /// result. On success the change is stored, and new work on this node uses it at once
    /// (other nodes within about a second).
    pub async fn change_config<T, R>(
        &self,
        change: impl FnMut(&mut Config) -> Result<T, R>,
    ) -> Result<T, ChangeError<R>> {
        self.settings().change(change).await
    }

    /// Installs the stored configuration document if it is newer than what runs here; true
    /// when it installed one. The poll loop calls this every second; so does startup.
    pub async fn sync_config(&self) -> Result<bool, StoreError> {
        let settings = self.settings();
        let mut state = settings.state.lock().await;
        settings.catch_up(&mut state).await
    }

    /// At start: a store that holds a configuration document wins over the file's sections.
    pub(crate) async fn adopt_config(&self) -> Result<(), StoreError> {
        if self.sync_config().await? {
            tracing::warn!(
                "the store holds a configuration document written through the admin API: its \
                 general settings, SMS routing, API clients, mobile auth types, callback \
                 configs, SMS gateways, applications and push configs replace the file's"
            );
        }
        Ok(())
    }

    /// Records an admin change as an audit event: who (`client_id`) and what (`detail`, never
    /// a secret).
    pub async fn admin_event(&self, name: EventName, client_id: &str, detail: String) {
        let mut event = Event::new(name, self.clock().now());
        event.client_id = Some(client_id.to_owned());
        event.detail = Some(detail);
        self.events().emit(event).await;
    }
}

#[cfg(test)]
mod tests;
