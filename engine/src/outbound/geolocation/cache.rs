//! Answers remembered, and lookups in flight shared: one request per address per `cache_ttl`,
//! however many starts and fetches ask at once.
//!
//! One mutex guards both maps, so "not cached, not in flight → lead a lookup" and "lookup done
//! → cached, no longer in flight" are each atomic: no caller can miss both. The lock is held
//! for map operations only, never across an await.
//!
//! Bounds: at most `capacity` answers (when full, the expired ones go, and if that is not
//! enough the oldest half: every answer lives `ttl`, so insertion order is expiry order and a
//! queue finds them in O(1) each), and at most `max_in_flight` distinct addresses being looked
//! up (beyond that a caller is told `Busy` at once rather than queueing).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::time::Instant;

use super::{GeoError, Location};

/// A lookup's outcome, as the waiters see it.
pub(super) type Outcome = Result<Arc<Location>, GeoError>;

/// What a caller of [`Cache::begin`] does next.
pub(super) enum Begin {
    /// A remembered answer.
    Hit(Arc<Location>),
    /// Someone else's lookup is in flight: wait for it.
    Join(Waiter),
    /// Nobody is looking this address up: this caller leads, runs the lookup and hands its
    /// outcome to the [`Ticket`]; it waits like everyone else.
    Lead(Waiter, Ticket),
    /// Too many lookups in flight.
    Busy,
}

/// The cache and the lookups in flight.
pub(super) struct Cache {
    ttl: Duration,
    capacity: usize,
    max_in_flight: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The provider's generation the entries were looked up in (a reloaded database bumps it).
    generation: u64,
    entries: HashMap<IpAddr, Entry>,
    /// `(ip, seq)` in insertion (and so expiry) order; an item whose `seq` no longer matches the
    /// entry is stale.
    order: VecDeque<(IpAddr, u64)>,
    next_seq: u64,
    in_flight: HashMap<IpAddr, Flight>,
}

struct Entry {
    location: Arc<Location>,
    expires: Instant,
    seq: u64,
}

struct Flight {
    id: u64,
    waiter: Waiter,
}

/// Waits for one lookup's outcome, until the lookup's deadline at the latest.
#[derive(Clone)]
pub(super) struct Waiter {
    rx: watch::Receiver<Option<Outcome>>,
    deadline: Instant,
}

/// The leader's duty: deliver the outcome. Dropped undelivered (the lookup task panicked or was
/// cancelled with its runtime), it still takes the flight off the map and wakes the waiters.
pub(super) struct Ticket {
    cache: Arc<Cache>,
    ip: IpAddr,
    id: u64,
    generation: u64,
    tx: Option<watch::Sender<Option<Outcome>>>,
}

impl Cache {
    /// `ttl` zero: nothing is remembered (lookups are still shared while in flight).
    pub(super) fn new(ttl: Duration, capacity: usize, max_in_flight: usize) -> Self {
        Self {
            ttl,
            capacity: capacity.max(1),
            max_in_flight: max_in_flight.max(1),
            state: Mutex::new(State::default()),
        }
    }

    /// Looks `ip` up in the cache and the flights, as of the provider's `generation` (a newer
    /// one empties the cache first); a lookup led from here must end by `deadline`.
    pub(super) fn begin(self: &Arc<Self>, ip: IpAddr, generation: u64, deadline: Instant) -> Begin {
        let now = Instant::now();
        let mut state = self.state.lock();
        if generation > state.generation {
            state.generation = generation;
            state.entries.clear();
            state.order.clear();
        }
        if let Some(entry) = state.entries.get(&ip)
            && entry.expires > now
        {
            return Begin::Hit(Arc::clone(&entry.location));
        }
        if let Some(flight) = state.in_flight.get(&ip) {
            return Begin::Join(flight.waiter.clone());
        }
        if state.in_flight.len() >= self.max_in_flight {
            return Begin::Busy;
        }
        let (tx, rx) = watch::channel(None);
        let waiter = Waiter { rx, deadline };
        let id = state.next_seq;
        state.next_seq += 1;
        let flight = Flight {
            id,
            waiter: waiter.clone(),
        };
        state.in_flight.insert(ip, flight);
        let ticket = Ticket {
            cache: Arc::clone(self),
            ip,
            id,
            generation,
            tx: Some(tx),
        };
        Begin::Lead(waiter, ticket)
    }

    /// Answers remembered now (expired ones included until they are pushed out).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.state.lock().entries.len()
    }

    /// Lookups in flight now.
    #[cfg(test)]
    pub(super) fn in_flight(&self) -> usize {
        self.state.lock().in_flight.len()
    }
}

