//! Per-gateway and per-provider health: sends, failures, and the last error. Counters are
//! atomics; the last error sits behind a lock taken on failures only.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};
use tessera_config::admin::OutboundHealth;

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    failed: AtomicU64,
    /// The last try failed.
    failing: AtomicBool,
    last_error: Mutex<Option<(String, u64)>>,
}

/// One family of outbound services (SMS gateways, or push providers), by name.
#[derive(Default)]
pub(crate) struct OutboundSet {
    by_name: RwLock<HashMap<String, Arc<Counters>>>,
}

impl OutboundSet {
    fn get(&self, name: &str) -> Arc<Counters> {
        if let Some(c) = self.by_name.read().get(name) {
            return c.clone();
        }
        self.by_name
            .write()
            .entry(name.to_owned())
            .or_default()
            .clone()
    }

    pub(crate) fn sent(&self, name: &str) {
        let c = self.get(name);
        c.sent.fetch_add(1, Ordering::Relaxed);
        c.failing.store(false, Ordering::Relaxed);
    }

    /// `error` must carry no secret (the gateways' errors do not: they are logged too).
    pub(crate) fn failed(&self, name: &str, error: &str, now: u64) {
        let c = self.get(name);
        c.failed.fetch_add(1, Ordering::Relaxed);
        c.failing.store(true, Ordering::Relaxed);
        *c.last_error.lock() = Some((error.to_owned(), now));
    }

    /// Every service in `names` (the configured ones, with their kinds) and every other one
    /// that has been used, ordered by name.
    pub(crate) fn health(&self, configured: &[(String, String)]) -> Vec<OutboundHealth> {
        let map = self.by_name.read();
        let mut names: Vec<&str> = configured.iter().map(|(n, _)| n.as_str()).collect();
        names.extend(map.keys().map(String::as_str));
        names.sort_unstable();
        names.dedup();
        names
            .into_iter()
            .map(|name| {
                let kind = configured
                    .iter()
                    .find(|(n, _)| n == name)
                    .map_or("other", |(_, k)| k.as_str());
                let mut h = OutboundHealth {
                    name: name.to_owned(),
                    kind: kind.to_owned(),
                    healthy: true,
                    ..Default::default()
                };
                if let Some(c) = map.get(name) {
                    h.sent = c.sent.load(Ordering::Relaxed);
                    h.failed = c.failed.load(Ordering::Relaxed);
                    h.healthy = !c.failing.load(Ordering::Relaxed);
                    if let Some((e, at)) = c.last_error.lock().clone() {
                        h.last_error = Some(e);
                        h.last_error_at = Some(at);
                    }
                }
                h
            })
            .collect()
    }
}
