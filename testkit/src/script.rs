//! Scripted failures of a fake: the first N requests (or all) get an error status, or are
//! answered only after a delay (to make the caller time out).

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use crate::http::{LoopbackServer, Recorded, Reply};
use crate::{DEADLINE, eventually};

/// Requests with index < `fail_first` get `fail_status`; requests with index < `stall_first`
/// are answered only after `stall_ms`.
#[derive(Default)]
pub struct Script {
    fail_first: AtomicUsize,
    fail_status: AtomicU16,
    stall_first: AtomicUsize,
    stall_ms: AtomicU64,
}

impl Script {
    /// The first `first` requests get `status` (`usize::MAX`: all of them).
    pub fn fail(&self, first: usize, status: u16) {
        self.fail_status.store(status, Ordering::SeqCst);
        self.fail_first.store(first, Ordering::SeqCst);
    }

    /// The first `first` requests are answered only after `by`.
    pub fn stall(&self, first: usize, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.stall_ms.store(ms, Ordering::SeqCst);
        self.stall_first.store(first, Ordering::SeqCst);
    }

    /// The status request `index` is scripted to fail with.
    pub fn failure_for(&self, index: usize) -> Option<u16> {
        (index < self.fail_first.load(Ordering::SeqCst))
            .then(|| self.fail_status.load(Ordering::SeqCst))
    }

    /// How long request `index` is scripted to stall.
    pub fn stall_for(&self, index: usize) -> Option<Duration> {
        (index < self.stall_first.load(Ordering::SeqCst))
            .then(|| Duration::from_millis(self.stall_ms.load(Ordering::SeqCst)))
    }
}

/// A loopback server whose responder sees the scripted failure of each request; scripted
/// stalls delay the answer.
pub struct ScriptedServer {
    pub server: LoopbackServer,
    pub script: Arc<Script>,
}

impl ScriptedServer {
    pub async fn start(respond: fn(&Recorded, Option<u16>) -> Reply) -> Self {
        let script = Arc::new(Script::default());
        let server = LoopbackServer::start({
            let script = Arc::clone(&script);
            move |r, n| {
                let reply = respond(r, script.failure_for(n));
                match script.stall_for(n) {
                    Some(stall) => reply.after(stall),
                    None => reply,
                }
            }
        })
        .await;
        Self { server, script }
    }

    /// Waits until `read` finds at least `n` items (messages) in the requests so far; panics
    /// naming `what` after [`DEADLINE`].
    pub async fn wait_until<T>(
        &self,
        n: usize,
        what: &str,
        read: impl Fn(&[Recorded]) -> Vec<T>,
    ) -> Vec<T> {
        let what = format!("{n} message(s) at the {what} fake");
        eventually(DEADLINE, &what, || {
            let seen = read(&self.server.requests());
            async move { (seen.len() >= n).then_some(seen) }
        })
        .await
    }
}
