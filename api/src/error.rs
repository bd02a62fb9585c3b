//! [`ApiError`]: every refusal the API answers with, and the one place where engine errors become
//! HTTP (API.md §1, §2.8, §3, §4). Bodies never carry internal details.
//!
//! Two dialects of `error_code` exist: the portal API's numeric vendor codes (`1003`, `3004`) and
//! the snake_case names of the management and device APIs (`invalid_request`, `not_found`).
//! [`Codes`] says which one a surface speaks, for the refusals both have (malformed bodies).

use std::borrow::Cow;
use std::collections::BTreeMap;

use http::StatusCode;
use http::header::{ALLOW, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use serde::Serialize;
use tessera_config::admin::{ErrorBody as AdminErrorBody, codes as admin_codes};
use tessera_engine::{DeviceError, Error as EngineError};

use crate::reply::{self, Reply};
use crate::wire::{DeleteFailure, ErrorBody, NotAllDevicesDeleted, OAuthErrorBody};

/// The `WWW-Authenticate` challenge of API-client authentication failures.
const CLIENT_CHALLENGE: &str = "Basic realm=\"tessera\"";
/// The challenge of device-credential failures (API.md §4), a realm of its own so an app's HTTP
/// stack never offers a portal's credentials here or the other way round.
const DEVICE_CHALLENGE: &str = "Basic realm=\"tessera-device\"";

/// Which `error_code` dialect a surface speaks for refusals every surface has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codes {
    /// The portal API's vendor codes: `1003` for any bad request.
    Numeric,
    /// Management and device APIs: `invalid_request`, `request_too_large`, ...
    Named,
}

/// The methods a resource serves, for the `Allow` header of a `405` (one byte, so an
/// [`ApiError`] stays small).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Allow {
    Get,
    Post,
    Put,
    Delete,
    GetPut,
    PutDelete,
    GetPutDelete,
    GetPostDelete,
}

impl Allow {
    pub(crate) fn header(self) -> &'static str {
        match self {
            Allow::Get => "GET",
            Allow::Post => "POST",
            Allow::Put => "PUT",
            Allow::Delete => "DELETE",
            Allow::GetPut => "GET, PUT",
            Allow::PutDelete => "PUT, DELETE",
            Allow::GetPutDelete => "GET, PUT, DELETE",
            Allow::GetPostDelete => "GET, POST, DELETE",
        }
    }
}

/// An error answer: status, body and the headers that go with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    shape: Shape,
    /// Seconds, for `Retry-After`.
    retry_after: Option<u64>,
    /// `WWW-Authenticate`, on `401`s.
    challenge: Option<&'static str>,
    /// `Allow`, on `405`s: the methods the resource serves.
    allow: Option<Allow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// `{"error_code", "description"}`: the body of every error but client authentication.
    /// `invalid_authenticator` adds `remaining_attempts`.
    Code {
        code: &'static str,
        description: Cow<'static, str>,
        remaining_attempts: Option<u32>,
    },
    /// `{"error", "error_description"}`: OAuth-style, kept for vendor compatibility.
    OAuth {
        error: &'static str,
        description: &'static str,
    },
    /// The vendor's partial failure of a bulk delete: `{"code", "message", "details"}`.
    NotAllDeleted { details: Vec<DeleteFailure> },
    /// The admin API's `422 invalid_config`: `{"error_code", "description", "fields"}`.
    Fields(AdminErrorBody),
}

