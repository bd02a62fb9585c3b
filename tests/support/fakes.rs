//! Loopback fakes of the services Tessera calls, each speaking the real provider's wire format
//! (API.md §7) and recording every request it received.
//!
//! - [`TwilioFake`]: Twilio's Messages API (`POST /2010-04-01/Accounts/{sid}/Messages.json`).
//! - [`SmsHookFake`]: the vendor's REST SMS hook (`POST {url}` with JSON, answers `204`).
//! - [`CallbackFake`]: a portal's callback endpoint (API.md §2.5).
//!
//! Each can be scripted to fail: the first N requests, or all of them, get an error status.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use super::{DEADLINE, eventually};

/// One request a fake received, and the status it answered.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub status: u16,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// `(user, password)` from an `Authorization: Basic` header.
    pub fn basic_auth(&self) -> Option<(String, String)> {
        let value = self.header("authorization")?;
        let encoded = value.strip_prefix("Basic ")?;
        let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
        let (user, password) = decoded.split_once(':')?;
        Some((user.to_owned(), password.to_owned()))
    }

    pub fn form(&self) -> Vec<(String, String)> {
        serde_urlencoded::from_bytes(&self.body).unwrap_or_default()
    }

    pub fn form_field(&self, name: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// What the fake answers: status, content type, body.
struct Reply {
    status: u16,
    content_type: &'static str,
    body: String,
}

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            content_type: "application/json",
            body: body.to_string(),
        }
    }

    fn empty(status: u16) -> Self {
        Self {
            status,
            content_type: "text/plain",
            body: String::new(),
        }
    }
}

/// Scripted failures: requests with index < `fail_first` get `fail_status`; requests with index
/// < `stall_first` are answered only after `stall_ms` (to make the caller time out).
#[derive(Default)]
struct Script {
    fail_first: AtomicUsize,
    fail_status: AtomicU16,
    stall_first: AtomicUsize,
    stall_ms: AtomicU64,
}

impl Script {
    fn failure_for(&self, index: usize) -> Option<u16> {
        (index < self.fail_first.load(Ordering::SeqCst))
            .then(|| self.fail_status.load(Ordering::SeqCst))
    }

    fn stall_for(&self, index: usize) -> Option<Duration> {
        (index < self.stall_first.load(Ordering::SeqCst))
            .then(|| Duration::from_millis(self.stall_ms.load(Ordering::SeqCst)))
    }
}

type Respond = dyn Fn(&Recorded, Option<u16>) -> Reply + Send + Sync;

struct State {
    log: Mutex<Vec<Recorded>>,
    script: Script,
    respond: Box<Respond>,
}

/// The HTTP/1.1 server under every fake. Runs on the test's tokio runtime and ends with it.
struct FakeServer {
    addr: SocketAddr,
    state: Arc<State>,
}

impl FakeServer {
    async fn start(respond: Box<Respond>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for a fake");
        let addr = listener.local_addr().expect("fake's address");
        let state = Arc::new(State {
            log: Mutex::new(Vec::new()),
            script: Script::default(),
            respond,
        });
        let accept_state = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&accept_state);
                let service = service_fn(move |req| handle(Arc::clone(&state), req));
                tokio::spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, state }
    }

    fn requests(&self) -> Vec<Recorded> {
        self.state.log.lock().unwrap().clone()
    }

    fn fail(&self, first: usize, status: u16) {
        self.state
            .script
            .fail_status
            .store(status, Ordering::SeqCst);
        self.state.script.fail_first.store(first, Ordering::SeqCst);
    }

    fn stall(&self, first: usize, by: Duration) {
        self.state
            .script
            .stall_ms
            .store(by.as_millis() as u64, Ordering::SeqCst);
        self.state.script.stall_first.store(first, Ordering::SeqCst);
    }

    async fn wait_for(&self, n: usize, what: &str) -> Vec<Recorded> {
        eventually(
            DEADLINE,
            &format!("{n} request(s) at the {what} fake"),
            || {
                let seen = self.requests();
                async move { (seen.len() >= n).then_some(seen) }
            },
        )
        .await
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut recorded = Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        body,
        status: 0,
    };
    let (reply, stall) = {
        let mut log = state.log.lock().unwrap();
        let index = log.len();
        let failure = state.script.failure_for(index);
        let reply = (state.respond)(&recorded, failure);
        recorded.status = reply.status;
        log.push(recorded);
        (reply, state.script.stall_for(index))
    };
    if let Some(stall) = stall {
        tokio::time::sleep(stall).await;
    }
    let response = Response::builder()
        .status(reply.status)
        .header("content-type", reply.content_type)
        .body(Full::new(Bytes::from(reply.body)))
        .expect("a valid fake response");
    Ok(response)
}

// === Twilio ===

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
    server: FakeServer,
}

