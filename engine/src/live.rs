//! The live feed behind the admin API's `GET /stream`: every audit event this node emits and
//! every transaction version its actors store, fanned out to a few subscribers.
//!
//! Publishing never waits: each subscriber has its own bounded queue and gets the record by
//! `try_send`. A subscriber whose queue is full has fallen behind: it is removed at once (its
//! queue is closed) and told so ([`End::Slow`]), so a slow reader costs the engine one failed
//! `try_send`, never a wait and never memory beyond its queue. With no subscriber, publishing
//! is one atomic load. The number of subscribers is capped; at shutdown every feed is ended.
//!
//! Each node feeds its own changes and events only: with several nodes, an operator watching
//! one node's stream sees that node's work.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};

use parking_lot::RwLock;
use tokio::sync::{Notify, mpsc};

use crate::model::{Event, Transaction};

/// Records one subscriber may have queued before it counts as fallen behind.
pub const DEFAULT_QUEUE: usize = 4096;
/// Subscribers at once; more are refused (the API answers `503`).
pub const DEFAULT_MAX_SUBSCRIBERS: usize = 32;

/// One record of the feed.
#[derive(Debug, Clone)]
pub enum Live {
    /// A version of a transaction, as stored.
    Transaction(Arc<Transaction>),
    Event(Arc<Event>),
}

/// Why a feed ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Still running.
    Open,
    /// Its queue was full: it missed records and was removed.
    Slow,
    /// The node is shutting down.
    Shutdown,
    /// The subscriber went away.
    Gone,
}

impl End {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => End::Slow,
            2 => End::Shutdown,
            3 => End::Gone,
            _ => End::Open,
        }
    }
}

/// What a subscriber and the hub share about one feed.
struct FeedState {
    end: AtomicU8,
    missed: AtomicU64,
    changed: Notify,
}

impl FeedState {
    /// Ends the feed for `why` unless it already ended; wakes whoever waits on it.
    fn finish(&self, why: End) {
        if self
            .end
            .compare_exchange(0, why as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.changed.notify_waiters();
        }
    }
}

struct Feed {
    id: u64,
    tx: mpsc::Sender<Live>,
    state: Arc<FeedState>,
}

#[derive(Default)]
struct Inner {
    feeds: RwLock<Vec<Feed>>,
    /// `feeds.len()`, read without the lock on every publish.
    count: AtomicUsize,
    next_id: AtomicU64,
    queue: AtomicUsize,
    max: AtomicUsize,
    closed: std::sync::atomic::AtomicBool,
}

/// Cheap to clone.
#[derive(Clone)]
pub struct LiveHub {
    inner: Arc<Inner>,
}

impl Default for LiveHub {
    fn default() -> Self {
        let inner = Inner::default();
        inner.queue.store(DEFAULT_QUEUE, Ordering::Relaxed);
        inner.max.store(DEFAULT_MAX_SUBSCRIBERS, Ordering::Relaxed);
        Self {
            inner: Arc::new(inner),
        }
    }
}

impl LiveHub {
    /// Changes the queue per new subscriber and the cap on subscribers (tuning, and tests
    /// that need a subscriber to fall behind quickly).
    pub fn set_limits(&self, max_subscribers: usize, queue: usize) {
        self.inner.max.store(max_subscribers, Ordering::Relaxed);
        self.inner.queue.store(queue.max(1), Ordering::Relaxed);
    }

    /// A new feed, or `None` when the cap is reached or the node is shutting down.
    pub fn subscribe(&self) -> Option<Subscription> {
        let mut feeds = self.inner.feeds.write();
        if self.inner.closed.load(Ordering::Acquire)
            || feeds.len() >= self.inner.max.load(Ordering::Relaxed)
        {
            return None;
        }
        let (tx, rx) = mpsc::channel(self.inner.queue.load(Ordering::Relaxed));
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(FeedState {
            end: AtomicU8::new(0),
            missed: AtomicU64::new(0),
            changed: Notify::new(),
        });
        feeds.push(Feed {
            id,
            tx,
            state: state.clone(),
        });
        self.inner.count.store(feeds.len(), Ordering::Release);
        Some(Subscription {
            rx,
            state,
            hub: self.inner.clone(),
            id,
        })
    }

    pub fn subscribers(&self) -> usize {
        self.inner.count.load(Ordering::Acquire)
    }

    pub(crate) fn transaction(&self, txn: &Arc<Transaction>) {
        if self.subscribers() > 0 {
            self.publish(Live::Transaction(txn.clone()));
        }
    }

