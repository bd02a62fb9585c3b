//! [`LoopbackServer`]: accept loop, per-connection HTTP service, request log.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use parking_lot::Mutex;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::{Recorded, Reply};
use crate::DEADLINE;

/// Decides the answer from the request and its 0-based index, asynchronously (a forwarding
/// proxy answers only once the target has).
pub type Responder = dyn Fn(Recorded, usize) -> BoxFuture<'static, Reply> + Send + Sync;

/// How accepted connections are served.
#[derive(Clone)]
enum Mode {
    /// HTTP/1.1 and h2c.
    Plain,
    /// HTTP/1.1 and h2 (ALPN) over TLS.
    #[cfg(feature = "tls")]
    Tls(tokio_rustls::TlsAcceptor),
    /// A forward proxy: `CONNECT` is tunnelled, anything else goes to the responder.
    Connect,
}

#[derive(Default)]
struct Log {
    /// Off for a load test's sinks, which would otherwise keep millions of requests.
    keep: bool,
    requests: Mutex<Vec<Recorded>>,
    /// Requests received (kept or not).
    received: AtomicUsize,
    arrived: Notify,
    /// TCP connections accepted.
    connections: AtomicUsize,
}

impl Log {
    /// Appends `recorded` (when keeping requests) and returns its index.
    fn push(&self, recorded: Recorded) -> usize {
        if !self.keep {
            return self.received.fetch_add(1, Ordering::Relaxed);
        }
        let index = {
            let mut requests = self.requests.lock();
            requests.push(recorded);
            self.received.store(requests.len(), Ordering::Relaxed);
            requests.len() - 1
        };
        self.arrived.notify_waiters();
        index
    }
}

/// A running loopback server; stops accepting when dropped. Runs on the caller's tokio runtime.
pub struct LoopbackServer {
    addr: SocketAddr,
    scheme: &'static str,
    log: Arc<Log>,
    accept: JoinHandle<()>,
}

impl LoopbackServer {
    /// Plain HTTP/1.1 and h2c, answering with `respond`.
    pub async fn start<F>(respond: F) -> Self
    where
        F: Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    {
        Self::launch(sync(respond), Mode::Plain).await
    }

    /// Plain HTTP/1.1 and h2c, answering with the future `respond` returns.
    pub async fn start_async<F, Fut>(respond: F) -> Self
    where
        F: Fn(Recorded, usize) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Reply> + Send + 'static,
    {
        Self::launch(Arc::new(move |r, n| Box::pin(respond(r, n))), Mode::Plain).await
    }

    /// HTTP/1.1 and h2 (ALPN) over TLS, with a certificate for `127.0.0.1` and `localhost`
    /// signed by [`crate::tls::TEST_CA`].
    #[cfg(feature = "tls")]
    pub async fn start_tls<F>(respond: F) -> Self
    where
        F: Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    {
        Self::launch(sync(respond), Mode::Tls(crate::tls::acceptor())).await
    }

    /// A forward proxy: `CONNECT host:port` is recorded, answered `200` and tunnelled to the
    /// target; any other request is answered by `respond`, standing in for the target (how
    /// plain-`http` requests reach a proxy, in absolute form).
    pub async fn start_connect_proxy<F>(respond: F) -> Self
    where
        F: Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    {
        Self::launch(sync(respond), Mode::Connect).await
    }

