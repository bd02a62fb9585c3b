//! [`PortalClient`]: a typed client of the portal API (v4) and the events endpoint, speaking the
//! same [`crate::wire`] types as the server. Tests, the load harness and integrators use it.
//! Also the plumbing the management and device clients share: [`ClientError`] and the answer
//! checks.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use tessera_engine::crypto::CryptoError;

use crate::wire::{
    Availability, EnabledTypes, ErrorBody, EventList, EventsQuery, NotAllDevicesDeleted,
    OAuthErrorBody, SmsVerified, SmsVerifyParams, StartParams, StartResponse, TransactionRef,
    TransactionResult,
};

const PORTAL: &str = "/oauth/api/v4/authenticate";
/// Longer than the longest long-poll (60 s), so `wait` never races the client's own timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(75);

/// A failed call: the transport, an error answer, or an answer that is not what the API promises.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("request failed: {0}")]
    Transport(#[from] reqwest::Error),
    /// An error answer: `code` is `error_code` (or `error` for `invalid_client` /
    /// `insufficient_scope`, `code` for `not_all_devices_deleted`).
    #[error("HTTP {status}: {code}: {description}")]
    Api {
        status: u16,
        code: String,
        description: String,
        /// `Retry-After`, seconds.
        retry_after: Option<u64>,
        /// `invalid_authenticator`: wrong tokens left before the limit.
        remaining_attempts: Option<u32>,
    },
    #[error("unexpected answer (HTTP {status}): {message}")]
    Decode { status: u16, message: String },
    /// The device side's OpenPGP: a document that does not open or verify, or a failed seal.
    #[error("OpenPGP: {0}")]
    Crypto(#[from] CryptoError),
}

impl ClientError {
    /// The HTTP status, when there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Transport(e) => e.status().map(|s| s.as_u16()),
            ClientError::Api { status, .. } | ClientError::Decode { status, .. } => Some(*status),
            ClientError::Crypto(_) => None,
        }
    }

    /// The error code of an error answer (`"3004"`, `"invalid_client"`, ...).
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Where an API client sends its requests and who it says it is; the portal and management
/// clients share it.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub(crate) http: reqwest::Client,
    /// `http://host:port`, no trailing slash.
    pub(crate) base: String,
    client_id: String,
    client_secret: String,
}

impl Endpoint {
    pub(crate) fn new(
        http: reqwest::Client,
        base_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            http,
            base: base_url.into().trim_end_matches('/').to_owned(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }

    /// A request to `base + path` with the client's HTTP Basic credentials.
    pub(crate) fn authed(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .basic_auth(&self.client_id, Some(&self.client_secret))
    }
}

/// A portal's view of Tessera, authenticated with HTTP Basic.
#[derive(Debug, Clone)]
pub struct PortalClient {
    ep: Endpoint,
}

impl PortalClient {
    /// `base_url` like `http://127.0.0.1:8080` (no trailing path).
    pub fn new(
        base_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self::with_http(http_client(), base_url, client_id, client_secret)
    }

    /// With a preconfigured `reqwest` client (pool sizes, HTTP/2 prior knowledge, roots).
    pub fn with_http(
        http: reqwest::Client,
        base_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            ep: Endpoint::new(http, base_url, client_id, client_secret),
        }
    }

    /// `POST /user`: starts a transaction.
    pub async fn start(&self, params: &StartParams) -> Result<StartResponse, ClientError> {
        self.json(self.portal(Method::POST, "/user").form(params))
            .await
    }

    /// `GET /transaction/{id}`, long-polling up to `wait` when given.
    pub async fn result(
        &self,
        transaction_id: &str,
        wait: Option<Duration>,
    ) -> Result<TransactionResult, ClientError> {
        let mut path = format!("/transaction/{}", encode(transaction_id));
        if let Some(w) = wait {
            path.push_str(&format!("?wait={}", w.as_millis()));
        }
        self.json(self.portal(Method::GET, &path)).await
    }

    /// `POST /user/{user_id}/sms`: submits the code the user typed.
    pub async fn verify_sms(
        &self,
        user_id: &str,
        transaction_id: &str,
        sms_code: &str,
    ) -> Result<SmsVerified, ClientError> {
        let params = SmsVerifyParams {
            transaction_id: Some(transaction_id.to_owned()),
            sms_code: Some(sms_code.to_owned()),
        };
        let path = format!("/user/{}/sms", encode(user_id));
        self.json(self.portal(Method::POST, &path).form(&params))
            .await
    }

    /// `POST /user/{user_id}/sms/resend`: the same code again.
    pub async fn resend_sms(&self, user_id: &str, transaction_id: &str) -> Result<(), ClientError> {
        let params = TransactionRef {
            transaction_id: Some(transaction_id.to_owned()),
        };
        let path = format!("/user/{}/sms/resend", encode(user_id));
        self.empty(self.portal(Method::POST, &path).form(&params))
            .await
    }