    pub(crate) fn event(&self, event: &Arc<Event>) {
        if self.subscribers() > 0 {
            self.publish(Live::Event(event.clone()));
        }
    }

    fn publish(&self, record: Live) {
        let mut fallen = Vec::new();
        for feed in self.inner.feeds.read().iter() {
            match feed.tx.try_send(record.clone()) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    feed.state.missed.fetch_add(1, Ordering::Relaxed);
                    fallen.push((feed.id, End::Slow));
                }
                Err(mpsc::error::TrySendError::Closed(_)) => fallen.push((feed.id, End::Gone)),
            }
        }
        for (id, why) in fallen {
            self.inner.remove(id, why);
        }
    }

    /// Ends every feed and refuses new ones (shutdown): streams end promptly instead of
    /// holding their connections open.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        let feeds = std::mem::take(&mut *self.inner.feeds.write());
        self.inner.count.store(0, Ordering::Release);
        for feed in feeds {
            feed.state.finish(End::Shutdown);
        }
    }
}

impl Inner {
    /// Drops feed `id` (its sender: the subscriber sees the queue end after what it holds).
    fn remove(&self, id: u64, why: End) {
        let mut feeds = self.feeds.write();
        if let Some(pos) = feeds.iter().position(|f| f.id == id) {
            let feed = feeds.swap_remove(pos);
            feed.state.finish(why);
        }
        self.count.store(feeds.len(), Ordering::Release);
    }
}

/// One subscriber's end of the feed. Dropping it leaves the hub.
pub struct Subscription {
    rx: mpsc::Receiver<Live>,
    state: Arc<FeedState>,
    hub: Arc<Inner>,
    id: u64,
}

impl Subscription {
    /// The next record; `None` once the feed ended (see [`Subscription::end`]) and what was
    /// queued before has been read.
    pub fn poll_recv(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<Live>> {
        self.rx.poll_recv(cx)
    }

    pub async fn recv(&mut self) -> Option<Live> {
        self.rx.recv().await
    }

    pub fn end(&self) -> End {
        End::from_u8(self.state.end.load(Ordering::Acquire))
    }

    /// Records it missed when it fell behind.
    pub fn missed(&self) -> u64 {
        self.state.missed.load(Ordering::Relaxed)
    }

    /// Resolves once the feed has ended, however (the subscriber's own drop included), with
    /// why. It holds no part of the queue, so a server can watch it next to a reader that is
    /// stuck (a client not reading its socket) and close the connection.
    pub fn ended(&self) -> impl Future<Output = End> + Send + 'static {
        let state = self.state.clone();
        async move {
            loop {
                let woken = state.changed.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                let end = End::from_u8(state.end.load(Ordering::Acquire));
                if end != End::Open {
                    return end;
                }
                woken.await;
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.remove(self.id, End::Gone);
        self.state.finish(End::Gone);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventName, Method};

    fn event() -> Arc<Event> {
        Arc::new(Event::new(EventName::MobileAuthCancelled, 1))
    }

    #[tokio::test]
    async fn a_slow_subscriber_is_dropped_and_the_others_keep_receiving() {
        let hub = LiveHub::default();
        hub.set_limits(2, 2);
        let mut fast = hub.subscribe().unwrap();
        let slow = hub.subscribe().unwrap();
        assert!(hub.subscribe().is_none(), "over the cap");
        let ended = slow.ended();
        for _ in 0..3 {
            hub.event(&event());
            assert!(matches!(fast.recv().await, Some(Live::Event(_))));
        }
        assert_eq!(ended.await, End::Slow);
        assert_eq!((slow.end(), slow.missed()), (End::Slow, 1));
        assert_eq!(hub.subscribers(), 1);
        hub.transaction(&Arc::new(crate::test_util::txn(Method::Sms)));
        assert!(matches!(fast.recv().await, Some(Live::Transaction(_))));
        // A place is free again.
        let _again = hub.subscribe().unwrap();
    }

    #[tokio::test]
    async fn close_ends_every_feed_and_drop_leaves() {
        let hub = LiveHub::default();
        let mut a = hub.subscribe().unwrap();
        let b = hub.subscribe().unwrap();
        drop(b);
        assert_eq!(hub.subscribers(), 1);
        hub.close();
        assert_eq!(a.recv().await.map(|_| ()), None);
        assert_eq!(a.end(), End::Shutdown);
        assert!(hub.subscribe().is_none());
    }
}
