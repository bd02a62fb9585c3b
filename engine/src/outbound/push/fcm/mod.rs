//! Firebase Cloud Messaging. HTTP v1 (`fcm_v1`, the default): `POST
//! {endpoint}/v1/projects/{project_id}/messages:send` with a bearer token from the service
//! account ([`oauth`]); the legacy server-key API (`fcm_legacy`) lives in [`legacy`].

mod legacy;
mod oauth;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;
use tessera_config::{Proxy, PushConfig};

use super::transport::{self, Http};
use super::{PushError, PushNotice, PushProvider, PushTarget, payload};
use crate::clock::Clock;
use crate::error::StartupError;
pub use legacy::FcmLegacyProvider;
use oauth::{ServiceAccount, TokenSource};

const ENDPOINT: &str = "https://fcm.googleapis.com";

pub struct FcmV1Provider {
    name: String,
    /// One client for the token requests and the sends.
    http: reqwest::Client,
    /// Parsed once: every push reuses it.
    send_url: reqwest::Url,
    tokens: TokenSource,
}

/// Google's error answer: `{"error": {"status": "NOT_FOUND", "details": [...]}}`.
#[derive(Deserialize, Default)]
struct ErrorAnswer {
    #[serde(default)]
    error: ErrorStatus,
}

#[derive(Deserialize, Default)]
struct ErrorStatus {
    #[serde(default)]
    status: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    details: Vec<ErrorDetail>,
}

/// `google.firebase.fcm.v1.FcmError` carries `errorCode`; `google.rpc.BadRequest` carries
/// `fieldViolations`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ErrorDetail {
    #[serde(default)]
    error_code: String,
    #[serde(default)]
    field_violations: Vec<FieldViolation>,
}

#[derive(Deserialize, Default)]
struct FieldViolation {
    #[serde(default)]
    field: String,
}

impl ErrorStatus {
    fn fcm_code(&self) -> Option<&str> {
        self.details
            .iter()
            .map(|d| d.error_code.as_str())
            .find(|c| !c.is_empty())
    }

    /// Whether an `INVALID_ARGUMENT` is about the token rather than the message we built.
    fn blames_token(&self) -> bool {
        let on_field = self
            .details
            .iter()
            .flat_map(|d| &d.field_violations)
            .any(|v| v.field == "message.token");
        on_field || self.message.contains("registration token")
    }
}

impl FcmV1Provider {
    /// Reads the service-account file and builds the client (with the config's `ca_file` roots
    /// and the `[proxy]`).
    /// Errors name the push config's field (`service_account_file`), not yet its place in the
    /// file.
    pub fn from_config(pc: &PushConfig, proxy: &Proxy, clock: Clock) -> Result<Self, StartupError> {
        let account = ServiceAccount::read(&pc.service_account_file)?;
        let http = transport::client(pc, proxy, Http::Negotiate)?;
        let base = if pc.endpoint.is_empty() {
            ENDPOINT
        } else {
            &pc.endpoint
        };
        Ok(Self {
            name: pc.id.clone(),
            send_url: transport::endpoint(&format!(
                "{}/v1/projects/{}/messages:send",
                base.trim_end_matches('/'),
                account.project_id
            ))?,
            tokens: TokenSource::new(&pc.id, http.clone(), &account, clock)?,
            http,
        })
    }
}

/// What FCM's answer means for the token and for another try.
fn outcome(
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> Result<(), PushError> {
    if status.is_success() {
        return Ok(());
    }
    let answer: ErrorAnswer = serde_json::from_slice(body).unwrap_or_default();
    let e = answer.error;
    let code = e.fcm_code().unwrap_or(&e.status);
    let what = transport::answered("FCM", status, code);
    // Only FCM's own verdict on the token counts: a 404 without `UNREGISTERED` (a wrong
    // endpoint or project) or an `INVALID_ARGUMENT` about the message must not drop
    // enrollments — every push would otherwise wipe one.
    let unregistered = code == "UNREGISTERED"
        || (status == StatusCode::BAD_REQUEST && code == "INVALID_ARGUMENT" && e.blames_token());
    if unregistered {
        Err(PushError::Unregistered)
    } else if transport::is_transient(status) {
        Err(transport::transient(what, headers))
    } else {
        Err(PushError::Failed(what))
    }
}

#[async_trait]
impl PushProvider for FcmV1Provider {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, target: &PushTarget, notice: &PushNotice) -> Result<(), PushError> {
        let bearer = self.tokens.bearer().await?;
        let body = json!({
            "message": {
                "token": target.token,
                "data": payload::fcm_data(notice),
                "android": {
                    "priority": "high",
                    "ttl": format!("{}s", transport::ttl_secs(notice.ttl_ms)),
                },
            }
        });
        let response = self
            .http
            .post(self.send_url.clone())
            .bearer_auth(&bearer)
            .json(&body)
            .send()
            .await
            .map_err(|e| transport::request_failed("FCM", &e))?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED {
            // Revoked or expired early: the next try fetches a fresh token.
            self.tokens.reject(&bearer).await;
            return Err(PushError::Retryable("FCM answered 401".into()));
        }
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| transport::request_failed("FCM", &e))?;
        outcome(status, &headers, &body)
    }
}
