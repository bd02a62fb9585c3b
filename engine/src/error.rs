//! The engine's refusals and failures. The API turns each into exactly one HTTP answer.

use tessera_config::PolicyRefusal;

use crate::limits::Refused;
use crate::model::Status;
use crate::store::StoreError;
use crate::txn::machine::Refusal;

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
    #[error("the previous resend is still being sent")]
    ResendInFlight,
    #[error("transaction already final")]
    AlreadyFinal,
    #[error("the engine is overloaded")]
    Overloaded,
    /// A `[rate_limits]` bucket is empty, or the user's push starts are muted after a fraud
    /// report: `429` + `Retry-After`, portal `1007`.
    #[error("{0}")]
    Limited(Refused),
    /// The destination is outside `[sms_policy]`: portal `400 3001`, the description naming the
    /// policy.
    #[error("{0}")]
    PhoneNotAllowed(PolicyRefusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a [`Refusal::NotStored`] says as a store error (logged, never shown).
const NOT_STORED: &str = "the transaction's write failed; it is written again until stored";

/// Why the engine could not be built from a validated configuration: a file it names cannot be
/// read or does not hold what it must (an APNs `.p8` key, an FCM service account, CA roots), or a
/// setting this build cannot use. Each names the configuration key at fault
/// (`push_configs[1].key_file`), so the binary reports it like a validation problem, before any
/// port is bound (exit 64). Rules about the settings themselves live in `tessera_config`'s
/// validation, not here.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The file named at `key` could not be read.
    #[error("{key}: cannot read {path}: {source}")]
    Unreadable {
        key: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The value at `key` (or the file it names) cannot be used. `problem` never quotes a secret.
    #[error("{key}: {problem}")]
    Invalid { key: String, problem: String },
}

impl StartupError {
    pub(crate) fn invalid(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.into(),
            problem: problem.into(),
        }
    }

    /// The configuration key at fault, e.g. `push_configs[1].key_file`.
    pub fn key(&self) -> &str {
        match self {
            Self::Unreadable { key, .. } | Self::Invalid { key, .. } => key,
        }
    }

    /// The same error for a field of the object at `prefix` (`key_file` becomes
    /// `push_configs[1].key_file`). Keys of the shared `[proxy]` section are already whole and
    /// stay as they are.
    pub(crate) fn under(mut self, prefix: &str) -> Self {
        let (Self::Unreadable { key, .. } | Self::Invalid { key, .. }) = &mut self;
        if !(key == "proxy" || key.starts_with("proxy.")) {
            *key = format!("{prefix}.{key}");
        }
        self
    }
}

/// The portal's view of a machine refusal: the one place a `Refusal` becomes an [`Error`].
impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::WrongCode => Error::CodeInvalid,
            Refusal::ResendLimit => Error::ResendLimit,
            Refusal::ResendTooSoon { retry_after_ms } => Error::ResendTooSoon { retry_after_ms },
            Refusal::ResendInFlight => Error::ResendInFlight,
            Refusal::SmsNotSent => Error::SmsSendFailed,
            Refusal::PushNotSent => Error::InitFailed,
            Refusal::Final(_) => Error::AlreadyFinal,
            Refusal::NotStored => Error::Store(StoreError::Unavailable(NOT_STORED.into())),
            // Another user's transaction, or one the request does not apply to, is answered
            // like an unknown one (API.md §1, Ownership).
            Refusal::WrongUser
            | Refusal::WrongMethod
            | Refusal::UnknownDevice
            | Refusal::AlreadyFetched
            | Refusal::Expired
            | Refusal::TokenRequired
            | Refusal::InvalidAuthenticator { .. }
            | Refusal::AuthenticatorRevoked
            | Refusal::DeviceDisconnected
            | Refusal::InvalidOtp
            | Refusal::Ignored => Error::UnknownTransaction,
        }
    }
}

