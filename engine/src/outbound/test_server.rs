//! A loopback HTTP server for outbound tests: it records every request and answers what the test
//! tells it to, so each gateway is tested against its real wire format over a real socket.
//!
//! It speaks HTTP/1.1 and h2c (prior knowledge) on `127.0.0.1:0`, or HTTP/1.1 and h2 over TLS
//! with a test certificate ([`TestServer::start_tls`], trusted through [`TEST_CA`]), so
//! push-provider fakes can reuse it; [`ConnectProxy`] is a forward proxy that tunnels `CONNECT`.
//! Use real (not paused) time with it: paused time auto-advances while a test waits on a
//! socket, which turns every timeout into an instant one.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// How long [`TestServer::wait_for`] waits before failing the test.
const WAIT: Duration = Duration::from_secs(10);

/// Path of the PEM CA that signed [`TestServer::start_tls`]'s certificate (for `ca_file`).
pub const TEST_CA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/src/outbound/push/testdata/ca.pem"
);
const TLS_CERT: &[u8] = include_bytes!("push/testdata/server.pem");
const TLS_KEY: &[u8] = include_bytes!("push/testdata/server.key");

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// As on the request line: `/path?q` (origin form) or `http://host/path` (through a proxy).
    pub uri: String,
    /// `HTTP/1.1` or `HTTP/2.0`.
    pub version: hyper::Version,
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
    /// TCP connections accepted.
    connections: AtomicUsize,
}

/// A running loopback server; stops accepting when dropped.
pub struct TestServer {
    addr: SocketAddr,
    scheme: &'static str,
    log: Arc<Log>,
    accept: JoinHandle<()>,
}

impl TestServer {
    /// Plain HTTP/1.1 and h2c.
    pub async fn start<F>(respond: F) -> Self
    where
        F: Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    {
        Self::launch(Arc::new(respond), None).await
    }

    /// HTTP/1.1 and h2 (ALPN) over TLS, with a certificate for `127.0.0.1` and `localhost`
    /// signed by [`TEST_CA`].
    pub async fn start_tls<F>(respond: F) -> Self
    where
        F: Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    {
        Self::launch(Arc::new(respond), Some(tls_acceptor())).await
    }

    async fn launch(respond: Arc<Responder>, tls: Option<TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let log = Arc::new(Log::default());
        let scheme = if tls.is_some() { "https" } else { "http" };
        let accept = tokio::spawn({
            let log = log.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    log.connections.fetch_add(1, Ordering::SeqCst);
                    let (log, respond, tls) = (log.clone(), respond.clone(), tls.clone());
                    tokio::spawn(async move {
                        let service =
                            service_fn(move |req| handle(req, log.clone(), respond.clone()));
                        let server = auto::Builder::new(TokioExecutor::new());
                        // A client hanging up mid-request is not a test failure here.
                        match tls {
                            None => {
                                let _ =
                                    server.serve_connection(TokioIo::new(stream), service).await;
                            }
                            Some(tls) => {
                                let Ok(stream) = tls.accept(stream).await else {
                                    return;
                                };
                                let _ =
                                    server.serve_connection(TokioIo::new(stream), service).await;
                            }
                        }
                    });
                }
            }
        });
        Self {
            addr,
            scheme,
            log,
            accept,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port><path>` (`https://` for [`TestServer::start_tls`]).
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.log.connections.load(Ordering::SeqCst)
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
        version: parts.version,
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

fn tls_acceptor() -> TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let certs = CertificateDer::pem_slice_iter(TLS_CERT)
        .collect::<Result<Vec<_>, _>>()
        .expect("test certificate");
    let key = PrivateKeyDer::from_pem_slice(TLS_KEY).expect("test key");
    // Name the provider: with more than one rustls backend compiled in, there is no default.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("test certificate and key");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    TlsAcceptor::from(Arc::new(config))
}

// === impl ConnectProxy ===

/// A forward proxy: `CONNECT host:port` is answered `200` and tunnelled to the target (how
/// clients reach `https` targets through a proxy); any other request is answered by the
/// responder, standing in for the target (how plain-`http` requests reach a proxy, in absolute
/// form). Every request line and its headers (`Proxy-Authorization`) is recorded.
pub struct ConnectProxy {
    server: TestServer,
}

impl ConnectProxy {
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
                    log.connections.fetch_add(1, Ordering::SeqCst);
                    let (log, respond) = (log.clone(), respond.clone());
                    tokio::spawn(async move {
                        let service = service_fn(move |req: Request<Incoming>| {
                            let (log, respond) = (log.clone(), respond.clone());
                            async move {
                                if req.method() == hyper::Method::CONNECT {
                                    tunnel(req, &log).await
                                } else {
                                    handle(req, log, respond).await
                                }
                            }
                        });
                        // `auto`, so a client speaking h2c to the proxy is answered (and
                        // recorded) too; upgrades, so `CONNECT` can hand the socket over.
                        let _ = auto::Builder::new(TokioExecutor::new())
                            .serve_connection_with_upgrades(TokioIo::new(stream), service)
                            .await;
                    });
                }
            }
        });
        Self {
            server: TestServer {
                addr,
                scheme: "http",
                log,
                accept,
            },
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Every request the proxy received: `CONNECT`s (with the target as `uri`) and forwarded
    /// requests.
    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }
}

/// Records the `CONNECT`, answers `200`, then copies bytes both ways between the client and the
/// target once hyper hands over the connection.
async fn tunnel(req: Request<Incoming>, log: &Log) -> Result<Response<Full<Bytes>>, Infallible> {
    let target = req.uri().to_string();
    let recorded = Recorded {
        method: req.method().to_string(),
        uri: target.clone(),
        version: req.version(),
        headers: req.headers().clone(),
        body: Bytes::new(),
    };
    log.requests.lock().push(recorded);
    log.arrived.notify_waiters();
    let Ok(mut upstream) = TcpStream::connect(&target).await else {
        let mut refused = Response::new(Full::new(Bytes::new()));
        *refused.status_mut() = hyper::StatusCode::BAD_GATEWAY;
        return Ok(refused);
    };
    tokio::spawn(async move {
        if let Ok(upgraded) = hyper::upgrade::on(req).await {
            let mut client = TokioIo::new(upgraded);
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        }
    });
    Ok(Response::new(Full::new(Bytes::new())))
}
