//! The legacy FCM HTTP API (`fcm_legacy`): `POST {endpoint}` with `Authorization: key=<server
//! key>`. Google shut it down in 2024; it stays for old configs and compatible relays.
//!
//! It answers 200 for most failures and puts the reason per message in `results[].error`.

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde::Deserialize;
use serde_json::json;
use tessera_config::{Proxy, PushConfig};

use super::super::transport::{self, Http};
use super::super::{PushError, PushNotice, PushProvider, PushTarget, payload};
use crate::error::StartupError;

const ENDPOINT: &str = "https://fcm.googleapis.com/fcm/send";
/// The legacy API's longest `time_to_live`: four weeks.
const MAX_TTL_SECS: u64 = 2_419_200;

pub struct FcmLegacyProvider {
    name: String,
    http: reqwest::Client,
    /// Parsed once: every push reuses it.
    url: reqwest::Url,
    /// `key=<server key>`, marked sensitive so no `Debug` output shows it.
    authorization: HeaderValue,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    results: Vec<MessageResult>,
}

#[derive(Deserialize)]
struct MessageResult {
    #[serde(default)]
    error: Option<String>,
}

impl FcmLegacyProvider {
    /// Takes a validated config (`server_key` present and fit for a header). Errors name the
    /// push config's field, not yet its place in the file.
    pub fn from_config(pc: &PushConfig, proxy: &Proxy) -> Result<Self, StartupError> {
        let mut authorization = HeaderValue::from_str(&format!("key={}", pc.server_key))
            .map_err(|_| StartupError::invalid("server_key", "not fit for an HTTP header"))?;
        authorization.set_sensitive(true);
        Ok(Self {
            name: pc.id.clone(),
            http: transport::client(pc, proxy, Http::Negotiate)?,
            url: transport::endpoint(if pc.endpoint.is_empty() {
                ENDPOINT
            } else {
                &pc.endpoint
            })?,
            authorization,
        })
    }
}

/// What the answer means for the token and for another try.
fn outcome(
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> Result<(), PushError> {
    if transport::is_transient(status) {
        let what = transport::answered("FCM legacy", status, "");
        return Err(transport::transient(what, headers));
    }
    if status != StatusCode::OK {
        // 400 (bad JSON) and 401 (bad server key) are ours to fix.
        return Err(PushError::Failed(transport::answered(
            "FCM legacy",
            status,
            "",
        )));
    }
    let answer: Answer = serde_json::from_slice(body)
        .map_err(|_| PushError::Failed("FCM legacy answered 200 without results".into()))?;
    let Some(error) = answer.results.into_iter().next().and_then(|r| r.error) else {
        return Ok(());
    };
    let what = transport::answered("FCM legacy", status, &error);
    match error.as_str() {
        "NotRegistered" | "InvalidRegistration" => Err(PushError::Unregistered),
        "Unavailable" | "InternalServerError" | "DeviceMessageRateExceeded" => {
            Err(transport::transient(what, headers))
        }
        _ => Err(PushError::Failed(what)),
    }
}

#[async_trait]
impl PushProvider for FcmLegacyProvider {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, target: &PushTarget, notice: &PushNotice) -> Result<(), PushError> {
        let body = json!({
            "to": target.token,
            "priority": "high",
            "time_to_live": transport::ttl_secs(notice.ttl_ms).min(MAX_TTL_SECS),
            "data": payload::fcm_data(notice),
        });
        let response = self
            .http
            .post(self.url.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .json(&body)
            .send()
            .await
            .map_err(|e| transport::request_failed("FCM legacy", &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| transport::request_failed("FCM legacy", &e))?;
        outcome(status, &headers, &body)
    }
}
