//! Connection caps shared by every accept loop of the node: a global count (past it, new
//! connections wait in the kernel's backlog) and a per-source-address count (past it, the new
//! connection is closed at once). Every slot is a guard, so a connection gives its slots back
//! however it ends.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The node's connection slots. Shared (`Arc`) by the accept loops on every arbiter.
pub(super) struct Limits {
    global: Arc<Semaphore>,
    total: u32,
    per_ip: usize,
    /// Open connections by source address. At most one entry per open connection, so its size
    /// is bounded by the global cap.
    by_ip: Mutex<HashMap<IpAddr, usize>>,
}

/// One open connection's share of the per-address count.
pub(super) struct IpSlot {
    limits: Arc<Limits>,
    ip: IpAddr,
}

impl Limits {
    pub(super) fn new(max_connections: usize, max_per_ip: usize) -> Arc<Self> {
        // Validation keeps the cap far below u32::MAX; clamp anyway, `acquire_many` counts in u32.
        let total = u32::try_from(max_connections.max(1)).unwrap_or(u32::MAX);
        Arc::new(Self {
            global: Arc::new(Semaphore::new(total as usize)),
            total,
            per_ip: max_per_ip.max(1),
            by_ip: Mutex::new(HashMap::new()),
        })
    }

    /// Waits for a global slot: an accept loop takes one before accepting, so that past the cap
    /// connections stay in the backlog instead of costing memory here.
    pub(super) async fn global_slot(&self) -> Option<OwnedSemaphorePermit> {
        self.global.clone().acquire_owned().await.ok()
    }

    /// A per-address slot, or `None` when `ip` already has its cap of open connections.
    pub(super) fn ip_slot(self: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        let ip = source_key(ip);
        let mut by_ip = self.by_ip.lock();
        let open = by_ip.entry(ip).or_insert(0);
        if *open >= self.per_ip {
            return None;
        }
        *open += 1;
        Some(IpSlot {
            limits: self.clone(),
            ip,
        })
    }

    /// Resolves when every connection has ended (and every accept loop has stopped).
    pub(super) async fn all_closed(&self) {
        let _ = self.global.acquire_many(self.total).await;
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut by_ip = self.limits.by_ip.lock();
        if let Some(open) = by_ip.get_mut(&self.ip) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                by_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ip_slots_are_capped_and_given_back() {
        let limits = Limits::new(10, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let first = limits.ip_slot(a).expect("first");
        let _second = limits.ip_slot(mapped).expect("second, same address mapped");
        assert!(limits.ip_slot(a).is_none(), "third is over the cap");
        assert!(limits.ip_slot("10.0.0.2".parse().unwrap()).is_some());
        drop(first);
        assert!(
            limits.ip_slot(a).is_some(),
            "a closed connection frees its slot"
        );
    }

    #[tokio::test]
    async fn all_closed_waits_for_every_global_slot() {
        let limits = Limits::new(2, 2);
        let slot = limits.global_slot().await.expect("slot");
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(50), limits.all_closed());
        assert!(waiting.await.is_err(), "a connection is still open");
        drop(slot);
        limits.all_closed().await;
    }
}

/// What the per-address cap counts by: an IPv4 address, or an IPv6 /64 — one subscriber is
/// usually handed a whole /64, so counting single IPv6 addresses would give them 2^64 caps.
fn source_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(prefix.into())
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod source_key_tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_slash_64_and_mapped_ipv4_by_address() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(source_key(a), source_key(b));
        assert_ne!(source_key(a), source_key(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(source_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn one_slash_64_shares_one_cap() {
        let limits = Limits::new(10, 2);
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::2".parse().unwrap();
        let _one = limits.ip_slot(a).expect("first");
        let _two = limits.ip_slot(b).expect("second");
        assert!(limits.ip_slot("2001:db8::3".parse().unwrap()).is_none());
        assert!(limits.ip_slot("2001:db8:0:1::3".parse().unwrap()).is_some());
    }
}
