//! SMS gateways' fakes: [`TwilioFake`] (Twilio's Messages API) and [`SmsHookFake`] (the vendor's
//! REST SMS hook). Each records every request and can be scripted to fail.

mod hook;
mod twilio;

pub use hook::{HookMessage, SmsHookFake};
pub use twilio::{TwilioFake, TwilioMessage};