impl ApiError {
    fn code(
        status: StatusCode,
        code: &'static str,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            shape: Shape::Code {
                code,
                description: description.into(),
                remaining_attempts: None,
            },
            retry_after: None,
            challenge: None,
            allow: None,
        }
    }

    fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    /// An admin API refusal (API.md §5): `code` from `tessera_config::admin::codes`.
    pub(crate) fn admin(
        status: StatusCode,
        code: &'static str,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::code(status, code, description)
    }

    /// `422 invalid_config`: the admin API's validation failure, `fields` naming each field
    /// (path → message).
    pub(crate) fn invalid_config(fields: BTreeMap<String, String>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            shape: Shape::Fields(AdminErrorBody {
                error_code: admin_codes::INVALID_CONFIG.to_owned(),
                description: "the configuration change breaks a rule; see fields".to_owned(),
                fields,
            }),
            retry_after: None,
            challenge: None,
            allow: None,
        }
    }

    /// `400 1003`: a request parameter is invalid or missing.
    pub(crate) fn bad_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::code(StatusCode::BAD_REQUEST, "1003", description)
    }

    /// `400`: a request parameter is invalid or missing, in the surface's dialect.
    pub(crate) fn invalid(codes: Codes, description: impl Into<Cow<'static, str>>) -> Self {
        match codes {
            Codes::Numeric => Self::bad_request(description),
            Codes::Named => Self::code(StatusCode::BAD_REQUEST, "invalid_request", description),
        }
    }

    /// `413`: the body is over [`crate::MAX_BODY_BYTES`].
    pub(crate) fn too_large(codes: Codes) -> Self {
        let code = match codes {
            Codes::Numeric => "1003",
            Codes::Named => "request_too_large",
        };
        Self::code(
            StatusCode::PAYLOAD_TOO_LARGE,
            code,
            "request body too large",
        )
    }

    /// `415`: a content type the endpoint does not take.
    pub(crate) fn unsupported_media_type(codes: Codes, description: &'static str) -> Self {
        let code = match codes {
            Codes::Numeric => "1003",
            Codes::Named => "unsupported_media_type",
        };
        Self::code(StatusCode::UNSUPPORTED_MEDIA_TYPE, code, description)
    }

    /// `500 not_all_devices_deleted` with what failed (API.md §3, vendor shape).
    pub(crate) fn not_all_deleted(details: Vec<DeleteFailure>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            shape: Shape::NotAllDeleted { details },
            retry_after: None,
            challenge: None,
            allow: None,
        }
    }

    /// `404 3004`: unknown or malformed transaction id.
    pub(crate) fn unknown_transaction() -> Self {
        EngineError::UnknownTransaction.into()
    }

    /// `404 4001`: v2/v3 endpoints while the push enrollment mode is `multiple_devices`.
    pub(crate) fn version_4_required() -> Self {
        Self::code(
            StatusCode::NOT_FOUND,
            "4001",
            "server configuration requires API version 4",
        )
    }

    pub(crate) fn not_found() -> Self {
        Self::code(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }

    /// `404 not_found` of a device listing with nothing in it (API.md §3).
    pub(crate) fn no_devices() -> Self {
        Self::code(
            StatusCode::NOT_FOUND,
            "not_found",
            "the user has no devices",
        )
    }

    /// `405 method_not_allowed` with `Allow: <allow>` (RFC 9110 §15.5.6).
    pub(crate) fn method_not_allowed(allow: Allow) -> Self {
        let mut err = Self::code(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed for this resource",
        );
        err.allow = Some(allow);
        err
    }

    pub(crate) fn not_ready() -> Self {
        Self::code(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the engine is not ready",
        )
        .retry_after(1)
    }

    /// `503` while the store does not answer (API.md §1): `store_unavailable` on the management
    /// and device APIs; on the portal API the vendor's code for a failure on the provider's
    /// side, `1002` (its table has no other server error). `Retry-After: 1`.
    pub(crate) fn store_unavailable(codes: Codes) -> Self {
        match codes {
            Codes::Numeric => Self::code(
                StatusCode::SERVICE_UNAVAILABLE,
                "1002",
                "the authentication provider is temporarily unavailable",
            ),
            Codes::Named => Self::from(DeviceError::StoreUnavailable),
        }
        .retry_after(1)
    }

    /// A handler panicked; the connection and the server carry on.
    pub(crate) fn internal() -> Self {
        Self::code(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "internal error",
        )
    }

    /// `401 invalid_client`: no, unknown or wrong credentials, or a disallowed address.
    pub(crate) fn invalid_client() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            shape: Shape::OAuth {
                error: "invalid_client",
                description: "client authentication failed",
            },
            retry_after: None,
            challenge: Some(CLIENT_CHALLENGE),
            allow: None,
        }
    }

    /// `403 insufficient_scope`: a valid client without the endpoint's scope.
    pub(crate) fn insufficient_scope() -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            shape: Shape::OAuth {
                error: "insufficient_scope",
                description: "the client is not allowed to call this endpoint",
            },
            retry_after: None,
            challenge: None,
            allow: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// `error_code` (or `error` for client authentication failures, `code` for a partial bulk
    /// delete).
    pub fn error_code(&self) -> &str {
        match &self.shape {
            Shape::Code { code, .. } => code,
            Shape::OAuth { error, .. } => error,
            Shape::NotAllDeleted { .. } => NOT_ALL_DELETED,
            Shape::Fields(body) => &body.error_code,
        }
    }

    pub(crate) fn into_response(self) -> Reply {
        let mut resp = match self.shape {
            Shape::Code {
                code,
                description,
                remaining_attempts,
            } => body(
                self.status,
                &ErrorBody {
                    error_code: code.to_owned(),
                    description: description.into_owned(),
                    remaining_attempts,
                },
            ),
            Shape::OAuth { error, description } => body(
                self.status,
                &OAuthErrorBody {
                    error: error.to_owned(),
                    error_description: description.to_owned(),
                },
            ),
            Shape::NotAllDeleted { details } => body(
                self.status,
                &NotAllDevicesDeleted {
                    code: NOT_ALL_DELETED.to_owned(),
                    message: "not all devices could be deleted".to_owned(),
                    details,
                },
            ),
            Shape::Fields(fields) => body(self.status, &fields),
        };
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(challenge) = self.challenge {
            resp.headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        if let Some(allow) = self.allow {
            resp.headers_mut()
                .insert(ALLOW, HeaderValue::from_static(allow.header()));
        }
        resp
    }
}

const NOT_ALL_DELETED: &str = "not_all_devices_deleted";

fn body<T: Serialize>(status: StatusCode, value: &T) -> Reply {
    reply::json(status, value)
}

