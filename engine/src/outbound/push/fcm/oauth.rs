//! OAuth2 bearer tokens for FCM HTTP v1 from a service account (RFC 7523 JWT bearer grant):
//! sign an RS256 assertion with the account's key, exchange it at its `token_uri`, and keep the
//! token until shortly before it expires — one token request serves many pushes.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::super::PushError;
use super::super::transport;
use crate::clock::Clock;
use crate::error::StartupError;
use crate::model::Millis;

const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// How long an assertion is valid; Google's maximum.
const ASSERTION_SECS: u64 = 3600;
/// A token is replaced this long before it expires, so no push leaves with one about to lapse.
const REFRESH_EARLY_MS: Millis = 5 * 60 * 1000;

/// The fields of a Google service-account JSON file that matter here. No `Debug`: it holds the
/// private key.
#[derive(Deserialize)]
pub struct ServiceAccount {
    pub project_id: String,
    pub private_key: String,
    pub client_email: String,
    #[serde(default = "default_token_uri")]
    pub token_uri: String,
}

fn default_token_uri() -> String {
    "https://oauth2.googleapis.com/token".into()
}

/// The config key that names the service-account file, in every error about it.
const KEY: &str = "service_account_file";

impl ServiceAccount {
    pub fn read(path: &str) -> Result<Self, StartupError> {
        let text = std::fs::read_to_string(path).map_err(|source| StartupError::Unreadable {
            key: KEY.into(),
            path: path.into(),
            source,
        })?;
        // serde's message names the field and position, never a value.
        serde_json::from_str(&text).map_err(|e| {
            StartupError::invalid(KEY, format!("{path} is not a service-account key: {e}"))
        })
    }
}

/// Hands out the current bearer token, fetching a new one when needed.
pub struct TokenSource {
    /// The push config's id: the `provider` label of the refresh counter.
    provider: String,
    http: reqwest::Client,
    client_email: String,
    token_uri: String,
    key: EncodingKey,
    clock: Clock,
    /// An async lock: the caller that finds the token stale fetches a new one while the others
    /// wait for it, so concurrent pushes share one refresh.
    cached: Mutex<Option<Bearer>>,
}

struct Bearer {
    token: String,
    refresh_at: Millis,
}

#[derive(Serialize)]
struct Assertion<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize)]
struct TokenError {
    #[serde(default)]
    error: String,
}

impl TokenSource {
    /// `provider` is the push config's id.
    pub fn new(
        provider: &str,
        http: reqwest::Client,
        account: &ServiceAccount,
        clock: Clock,
    ) -> Result<Self, StartupError> {
        let key = EncodingKey::from_rsa_pem(account.private_key.as_bytes()).map_err(|e| {
            StartupError::invalid(
                KEY,
                format!("private_key of the service account is not an RSA key: {e}"),
            )
        })?;
        Ok(Self {
            provider: provider.to_owned(),
            http,
            client_email: account.client_email.clone(),
            token_uri: account.token_uri.clone(),
            key,
            clock,
            cached: Mutex::new(None),
        })
    }

    /// A token valid for at least a few more minutes.
    pub async fn bearer(&self) -> Result<String, PushError> {
        let mut cached = self.cached.lock().await;
        let now = self.clock.now();
        if let Some(b) = cached.as_ref().filter(|b| now < b.refresh_at) {
            return Ok(b.token.clone());
        }
        let fetched = self.fetch(now).await;
        crate::telemetry::provider_token_refresh(&self.provider, fetched.is_ok());
        let (token, expires_in) = fetched?;
        let lifetime_ms = expires_in.saturating_mul(1000);
        // Early by five minutes, or by half of a short lifetime.
        let keep = lifetime_ms
            .saturating_sub(REFRESH_EARLY_MS)
            .max(lifetime_ms / 2);
        *cached = Some(Bearer {
            token: token.clone(),
            refresh_at: now + keep,
        });
        Ok(token)
    }

    /// FCM refused `token` (401): drop it so the next push fetches another. A newer token
    /// already in place is kept.
    pub async fn reject(&self, token: &str) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|b| b.token == token) {
            *cached = None;
        }
    }

    fn assertion(&self, now: Millis) -> Result<String, PushError> {
        let iat = now / 1000;
        let claims = Assertion {
            iss: &self.client_email,
            scope: SCOPE,
            aud: &self.token_uri,
            iat,
            exp: iat + ASSERTION_SECS,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map_err(|e| PushError::Failed(format!("cannot sign the OAuth assertion: {e}")))
    }

    async fn fetch(&self, now: Millis) -> Result<(String, u64), PushError> {
        let assertion = self.assertion(now)?;
        let response = self
            .http
            .post(&self.token_uri)
            .form(&[("grant_type", GRANT_TYPE), ("assertion", &assertion)])
            .send()
            .await
            .map_err(|e| transport::request_failed("OAuth token request", &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| transport::request_failed("OAuth token request", &e))?;
        if status == StatusCode::OK {
            let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|_| {
                PushError::Failed("OAuth token endpoint answered without a token".into())
            })?;
            return Ok((answer.access_token, answer.expires_in));
        }
        // `error` is an OAuth code (`invalid_grant`); the description may quote the request.
        let code = serde_json::from_slice::<TokenError>(&body)
            .map(|e| e.error)
            .unwrap_or_default();
        let what = transport::answered("OAuth token endpoint", status, &code);
        if transport::is_transient(status) {
            Err(transport::transient(what, &headers))
        } else {
            Err(PushError::Failed(what))
        }
    }
}
