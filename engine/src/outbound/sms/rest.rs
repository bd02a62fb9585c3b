//! The vendor's REST SMS hook: `POST {url}` with JSON `{"phone_number", "message",
//! "verification_code", "sender_id"}` and optional HTTP Basic. Any 2xx (the hook answers `204`)
//! means sent.

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use super::{SmsGateway, SmsMessage};
use crate::outbound::http::describe;

/// Deliberately not `Debug`: it holds the hook's password.
pub struct RestGateway {
    name: String,
    /// Parsed once: a send clones it instead of parsing the text again. `Err` keeps the
    /// reason, reported by every send (config validation makes it unreachable).
    url: Result<reqwest::Url, String>,
    /// `(username, password)` when a username is configured.
    basic: Option<(String, String)>,
    timeout: Duration,
    http: reqwest::Client,
}

/// The wire body. `sender_id` is `null` (not absent) when there is none, as the hook expects.
#[derive(Serialize)]
struct Body<'a> {
    phone_number: &'a str,
    message: &'a str,
    verification_code: &'a str,
    sender_id: Option<&'a str>,
}

impl RestGateway {
    /// Takes settings `tessera_config` validated (`url` an http(s) URL): building cannot fail.
    pub fn from_config(gw: &tessera_config::SmsGateway, http: reqwest::Client) -> Self {
        Self {
            name: gw.name.clone(),
            url: reqwest::Url::parse(&gw.url)
                .map_err(|e| format!("SMS hook URL is not a URL: {e}")),
            basic: (!gw.username.is_empty()).then(|| (gw.username.clone(), gw.password.clone())),
            timeout: gw.timeout,
            http,
        }
    }
}

#[async_trait]
impl SmsGateway for RestGateway {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, msg: &SmsMessage) -> Result<(), String> {
        let body = Body {
            phone_number: &msg.to,
            message: &msg.body,
            verification_code: &msg.code,
            sender_id: msg.sender_id.as_deref(),
        };
        let url = self.url.clone()?;
        let mut req = self.http.post(url).timeout(self.timeout).json(&body);
        if let Some((user, password)) = &self.basic {
            req = req.basic_auth(user, Some(password));
        }
        let resp = req.send().await.map_err(|e| describe(&e))?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else {
            // The hook's own body is not reported: it is free-form and may echo the message.
            Err(format!("SMS hook answered {}", status.as_u16()))
        }
    }
}
