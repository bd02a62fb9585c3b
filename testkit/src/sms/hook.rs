//! The vendor's REST SMS hook (`POST {url}` with JSON, answers `204`).

use std::time::Duration;

use serde_json::{Value, json};
use tessera_config::{SmsGateway, SmsGatewayKind};

use crate::http::{Recorded, Reply};
use crate::script::ScriptedServer;

/// One message the hook accepted: the JSON fields of the vendor's hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookMessage {
    pub phone_number: String,
    pub message: String,
    pub verification_code: String,
    /// `None` when the field was `null`.
    pub sender_id: Option<String>,
}

/// The vendor's REST SMS hook: `POST /sms` with JSON `{"phone_number", "message",
/// "verification_code", "sender_id"}` and Basic credentials; answers `204`.
pub struct SmsHookFake {
    server: ScriptedServer,
}

impl SmsHookFake {
    pub const USERNAME: &'static str = "hook-user";
    pub const PASSWORD: &'static str = "hook-password";
    pub const PATH: &'static str = "/sms";

    pub async fn start() -> Self {
        let server = ScriptedServer::start(hook_reply).await;
        Self { server }
    }

    pub fn url(&self) -> String {
        self.server.server.url(Self::PATH)
    }

    /// A `kind = "rest"` gateway called `name` pointing here, with the hook's Basic credentials.
    pub fn gateway(&self, name: &str) -> SmsGateway {
        SmsGateway {
            name: name.into(),
            kind: SmsGatewayKind::Rest,
            url: self.url(),
            username: Self::USERNAME.into(),
            password: Self::PASSWORD.into(),
            timeout: Duration::from_secs(2),
            ..Default::default()
        }
    }

    pub fn fail_always(&self, status: u16) {
        self.server.script.fail(usize::MAX, status);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.server.requests()
    }

    /// The messages answered with 204.
    pub fn messages(&self) -> Vec<HookMessage> {
        messages(&self.requests())
    }

    pub async fn wait_for_messages(&self, n: usize) -> Vec<HookMessage> {
        self.server.wait_until(n, "SMS hook", messages).await
    }
}

/// The hook's body: every field present, the first three strings, `sender_id` a string or null.
fn parse_hook(v: &Value) -> Option<HookMessage> {
    let obj = v.as_object()?;
    let text = |k: &str| obj.get(k)?.as_str().map(str::to_owned);
    let sender_id = match obj.get("sender_id")? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        _ => return None,
    };
    Some(HookMessage {
        phone_number: text("phone_number")?,
        message: text("message")?,
        verification_code: text("verification_code")?,
        sender_id,
    })
}

fn hook_reply(req: &Recorded, failure: Option<u16>) -> Reply {
    if req.method != "POST" || req.path != SmsHookFake::PATH {
        return Reply::status(404);
    }
    let credentials = Some((
        SmsHookFake::USERNAME.to_owned(),
        SmsHookFake::PASSWORD.to_owned(),
    ));
    if req.basic_auth() != credentials {
        return Reply::status(401);
    }
    let json_type = req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"));
    if !json_type || req.try_json().as_ref().and_then(parse_hook).is_none() {
        return Reply::json(400, json!({"error": "bad request"}));
    }
    match failure {
        Some(status) => Reply::json(status, json!({"error": "gateway unavailable"})),
        None => Reply::status(204),
    }
}

/// The messages in `requests` answered with 204.
fn messages(requests: &[Recorded]) -> Vec<HookMessage> {
    requests
        .iter()
        .filter(|r| r.status == 204)
        .filter_map(|r| parse_hook(&r.try_json()?))
        .collect()
}
