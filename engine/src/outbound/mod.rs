//! Everything Tessera calls: SMS gateways, portal callbacks, and the one HTTP client (with the
//! outgoing proxy) they share; push providers; geolocation and user agents for the secure message.

pub(crate) mod backoff;
pub(crate) mod callback;
pub mod geolocation;
pub(crate) mod http;
pub(crate) mod push;
pub(crate) mod sms;
#[cfg(test)]
pub(crate) mod test_server;
pub mod user_agent;
pub(crate) mod verifier;

pub(crate) use callback::{CallbackDispatcher, CallbackJob};
pub(crate) use push::PushRouter;
pub use push::{PushError, PushNotice, PushProvider, PushTarget};
pub(crate) use sms::SmsRouter;
pub use sms::{SmsError, SmsGateway, SmsMessage, SmsReceipt};
