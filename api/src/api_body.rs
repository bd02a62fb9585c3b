//! [`ApiBody`]: what every answer carries. Almost always one buffer; the admin API's `/stream`
//! (Server-Sent Events) is a stream of chunks instead, with a *cut* signal the connection
//! watches: a stream whose subscriber fell behind (or whose node is shutting down) must close
//! its connection even when the client has stopped reading — then the body is never polled
//! again, so it cannot end itself (see `server/connection.rs`).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use http_body_util::Full;
use hyper::body::{Body, Frame, SizeHint};

/// Resolves `true` when the connection carrying the stream is to be closed now.
pub(crate) type Cut = Pin<Box<dyn Future<Output = bool> + Send>>;

pub struct ApiBody {
    kind: Kind,
}

enum Kind {
    Full(Full<Bytes>),
    Stream {
        chunks: Pin<Box<dyn Stream<Item = Bytes> + Send>>,
        cut: Option<Cut>,
    },
}

impl ApiBody {
    pub(crate) fn full(bytes: Bytes) -> Self {
        Self {
            kind: Kind::Full(Full::new(bytes)),
        }
    }

    pub(crate) fn stream(chunks: impl Stream<Item = Bytes> + Send + 'static, cut: Cut) -> Self {
        Self {
            kind: Kind::Stream {
                chunks: Box::pin(chunks),
                cut: Some(cut),
            },
        }
    }

    /// The cut signal of a stream (once); `None` for a whole answer.
    pub(crate) fn take_cut(&mut self) -> Option<Cut> {
        match &mut self.kind {
            Kind::Full(_) => None,
            Kind::Stream { cut, .. } => cut.take(),
        }
    }
}

impl Body for ApiBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match &mut self.get_mut().kind {
            Kind::Full(full) => Pin::new(full).poll_frame(cx),
            Kind::Stream { chunks, .. } => chunks
                .as_mut()
                .poll_next(cx)
                .map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(full) => full.is_end_stream(),
            Kind::Stream { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(full) => full.size_hint(),
            Kind::Stream { .. } => SizeHint::default(),
        }
    }
}
