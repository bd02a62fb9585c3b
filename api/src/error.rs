//! [`ApiError`]: every refusal the API answers with, and the one place where engine errors become
//! HTTP (API.md §1 and §2.8). Bodies never carry internal details.

use std::borrow::Cow;

use http::StatusCode;
use http::header::{HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use serde::Serialize;
use tessera_engine::Error as EngineError;

use crate::reply::{self, Reply};
use crate::wire::{ErrorBody, OAuthErrorBody};

/// An error answer: status, body and the headers that go with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    shape: Shape,
    /// Seconds, for `Retry-After`.
    retry_after: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// `{"error_code", "description"}`: the body of every error but client authentication.
    Code {
        code: &'static str,
        description: Cow<'static, str>,
    },
    /// `{"error", "error_description"}`: OAuth-style, kept for vendor compatibility.
    OAuth {
        error: &'static str,
        description: &'static str,
    },
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
            },
            retry_after: None,
        }
    }

    fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    /// `400 1003`: a request parameter is invalid or missing.
    pub(crate) fn bad_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::code(StatusCode::BAD_REQUEST, "1003", description)
    }

    /// `413 1003`: the body is over [`crate::MAX_BODY_BYTES`].
    pub(crate) fn too_large() -> Self {
        Self::code(
            StatusCode::PAYLOAD_TOO_LARGE,
            "1003",
            "request body too large",
        )
    }

    /// `415 1003`: neither form nor JSON.
    pub(crate) fn unsupported_media_type() -> Self {
        Self::code(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "1003",
            "unsupported content type: use application/x-www-form-urlencoded or application/json",
        )
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

    pub(crate) fn method_not_allowed() -> Self {
        Self::code(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed for this resource",
        )
    }

    pub(crate) fn not_ready() -> Self {
        Self::code(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the engine is not ready",
        )
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
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// `error_code` (or `error` for client authentication failures).
    pub fn error_code(&self) -> &str {
        match &self.shape {
            Shape::Code { code, .. } => code,
            Shape::OAuth { error, .. } => error,
        }
    }

    pub(crate) fn into_response(self) -> Reply {
        let mut resp = match &self.shape {
            Shape::Code { code, description } => body(
                self.status,
                &ErrorBody {
                    error_code: (*code).to_owned(),
                    description: description.to_string(),
                },
            ),
            Shape::OAuth { error, description } => body(
                self.status,
                &OAuthErrorBody {
                    error: (*error).to_owned(),
                    error_description: (*description).to_owned(),
                },
            ),
        };
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"tessera\""),
            );
        }
        resp
    }
}

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
            EngineError::Store(err) => {
                // Logged here, never shown: store errors name keys and hosts.
                tracing::warn!(error = %err, "store error answered as 1002");
                Self::code(
                    S::SERVICE_UNAVAILABLE,
                    "1002",
                    "the authentication provider is temporarily unavailable",
                )
            }
        }
    }
}
