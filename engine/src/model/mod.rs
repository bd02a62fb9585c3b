//! Plain data: ids, transactions and their states, audit events. No behaviour beyond accessors.

mod device;
mod event;
mod fine_state;
mod ids;
mod token_check;
mod transaction;

pub use device::{Authenticator, Device, EnrollmentCode};
pub use event::{Event, EventName, EventQuery};
pub use fine_state::{FineState, TxnQuery};
pub use ids::TxnId;
pub use tessera_config::{Method, Platform};
pub use token_check::TokenCheck;
pub use transaction::{
    Answer, CodeState, FallbackPlan, PushState, PushTarget, Reason, RequestContext, Status,
    Transaction,
};

/// Milliseconds since the Unix epoch: the unit of every timestamp in records and on the wire.
pub type Millis = u64;