/// Refusals of the device API and of device management (API.md §3, §4). Their wire codes are
/// the snake_case names `code()` gives.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    #[error("unknown, revoked or wrong device credentials")]
    InvalidDevice,
    #[error("enrollment code invalid, used or expired")]
    InvalidEnrollmentCode,
    #[error("enrollment is disabled")]
    EnrollmentDisabled,
    #[error("this application version may not enroll")]
    AppVersionDisabled,
    #[error("the public key is not a usable OpenPGP key")]
    InvalidPublicKey,
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    #[error("another device of this user is enrolled for push for this application")]
    UserAlreadyEnrolled,
    #[error("the push token is held by another device")]
    PushTokenInUse,
    #[error("push enrollment is disabled")]
    PushEnrollmentDisabled,
    #[error("the application does not allow this authenticator")]
    AuthenticatorDisabled,
    #[error("no such transaction for this device")]
    InvalidTransaction,
    #[error("the transaction was already fetched")]
    AlreadyFetched,
    #[error("the transaction expired")]
    TransactionExpired,
    #[error("the transaction is already final")]
    AlreadyFinal,
    #[error("the message is not valid OpenPGP from this device, or not a valid answer")]
    InvalidMessage,
    #[error("the answer is not bound to this transaction")]
    InvalidAnswer,
    #[error("mobile authentication is disabled for this device or its app version")]
    MobileAuthenticationDisabled,
    #[error("wrong authenticator token")]
    InvalidAuthenticator { remaining_attempts: Option<u32> },
    #[error("the authenticator was revoked")]
    AuthenticatorRevoked,
    #[error("too many wrong PINs: the device is disconnected")]
    DeviceDisconnected,
    #[error("the OTP is invalid or used")]
    InvalidOtp,
    #[error("not found")]
    NotFound,
    #[error("the engine is overloaded")]
    Overloaded,
    /// The store (Redis) does not answer: try again shortly.
    #[error("the store is temporarily unavailable")]
    StoreUnavailable,
    #[error("internal error")]
    Internal,
    /// A `[rate_limits]` bucket (device calls or failed logins per IP) is empty: `429
    /// rate_limited` + `Retry-After`.
    #[error("{0}")]
    Limited(Refused),
}

impl DeviceError {
    /// The wire `error_code`.
    pub fn code(&self) -> &'static str {
        match self {
            DeviceError::InvalidDevice => "invalid_device",
            DeviceError::InvalidEnrollmentCode => "invalid_enrollment_code",
            DeviceError::EnrollmentDisabled => "enrollment_disabled",
            DeviceError::AppVersionDisabled => "app_version_disabled",
            DeviceError::InvalidPublicKey => "invalid_public_key",
            DeviceError::InvalidRequest(_) => "invalid_request",
            DeviceError::UserAlreadyEnrolled => "user_already_enrolled",
            DeviceError::PushTokenInUse => "push_token_in_use",
            DeviceError::PushEnrollmentDisabled => "push_enrollment_disabled",
            DeviceError::AuthenticatorDisabled => "authenticator_disabled",
            DeviceError::InvalidTransaction => "invalid_transaction",
            DeviceError::AlreadyFetched => "already_fetched",
            DeviceError::TransactionExpired => "transaction_expired",
            DeviceError::AlreadyFinal => "already_final",
            DeviceError::InvalidMessage => "invalid_message",
            DeviceError::InvalidAnswer => "invalid_answer",
            DeviceError::MobileAuthenticationDisabled => "mobile_authentication_disabled",
            DeviceError::InvalidAuthenticator { .. } => "invalid_authenticator",
            DeviceError::AuthenticatorRevoked => "authenticator_revoked",
            DeviceError::DeviceDisconnected => "device_disconnected",
            DeviceError::InvalidOtp => "invalid_otp",
            DeviceError::NotFound => "not_found",
            DeviceError::Overloaded => "overloaded",
            DeviceError::StoreUnavailable => "store_unavailable",
            DeviceError::Internal => "internal_error",
            DeviceError::Limited(_) => "rate_limited",
        }
    }

    /// The HTTP status API.md gives each.
    pub fn status(&self) -> u16 {
        match self {
            DeviceError::InvalidDevice => 401,
            DeviceError::InvalidEnrollmentCode
            | DeviceError::InvalidPublicKey
            | DeviceError::InvalidRequest(_)
            | DeviceError::InvalidMessage
            | DeviceError::InvalidAnswer => 400,
            DeviceError::EnrollmentDisabled
            | DeviceError::AppVersionDisabled
            | DeviceError::PushEnrollmentDisabled
            | DeviceError::AuthenticatorDisabled
            | DeviceError::MobileAuthenticationDisabled
            | DeviceError::InvalidAuthenticator { .. }
            | DeviceError::AuthenticatorRevoked
            | DeviceError::DeviceDisconnected => 403,
            DeviceError::InvalidTransaction | DeviceError::InvalidOtp | DeviceError::NotFound => {
                404
            }
            DeviceError::UserAlreadyEnrolled
            | DeviceError::PushTokenInUse
            | DeviceError::AlreadyFetched
            | DeviceError::AlreadyFinal => 409,
            DeviceError::TransactionExpired => 410,
            DeviceError::Overloaded | DeviceError::StoreUnavailable => 503,
            DeviceError::Internal => 500,
            DeviceError::Limited(_) => 429,
        }
    }
}