impl TwilioFake {
    pub const ACCOUNT_SID: &'static str = "AC0123456789abcdef0123456789abcdef";
    pub const AUTH_TOKEN: &'static str = "twilio-auth-token-0123456789";
    pub const FROM: &'static str = "+15550000000";

    pub async fn start() -> Self {
        let server = FakeServer::start(Box::new(twilio_reply)).await;
        Self { server }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// Every request from now on fails with `status` (Twilio-like 500 or 400 bodies).
    pub fn fail_always(&self, status: u16) {
        self.server.fail(usize::MAX, status);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// The messages answered with 201.
    pub fn messages(&self) -> Vec<TwilioMessage> {
        self.requests()
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

    /// Waits until `n` messages were accepted and returns them all.
    pub async fn wait_for_messages(&self, n: usize) -> Vec<TwilioMessage> {
        eventually(
            DEADLINE,
            &format!("{n} message(s) at the Twilio fake"),
            || {
                let seen = self.messages();
                async move { (seen.len() >= n).then_some(seen) }
            },
        )
        .await
    }

    /// Waits until `n` requests arrived, accepted or not.
    pub async fn wait_for_requests(&self, n: usize) -> Vec<Recorded> {
        self.server.wait_for(n, "Twilio").await
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

// === REST SMS hook ===

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
    server: FakeServer,
}

impl SmsHookFake {
    pub const USERNAME: &'static str = "hook-user";
    pub const PASSWORD: &'static str = "hook-password";
    pub const PATH: &'static str = "/sms";

    pub async fn start() -> Self {
        let server = FakeServer::start(Box::new(hook_reply)).await;
        Self { server }
    }

    pub fn url(&self) -> String {
        format!("http://{}{}", self.server.addr, Self::PATH)
    }

    pub fn fail_always(&self, status: u16) {
        self.server.fail(usize::MAX, status);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// The messages answered with 204.
    pub fn messages(&self) -> Vec<HookMessage> {
        self.requests()
            .iter()
            .filter(|r| r.status == 204)
            .filter_map(|r| parse_hook(&r.json()?))
            .collect()
    }

    pub async fn wait_for_messages(&self, n: usize) -> Vec<HookMessage> {
        eventually(
            DEADLINE,
            &format!("{n} message(s) at the SMS hook fake"),
            || {
                let seen = self.messages();
                async move { (seen.len() >= n).then_some(seen) }
            },
        )
        .await
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
        return Reply::empty(404);
    }
    let credentials = Some((
        SmsHookFake::USERNAME.to_owned(),
        SmsHookFake::PASSWORD.to_owned(),
    ));
    if req.basic_auth() != credentials {
        return Reply::empty(401);
    }
    let json_type = req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"));
    if !json_type || req.json().as_ref().and_then(parse_hook).is_none() {
        return Reply::json(400, json!({"error": "bad request"}));
    }
    match failure {
        Some(status) => Reply::json(status, json!({"error": "gateway unavailable"})),
        None => Reply::empty(204),
    }
}

// === portal callbacks ===

/// A portal's callback endpoint: records every delivery, answers 200 unless scripted to fail.
pub struct CallbackFake {
    server: FakeServer,
}

impl CallbackFake {
    pub const USERNAME: &'static str = "cbuser";
    pub const PASSWORD: &'static str = "cbpass";
    pub const SIGNING_SECRET: &'static str = "s3cret";
    pub const PATH: &'static str = "/cb";

    pub async fn start() -> Self {
        let server = FakeServer::start(Box::new(callback_reply)).await;
        Self { server }
    }

    pub fn url(&self) -> String {
        format!("http://{}{}", self.server.addr, Self::PATH)
    }

    /// The first `n` deliveries get `status`.
    pub fn fail_first(&self, n: usize, status: u16) {
        self.server.fail(n, status);
    }

    pub fn fail_always(&self, status: u16) {
        self.server.fail(usize::MAX, status);
    }

    /// The first `n` deliveries are answered (200) only after `by`.
    pub fn stall_first(&self, n: usize, by: Duration) {
        self.server.stall(n, by);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    pub async fn wait_for(&self, n: usize) -> Vec<Recorded> {
        self.server.wait_for(n, "callback").await
    }

    /// Asserts that no request beyond the first `n` arrives within `window`.
    pub async fn assert_no_more_than(&self, n: usize, window: Duration) {
        let deadline = tokio::time::Instant::now() + window;
        while tokio::time::Instant::now() < deadline {
            let seen = self.requests().len();
            assert!(
                seen <= n,
                "expected at most {n} callback requests, got {seen}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn callback_reply(_req: &Recorded, failure: Option<u16>) -> Reply {
    match failure {
        Some(status) => Reply::json(status, json!({"error": "portal unavailable"})),
        None => Reply::json(200, json!({"received": true})),
    }
}
