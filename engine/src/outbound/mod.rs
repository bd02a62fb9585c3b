//! Everything Tessera calls: SMS gateways, portal callbacks, and the one HTTP client (with the
//! outgoing proxy) they share. Push providers and geolocation join here later.

pub(crate) mod backoff;
pub mod callback;
pub mod http;
pub mod push;
pub mod sms;
#[cfg(test)]
pub(crate) mod test_server;
pub mod verifier;

pub use callback::{CallbackDispatcher, CallbackJob};
pub use push::{PushError, PushNotice, PushProvider, PushRouter, PushTarget};
pub use sms::{SmsError, SmsGateway, SmsMessage, SmsReceipt, SmsRouter};
