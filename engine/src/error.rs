//! The engine's refusals and failures. The API turns each into exactly one HTTP answer.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("mobile authentication is disabled")]
    MobileAuthDisabled,
    #[error("SMS authentication is disabled")]
    SmsDisabled,
    #[error("mobile authentication type not found")]
    UnknownType,
    #[error("no authentication possibilities for this user")]
    NoAuthPossibilities,
    #[error("invalid or missing parameter: {0}")]
    InvalidParameter(&'static str),
    #[error("message too long")]
    MessageTooLong,
    #[error("phone number missing or invalid")]
    InvalidPhoneNumber,
    #[error("callback URI is not allowed")]
    CallbackNotAllowed,
    #[error("failed to send SMS")]
    SmsSendFailed,
    #[error("failed to initiate the authentication")]
    InitFailed,
    #[error("verification code invalid")]
    CodeInvalid,
    #[error("invalid transaction id")]
    UnknownTransaction,
    #[error("resend limit reached")]
    ResendLimit,
    #[error("resend requested too soon")]
    ResendTooSoon { retry_after_ms: u64 },
    #[error("transaction already final")]
    AlreadyFinal,
    #[error("the engine is overloaded")]
    Overloaded,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
