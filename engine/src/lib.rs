//! Tessera's engine: the domain and its actors — everything that is not HTTP or a terminal.
//!
//! A portal starts a *transaction*; the engine delivers it (SMS now, push next), enforces its
//! time to live, attempt limits, resends and fallbacks, takes the answer, and reports the outcome
//! to pollers, long-pollers and the portal's callback.
//!
//! # Layout
//! - [`model`]: ids, transactions, states, audit events — plain data.
//! - [`txn`]: the pure state machine (`machine`), the start rules (`start`), the actor that
//!   drives one transaction (`actor`), the per-type supervisors (`manager`) and the shards they
//!   live on (`shard`).
//! - `engine`: [`Engine`], the handle the API calls.
//! - `store`: the [`Store`] trait, the memory implementation and [`RedisStore`].
//! - [`outbound`]: SMS gateways, push providers and their delivery with retries, portal
//!   callbacks, one backoff, the shared HTTP client.
//! - `settings`: the configuration the admin API changes at run time, stored as one versioned
//!   document with sealed secrets and polled by every node ([`Engine::change_config`]).
//! - `events`: audit events to the store, the log and live subscribers ([`EventSink`]).
//! - [`limits`]: rate limits (GCRA buckets in the store) and fraud mutes.
//! - [`live`]: the admin stream's feed of events and transaction changes, bounded per
//!   subscriber.
//! - [`stats`]: this node's counters, rates and latency quantiles for the admin `/stats`.
//! - [`enroll`]: enrollment codes, server and device keys, push enrollment modes,
//!   authenticators.
//! - [`crypto`]: OpenPGP (rPGP) as GnuPG 2.2 speaks it.
//! - [`telemetry`]: metric names and recording helpers.
//! - `clock`: wall time on tokio's clock ([`Clock`]).
//! - `fuzzing` (hidden): the device API's parsing paths as entry points for the fuzz targets in
//!   `fuzz/` and their property-test twins.
//!
//! Only what the API, the binary, the load harness, the end-to-end tests and the benches use is
//! public; the actors, managers, shards and gateways' insides are the crate's own.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

mod clock;
pub mod context;
pub mod crypto;
mod engine;
pub mod enroll;
mod error;
mod events;
#[doc(hidden)]
pub mod fuzzing;
pub mod limits;
pub mod live;
pub mod model;
pub mod outbound;
mod settings;
pub mod stats;
mod store;
pub mod telemetry;
pub mod txn;

/// Builders and an in-process SMS gateway for tests, this crate's and the API's (feature
/// `test-util`, from a dev-dependency only).
#[cfg(any(test, feature = "test-util"))]
#[doc(hidden)]
pub mod test_util;

/// The admin API's views of transactions, events and dead letters.
pub use engine::views;
pub use engine::{
    AnswerBody, Available, DeviceSummary, Disable, Document, Engine, EngineOptions, EnrollRequest,
    Enrolled, IssuedCode, MAX_WAIT, PendingItem, RegistrationProof, Started,
};
pub use error::{DeviceError, Error, Result, StartupError};
pub use settings::ChangeError;
pub use txn::start::StartRequest;

// Types the public `Engine` methods hand out (`clock`, `events`, `store`, `launch_on`).
pub use clock::Clock;
pub use events::EventSink;
pub use store::{RedisStore, Store, StoreError};
// The embedded store, for what builds a `limits::Limiter` of its own (the limits bench).
pub use store::MemoryStore;