    /// Serves `respond` on `addr` (HTTP/1.1 and h2c) without keeping the requests: for a load
    /// test's gateway sinks, which see millions. [`Self::requests`] stays empty;
    /// [`Self::received`] counts.
    pub async fn serve_unrecorded<F>(addr: SocketAddr, respond: F) -> std::io::Result<Self>
    where
        F: Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        Ok(Self::accept(
            listener,
            addr,
            sync(respond),
            Mode::Plain,
            false,
        ))
    }

    async fn launch(respond: Arc<Responder>, mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("loopback address");
        Self::accept(listener, addr, respond, mode, true)
    }

    fn accept(
        listener: TcpListener,
        addr: SocketAddr,
        respond: Arc<Responder>,
        mode: Mode,
        keep: bool,
    ) -> Self {
        let log = Arc::new(Log {
            keep,
            ..Log::default()
        });
        let scheme = match mode {
            #[cfg(feature = "tls")]
            Mode::Tls(_) => "https",
            _ => "http",
        };
        let accept = tokio::spawn({
            let log = Arc::clone(&log);
            async move {
                loop {
                    // A failed accept (out of descriptors under load) is not the end of the server.
                    let Ok((stream, _)) = listener.accept().await else {
                        tokio::task::yield_now().await;
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let connection = log.connections.fetch_add(1, Ordering::SeqCst);
                    let (log, respond, mode) = (Arc::clone(&log), respond.clone(), mode.clone());
                    tokio::spawn(serve(stream, connection, log, respond, mode));
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

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:<port>` (`https://` over TLS).
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// `http://127.0.0.1:<port><path>` (`https://` over TLS).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.log.connections.load(Ordering::SeqCst)
    }

    /// Requests received so far (also when not kept).
    pub fn received(&self) -> usize {
        self.log.received.load(Ordering::Relaxed)
    }

    /// Everything received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.requests.lock().clone()
    }

    /// Waits (real time, up to [`DEADLINE`]) until at least `n` requests have arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Recorded> {
        let deadline = tokio::time::Instant::now() + DEADLINE;
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
                panic!(
                    "expected {n} requests at {}, got {}",
                    self.base_url(),
                    seen.len()
                );
            }
        }
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

fn sync<F>(respond: F) -> Arc<Responder>
where
    F: Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
{
    Arc::new(move |r, n| {
        let reply = respond(&r, n);
        Box::pin(async move { reply })
    })
}

/// Serves one accepted connection. A client hanging up mid-request is not a test failure here.
async fn serve(
    stream: TcpStream,
    connection: usize,
    log: Arc<Log>,
    respond: Arc<Responder>,
    mode: Mode,
) {
    let service = service_fn({
        let mode = mode.clone();
        move |req: Request<Incoming>| {
            let (log, respond, mode) = (Arc::clone(&log), Arc::clone(&respond), mode.clone());
            async move {
                if matches!(mode, Mode::Connect) && req.method() == hyper::Method::CONNECT {
                    tunnel(req, connection, &log).await
                } else {
                    handle(req, connection, log, respond).await
                }
            }
        }
    });
    let server = auto::Builder::new(TokioExecutor::new());
    match mode {
        Mode::Plain => {
            let _ = server.serve_connection(TokioIo::new(stream), service).await;
        }
        #[cfg(feature = "tls")]
        Mode::Tls(tls) => {
            let Ok(stream) = tls.accept(stream).await else {
                return;
            };
            let _ = server.serve_connection(TokioIo::new(stream), service).await;
        }
        // Upgrades, so `CONNECT` can hand the socket over.
        Mode::Connect => {
            let _ = server
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .await;
        }
    }
}

fn record(parts: &hyper::http::request::Parts, body: Bytes, connection: usize) -> Recorded {
    Recorded {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        version: parts.version,
        headers: parts.headers.clone(),
        body,
        connection,
        at: tokio::time::Instant::now(),
        status: 0,
    }
}

async fn handle(
    req: Request<Incoming>,
    connection: usize,
    log: Arc<Log>,
    respond: Arc<Responder>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let recorded = record(&parts, body, connection);
    let index = log.push(recorded.clone());
    let reply = respond(recorded, index).await;
    if log.keep
        && let Some(entry) = log.requests.lock().get_mut(index)
    {
        entry.status = reply.status;
    }
    if let Some(delay) = reply.delay {
        tokio::time::sleep(delay).await;
    }
    let mut resp = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        resp = resp.header(name, value);
    }
    Ok(resp.body(Full::new(reply.body)).unwrap_or_else(|_| {
        let mut bad = Response::new(Full::new(Bytes::from_static(b"invalid test reply")));
        *bad.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        bad
    }))
}

/// Records the `CONNECT`, answers `200`, then copies bytes both ways between the client and the
/// target once hyper hands over the connection.
async fn tunnel(
    req: Request<Incoming>,
    connection: usize,
    log: &Log,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let mut recorded = record(&parts, Bytes::new(), connection);
    let target = recorded.uri.clone();
    let upstream = TcpStream::connect(&target).await;
    recorded.status = if upstream.is_ok() { 200 } else { 502 };
    log.push(recorded);
    let Ok(mut upstream) = upstream else {
        let mut refused = Response::new(Full::new(Bytes::new()));
        *refused.status_mut() = StatusCode::BAD_GATEWAY;
        return Ok(refused);
    };
    let req = Request::from_parts(parts, body);
    tokio::spawn(async move {
        if let Ok(upgraded) = hyper::upgrade::on(req).await {
            let mut client = TokioIo::new(upgraded);
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        }
    });
    Ok(Response::new(Full::new(Bytes::new())))
}
