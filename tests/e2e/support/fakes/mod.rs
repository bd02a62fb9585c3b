//! Loopback fakes of the services Tessera calls, each speaking the real provider's wire format
//! (API.md §7) and recording every request it received.
//!
//! - [`TwilioFake`]: Twilio's Messages API (`POST /2010-04-01/Accounts/{sid}/Messages.json`).
//! - [`SmsHookFake`]: the vendor's REST SMS hook (`POST {url}` with JSON, answers `204`).
//! - [`CallbackFake`]: a portal's callback endpoint (API.md §2.5).
//!
//! Each can be scripted to fail: the first N requests, or all of them, get an error status.

mod callback;
mod hook;
mod twilio;

pub use callback::CallbackFake;
pub use hook::SmsHookFake;
pub use twilio::TwilioFake;

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
use serde_json::Value;

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
    /// When the request arrived (its body read).
    pub at: tokio::time::Instant,
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
pub(super) struct Reply {
    status: u16,
    content_type: &'static str,
    body: String,
}

impl Reply {
    pub(super) fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            content_type: "application/json",
            body: body.to_string(),
        }
    }

    pub(super) fn empty(status: u16) -> Self {
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

pub(super) type Respond = dyn Fn(&Recorded, Option<u16>) -> Reply + Send + Sync;

struct State {
    log: Mutex<Vec<Recorded>>,
    script: Script,
    respond: Box<Respond>,
}

/// The HTTP/1.1 server under every fake. Runs on the test's tokio runtime and ends with it.
pub(super) struct FakeServer {
    pub(super) addr: SocketAddr,
    state: Arc<State>,
}

impl FakeServer {
    pub(super) async fn start(respond: Box<Respond>) -> Self {
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

    pub(super) fn requests(&self) -> Vec<Recorded> {
        self.state.log.lock().unwrap().clone()
    }

    pub(super) fn fail(&self, first: usize, status: u16) {
        self.state
            .script
            .fail_status
            .store(status, Ordering::SeqCst);
        self.state.script.fail_first.store(first, Ordering::SeqCst);
    }

    pub(super) fn stall(&self, first: usize, by: Duration) {
        self.state
            .script
            .stall_ms
            .store(by.as_millis() as u64, Ordering::SeqCst);
        self.state.script.stall_first.store(first, Ordering::SeqCst);
    }

    pub(super) async fn wait_for(&self, n: usize, what: &str) -> Vec<Recorded> {
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
        at: tokio::time::Instant::now(),
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
