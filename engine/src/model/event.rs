//! Audit events, named as in the vendor's event catalogue so existing log tooling keeps working.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Millis, TxnId};

macro_rules! event_names {
    ($($variant:ident => ($name:literal, $kind:literal),)*) => {
        /// The catalogue of audit events. `as_str` is the vendor's `event_name`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventName { $($variant,)* }

        impl EventName {
            pub const ALL: &'static [EventName] = &[$(EventName::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(EventName::$variant => $name,)* }
            }

            /// The vendor's `event_type`: the family the event belongs to.
            pub fn event_type(self) -> &'static str {
                match self { $(EventName::$variant => $kind,)* }
            }

            pub fn parse(name: &str) -> Option<Self> {
                match name { $($name => Some(EventName::$variant),)* _ => None }
            }
        }
    };
}

event_names! {
    MobileAuthInitFailureInvalidReq => ("MOBILE AUTH INIT FAILURE INVALID REQ", "MOBILE_AUTHENTICATION"),
    MobileAuthInitFallback => ("MOBILE AUTH INIT FALLBACK", "MOBILE_AUTHENTICATION"),
    MobileAuthFallbackStarted => ("MOBILE AUTH FALLBACK STARTED", "MOBILE_AUTHENTICATION"),
    MobileAuthExpired => ("MOBILE AUTH EXPIRED", "MOBILE_AUTHENTICATION"),
    MobileAuthCancelled => ("MOBILE AUTH CANCELLED", "MOBILE_AUTHENTICATION"),
    SmsAuthInitMessageSent => ("SMS AUTH INIT MESSAGE SENT", "SMS_AUTHENTICATION"),
    SmsAuthInitFailure => ("SMS AUTH INIT FAILURE", "SMS_AUTHENTICATION"),
    SmsAuthAuthenticated => ("SMS AUTH AUTHENTICATED", "SMS_AUTHENTICATION"),
    SmsAuthInvalidCode => ("SMS AUTH NOT AUTHENTICATED INVALID VERIFICATION CODE", "SMS_AUTHENTICATION"),
    SmsAuthLimitExceeded => ("SMS AUTH VALIDATION LIMIT EXCEEDED", "SMS_AUTHENTICATION"),
    SmsResendSucceeded => ("SMS RESEND SUCCEEDED", "SMS_AUTHENTICATION"),
    SmsResendFailed => ("SMS RESEND FAILED", "SMS_AUTHENTICATION"),
    SmsGatewayFailure => ("SMS GATEWAY FAILURE", "SMS_AUTHENTICATION"),
    PushAuthInitMessageSent => ("PUSH AUTH INIT MESSAGE SENT", "PUSH_AUTHENTICATION"),
    PushAuthInitFailure => ("PUSH AUTH INIT FAILURE", "PUSH_AUTHENTICATION"),
    PushAuthAuthenticated => ("PUSH AUTH AUTHENTICATED", "PUSH_AUTHENTICATION"),
    PushAuthNotAuthenticated => ("PUSH AUTH NOT AUTHENTICATED", "PUSH_AUTHENTICATION"),
    PushAuthFraudReported => ("PUSH AUTH FRAUD REPORTED", "PUSH_AUTHENTICATION"),
    PushAuthInvalidAnswer => ("PUSH AUTH NOT AUTHENTICATED INVALID ANSWER", "PUSH_AUTHENTICATION"),
    PushAuthResendSucceeded => ("PUSH AUTH RESEND SUCCEEDED", "PUSH_AUTHENTICATION"),
    PushAuthPinLimitExceeded => ("PUSH AUTH VALIDATION PIN LIMIT EXCEEDED", "PUSH_AUTHENTICATION"),
    PushServiceAccepted => ("PUSH AUTH PUSH SERVICE ACCEPTED NOTIFICATION", "PUSH_AUTHENTICATION"),
    PushServiceFailure => ("PUSH AUTH PUSH SERVICE FAILURE", "PUSH_AUTHENTICATION"),
    PushAuthDeviceRemoved => ("PUSH AUTH DEVICE REMOVED", "PUSH_AUTHENTICATION"),
    PushAuthAuthenticatorLimitExceeded => ("PUSH AUTH VALIDATION AUTHENTICATOR LIMIT EXCEEDED", "PUSH_AUTHENTICATION"),
    MobileAuthEnrollmentSuccess => ("MOBILE AUTH ENROLLMENT SUCCESS", "ENROLLMENT"),
    PushEnrollmentSuccess => ("PUSH AUTH ENROLLMENT SUCCESS", "ENROLLMENT"),
    PushEnrollmentRemoved => ("PUSH AUTH ENROLLMENT REMOVED", "ENROLLMENT"),
    AuthenticatorRegistered => ("MOBILE AUTH AUTHENTICATOR REGISTERED", "ENROLLMENT"),
    DeviceDeleted => ("MOBILE AUTH DEVICE DELETED", "ENROLLMENT"),
    OtpAuthAuthenticated => ("OTP AUTH AUTHENTICATED", "OTP_AUTHENTICATION"),
    // Tessera: the secure message went out without its context (`detail` says why).
    GeolocationFailure => ("GEOLOCATION FAILURE", "MOBILE_AUTHENTICATION"),
    PushAuthCallbackSent => ("PUSH AUTH CALLBACK SENT", "CALLBACK"),
    PushAuthCallbackFailed => ("PUSH AUTH CALLBACK FAILED", "CALLBACK"),
    CallbackDeadLettered => ("PUSH AUTH CALLBACK DEAD LETTERED", "CALLBACK"),
    // Tessera: changes made through the admin API (`detail` says what, `client_id` who).
    AdminConfigurationChanged => ("ADMIN CONFIGURATION CHANGED", "ADMINISTRATION"),
    AdminApiClientCreated => ("ADMIN API CLIENT CREATED", "ADMINISTRATION"),
    AdminApiClientSecretRotated => ("ADMIN API CLIENT SECRET ROTATED", "ADMINISTRATION"),
    AdminApiClientDeleted => ("ADMIN API CLIENT DELETED", "ADMINISTRATION"),
}

/// One audit event (API.md §2.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub event_identifier: Uuid,
    pub event_name: String,
    pub event_type: String,
    pub client_id: Option<String>,
    pub app_name: Option<String>,
    pub transaction_id: Option<TxnId>,
    pub user_id: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub occurred: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Event {
    pub fn new(name: EventName, occurred: Millis) -> Self {
        Self {
            event_identifier: Uuid::new_v4(),
            event_name: name.as_str().to_owned(),
            event_type: name.event_type().to_owned(),
            client_id: None,
            app_name: None,
            transaction_id: None,
            user_id: None,
            client_ip: None,
            user_agent: None,
            occurred,
            detail: None,
        }
    }
}

/// Filters for `GET /oauth/api/v1/events` (and the admin API's `/events`, which adds
/// `event_name`).
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub transaction_id: Option<TxnId>,
    pub user_id: Option<String>,
    /// The vendor's event name, exactly.
    pub event_name: Option<String>,
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    pub limit: usize,
}

impl EventQuery {
    pub fn matches(&self, e: &Event) -> bool {
        self.transaction_id
            .is_none_or(|t| e.transaction_id == Some(t))
            && self
                .user_id
                .as_deref()
                .is_none_or(|u| e.user_id.as_deref() == Some(u))
            && self.event_name.as_deref().is_none_or(|n| e.event_name == n)
            && self.from.is_none_or(|f| e.occurred >= f)
            && self.to.is_none_or(|t| e.occurred <= t)
    }
}