impl From<EngineError> for ApiError {
    /// The one mapping from engine refusals to portal error codes (API.md §2.8).
    fn from(e: EngineError) -> Self {
        use StatusCode as S;
        match e {
            EngineError::MobileAuthDisabled => {
                Self::code(S::NOT_FOUND, "1000", "mobile authentication is disabled")
            }
            EngineError::NoAuthPossibilities => Self::code(
                S::NOT_FOUND,
                "1001",
                "no authentication possibilities for this user",
            ),
            EngineError::InitFailed => Self::code(
                S::SERVICE_UNAVAILABLE,
                "1002",
                "failed to initiate at the authentication provider",
            ),
            EngineError::InvalidParameter(name) => {
                Self::bad_request(format!("invalid or missing parameter: {name}"))
            }
            EngineError::CallbackNotAllowed => {
                Self::bad_request("invalid parameter: callback_uri is not allowed")
            }
            EngineError::MessageTooLong => Self::code(S::BAD_REQUEST, "1005", "message too long"),
            EngineError::ResendTooSoon { retry_after_ms } => {
                Self::code(S::TOO_MANY_REQUESTS, "1007", "resend requested too soon")
                    .retry_after(retry_after_ms.div_ceil(1000))
            }
            // No wait can be promised while the gateway has the previous resend: ask again in
            // a second.
            EngineError::ResendInFlight => {
                Self::code(S::TOO_MANY_REQUESTS, "1007", "a resend is still being sent")
                    .retry_after(1)
            }
            EngineError::SmsDisabled => {
                Self::code(S::NOT_FOUND, "3000", "SMS authentication is disabled")
            }
            EngineError::InvalidPhoneNumber => {
                Self::code(S::BAD_REQUEST, "3001", "phone number missing or invalid")
            }
            EngineError::SmsSendFailed => {
                Self::code(S::SERVICE_UNAVAILABLE, "3002", "failed to send SMS")
            }
            EngineError::CodeInvalid => {
                Self::code(S::NOT_FOUND, "3003", "verification code invalid")
            }
            EngineError::UnknownTransaction => {
                Self::code(S::NOT_FOUND, "3004", "invalid transaction id")
            }
            EngineError::UnknownType => Self::code(
                S::NOT_FOUND,
                "3005",
                "mobile authentication type not found or invalid user id",
            ),
            EngineError::ResendLimit => Self::code(S::FORBIDDEN, "3006", "resend limit reached"),
            EngineError::AlreadyFinal => {
                Self::code(S::CONFLICT, "4002", "transaction already final")
            }
            EngineError::Overloaded => Self::code(
                S::SERVICE_UNAVAILABLE,
                "1002",
                "temporarily unable to take the request",
            )
            .retry_after(1),
            EngineError::Limited(refused) => {
                let secs = refused.retry_after_secs();
                Self::code(S::TOO_MANY_REQUESTS, "1007", refused.to_string()).retry_after(secs)
            }
            EngineError::PhoneNotAllowed(refusal) => Self::code(
                S::BAD_REQUEST,
                "3001",
                format!("phone number not allowed: {refusal}"),
            ),
            EngineError::Store(err) => {
                // Logged here, never shown: store errors name keys and hosts.
                tracing::warn!(error = %err, "store error answered as 1002");
                Self::store_unavailable(Codes::Numeric)
            }
        }
    }
}

impl From<DeviceError> for ApiError {
    /// The one mapping from device-API and management refusals to HTTP (API.md §3, §4): the
    /// engine names the code and the status; the description is its fixed text.
    fn from(e: DeviceError) -> Self {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut err = Self::code(status, e.code(), e.to_string());
        match e {
            DeviceError::InvalidDevice => err.challenge = Some(DEVICE_CHALLENGE),
            DeviceError::InvalidAuthenticator { remaining_attempts } => {
                if let Shape::Code {
                    remaining_attempts: slot,
                    ..
                } = &mut err.shape
                {
                    *slot = remaining_attempts;
                }
            }
            DeviceError::Overloaded | DeviceError::StoreUnavailable => err = err.retry_after(1),
            DeviceError::Limited(refused) => err = err.retry_after(refused.retry_after_secs()),
            _ => {}
        }
        err
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resend_still_in_flight_is_a_rate_limit_with_retry_after() {
        let e = ApiError::from(EngineError::ResendInFlight);
        assert_eq!(e.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(e.error_code(), "1007");
        assert_eq!(e.retry_after, Some(1));
    }

    #[test]
    fn an_unanswering_store_is_503_in_each_surfaces_dialect() {
        let portal = ApiError::from(EngineError::Store(tessera_engine::StoreError::Unavailable(
            "refused".into(),
        )));
        assert_eq!(portal, ApiError::store_unavailable(Codes::Numeric));
        assert_eq!(
            (portal.status(), portal.error_code()),
            (StatusCode::SERVICE_UNAVAILABLE, "1002")
        );
        assert_eq!(portal.retry_after, Some(1));
        let device = ApiError::from(DeviceError::StoreUnavailable);
        assert_eq!(device, ApiError::store_unavailable(Codes::Named));
        assert_eq!(
            (device.status(), device.error_code()),
            (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable")
        );
        assert_eq!(device.retry_after, Some(1));
    }
}
