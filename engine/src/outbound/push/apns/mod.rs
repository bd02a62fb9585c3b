//! Apple Push Notification service: `POST {host}/3/device/{token}` over HTTP/2 with an ES256
//! provider token (API.md §7).
//!
//! a2 models the notification options (topic, push type, priority, expiration) and we use them
//! for the headers; the request itself is ours, because a2's client cannot be pointed at another
//! host, extra CA roots or a proxy (CRATES.md). The body is [`payload::apns`], exactly the
//! payload of API.md §4 — a2's payload builder would add `"mutable-content": 0`.

#[cfg(test)]
mod tests;
mod token;

use a2::{NotificationOptions, Priority, PushType};
use async_trait::async_trait;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use tessera_config::{ApnsEnvironment, Proxy, PushConfig};

use super::transport::{self, Http};
use super::{PushError, PushNotice, PushProvider, PushTarget, payload};
use crate::clock::Clock;
use crate::error::StartupError;
use token::ProviderToken;

const PRODUCTION: &str = "https://api.push.apple.com";
const SANDBOX: &str = "https://api.sandbox.push.apple.com";

pub struct ApnsProvider {
    name: String,
    /// One HTTP/2 client for every push: requests multiplex over one connection per host.
    http: reqwest::Client,
    /// `endpoint` from the config; otherwise the host follows the app version's environment.
    endpoint: Option<Url>,
    token: ProviderToken,
    clock: Clock,
}

/// Apple's error answer: `{"reason": "BadDeviceToken"}`.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    reason: String,
}

impl ApnsProvider {
    /// Reads the `.p8` key and builds the HTTP/2 client (with the config's `ca_file` roots and
    /// the `[proxy]`).
    /// Errors name the push config's field (`key_file`), not yet its place in the file.
    pub fn from_config(pc: &PushConfig, proxy: &Proxy, clock: Clock) -> Result<Self, StartupError> {
        let pem = std::fs::read(&pc.key_file).map_err(|source| StartupError::Unreadable {
            key: "key_file".into(),
            path: pc.key_file.clone(),
            source,
        })?;
        let endpoint = if pc.endpoint.is_empty() {
            None
        } else {
            Some(transport::endpoint(&pc.endpoint)?)
        };
        Ok(Self {
            name: pc.id.clone(),
            http: transport::client(pc, proxy, Http::Http2Only)?,
            endpoint,
            token: ProviderToken::new(&pc.id, &pc.team_id, &pc.key_id, &pem)?,
            clock,
        })
    }

    /// `{host}/3/device/{token}`, the token percent-encoded as one path segment so that what a
    /// device registered cannot reach another path.
    fn url(&self, target: &PushTarget) -> Result<Url, PushError> {
        let mut url = match &self.endpoint {
            Some(url) => url.clone(),
            None => Url::parse(match target.apns_environment {
                ApnsEnvironment::Production => PRODUCTION,
                ApnsEnvironment::Development => SANDBOX,
            })
            .expect("valid APNs host"),
        };
        url.path_segments_mut()
            .map_err(|()| PushError::Failed("APNs endpoint cannot take a path".into()))?
            .pop_if_empty()
            .extend(["3", "device", &target.token]);
        Ok(url)
    }

    /// What Apple's answer means for the token and for another try.
    fn outcome(
        &self,
        status: StatusCode,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
        jwt: &str,
    ) -> Result<(), PushError> {
        if status.is_success() {
            return Ok(());
        }
        let reason = serde_json::from_slice::<ErrorBody>(body)
            .map(|b| b.reason)
            .unwrap_or_default();
        let what = transport::answered("APNs", status, &reason);
        match (status.as_u16(), reason.as_str()) {
            // 410: the token is no longer active for the topic. 400 BadDeviceToken: Apple does
            // not know it (e.g. a sandbox token sent to production) — either way no push to it
            // will ever arrive. Only Apple's own reasons count: a bare 410 from something else
            // on the way must not wipe enrollments.
            (410, "Unregistered" | "ExpiredToken") | (400, "BadDeviceToken") => {
                Err(PushError::Unregistered)
            }
            (403, "ExpiredProviderToken") => {
                self.token.expire(jwt);
                Err(PushError::Retryable(what))
            }
            _ if transport::is_transient(status) => Err(transport::transient(what, headers)),
            _ => Err(PushError::Failed(what)),
        }
    }
}

/// The `apns-*` headers of `options`; a2's `Display` impls give the wire values.
fn headers(options: &NotificationOptions<'_>) -> Vec<(&'static str, String)> {
    let mut out = Vec::with_capacity(4);
    if let Some(topic) = options.apns_topic.filter(|t| !t.is_empty()) {
        out.push(("apns-topic", topic.to_owned()));
    }
    if let Some(kind) = options.apns_push_type {
        out.push(("apns-push-type", kind.to_string()));
    }
    if let Some(at) = options.apns_expiration {
        out.push(("apns-expiration", at.to_string()));
    }
    if let Some(priority) = &options.apns_priority {
        out.push(("apns-priority", priority.to_string()));
    }
    out
}

#[async_trait]
impl PushProvider for ApnsProvider {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, target: &PushTarget, notice: &PushNotice) -> Result<(), PushError> {
        let now = self.clock.now();
        let jwt = self.token.get(now).map_err(PushError::Failed)?;
        let options = NotificationOptions {
            apns_topic: Some(&target.bundle_id),
            // A visible alert, delivered at once; Apple stores it until the transaction's time
            // to live ends, and not beyond (an answer after that would be refused anyway).
            apns_push_type: Some(PushType::Alert),
            apns_priority: Some(Priority::High),
            apns_expiration: Some((now + notice.ttl_ms) / 1000),
            ..Default::default()
        };
        let mut request = self
            .http
            .post(self.url(target)?)
            .bearer_auth(&jwt)
            .json(&payload::apns(notice));
        for (name, value) in headers(&options) {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .map_err(|e| transport::request_failed("APNs", &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| transport::request_failed("APNs", &e))?;
        self.outcome(status, &headers, &body, &jwt)
    }
}
