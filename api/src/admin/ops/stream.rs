//! `GET /admin/v1/stream`: Server-Sent Events of this node's transaction changes and audit
//! events (`text/event-stream`):
//!
//! ```text
//! : connected
//!
//! event: transaction
//! data: {"transaction_id":"…","type":"sms",…}
//!
//! event: event
//! data: {"event_identifier":"…","event_name":"SMS AUTH INIT MESSAGE SENT",…}
//!
//! : keep-alive
//! ```
//!
//! A comment every 15 s keeps proxies from closing a quiet stream. A subscriber that falls
//! behind (its queue in the engine's hub is full) gets what it had queued, then
//! `event: dropped` with `{"reason","missed"}`, and the stream ends; one that stopped reading
//! altogether has its connection closed a moment later (`CUT_GRACE`). At shutdown every stream
//! ends at once. Each node streams its own work only.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use serde::Serialize;
use tessera_config::admin::{Dropped, codes, stream as names};
use tessera_engine::live::{End, Live, Subscription};

use crate::api_body::{ApiBody, Cut};
use crate::context::Cx;
use crate::error::ApiError;
use crate::reply::Reply;

/// A comment this often keeps the connection alive through idle-closing proxies.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// A stream that ended for being slow (or for a shutdown) has this long to send its last
/// records before its connection is closed under a client that does not read.
const CUT_GRACE: Duration = Duration::from_secs(2);

pub(crate) async fn open(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    cx.admin().await?;
    let Some(sub) = cx.engine().subscribe_live() else {
        return Err(ApiError::admin(
            StatusCode::SERVICE_UNAVAILABLE,
            codes::TOO_MANY_STREAMS,
            "too many admin streams are open (or the node is shutting down)",
        ));
    };
    let finished = Arc::new(AtomicBool::new(false));
    let ended = sub.ended();
    let done = finished.clone();
    let cut: Cut = Box::pin(async move {
        match ended.await {
            End::Open | End::Gone => false,
            End::Slow | End::Shutdown => {
                tokio::time::sleep(CUT_GRACE).await;
                // A client that read to the end has let the stream finish: nothing to cut.
                !done.load(Ordering::Acquire)
            }
        }
    });
    let events = Sse {
        sub: Some(sub),
        keep_alive: tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE),
        hello: true,
        finished,
    };
    let mut resp = Response::new(ApiBody::stream(events, cut));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
    // Reverse proxies that buffer (nginx) would hold the events back.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(resp)
}

/// The SSE body over one subscription.
struct Sse {
    /// `None` once the stream ended (the hub's place is given back at once).
    sub: Option<Subscription>,
    keep_alive: tokio::time::Interval,
    /// The first chunk is a comment, so the client sees the stream open before any record.
    hello: bool,
    finished: Arc<AtomicBool>,
}

impl Drop for Sse {
    fn drop(&mut self) {
        self.finished.store(true, Ordering::Release);
    }
}

impl Stream for Sse {
    type Item = Bytes;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let this = self.get_mut();
        if this.hello {
            this.hello = false;
            return Poll::Ready(Some(Bytes::from_static(b": connected\n\n")));
        }
        let Some(sub) = this.sub.as_mut() else {
            return Poll::Ready(None);
        };
        match sub.poll_recv(cx) {
            Poll::Ready(Some(Live::Transaction(txn))) => Poll::Ready(Some(record(
                names::TRANSACTION,
                &tessera_engine::views::summary(&txn),
            ))),
            Poll::Ready(Some(Live::Event(event))) => Poll::Ready(Some(record(
                names::EVENT,
                &tessera_engine::views::event(&event),
            ))),
            Poll::Ready(None) => {
                let last = (sub.end() == End::Slow).then(|| {
                    record(
                        names::DROPPED,
                        &Dropped {
                            reason: "the subscriber fell behind".into(),
                            missed: sub.missed(),
                        },
                    )
                });
                this.sub = None;
                this.finished.store(true, Ordering::Release);
                Poll::Ready(last)
            }
            Poll::Pending => match this.keep_alive.poll_tick(cx) {
                Poll::Ready(_) => Poll::Ready(Some(Bytes::from_static(b": keep-alive\n\n"))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

/// One SSE record: `event: <name>`, `data: <one line of JSON>`, a blank line.
fn record(name: &str, data: &impl Serialize) -> Bytes {
    // The admin wire types serialize infallibly; compact JSON has no newline.
    let json = serde_json::to_string(data).unwrap_or_else(|_| "{}".into());
    Bytes::from(format!("event: {name}\ndata: {json}\n\n"))
}
