//! Loopback fakes of the real push providers (API.md §4 payloads, §7 outbound contracts):
//!
//! - [`fcm::FcmFake`]: Google's OAuth token endpoint and FCM HTTP v1 `messages:send`.
//! - [`apns::ApnsFake`]: Apple's `POST /3/device/{token}` over h2c, verifying the ES256 provider
//!   token.
//!
//! Every fake checks the request against the provider's contract and writes what it found wrong
//! into [`Problems`], so a test fails with the exact mismatch rather than with a timeout. Pushes a
//! provider accepted are handed to the test through an [`Inbox`]: the simulated phone reacts to
//! what it received, as a real app would.
//!
//! The keys are the test-only ones in `testkit/testdata/`.

pub mod apns;
pub mod fcm;

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::DEADLINE;
use crate::http::{LoopbackServer, Recorded, Reply};

/// A loopback server answering every request with `answer` on the fake's shared `state`.
async fn serve<S: Send + Sync + 'static>(
    state: &Arc<S>,
    answer: fn(&S, &Recorded) -> Reply,
) -> LoopbackServer {
    let state = Arc::clone(state);
    LoopbackServer::start(move |r, _| answer(&state, r)).await
}

/// Wall-clock seconds since the epoch (what JWT `iat` and `apns-expiration` are in).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// What a fake found wrong in the requests it received, for the test to assert empty.
#[derive(Default)]
pub struct Problems(Mutex<Vec<String>>);

impl Problems {
    pub fn add(&self, problem: String) {
        self.0.lock().unwrap().push(problem);
    }

    pub fn list(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Panics with every violation `provider`'s fake saw, if there was any.
    #[track_caller]
    pub fn assert_none(&self, provider: &str) {
        let problems = self.list();
        assert!(problems.is_empty(), "{provider} fake saw: {problems:#?}");
    }

    /// The requests a fake received and these problems, for a failure message.
    pub fn report(&self, requests: &[Recorded]) -> String {
        let lines: Vec<String> = requests
            .iter()
            .map(|r| format!("{} {} ({:?})", r.method, r.uri, r.version))
            .collect();
        format!("requests {lines:?}, problems {:?}", self.list())
    }
}

/// What a fake delivered, handed to the test in arrival order.
pub struct Inbox<T> {
    tx: mpsc::UnboundedSender<T>,
    rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<T>>,
}

impl<T> Default for Inbox<T> {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            tx,
            rx: tokio::sync::Mutex::new(rx),
        }
    }
}

impl<T> Inbox<T> {
    pub fn put(&self, item: T) {
        let _ = self.tx.send(item);
    }

    /// The next item, waiting at most [`DEADLINE`]; `None` when nothing came.
    pub async fn next(&self) -> Option<T> {
        let mut rx = self.rx.lock().await;
        tokio::time::timeout(DEADLINE, rx.recv()).await.ok()?
    }

    /// The next item; panics naming `provider`, with `report()`, when none came in time.
    pub async fn expect(&self, provider: &str, report: impl FnOnce() -> String) -> T {
        match self.next().await {
            Some(item) => item,
            None => panic!("no push reached the {provider} fake; {}", report()),
        }
    }

    /// An item that is already there, without waiting.
    pub async fn try_next(&self) -> Option<T> {
        self.rx.lock().await.try_recv().ok()
    }
}
