//! Hand-over between a sink and the flow waiting for what arrived there: an SMS code by phone
//! number, a push by transaction id. A push can reach the sink before the portal's start call
//! has even returned the id, so a push mailbox keeps unclaimed arrivals until their flow asks.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// Something a sink received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// When the sink received it.
    pub at: Instant,
    /// The SMS code, or the push's profile id.
    pub value: String,
}

enum Slot {
    Waiting(oneshot::Sender<Delivery>),
    Arrived(Delivery),
}

/// Deliveries by key.
pub struct Mailbox {
    slots: Mutex<HashMap<String, Slot>>,
    /// Keep arrivals nobody waits for yet (push), or count and drop them (SMS of `hold`).
    keep_unclaimed: bool,
    received: AtomicU64,
    unclaimed: AtomicU64,
}

impl Mailbox {
    pub fn new(keep_unclaimed: bool) -> Arc<Self> {
        Arc::new(Self {
            slots: Mutex::new(HashMap::new()),
            keep_unclaimed,
            received: AtomicU64::new(0),
            unclaimed: AtomicU64::new(0),
        })
    }

    /// Everything the sink received.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Arrivals dropped because nobody waited for them.
    pub fn unclaimed(&self) -> u64 {
        self.unclaimed.load(Ordering::Relaxed)
    }

    pub fn deliver(&self, key: String, value: String) {
        self.received.fetch_add(1, Ordering::Relaxed);
        let delivery = Delivery {
            at: Instant::now(),
            value,
        };
        let mut slots = self.slots.lock();
        match slots.remove(&key) {
            Some(Slot::Waiting(tx)) => {
                drop(slots);
                if tx.send(delivery).is_err() {
                    self.unclaimed.fetch_add(1, Ordering::Relaxed);
                }
            }
            // A resend before anyone asked: the newest wins.
            Some(Slot::Arrived(_)) | None if self.keep_unclaimed => {
                slots.insert(key, Slot::Arrived(delivery));
            }
            _ => {
                self.unclaimed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Registers interest in `key`; an arrival already kept is handed over at once.
    pub fn expect(self: &Arc<Self>, key: &str) -> Expected {
        let mut slots = self.slots.lock();
        let (rx, ready) = match slots.remove(key) {
            Some(Slot::Arrived(d)) => (None, Some(d)),
            _ => {
                let (tx, rx) = oneshot::channel();
                slots.insert(key.to_owned(), Slot::Waiting(tx));
                (Some(rx), None)
            }
        };
        Expected {
            mailbox: Arc::clone(self),
            key: key.to_owned(),
            rx,
            ready,
        }
    }

    /// Drops kept arrivals older than `max_age` (their flow failed before asking).
    pub fn sweep(&self, max_age: Duration) {
        let now = Instant::now();
        self.slots.lock().retain(|_, slot| match slot {
            Slot::Arrived(d) => now.duration_since(d.at) < max_age,
            Slot::Waiting(tx) => !tx.is_closed(),
        });
    }
}

/// A flow's claim on one key. Dropping it withdraws the claim.
pub struct Expected {
    mailbox: Arc<Mailbox>,
    key: String,
    rx: Option<oneshot::Receiver<Delivery>>,
    ready: Option<Delivery>,
}

impl Expected {
    /// The delivery, or `None` when none came within `timeout`.
    pub async fn recv(mut self, timeout: Duration) -> Option<Delivery> {
        if let Some(d) = self.ready.take() {
            return Some(d);
        }
        let rx = self.rx.take()?;
        tokio::time::timeout(timeout, rx).await.ok()?.ok()
    }
}

impl Drop for Expected {
    fn drop(&mut self) {
        // Keys are unique per flow, so a waiting slot under ours is our own.
        let mut slots = self.mailbox.slots.lock();
        if matches!(slots.get(&self.key), Some(Slot::Waiting(_))) {
            slots.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiting_then_arriving() {
        let mb = Mailbox::new(false);
        let claim = mb.expect("+31600000001");
        mb.deliver("+31600000001".into(), "123456".into());
        let d = claim.recv(Duration::from_secs(1)).await.unwrap();
        assert_eq!(d.value, "123456");
        assert_eq!((mb.received(), mb.unclaimed()), (1, 0));
    }

    #[tokio::test]
    async fn arrivals_before_the_claim_are_kept_only_when_asked_to() {
        let push = Mailbox::new(true);
        push.deliver("txn".into(), "profile".into());
        let d = push.expect("txn").recv(Duration::ZERO).await.unwrap();
        assert_eq!(d.value, "profile");

        let sms = Mailbox::new(false);
        sms.deliver("+31600000002".into(), "1".into());
        assert_eq!(sms.unclaimed(), 1);
        let claim = sms.expect("+31600000002");
        assert_eq!(claim.recv(Duration::from_millis(10)).await, None);
        assert!(
            sms.slots.lock().is_empty(),
            "a dropped claim leaves nothing behind"
        );
    }

    #[tokio::test]
    async fn sweep_drops_old_unclaimed_arrivals() {
        let mb = Mailbox::new(true);
        mb.deliver("old".into(), "x".into());
        mb.sweep(Duration::ZERO);
        assert!(mb.slots.lock().is_empty());
    }
}
