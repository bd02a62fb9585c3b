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
use tokio::net::TcpStream;
use tokio::sync::watch;
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
/// progress, and when the last one finished. Single-threaded: the connection and its requests
/// run on one arbiter.
struct Activity {
    started: Cell<bool>,
    in_flight: Cell<usize>,
    idle_since: Cell<Instant>,
}

/// Held while a request is handled.
struct Busy(Rc<Activity>);

impl Activity {
    fn begin(self: &Rc<Self>) -> Busy {
        self.started.set(true);
        self.in_flight.set(self.in_flight.get() + 1);
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
    }
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
    let activity = Rc::new(Activity {
        started: Cell::new(false),
        in_flight: Cell::new(0),
        idle_since: Cell::new(accepted),
    });
    let svc = {
        let activity = activity.clone();
        service_fn(move |req: hyper::Request<Incoming>| {
            let (api, busy) = (api.clone(), activity.begin());
            async move {
                let resp = api.handle(req, peer).await;
                drop(busy);
                Ok::<_, Infallible>(resp)
            }
        })
    };
    let mut conn = pin!(builder.serve_connection(TokioIo::new(stream), svc));
    let mut deadline = accepted + timeouts.handshake;
    // Set once a graceful close was asked for (idle or shutdown); a client that does not let the
    // connection end gets another `handshake` before it is dropped.
    let mut closing = false;
    let mut stopping = *stop.borrow_and_update();
    if stopping {
        conn.as_mut().graceful_shutdown();
        closing = true;
    }
    loop {
        tokio::select! {
            ended = conn.as_mut() => {
                if let Err(e) = ended {
                    tracing::debug!(error = %e, %peer, "connection ended with an error");
                }
                return;
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                // The handle was dropped without a shutdown: serve on until the System stops.
                if changed.is_err() {
                    continue;
                }
                if !closing {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                    deadline = deadline.max(Instant::now() + timeouts.handshake);
                }
            }
            () = sleep_until(deadline) => {
                if closing && activity.in_flight.get() == 0 {
                    tracing::debug!(%peer, "connection did not close when asked: dropped");
                    return;
                }
                if !activity.started.get() {
                    tracing::debug!(%peer, "no complete request within the handshake timeout");
                    metrics::counter!("tessera_connections_closed_total", "reason" => "handshake_timeout").increment(1);
                    return;
                }
                let now = Instant::now();
                if activity.in_flight.get() > 0 {
                    // Busy (a long-poll, a slow body): not idle; look again later.
                    deadline = now + timeouts.idle;
                    continue;
                }
                let idle_until = activity.idle_since.get() + timeouts.idle;
                if idle_until > now {
                    deadline = idle_until;
                    continue;
                }
                metrics::counter!("tessera_connections_closed_total", "reason" => "idle").increment(1);
                conn.as_mut().graceful_shutdown();
                closing = true;
                deadline = now + timeouts.handshake;
            }
        }
    }
}