/// The device's view of a machine refusal: the one place a `Refusal` becomes a [`DeviceError`].
impl From<Refusal> for DeviceError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::TokenRequired => DeviceError::InvalidAuthenticator {
                remaining_attempts: None,
            },
            Refusal::InvalidAuthenticator { remaining_attempts } => {
                DeviceError::InvalidAuthenticator {
                    remaining_attempts: Some(remaining_attempts),
                }
            }
            Refusal::AuthenticatorRevoked => DeviceError::AuthenticatorRevoked,
            Refusal::DeviceDisconnected => DeviceError::DeviceDisconnected,
            Refusal::AlreadyFetched => DeviceError::AlreadyFetched,
            Refusal::Expired | Refusal::Final(Status::Expired) => DeviceError::TransactionExpired,
            Refusal::Final(_) => DeviceError::AlreadyFinal,
            Refusal::InvalidOtp => DeviceError::InvalidOtp,
            Refusal::NotStored => DeviceError::StoreUnavailable,
            Refusal::UnknownDevice
            | Refusal::WrongMethod
            | Refusal::WrongUser
            | Refusal::WrongCode
            | Refusal::ResendLimit
            | Refusal::ResendTooSoon { .. }
            | Refusal::ResendInFlight
            | Refusal::SmsNotSent
            | Refusal::PushNotSent
            | Refusal::Ignored => DeviceError::InvalidTransaction,
        }
    }
}

impl From<StoreError> for DeviceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::PushTokenTaken => DeviceError::PushTokenInUse,
            StoreError::PushEnrollmentTaken => DeviceError::UserAlreadyEnrolled,
            StoreError::Unavailable(e) => {
                tracing::warn!(error = %e, "the store did not answer a device operation");
                DeviceError::StoreUnavailable
            }
            other => {
                tracing::error!(error = %other, "store error in device operation");
                DeviceError::Internal
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_error_is_placed_under_its_object_but_proxy_keys_stay_whole() {
        let field = StartupError::invalid("key_file", "not a key").under("push_configs[2]");
        assert_eq!(field.key(), "push_configs[2].key_file");
        assert_eq!(field.to_string(), "push_configs[2].key_file: not a key");
        let proxy = StartupError::invalid("proxy.host", "bad").under("push_configs[2]");
        assert_eq!(proxy.key(), "proxy.host");
    }

    #[test]
    fn refusals_keep_their_portal_codes() {
        assert!(matches!(
            Error::from(Refusal::WrongCode),
            Error::CodeInvalid
        ));
        assert!(matches!(
            Error::from(Refusal::WrongUser),
            Error::UnknownTransaction
        ));
        assert!(matches!(
            Error::from(Refusal::ResendLimit),
            Error::ResendLimit
        ));
        assert!(matches!(
            Error::from(Refusal::ResendTooSoon { retry_after_ms: 7 }),
            Error::ResendTooSoon { retry_after_ms: 7 }
        ));
        assert!(matches!(
            Error::from(Refusal::ResendInFlight),
            Error::ResendInFlight
        ));
        assert!(matches!(
            Error::from(Refusal::SmsNotSent),
            Error::SmsSendFailed
        ));
        assert!(matches!(
            Error::from(Refusal::PushNotSent),
            Error::InitFailed
        ));
        assert!(matches!(
            Error::from(Refusal::Final(Status::Accepted)),
            Error::AlreadyFinal
        ));
    }

    #[test]
    fn refusals_keep_their_device_codes() {
        let code = |r: Refusal| DeviceError::from(r).code();
        assert_eq!(code(Refusal::TokenRequired), "invalid_authenticator");
        assert_eq!(
            DeviceError::from(Refusal::InvalidAuthenticator {
                remaining_attempts: 2
            }),
            DeviceError::InvalidAuthenticator {
                remaining_attempts: Some(2)
            }
        );
        assert_eq!(code(Refusal::AuthenticatorRevoked), "authenticator_revoked");
        assert_eq!(code(Refusal::DeviceDisconnected), "device_disconnected");
        assert_eq!(code(Refusal::AlreadyFetched), "already_fetched");
        assert_eq!(code(Refusal::Expired), "transaction_expired");
        assert_eq!(code(Refusal::Final(Status::Expired)), "transaction_expired");
        assert_eq!(code(Refusal::Final(Status::Rejected)), "already_final");
        assert_eq!(code(Refusal::UnknownDevice), "invalid_transaction");
        assert_eq!(code(Refusal::WrongMethod), "invalid_transaction");
        assert_eq!(code(Refusal::NotStored), "store_unavailable");
    }

    #[test]
    fn an_unanswering_store_is_a_503_store_unavailable_for_devices() {
        let e = DeviceError::from(StoreError::Unavailable("connection refused".into()));
        assert_eq!((e.status(), e.code()), (503, "store_unavailable"));
        assert!(matches!(
            Error::from(Refusal::NotStored),
            Error::Store(StoreError::Unavailable(_))
        ));
        // A conflict is no outage: still an internal error.
        let conflict = StoreError::Conflict {
            key: "k".into(),
            expected: 1,
            found: None,
        };
        assert_eq!(DeviceError::from(conflict), DeviceError::Internal);
    }
}