    /// `POST /transaction/{id}/cancel`.
    pub async fn cancel(&self, transaction_id: &str) -> Result<(), ClientError> {
        let path = format!("/transaction/{}/cancel", encode(transaction_id));
        self.empty(self.portal(Method::POST, &path)).await
    }

    /// `POST /transaction/{id}/resend`: the push again.
    pub async fn resend(&self, transaction_id: &str) -> Result<(), ClientError> {
        let path = format!("/transaction/{}/resend", encode(transaction_id));
        self.empty(self.portal(Method::POST, &path)).await
    }

    /// `GET /user/{user_id}/enabled`.
    pub async fn availability(&self, user_id: &str) -> Result<Availability, ClientError> {
        let path = format!("/user/{}/enabled", encode(user_id));
        self.json(self.portal(Method::GET, &path)).await
    }

    /// `GET /user/{user_id}/device/{device_id}/enabled`: the types usable with one device.
    pub async fn device_availability(
        &self,
        user_id: &str,
        device_id: &str,
    ) -> Result<EnabledTypes, ClientError> {
        let path = format!(
            "/user/{}/device/{}/enabled",
            encode(user_id),
            encode(device_id)
        );
        self.json(self.portal(Method::GET, &path)).await
    }

    /// `GET /transaction/{id}/otp.svg`: an OTP transaction's code as an SVG QR code.
    pub async fn otp_svg(&self, transaction_id: &str) -> Result<String, ClientError> {
        let path = format!("/transaction/{}/otp.svg", encode(transaction_id));
        text_answer(self.portal(Method::GET, &path)).await
    }

    /// `GET /oauth/api/v1/events` (the client needs scope `events`).
    pub async fn events(&self, query: &EventsQuery) -> Result<EventList, ClientError> {
        let mut path = "/oauth/api/v1/events".to_owned();
        let pairs = query_pairs(query);
        if !pairs.is_empty() {
            path.push('?');
            path.push_str(&pairs);
        }
        self.json(self.ep.authed(Method::GET, &path)).await
    }

    /// `GET /health/live` (unauthenticated): the cheapest round trip, the load harness's baseline.
    pub async fn live(&self) -> Result<(), ClientError> {
        let req = self.ep.http.get(format!("{}/health/live", self.ep.base));
        self.empty(req).await
    }

    // === plumbing ===

    fn portal(&self, method: Method, path: &str) -> RequestBuilder {
        self.ep.authed(method, &format!("{PORTAL}{path}"))
    }

    async fn json<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<T, ClientError> {
        json_answer(req).await
    }

    async fn empty(&self, req: RequestBuilder) -> Result<(), ClientError> {
        empty_answer(req).await
    }
}

/// The `reqwest` client every typed client starts from.
pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// Sends `req` and decodes a 2xx JSON answer as `T`.
pub(crate) async fn json_answer<T: DeserializeOwned>(
    req: RequestBuilder,
) -> Result<T, ClientError> {
    let resp = checked(req.send().await?).await?;
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await?;
    serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode {
        status,
        message: e.to_string(),
    })
}

/// Sends `req` and expects a 2xx answer whose body does not matter.
pub(crate) async fn empty_answer(req: RequestBuilder) -> Result<(), ClientError> {
    checked(req.send().await?).await.map(drop)
}

/// Sends `req` and returns a 2xx answer's body as text (OpenPGP documents, SVG).
pub(crate) async fn text_answer(req: RequestBuilder) -> Result<String, ClientError> {
    let resp = checked(req.send().await?).await?;
    Ok(resp.text().await?)
}

/// Passes 2xx answers through; turns the rest into [`ClientError::Api`].
pub(crate) async fn checked(resp: Response) -> Result<Response, ClientError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let bytes = resp.bytes().await?;
    Err(api_error(status, &bytes, retry_after))
}

fn api_error(status: StatusCode, body: &[u8], retry_after: Option<u64>) -> ClientError {
    let mut remaining_attempts = None;
    let (code, description) = if let Ok(b) = serde_json::from_slice::<ErrorBody>(body) {
        remaining_attempts = b.remaining_attempts;
        (b.error_code, b.description)
    } else if let Ok(b) = serde_json::from_slice::<OAuthErrorBody>(body) {
        (b.error, b.error_description)
    } else if let Ok(b) = serde_json::from_slice::<NotAllDevicesDeleted>(body) {
        (b.code, b.message)
    } else {
        (String::new(), String::from_utf8_lossy(body).into_owned())
    };
    ClientError::Api {
        status: status.as_u16(),
        code,
        description,
        retry_after,
        remaining_attempts,
    }
}

fn query_pairs<T: Serialize>(query: &T) -> String {
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(query) else {
        return String::new();
    };
    map.iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::String(s) => Some(format!("{}={}", encode(k), encode(s))),
            serde_json::Value::Number(n) => Some(format!("{}={n}", encode(k))),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but RFC 3986 unreserved characters (path segments, query values).
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
