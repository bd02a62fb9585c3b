//! The lookups this node's starts began, by transaction, until the device's fetch renders the
//! document: in flight, or failed (and reported by the start).
//!
//! Failed lookups are not cached (a provider that recovers is used at once), so without this
//! the fetch after a failed prefetch would ask the provider again — a second request to a
//! provider that just failed, up to another [`super::LOOKUP_TIMEOUT`] for the user — and report
//! a second `GEOLOCATION FAILURE` for one transaction. With it:
//! - the prefetch failed: the fetch sends the portal's text alone at once, reporting nothing;
//! - the prefetch is still in flight: the fetch looks up (joining it) and leaves the report to
//!   the prefetch, whichever of the two led the request;
//! - no entry (another node's start, a prefetch that succeeded, or a memo that started over):
//!   the fetch reports its own lookup's failure.

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::model::TxnId;
use crate::outbound::geolocation::GeoError;

/// Entries kept at most; beyond, the memo starts over (transactions whose document is never
/// fetched would otherwise stay for good).
pub(super) const CAPACITY: usize = 4096;

/// What a fetch finds about its transaction's prefetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Prefetched {
    /// None began here, or it found the place (and cached it).
    Unknown,
    /// Still in flight: the prefetch reports its failure, if any.
    Running,
    /// Failed, and the prefetch reported it.
    Failed(GeoError),
}

/// Bounded memo: transaction → its prefetch's failure, `None` while in flight.
#[derive(Debug, Default)]
pub(super) struct Prefetches {
    entries: Mutex<HashMap<TxnId, Option<GeoError>>>,
}

impl Prefetches {
    /// `id`'s prefetch begins (before it is spawned, so a fetch can never miss it).
    pub(super) fn begin(&self, id: TxnId) {
        let mut entries = self.entries.lock();
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(id, None);
    }

    /// `id`'s prefetch ended with `outcome`: a success is forgotten (the cache has it), a
    /// failure kept for the fetch — unless the fetch came first and took the entry.
    pub(super) fn end(&self, id: TxnId, outcome: Option<&GeoError>) {
        let mut entries = self.entries.lock();
        match outcome {
            None => {
                entries.remove(&id);
            }
            Some(cause) => {
                if let Some(entry) = entries.get_mut(&id) {
                    *entry = Some(cause.clone());
                }
            }
        }
    }

    /// What the fetch of `id` needs to know (forgotten once asked: one document per fetch).
    pub(super) fn take(&self, id: TxnId) -> Prefetched {
        match self.entries.lock().remove(&id) {
            None => Prefetched::Unknown,
            Some(None) => Prefetched::Running,
            Some(Some(cause)) => Prefetched::Failed(cause),
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_taken_once() {
        let memo = Prefetches::default();
        let (a, b) = (TxnId::random(), TxnId::random());
        memo.begin(a);
        memo.end(a, Some(&GeoError::Status(500)));
        assert_eq!(memo.take(b), Prefetched::Unknown);
        assert_eq!(memo.take(a), Prefetched::Failed(GeoError::Status(500)));
        assert_eq!(memo.take(a), Prefetched::Unknown);
    }

    #[test]
    fn in_flight_until_it_ends_and_a_success_is_forgotten() {
        let memo = Prefetches::default();
        let (a, b) = (TxnId::random(), TxnId::random());
        memo.begin(a);
        memo.begin(b);
        assert_eq!(memo.take(a), Prefetched::Running);
        // The fetch took it first: the failure that follows is not kept (the prefetch reports it).
        memo.end(a, Some(&GeoError::NotJson));
        assert_eq!(memo.take(a), Prefetched::Unknown);
        memo.end(b, None);
        assert_eq!(memo.take(b), Prefetched::Unknown);
        assert_eq!(memo.len(), 0);
    }

    #[test]
    fn the_memo_stays_bounded() {
        let memo = Prefetches::default();
        for _ in 0..CAPACITY * 3 + 7 {
            memo.begin(TxnId::random());
            assert!(memo.len() <= CAPACITY);
        }
        let last = TxnId::random();
        memo.begin(last);
        memo.end(last, Some(&GeoError::Timeout(1000)));
        assert_eq!(memo.take(last), Prefetched::Failed(GeoError::Timeout(1000)));
    }
}
