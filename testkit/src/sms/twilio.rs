//! Twilio's Messages API (`POST /2010-04-01/Accounts/{sid}/Messages.json`).

use std::time::Duration;

use serde_json::json;
use tessera_config::{SmsGateway, SmsGatewayKind};

use crate::http::{Recorded, Reply};
use crate::script::ScriptedServer;

/// One message Twilio accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwilioMessage {
    pub to: String,
    pub from: Option<String>,
    pub messaging_service_sid: Option<String>,
    pub body: String,
}

/// Twilio's Messages API: checks the account in the path, Basic `sid:token`, the form fields, and
/// answers `201` with a message resource, or Twilio's error bodies.
pub struct TwilioFake {
    server: ScriptedServer,
}

impl TwilioFake {
    pub const ACCOUNT_SID: &'static str = "AC0123456789abcdef0123456789abcdef";
    pub const AUTH_TOKEN: &'static str = "twilio-auth-token-0123456789";
    pub const FROM: &'static str = "+15550000000";

    pub async fn start() -> Self {
        let server = ScriptedServer::start(twilio_reply).await;
        Self { server }
    }

    pub fn base_url(&self) -> String {
        self.server.server.base_url()
    }

    /// A `kind = "twilio"` gateway called `name` pointing here, with the fake's credentials.
    pub fn gateway(&self, name: &str) -> SmsGateway {
        SmsGateway {
            name: name.into(),
            kind: SmsGatewayKind::Twilio,
            base_url: self.base_url(),
            account_sid: Self::ACCOUNT_SID.into(),
            auth_token: Self::AUTH_TOKEN.into(),
            from: Self::FROM.into(),
            timeout: Duration::from_secs(2),
            ..Default::default()
        }
    }

    /// Every request from now on fails with `status` (Twilio-like 500 or 400 bodies).
    pub fn fail_always(&self, status: u16) {
        self.server.script.fail(usize::MAX, status);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.server.requests()
    }

    /// The messages answered with 201.
    pub fn messages(&self) -> Vec<TwilioMessage> {
        messages(&self.requests())
    }

    /// Waits until `n` messages were accepted and returns them all.
    pub async fn wait_for_messages(&self, n: usize) -> Vec<TwilioMessage> {
        self.server.wait_until(n, "Twilio", messages).await
    }

    /// Waits until `n` requests arrived, accepted or not.
    pub async fn wait_for_requests(&self, n: usize) -> Vec<Recorded> {
        self.server.server.wait_for(n).await
    }
}

fn twilio_error(status: u16, code: u32, message: &str) -> Reply {
    Reply::json(
        status,
        json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status,
        }),
    )
}

fn twilio_reply(req: &Recorded, failure: Option<u16>) -> Reply {
    let expected_path = format!(
        "/2010-04-01/Accounts/{}/Messages.json",
        TwilioFake::ACCOUNT_SID
    );
    if req.method != "POST" || req.path != expected_path {
        return twilio_error(404, 20404, "The requested resource was not found");
    }
    let credentials = Some((
        TwilioFake::ACCOUNT_SID.to_owned(),
        TwilioFake::AUTH_TOKEN.to_owned(),
    ));
    if req.basic_auth() != credentials {
        return twilio_error(401, 20003, "Authenticate");
    }
    let form_type = req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let (to, body) = (req.form_field("To"), req.form_field("Body"));
    let (from, service) = (
        req.form_field("From"),
        req.form_field("MessagingServiceSid"),
    );
    if !form_type || to.is_none() || body.is_none() {
        return twilio_error(400, 21604, "A 'To' phone number and a 'Body' are required.");
    }
    if from.is_none() && service.is_none() {
        return twilio_error(
            400,
            21603,
            "A 'From' or 'MessagingServiceSid' parameter is required to send a message",
        );
    }
    match failure {
        Some(400) => {
            return twilio_error(400, 21211, "The 'To' number is not a valid phone number.");
        }
        Some(status) => return twilio_error(status, 20500, "Internal Server Error"),
        None => {}
    }
    let sid = format!("SM{:032x}", rand::random::<u128>());
    Reply::json(
        201,
        json!({
            "account_sid": TwilioFake::ACCOUNT_SID,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
            "date_sent": null,
            "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
            "direction": "outbound-api",
            "error_code": null,
            "error_message": null,
            "from": from,
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": "1",
            "price": null,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {
                "media": format!("/2010-04-01/Accounts/{}/Messages/{sid}/Media.json", TwilioFake::ACCOUNT_SID)
            },
            "to": to,
            "uri": format!("/2010-04-01/Accounts/{}/Messages/{sid}.json", TwilioFake::ACCOUNT_SID),
        }),
    )
}

/// The messages in `requests` answered with 201.
fn messages(requests: &[Recorded]) -> Vec<TwilioMessage> {
    requests
        .iter()
        .filter(|r| r.status == 201)
        .map(|r| TwilioMessage {
            to: r.form_field("To").unwrap_or_default(),
            from: r.form_field("From"),
            messaging_service_sid: r.form_field("MessagingServiceSid"),
            body: r.form_field("Body").unwrap_or_default(),
        })
        .collect()
}
