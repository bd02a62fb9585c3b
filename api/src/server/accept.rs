//! The accept loop of one arbiter: takes a node-wide connection slot, accepts, applies the
//! per-address cap, and hands the socket to [`connection::serve`]. Stops (closing its listening
//! socket, so new connections are refused) when shutdown begins.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix::ArbiterHandle;
use hyper_util::rt::TokioTimer;
use hyper_util::server::conn::auto;
use socket2::{SockRef, TcpKeepalive};
use tessera_engine::telemetry;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::LocalExec;
use super::connection::{self, Timeouts};
use super::limits::Limits;
use crate::routes::Api;

/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// TCP keepalive on accepted sockets: a peer that vanished (no FIN, no RST) is found out within
/// about `TCP_KEEPALIVE_TIME + 3 × TCP_KEEPALIVE_INTERVAL`, even while a long-poll waits.
const TCP_KEEPALIVE_TIME: Duration = Duration::from_secs(60);
const TCP_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// What every connection of every loop is configured with.
pub(super) struct Settings {
    pub timeouts: Timeouts,
    pub h2_max_concurrent_streams: u32,
}

/// One accept loop, before it runs.
pub(super) struct Loop {
    pub listener: std::net::TcpListener,
    pub api: Api,
    pub limits: Arc<Limits>,
    pub settings: Arc<Settings>,
    pub stop: watch::Receiver<bool>,
}

impl Loop {
    /// Runs the loop as a local task on `arbiter`; its connections run there too.
    pub(super) fn spawn(self, arbiter: &ArbiterHandle) {
        let spawned = arbiter.spawn_fn(move || {
            actix_rt::spawn(self.run());
        });
        if !spawned {
            tracing::error!("arbiter stopped before the accept loop could start");
        }
    }

    async fn run(self) {
        let Loop {
            listener,
            api,
            limits,
            settings,
            stop,
        } = self;
        let listener = match TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(e) => return tracing::error!(error = %e, "cannot register the listener"),
        };
        let builder = Rc::new(builder(&settings));
        let mut stopped = std::pin::pin!(stopped(stop.clone()));
        loop {
            // A slot first: past the node's cap, connections wait in the kernel's backlog.
            let slot = tokio::select! {
                slot = limits.global_slot() => slot,
                () = stopped.as_mut() => return,
            };
            let Some(slot) = slot else { return };
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = stopped.as_mut() => return,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            };
            let Some(ip_slot) = limits.ip_slot(peer.ip()) else {
                // Dropping the stream closes it at once; the global slot goes back with `slot`.
                tracing::debug!(%peer, "too many connections from this address: closed");
                telemetry::connection_closed("per_ip_cap");
                continue;
            };
            tune(&stream);
            let (builder, api, stop) = (builder.clone(), api.clone(), stop.clone());
            let timeouts = settings.timeouts;
            actix_rt::spawn(async move {
                connection::serve(builder, stream, peer, api, timeouts, stop).await;
                drop((ip_slot, slot));
            });
        }
    }
}

/// Resolves once shutdown began. Never, if the handle was dropped without a shutdown: the loop
/// then serves until the actix `System` stops.
async fn stopped(mut stop: watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// hyper's side of the limits: HTTP/1 heads after the first request must arrive within the
/// handshake timeout too, h2 streams are capped, and h2 pings find dead peers.
fn builder(settings: &Settings) -> auto::Builder<LocalExec> {
    let Timeouts { handshake, idle } = settings.timeouts;
    let mut builder = auto::Builder::new(LocalExec);
    builder
        .http1()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(handshake);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(settings.h2_max_concurrent_streams)
        // Ping twice per idle period; a peer that does not answer within the handshake timeout
        // is gone and its connection (long-polls included) is closed.
        .keep_alive_interval((idle / 2).max(Duration::from_secs(1)))
        .keep_alive_timeout(handshake);
    builder
}

/// Per-socket options: no Nagle delay on small answers, TCP keepalive for vanished peers.
fn tune(stream: &TcpStream) {
    let _ = stream.set_nodelay(true);
    let keepalive = TcpKeepalive::new()
        .with_time(TCP_KEEPALIVE_TIME)
        .with_interval(TCP_KEEPALIVE_INTERVAL);
    if let Err(e) = SockRef::from(stream).set_tcp_keepalive(&keepalive) {
        tracing::debug!(error = %e, "cannot enable TCP keepalive");
    }
}
