//! A loopback HTTP server for outbound tests: it records every request and answers what the test
//! tells it to, so each gateway is tested against its real wire format over a real socket.
//!
//! It speaks HTTP/1.1 and h2c (prior knowledge) on `127.0.0.1:0`, so push-provider fakes can reuse
//! it. Use real (not paused) time with it: paused time auto-advances while a test waits on a
//! socket, which turns every timeout into an instant one.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// How long [`TestServer::wait_for`] waits before failing the test.
const WAIT: Duration = Duration::from_secs(10);

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// As on the request line: `/path?q` (origin form) or `http://host/path` (through a proxy).
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }

    /// The `application/x-www-form-urlencoded` fields, in order.
    pub fn form(&self) -> Vec<(String, String)> {
        serde_urlencoded::from_bytes(&self.body).expect("request body is a form")
    }

    /// `(user, password)` from `Authorization: Basic ...`.
    pub fn basic_auth(&self) -> Option<(String, String)> {
        use base64::Engine as _;
        let encoded = self.header("authorization")?.strip_prefix("Basic ")?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, pass) = text.split_once(':')?;
        Some((user.to_owned(), pass.to_owned()))
    }
}

/// What to answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// Wait this long before answering (to provoke client timeouts).
    pub delay: Option<Duration>,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
            delay: None,
        }
    }

    pub fn text(status: u16, body: &str) -> Self {
        Self {
            body: Bytes::copy_from_slice(body.as_bytes()),
            ..Self::status(status)
        }
        .header("content-type", "text/plain")
    }

    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self {
            body: Bytes::from(body.to_string()),
            ..Self::status(status)
        }
        .header("content-type", "application/json")
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
}

/// Decides the answer from the request and its 0-based index (so "fail twice, then succeed" is
/// `|_, n| if n < 2 { 500 } else { 200 }`).
type Responder = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

#[derive(Default)]
struct Log {
    requests: Mutex<Vec<Recorded>>,
    arrived: Notify,
}

/// A running loopback server; stops accepting when dropped.
pub struct TestServer {
    addr: SocketAddr,
    log: Arc<Log>,
    accept: JoinHandle<()>,
}

impl TestServer {
    pub async fn start<F>(respond: F) -> Self
    where
        F: Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let log = Arc::new(Log::default());
        let respond: Arc<Responder> = Arc::new(respond);
        let accept = tokio::spawn({
            let log = log.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let (log, respond) = (log.clone(), respond.clone());
                    tokio::spawn(async move {
                        let service =
                            service_fn(move |req| handle(req, log.clone(), respond.clone()));
                        // A client hanging up mid-request is not a test failure here.
                        let _ = auto::Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            }
        });
        Self { addr, log, accept }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Everything received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.requests.lock().clone()
    }

    /// Waits (real time, up to 10 s) until at least `n` requests have arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Recorded> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            // Register interest before looking, so an arrival in between is not missed.
            let arrived = self.log.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let seen = self.requests();
            if seen.len() >= n {
                return seen;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("expected {n} requests, got {}", seen.len());
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn handle(
    req: Request<Incoming>,
    log: Arc<Log>,
    respond: Arc<Responder>,
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
        headers: parts.headers,
        body,
    };
    let index = {
        let mut requests = log.requests.lock();
        requests.push(recorded.clone());
        requests.len() - 1
    };
    log.arrived.notify_waiters();
    let reply = respond(&recorded, index);
    if let Some(delay) = reply.delay {
        tokio::time::sleep(delay).await;
    }
    let mut resp = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        resp = resp.header(name, value);
    }
    Ok(resp.body(Full::new(reply.body)).expect("valid test reply"))
}