impl State {
    /// Remembers `location` for `ttl`, making room first when full.
    fn insert(&mut self, ip: IpAddr, location: Arc<Location>, ttl: Duration, capacity: usize) {
        let now = Instant::now();
        self.drop_expired(now);
        if self.entries.len() >= capacity {
            // Still full of live answers: the oldest half goes.
            while self.entries.len() > capacity / 2 {
                if !self.pop_oldest() {
                    break;
                }
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Entry {
            location,
            expires: now + ttl,
            seq,
        };
        self.entries.insert(ip, entry);
        self.order.push_back((ip, seq));
    }

    /// Drops the expired answers (and stale queue items) from the front of the queue.
    fn drop_expired(&mut self, now: Instant) {
        while let Some(&(ip, seq)) = self.order.front() {
            match self.entries.get(&ip) {
                Some(entry) if entry.seq == seq && entry.expires > now => return,
                _ => self.pop_oldest(),
            };
        }
    }

    /// Drops the queue's front item (and its entry, unless that was replaced since).
    fn pop_oldest(&mut self) -> bool {
        let Some((ip, seq)) = self.order.pop_front() else {
            return false;
        };
        if self.entries.get(&ip).is_some_and(|e| e.seq == seq) {
            self.entries.remove(&ip);
        }
        true
    }
}

impl Waiter {
    /// The outcome, or `Timeout` at the deadline.
    pub(super) async fn outcome(mut self) -> Outcome {
        let deadline = self.deadline;
        match tokio::time::timeout_at(deadline, self.rx.wait_for(Option::is_some)).await {
            Ok(Ok(seen)) => match &*seen {
                Some(outcome) => outcome.clone(),
                None => Err(abandoned()),
            },
            Ok(Err(_closed)) => Err(abandoned()),
            Err(_elapsed) => Err(GeoError::Timeout(super::timeout_ms())),
        }
    }
}

fn abandoned() -> GeoError {
    GeoError::Unreachable("the lookup ended without an answer".into())
}

impl Ticket {
    /// Remembers a success (when caching, and the provider is still at the lookup's
    /// generation), ends the flight, and wakes the waiters.
    pub(super) fn deliver(mut self, outcome: Outcome) {
        {
            let cache = &self.cache;
            let mut state = cache.state.lock();
            if let Ok(location) = &outcome
                && !cache.ttl.is_zero()
                && state.generation == self.generation
            {
                state.insert(self.ip, Arc::clone(location), cache.ttl, cache.capacity);
            }
            self.end_flight(&mut state);
        }
        if let Some(tx) = self.tx.take() {
            tx.send_replace(Some(outcome));
        }
    }

    fn end_flight(&self, state: &mut State) {
        if state
            .in_flight
            .get(&self.ip)
            .is_some_and(|f| f.id == self.id)
        {
            state.in_flight.remove(&self.ip);
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.tx.is_some() {
            // Undelivered: dropping the sender wakes the waiters with "abandoned".
            let cache = Arc::clone(&self.cache);
            self.end_flight(&mut cache.state.lock());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(std::net::Ipv4Addr::from(0x0808_0000 + n))
    }

    fn place(city: &str) -> Outcome {
        Ok(Arc::new(Location {
            city: Some(city.into()),
            ..Location::default()
        }))
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    /// Leads and delivers a lookup of `ip` answering `city`.
    fn fill(cache: &Arc<Cache>, ip: IpAddr, city: &str) {
        match cache.begin(ip, 0, far()) {
            Begin::Lead(_, ticket) => ticket.deliver(place(city)),
            _ => panic!("{ip} should not be cached or in flight"),
        }
    }

    fn cached(cache: &Arc<Cache>, ip: IpAddr) -> Option<String> {
        match cache.begin(ip, 0, far()) {
            Begin::Hit(l) => l.city.clone(),
            _ => None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn full_cache_drops_expired_then_the_oldest_half() {
        let cache = Arc::new(Cache::new(Duration::from_secs(10), 4, 8));
        for n in 0..4 {
            fill(&cache, ip(n), "a");
        }
        assert_eq!(cache.len(), 4);
        fill(&cache, ip(4), "b");
        assert_eq!(cache.len(), 3, "the oldest two went, the new one came");
        assert_eq!(cached(&cache, ip(3)).as_deref(), Some("a"));
        assert_eq!(cached(&cache, ip(4)).as_deref(), Some("b"));
        // `begin` led a lookup for the evicted ones; none is in flight since the tickets dropped.
        assert_eq!(cache.in_flight(), 0);

        tokio::time::advance(Duration::from_secs(11)).await;
        fill(&cache, ip(9), "c");
        assert_eq!(cache.len(), 1, "the expired ones went first");
    }

    #[tokio::test(start_paused = true)]
    async fn newer_generation_empties_and_stale_answers_are_not_kept() {
        let cache = Arc::new(Cache::new(Duration::from_secs(10), 100, 8));
        fill(&cache, ip(1), "old");
        let Begin::Lead(_, ticket) = cache.begin(ip(2), 0, far()) else {
            panic!("leads");
        };
        assert!(matches!(cache.begin(ip(1), 1, far()), Begin::Lead(..)));
        assert_eq!(cache.len(), 0);
        ticket.deliver(place("looked up in generation 0"));
        assert_eq!(
            cache.len(),
            0,
            "an answer from the old database is not remembered"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn abandoned_lead_frees_the_flight_and_wakes_waiters() {
        let cache = Arc::new(Cache::new(Duration::from_secs(10), 100, 8));
        let Begin::Lead(waiter, ticket) = cache.begin(ip(1), 0, far()) else {
            panic!("leads");
        };
        let Begin::Join(joiner) = cache.begin(ip(1), 0, far()) else {
            panic!("joins");
        };
        drop(ticket);
        assert_eq!(cache.in_flight(), 0);
        for w in [waiter, joiner] {
            assert!(matches!(w.outcome().await, Err(GeoError::Unreachable(_))));
        }
    }
}
