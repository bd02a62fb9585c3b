//! Twilio's Messages API (the default SMS gateway): `POST
//! {base_url}/2010-04-01/Accounts/{account_sid}/Messages.json`, a form, HTTP Basic
//! `account_sid:auth_token`.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::{SmsGateway, SmsMessage};
use crate::outbound::http::describe;

/// Twilio's own error messages are short; anything longer is cut so a misbehaving proxy's HTML
/// page does not end up in the log.
const MAX_ERROR_TEXT: usize = 200;

/// Deliberately not `Debug`: it holds the auth token.
pub struct TwilioGateway {
    name: String,
    /// The full Messages.json URL.
    endpoint: String,
    account_sid: String,
    auth_token: String,
    from: Option<String>,
    messaging_service_sid: Option<String>,
    timeout: Duration,
    http: reqwest::Client,
}

/// The part of Twilio's error body worth reporting (`{"code": 21211, "message": "...", ...}`).
#[derive(Deserialize)]
struct TwilioError {
    code: Option<u64>,
    message: Option<String>,
}

impl TwilioGateway {
    /// Takes settings `tessera_config` validated (`base_url` an http(s) URL, `account_sid`
    /// alphanumeric, `auth_token` present, exactly one of `from` and `messaging_service_sid`):
    /// every rule about them lives there, so building cannot fail.
    pub fn from_config(gw: &tessera_config::SmsGateway, http: reqwest::Client) -> Self {
        let endpoint = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            gw.base_url.trim_end_matches('/'),
            gw.account_sid
        );
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Self {
            name: gw.name.clone(),
            endpoint,
            account_sid: gw.account_sid.clone(),
            auth_token: gw.auth_token.clone(),
            from: non_empty(&gw.from),
            messaging_service_sid: non_empty(&gw.messaging_service_sid),
            timeout: gw.timeout,
            http,
        }
    }

    /// The form fields. `From` is the message's sender id when it has one (an alphanumeric sender
    /// id is Twilio's `From`), else the configured number; without either, the Messaging Service
    /// picks the sender.
    fn form<'a>(&'a self, msg: &'a SmsMessage) -> Vec<(&'static str, &'a str)> {
        let mut form = vec![("To", msg.to.as_str())];
        match (
            msg.sender_id.as_deref().or(self.from.as_deref()),
            &self.messaging_service_sid,
        ) {
            (Some(from), _) => form.push(("From", from)),
            (None, Some(service)) => form.push(("MessagingServiceSid", service.as_str())),
            // Validation requires one of them.
            (None, None) => {}
        }
        form.push(("Body", msg.body.as_str()));
        form
    }
}

#[async_trait]
impl SmsGateway for TwilioGateway {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, msg: &SmsMessage) -> Result<(), String> {
        let resp = self
            .http
            .post(&self.endpoint)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .timeout(self.timeout)
            .form(&self.form(msg))
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        // Only Twilio's code and message are reported, never the request (token, body, code).
        // Twilio's messages quote the recipient ("The 'To' number ... is not valid"): the number
        // is masked so the log holds no personal data.
        let text = |m: Option<String>| {
            let m = m.unwrap_or_default().replace(&msg.to, "[recipient]");
            truncate(&m).to_owned()
        };
        let detail = match resp.json::<TwilioError>().await {
            Ok(TwilioError {
                code: Some(code),
                message,
            }) => format!(": {code} {}", text(message)),
            Ok(TwilioError {
                code: None,
                message: Some(message),
            }) => format!(": {}", text(Some(message))),
            _ => String::new(),
        };
        Err(format!("twilio answered {}{detail}", status.as_u16()))
    }
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(MAX_ERROR_TEXT) {
        Some((cut, _)) => &s[..cut],
        None => s,
    }
}
