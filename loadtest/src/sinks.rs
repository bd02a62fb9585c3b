//! The gateways the engine under test sends to, played by the harness: the vendor's REST SMS
//! hook (`POST /sms`, JSON `{"phone_number", "message", "verification_code", "sender_id"}`,
//! answers `204`) and the legacy FCM API (`POST /fcm`, `{"to", "data": {"content"}}`, answers
//! `200 {"results": [{"message_id"}]}`). What arrives is handed to the waiting flow through a
//! [`Mailbox`]: SMS codes by phone number, pushes by transaction id.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpListener;

use crate::mailbox::Mailbox;

/// The path of the REST SMS hook.
pub const SMS_PATH: &str = "/sms";
/// The path of the FCM legacy endpoint.
pub const FCM_PATH: &str = "/fcm";
/// The server key the FCM sink expects (`Authorization: key=...`).
pub const FCM_SERVER_KEY: &str = "loadtest";

/// Both sinks, on one listener.
pub struct Sinks {
    pub addr: SocketAddr,
    /// SMS codes by phone number.
    pub sms: Arc<Mailbox>,
    /// Pushes by transaction id (value: the profile id).
    pub push: Arc<Mailbox>,
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
    /// Binds `addr` and serves on the current tokio runtime until it shuts down.
    pub async fn start(addr: SocketAddr) -> std::io::Result<Arc<Self>> {
        let listener = TcpListener::bind(addr).await?;
        let sinks = Arc::new(Self {
            addr: listener.local_addr()?,
            sms: Mailbox::new(false),
            push: Mailbox::new(true),
        });
        let serving = Arc::clone(&sinks);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let sinks = Arc::clone(&serving);
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let sinks = Arc::clone(&sinks);
                        async move { Ok::<_, Infallible>(sinks.handle(req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Ok(sinks)
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

    async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let route = (req.method().clone(), req.uri().path().to_owned());
        let Ok(body) = req.into_body().collect().await.map(|b| b.to_bytes()) else {
            return answer(StatusCode::BAD_REQUEST, "");
        };
        match (route.0, route.1.as_str()) {
            (Method::POST, SMS_PATH) => match serde_json::from_slice::<SmsHook>(&body) {
                Ok(sms) => {
                    self.sms.deliver(sms.phone_number, sms.verification_code);
                    answer(StatusCode::NO_CONTENT, "")
                }
                Err(_) => answer(StatusCode::BAD_REQUEST, ""),
            },
            (Method::POST, FCM_PATH) => match og_content(&body) {
                Some(og) => {
                    self.push.deliver(og.og_transaction_id, og.og_profile_id);
                    answer(
                        StatusCode::OK,
                        r#"{"success":1,"failure":0,"results":[{"message_id":"0:loadtest"}]}"#,
                    )
                }
                None => answer(StatusCode::BAD_REQUEST, ""),
            },
            _ => answer(StatusCode::NOT_FOUND, ""),
        }
    }
}

fn og_content(body: &[u8]) -> Option<OgContent> {
    let msg: FcmLegacy = serde_json::from_slice(body).ok()?;
    serde_json::from_str(&msg.data.content).ok()
}

fn answer(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = status;
    if !body.is_empty() {
        resp.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
    }
    resp
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
