//! The gateways the engine under test sends to, played by the harness: the vendor's REST SMS
//! hook (`POST /sms`, JSON `{"phone_number", "message", "verification_code", "sender_id"}`,
//! answers `204`) and the legacy FCM API (`POST /fcm`, `{"to", "data": {"content"}}`, answers
//! `200 {"results": [{"message_id"}]}`). What arrives is handed to the waiting flow through a
//! [`Mailbox`]: SMS codes by phone number, pushes by transaction id.

use std::net::SocketAddr;
use std::sync::Arc;

use serde::Deserialize;
use tessera_testkit::http::{LoopbackServer, Recorded, Reply};

use crate::mailbox::Mailbox;

/// The path of the REST SMS hook.
pub const SMS_PATH: &str = "/sms";
/// The path of the FCM legacy endpoint.
pub const FCM_PATH: &str = "/fcm";
/// The server key the FCM sink expects (`Authorization: key=...`).
pub const FCM_SERVER_KEY: &str = "loadtest";

/// Both sinks, on one listener: the test kit's loopback server, keeping no requests.
pub struct Sinks {
    pub addr: SocketAddr,
    /// SMS codes by phone number.
    pub sms: Arc<Mailbox>,
    /// Pushes by transaction id (value: the profile id).
    pub push: Arc<Mailbox>,
    /// Serves until the sinks are dropped.
    _server: LoopbackServer,
}

#[derive(Deserialize)]
struct SmsHook {
    phone_number: String,
    verification_code: String,
}

#[derive(Deserialize)]
struct FcmLegacy {
    data: FcmData,
}

#[derive(Deserialize)]
struct FcmData {
    /// A JSON string holding the `og_*` keys (API.md §4).
    content: String,
}

#[derive(Deserialize)]
struct OgContent {
    og_transaction_id: String,
    #[serde(default)]
    og_profile_id: String,
}

impl Sinks {
    /// Binds `addr` and serves on the current tokio runtime until dropped.
    pub async fn start(addr: SocketAddr) -> std::io::Result<Arc<Self>> {
        let (sms, push) = (Mailbox::new(false), Mailbox::new(true));
        let server = LoopbackServer::serve_unrecorded(addr, {
            let (sms, push) = (Arc::clone(&sms), Arc::clone(&push));
            move |req, _| answer(req, &sms, &push)
        })
        .await?;
        Ok(Arc::new(Self {
            addr: server.addr(),
            sms,
            push,
            _server: server,
        }))
    }

    /// Everything received so far.
    pub fn counts(&self) -> crate::report::SinkCounts {
        crate::report::SinkCounts {
            sms: self.sms.received(),
            push: self.push.received(),
            unclaimed: self.sms.unclaimed() + self.push.unclaimed(),
        }
    }

    /// `http://addr/sms`.
    pub fn sms_url(&self) -> String {
        format!("http://{}{SMS_PATH}", self.addr)
    }

    /// `http://addr/fcm`.
    pub fn fcm_url(&self) -> String {
        format!("http://{}{FCM_PATH}", self.addr)
    }
}

/// Hands what arrived to the waiting flow and answers as the gateway would.
fn answer(req: &Recorded, sms: &Mailbox, push: &Mailbox) -> Reply {
    match (req.method.as_str(), req.path.as_str()) {
        ("POST", SMS_PATH) => match serde_json::from_slice::<SmsHook>(&req.body) {
            Ok(hook) => {
                sms.deliver(hook.phone_number, hook.verification_code);
                Reply::status(204)
            }
            Err(_) => Reply::status(400),
        },
        ("POST", FCM_PATH) => match og_content(&req.body) {
            Some(og) => {
                push.deliver(og.og_transaction_id, og.og_profile_id);
                Reply::json(
                    200,
                    serde_json::json!({"success": 1, "failure": 0, "results": [{"message_id": "0:loadtest"}]}),
                )
            }
            None => Reply::status(400),
        },
        _ => Reply::status(404),
    }
}

fn og_content(body: &[u8]) -> Option<OgContent> {
    let msg: FcmLegacy = serde_json::from_slice(body).ok()?;
    serde_json::from_str(&msg.data.content).ok()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn sms_and_push_reach_their_mailboxes() {
        let sinks = Sinks::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let http = reqwest::Client::new();
        let claim = sinks.sms.expect("+31612345678");
        let resp = http
            .post(sinks.sms_url())
            .json(&serde_json::json!({
                "phone_number": "+31612345678",
                "message": "Your code is 123456",
                "verification_code": "123456",
                "sender_id": null,
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 204);
        let code = claim.recv(Duration::from_secs(1)).await.unwrap();
        assert_eq!(code.value, "123456");

        let content = r#"{"og_transaction_id":"t-1","og_profile_id":"P1","og_message":"Log in?"}"#;
        let resp = http
            .post(sinks.fcm_url())
            .header("authorization", "key=loadtest")
            .json(&serde_json::json!({"to": "tok", "data": {"content": content}}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert!(body["results"][0]["error"].is_null());
        let push = sinks.push.expect("t-1").recv(Duration::ZERO).await.unwrap();
        assert_eq!(push.value, "P1");
    }
}
