//! Serving [`Api`] over TCP: one accept loop per engine arbiter, each on its own `SO_REUSEPORT`
//! socket bound to the same address, so the kernel spreads connections over the cores and a
//! connection lives on one thread, next to the shard actors it talks to. HTTP/1.1 and h2c.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix::ArbiterHandle;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use metrics_exporter_prometheus::PrometheusHandle;
use socket2::{Domain, Protocol, Socket, Type};
use tessera_engine::Engine;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::routes::{Api, service};

/// How long a client may take to send its request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
const BACKLOG: i32 = 1024;

/// Where the server listens (the real ports, when the config asked for port 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerInfo {
    pub addr: SocketAddr,
    /// Set when `server.ops_listen` moved `/metrics` and `/health/*` there.
    pub ops_addr: Option<SocketAddr>,
}

/// The HTTP server. It runs on the engine's arbiters until the actix `System` stops.
pub struct Server;

impl Server {
    /// Binds `server.listen` (and `server.ops_listen`) and starts serving. Must be called inside
    /// the actix `System`, after [`Engine::launch`].
    pub fn start(engine: Engine, metrics: Option<PrometheusHandle>) -> io::Result<ServerInfo> {
        let cfg = engine.config();
        let arbiters: Vec<ArbiterHandle> = engine.arbiters().to_vec();
        if arbiters.is_empty() {
            return Err(io::Error::other("the engine has no arbiters to serve on"));
        }
        let api = service(engine, metrics);

        // Bind every socket before serving any, so a bind error leaves nothing running.
        let first = bind(cfg.server.listen)?;
        let addr = first.local_addr()?;
        let mut listeners = vec![first];
        for _ in 1..arbiters.len() {
            listeners.push(bind(addr)?);
        }
        let ops = match cfg.server.ops_listen {
            Some(ops_addr) => Some(bind(ops_addr)?),
            None => None,
        };
        let ops_addr = ops
            .as_ref()
            .map(std::net::TcpListener::local_addr)
            .transpose()?;

        for (arbiter, listener) in arbiters.iter().zip(listeners) {
            spawn_accept_loop(arbiter, listener, api.clone());
        }
        if let Some(listener) = ops {
            spawn_accept_loop(&arbiters[0], listener, api.ops());
        }
        tracing::info!(%addr, ops = ?ops_addr, loops = arbiters.len(), "HTTP server listening");
        Ok(ServerInfo { addr, ops_addr })
    }
}

/// [`Server::start`].
pub fn start(engine: Engine, metrics: Option<PrometheusHandle>) -> io::Result<ServerInfo> {
    Server::start(engine, metrics)
}

fn bind(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    #[cfg(unix)]
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// The loop runs as a local task on `arbiter`; its connections do too (hence [`LocalExec`]).
fn spawn_accept_loop(arbiter: &ArbiterHandle, listener: std::net::TcpListener, api: Api) {
    let spawned = arbiter.spawn_fn(move || {
        actix_rt::spawn(async move {
            match TcpListener::from_std(listener) {
                Ok(listener) => accept_loop(listener, api).await,
                Err(e) => tracing::error!(error = %e, "cannot register the listener"),
            }
        });
    });
    if !spawned {
        tracing::error!("arbiter stopped before the accept loop could start");
    }
}

/// Open connections one accept loop (one core) serves at once.
const MAX_CONNECTIONS_PER_LOOP: usize = 32_768;

async fn accept_loop(listener: TcpListener, api: Api) {
    let mut builder = auto::Builder::new(LocalExec);
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    let builder = Rc::new(builder);
    // Every open connection costs memory; past the cap new ones wait in the kernel's backlog.
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS_PER_LOOP));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((stream, peer)) => {
                let (builder, api) = (builder.clone(), api.clone());
                actix_rt::spawn(async move {
                    serve(builder, stream, peer, api).await;
                    drop(slot);
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

async fn serve(
    builder: Rc<auto::Builder<LocalExec>>,
    stream: TcpStream,
    peer: SocketAddr,
    api: Api,
) {
    let _ = stream.set_nodelay(true);
    let svc = service_fn(move |req: hyper::Request<Incoming>| {
        let api = api.clone();
        async move { Ok::<_, Infallible>(api.handle(req, peer).await) }
    });
    if let Err(e) = builder.serve_connection(TokioIo::new(stream), svc).await {
        tracing::debug!(error = %e, %peer, "connection ended with an error");
    }
}

/// Runs hyper's background tasks (HTTP/2 streams) on the current thread's `LocalSet`, so request
/// futures need not be `Send` and stay on the core that accepted them.
#[derive(Debug, Clone, Copy)]
struct LocalExec;

impl<F> hyper::rt::Executor<F> for LocalExec
where
    F: Future + 'static,
{
    fn execute(&self, fut: F) {
        actix_rt::spawn(async move {
            fut.await;
        });
    }
}
