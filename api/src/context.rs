//! [`Cx`]: what a handler knows about its request, and the order every authenticated endpoint
//! follows: body read (with its limit; not read at all when the `Authorization` header already
//! fails, see `gate`) → caller authenticated (API client, or device) → scope (→ API version) →
//! body validated.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use tessera_config::{PushEnrollmentMode, Scope};
use tessera_engine::model::Device;
use tessera_engine::{DeviceError, Engine};

use crate::auth;
use crate::body::{self, BodyError, Fields};
use crate::error::{ApiError, Codes};
use crate::rate_limits;
use crate::routes::Shared;

/// The portal API version a path belongs to (API.md §2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    V2,
    V3,
    V4,
}

impl Version {
    pub(crate) fn parse(segment: &str) -> Option<Self> {
        match segment {
            "v2" => Some(Version::V2),
            "v3" => Some(Version::V3),
            "v4" => Some(Version::V4),
            _ => None,
        }
    }
}

/// One request, body already read and parsed (or the reason it could not be).
pub(crate) struct Cx<'a> {
    pub shared: &'a Shared,
    pub peer: SocketAddr,
    pub headers: HeaderMap,
    pub query: Option<String>,
    /// The body as sent: the device's answer is an OpenPGP message, not fields.
    pub raw: Result<Bytes, BodyError>,
    /// The body as form or JSON fields.
    pub body: Result<Fields, BodyError>,
    /// The device the `Authorization` header proved before the body was read.
    pub device: Option<Device>,
}

/// An authenticated API client. Its body fields are checked only when asked for, so refusals
/// that do not depend on the body (scope, API version) come first.
pub(crate) struct Caller<'a> {
    pub client_id: String,
    body: &'a Result<Fields, BodyError>,
    codes: Codes,
}

impl Caller<'_> {
    /// The body's fields, or why the body is unusable (`400` / `415`).
    pub(crate) fn fields(&self) -> Result<&Fields, ApiError> {
        self.body.as_ref().map_err(|e| e.clone().answer(self.codes))
    }
}

impl Cx<'_> {
    pub(crate) fn engine(&self) -> &Engine {
        &self.shared.engine
    }

    /// Authenticates the API client and checks `scope`.
    pub(crate) async fn authorize(&self, scope: Scope) -> Result<Caller<'_>, ApiError> {
        self.authorize_in(scope, Codes::Numeric).await
    }

    /// A failed login (`401`) counts against the source address
    /// (`rate_limits.credential_failures_per_ip`); a client that proved itself counts one
    /// request (`per_client`), answered `429` in the surface's `codes` when over its limit.
    async fn authorize_in(&self, scope: Scope, codes: Codes) -> Result<Caller<'_>, ApiError> {
        // Form credentials live in the body, so an unreadable body cannot authenticate anyone.
        if self.body == Err(BodyError::TooLarge) {
            return Err(ApiError::too_large(codes));
        }
        let cfg = self.engine().config();
        let creds = auth::credentials(&self.headers, self.body.as_ref().ok());
        let client_id =
            match auth::authenticate(&cfg.api_clients, creds.as_ref(), self.peer.ip(), scope) {
                Ok(client) => client.id.clone(),
                Err(refused) => {
                    if refused.status() == StatusCode::UNAUTHORIZED {
                        rate_limits::login_failed(self.engine(), self.peer.ip()).await;
                    }
                    return Err(refused);
                }
            };
        rate_limits::client_request(self.engine(), &client_id, codes).await?;
        Ok(Caller {
            client_id,
            body: &self.body,
            codes,
        })
    }

    /// The admin API's caller (API.md §5): scope `admin`, snake_case error codes.
    pub(crate) async fn admin(&self) -> Result<Caller<'_>, ApiError> {
        self.authorize_in(Scope::Admin, Codes::Named).await
    }

    /// [`Self::authorize`] for the portal API, plus the version rule: with push enrollment mode
    /// `multiple_devices` only v4 can address devices, so v2 and v3 answer `4001`.
    pub(crate) async fn portal(&self, version: Version) -> Result<Caller<'_>, ApiError> {
        let caller = self.authorize(Scope::MobileAuthentication).await?;
        let mode = self.engine().config().general.push_enrollment_mode;
        if version != Version::V4 && mode == PushEnrollmentMode::MultipleDevices {
            return Err(ApiError::version_4_required());
        }
        Ok(caller)
    }

    /// User & device management (API.md §3): scope `end_user`, snake_case error codes, and the
    /// same version rule as the portal API — v3 cannot tell one device from another.
    pub(crate) async fn management(&self, version: Version) -> Result<Caller<'_>, ApiError> {
        let caller = self.authorize_in(Scope::EndUser, Codes::Named).await?;
        let mode = self.engine().config().general.push_enrollment_mode;
        if version != Version::V4 && mode == PushEnrollmentMode::MultipleDevices {
            return Err(ApiError::version_4_required());
        }
        Ok(caller)
    }

    /// The device API's caller (API.md §4): HTTP Basic `device_id:device_secret`. Missing,
    /// malformed, unknown, revoked or wrong credentials are all `401 invalid_device`, and count
    /// against the source address (`rate_limits.credential_failures_per_ip`).
    pub(crate) async fn device(&self) -> Result<Device, ApiError> {
        if self.raw == Err(BodyError::TooLarge) {
            return Err(ApiError::too_large(Codes::Named));
        }
        if let Some(device) = &self.device {
            return Ok(device.clone());
        }
        let proved = match auth::credentials(&self.headers, None) {
            // The gate already looked the credentials up and refused them.
            Some(_) if self.raw == Err(BodyError::Unread) => Err(DeviceError::InvalidDevice),
            Some(creds) => {
                self.engine()
                    .authenticate_device(&creds.id, &creds.secret)
                    .await
            }
            None => Err(DeviceError::InvalidDevice),
        };
        if matches!(proved, Err(DeviceError::InvalidDevice)) {
            rate_limits::login_failed(self.engine(), self.peer.ip()).await;
        }
        Ok(proved?)
    }

    /// A device API body: JSON only (`415` otherwise); an empty body has no fields.
    pub(crate) fn json(&self) -> Result<Fields, ApiError> {
        let raw = self
            .raw
            .as_ref()
            .map_err(|e| e.clone().answer(Codes::Named))?;
        if raw.is_empty() {
            return Ok(Fields::new());
        }
        match body::content_type(&self.headers) {
            Some(t) if body::is_json(&t) => self.body.clone().map_err(|e| e.answer(Codes::Named)),
            _ => Err(ApiError::unsupported_media_type(
                Codes::Named,
                "unsupported content type: use application/json",
            )),
        }
    }

    /// A body that must be there (the admin API's writes, API.md §5): [`Self::json`], and an
    /// empty body is `400 invalid_request` rather than an object without fields — a `PUT` that
    /// forgot its body must not replace a resource with the defaults.
    pub(crate) fn json_body(&self) -> Result<Fields, ApiError> {
        if self.raw.as_ref().is_ok_and(|raw| raw.is_empty()) {
            return Err(ApiError::invalid(Codes::Named, "a JSON body is required"));
        }
        self.json()
    }

    /// The query string's fields.
    pub(crate) fn query(&self) -> Result<Fields, ApiError> {
        body::query(self.query.as_deref())
    }
}
