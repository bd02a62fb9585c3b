//! One connection's life: the handshake deadline, the idle timer, and the graceful close at
//! shutdown, around hyper's `auto` (HTTP/1.1 or h2c) connection.
//!
//! hyper's `header_read_timeout` covers HTTP/1 heads only, and nothing covers a socket that sends
//! half an h2 preface or an h2 connection without streams. So the connection is driven here next
//! to one timer: until the service sees its first request the timer is the handshake deadline
//! (then the socket is dropped); after it, the timer fires `idle_timeout` after the last request
//! finished (then the connection is closed gracefully: HTTP/1 closes, h2 sends GOAWAY). A request
//! in progress, such as a long-poll, keeps the connection busy, not idle.

use std::cell::Cell;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::conn::auto;
use tessera_engine::telemetry;
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tokio::time::{Instant, sleep_until};

use super::LocalExec;
use crate::routes::Api;

/// The timeouts a connection is held to (`[server]`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Timeouts {
    pub handshake: Duration,
    pub idle: Duration,
}

/// What the service tells the connection's timer: whether a request arrived, how many are in
/// progress, and when the last one finished; `changed` wakes the timer to re-arm. Single-threaded:
/// the connection and its requests run on one arbiter.
struct Activity {
    started: Cell<bool>,
    in_flight: Cell<usize>,
    idle_since: Cell<Instant>,
    changed: Notify,
    /// A streamed answer must end with its connection (see `api_body.rs`): dropped at once.
    cut: Notify,
}

/// Held while a request is handled.
struct Busy(Rc<Activity>);

impl Activity {
    fn begin(self: &Rc<Self>) -> Busy {
        self.started.set(true);
        self.in_flight.set(self.in_flight.get() + 1);
        self.changed.notify_one();
        Busy(self.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let left = self.0.in_flight.get().saturating_sub(1);
        self.0.in_flight.set(left);
        if left == 0 {
            self.0.idle_since.set(Instant::now());
        }
        self.0.changed.notify_one();
    }
}

/// Where a connection is in its life, for the timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No complete request head yet: dropped at the handshake deadline.
    Handshake,
    /// Requests in progress: no timer.
    Busy,
    /// Nothing in progress: closed gracefully `idle` after the last request ended.
    Idle,
    /// A graceful close was asked for (idle or shutdown) and nothing is in progress: dropped if
    /// the client has not let the connection end by this deadline.
    Closing(Instant),
}

/// Serves `stream` until the client closes it, a timeout closes it, or shutdown has let its
/// requests finish.
pub(super) async fn serve(
    builder: Rc<auto::Builder<LocalExec>>,
    stream: TcpStream,
    peer: SocketAddr,
    api: Api,
    timeouts: Timeouts,
    mut stop: watch::Receiver<bool>,
) {
    let accepted = Instant::now();
    // Open until this returns, whichever way the connection ends.
    let _open = telemetry::connection_open();
    let activity = Rc::new(Activity {
        started: Cell::new(false),
        in_flight: Cell::new(0),
        idle_since: Cell::new(accepted),
        changed: Notify::new(),
        cut: Notify::new(),
    });
    let svc = {
        let activity = activity.clone();
        service_fn(move |req: hyper::Request<Incoming>| {
            let (api, busy) = (api.clone(), activity.begin());
            let activity = activity.clone();
            async move {
                let mut resp = api.handle(req, peer).await;
                match resp.body_mut().take_cut() {
                    // A stream keeps its connection busy (no idle close under it) until it
                    // ends; one that must end while its client does not read is cut.
                    Some(cut) => {
                        actix_rt::spawn(async move {
                            let cut = cut.await;
                            drop(busy);
                            if cut {
                                activity.cut.notify_one();
                            }
                        });
                    }
                    None => drop(busy),
                }
                Ok::<_, Infallible>(resp)
            }
        })
    };
    let mut conn = pin!(builder.serve_connection(TokioIo::new(stream), svc));
    let mut closing: Option<Instant> = None;
    let mut stopping = false;
    loop {
        let phase = match closing {
            _ if activity.in_flight.get() > 0 => Phase::Busy,
            Some(since) => Phase::Closing(since + timeouts.handshake),
            None if !activity.started.get() => Phase::Handshake,
            None => Phase::Idle,
        };
        let deadline = match phase {
            Phase::Handshake => Some(accepted + timeouts.handshake),
            Phase::Busy => None,
            Phase::Idle => Some(activity.idle_since.get() + timeouts.idle),
            Phase::Closing(at) => Some(at),
        };
        let timer = async move {
            match deadline {
                Some(at) => sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            ended = conn.as_mut() => {
                if let Err(e) = ended {
                    tracing::debug!(error = %e, %peer, "connection ended with an error");
                }
                return;
            }
            // A request began or ended: re-arm the timer.
            () = activity.changed.notified() => {}
            () = activity.cut.notified() => {
                tracing::debug!(%peer, "a stream was cut: connection dropped");
                return;
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                // The handle was dropped without a shutdown: serve on until the System stops.
                if changed.is_ok() && closing.is_none() {
                    conn.as_mut().graceful_shutdown();
                    closing = Some(Instant::now());
                }
            }
            () = timer => match phase {
                Phase::Handshake => {
                    tracing::debug!(%peer, "no complete request within the handshake timeout");
                    closed("handshake_timeout");
                    return;
                }
                Phase::Idle => {
                    closed("idle");
                    conn.as_mut().graceful_shutdown();
                    closing = Some(Instant::now());
                }
                Phase::Closing(_) => {
                    tracing::debug!(%peer, "connection did not close when asked: dropped");
                    return;
                }
                Phase::Busy => {}
            },
        }
    }
}

fn closed(reason: &'static str) {
    telemetry::connection_closed(reason);
}
