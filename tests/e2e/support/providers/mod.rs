//! Loopback fakes of the real push providers and of an outgoing proxy, for the binary's push
//! tests (API.md §4 payloads, §7 outbound contracts):
//!
//! - [`fcm::FcmFake`]: Google's OAuth token endpoint and FCM HTTP v1 `messages:send`.
//! - [`apns::ApnsFake`]: Apple's `POST /3/device/{token}` over h2c, verifying the ES256 provider
//!   token.
//! - [`proxy::ForwardProxy`]: a forward proxy that records `Proxy-Authorization` and forwards what it
//!   receives (absolute-form HTTP/1.1 or h2c) to the fakes.
//! - [`world`]: the config snippets and the portal / help desk / phone side of a test.
//!
//! Every fake checks the request against the provider's contract and writes what it found wrong
//! into [`Problems`], so a test fails with the exact mismatch rather than with a timeout. Pushes a
//! provider accepted are handed to the test through an [`Inbox`]: the simulated phone reacts to
//! what it received, as a real app would.
//!
//! The keys are the engine's test-only ones (`engine/src/outbound/push/testdata/`).

pub mod apns;
pub mod fcm;
pub mod proxy;
pub mod world;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{HeaderMap, Request, Response, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::Value;
use tokio::sync::mpsc;

use super::DEADLINE;

/// A file of the engine's push test data.
pub fn testdata(name: &str) -> String {
    format!(
        "{}/engine/src/outbound/push/testdata/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Wall-clock seconds since the epoch (what JWT `iat` and `apns-expiration` are in).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// One request a loopback server received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// As received: `/path?q` (origin form), or `http://host:port/path` (absolute form, and
    /// always for HTTP/2, whose `:scheme` and `:authority` make it absolute).
    pub uri: String,
    pub path: String,
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Which accepted TCP connection (0-based) it came on.
    pub connection: usize,
    /// When it arrived (its body read).
    pub at: tokio::time::Instant,
    /// The status it was answered with (0 while unanswered).
    pub status: u16,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
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
}

/// What a server answers.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Answer {
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Bytes::from(body.to_string()),
        }
    }

    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// Decides the answer to a request (asynchronously: the proxy forwards before it answers).
pub type Handler = dyn Fn(Recorded) -> BoxFuture<'static, Answer> + Send + Sync;

/// What a fake found wrong in the requests it received, for the test to assert empty.
#[derive(Default)]
pub struct Problems(Mutex<Vec<String>>);

impl Problems {
    pub fn add(&self, problem: String) {
        self.0.lock().unwrap().push(problem);
    }

    pub fn list(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// What a fake delivered, handed to the test in arrival order.
pub struct Inbox<T> {
    tx: mpsc::UnboundedSender<T>,
    rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<T>>,
}

impl<T> Default for Inbox<T> {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            tx,
            rx: tokio::sync::Mutex::new(rx),
        }
    }
}

impl<T> Inbox<T> {
    pub fn put(&self, item: T) {
        let _ = self.tx.send(item);
    }

    /// The next item, waiting at most [`DEADLINE`]; `None` when nothing came.
    pub async fn next(&self) -> Option<T> {
        let mut rx = self.rx.lock().await;
        tokio::time::timeout(DEADLINE, rx.recv()).await.ok()?
    }

    /// An item that is already there, without waiting.
    pub async fn try_next(&self) -> Option<T> {
        self.rx.lock().await.try_recv().ok()
    }
}

/// A loopback server speaking HTTP/1.1 and h2c (prior knowledge) on `127.0.0.1:0`, recording
/// every request. Runs on the test's runtime and stops with it (or when dropped).
pub struct LoopbackServer {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Recorded>>>,
    connections: Arc<AtomicUsize>,
    accept: tokio::task::JoinHandle<()>,
}

impl LoopbackServer {
    pub async fn start(handler: Arc<Handler>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let log = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let accept = tokio::spawn({
            let (log, connections) = (Arc::clone(&log), Arc::clone(&connections));
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let connection = connections.fetch_add(1, Ordering::SeqCst);
                    let (log, handler) = (Arc::clone(&log), Arc::clone(&handler));
                    let service = service_fn(move |req| {
                        handle(req, connection, Arc::clone(&log), Arc::clone(&handler))
                    });
                    tokio::spawn(async move {
                        // A client hanging up is not the test's failure.
                        let _ = auto::Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            }
        });
        Self {
            addr,
            log,
            connections,
            accept,
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn handle(
    req: Request<Incoming>,
    connection: usize,
    log: Arc<Mutex<Vec<Recorded>>>,
    handler: Arc<Handler>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let recorded = Recorded {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        path: parts.uri.path().to_owned(),
        version: parts.version,
        headers: parts.headers,
        body,
        connection,
        at: tokio::time::Instant::now(),
        status: 0,
    };
    let index = {
        let mut log = log.lock().unwrap();
        log.push(recorded.clone());
        log.len() - 1
    };
    let answer = handler(recorded).await;
    log.lock().unwrap()[index].status = answer.status;
    let mut resp = Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        resp = resp.header(name, value);
    }
    Ok(resp
        .body(Full::new(answer.body))
        .expect("a valid fake answer"))
}
