//! Serving [`Api`](crate::routes::Api) over TCP: one accept loop per engine arbiter, each on its own `SO_REUSEPORT`
//! socket bound to the same address, so the kernel spreads connections over the cores and a
//! connection lives on one thread, next to the shard actors it talks to. HTTP/1.1 and h2c.
//!
//! Layout: this file binds and starts the loops; `accept` holds the accept loop, `limits` the
//! node-wide connection caps the loops share, `connection` one connection's timers, `shutdown`
//! the graceful stop.

mod accept;
mod connection;
mod limits;
mod shutdown;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use actix::ArbiterHandle;
use metrics_exporter_prometheus::PrometheusHandle;
use socket2::{Domain, Protocol, Socket, Type};
use tessera_engine::Engine;
use tokio::sync::watch;

use crate::routes::service;
use accept::Loop;
use connection::Timeouts;
use limits::Limits;
pub use shutdown::Running;

const BACKLOG: i32 = 1024;

/// Where the server listens (the real ports, when the config asked for port 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerInfo {
    pub addr: SocketAddr,
    /// Set when `server.ops_listen` moved `/metrics` and `/health/*` there.
    pub ops_addr: Option<SocketAddr>,
}

/// The HTTP server. It runs on the engine's arbiters until [`Running::shutdown`] (or until the
/// actix `System` stops).
pub struct Server;

impl Server {
    /// Binds `server.listen` (and `server.ops_listen`) and starts serving. Must be called inside
    /// the actix `System`, after [`Engine::launch`].
    pub fn start(engine: Engine, metrics: Option<PrometheusHandle>) -> io::Result<Running> {
        let cfg = engine.config();
        let arbiters: Vec<ArbiterHandle> = engine.arbiters().to_vec();
        if arbiters.is_empty() {
            return Err(io::Error::other("the engine has no arbiters to serve on"));
        }
        let api = service(engine.clone(), metrics);

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

        let server = &cfg.server;
        let limits = Limits::new(server.max_connections, server.max_connections_per_ip);
        let (stop, _) = watch::channel(false);
        let settings = Arc::new(accept::Settings {
            timeouts: Timeouts {
                handshake: server.handshake_timeout,
                idle: server.idle_timeout,
            },
            h2_max_concurrent_streams: server.h2_max_concurrent_streams,
        });
        let start_loop = |arbiter: &ArbiterHandle, listener, api| {
            Loop {
                listener,
                api,
                limits: limits.clone(),
                settings: settings.clone(),
                stop: stop.subscribe(),
            }
            .spawn(arbiter)
        };
        for (arbiter, listener) in arbiters.iter().zip(listeners) {
            start_loop(arbiter, listener, api.clone());
        }
        if let Some(listener) = ops {
            start_loop(&arbiters[0], listener, api.ops());
        }
        tracing::info!(%addr, ops = ?ops_addr, loops = arbiters.len(), "HTTP server listening");
        let info = ServerInfo { addr, ops_addr };
        Ok(Running::new(
            info,
            engine,
            limits,
            stop,
            server.shutdown_grace,
        ))
    }
}

/// [`Server::start`].
pub fn start(engine: Engine, metrics: Option<PrometheusHandle>) -> io::Result<Running> {
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
