//! IP geolocation for the secure message's context (API.md §6): an IPQualityScore-compatible
//! HTTP service or a local MaxMind-format database, behind one bounded, single-flight cache.
//!
//! [`Geolocator::locate`] never takes longer than [`LOOKUP_TIMEOUT`]: a start only *begins* a
//! lookup (the push is never held back for it), and the device's fetch of the transaction
//! document joins the lookup in flight, so both see one answer per address.
//!
//! Layout: `address` (which addresses may be looked up), `http` (IPQualityScore-compatible
//! service), `mmdb` (MaxMind database, reloaded when the file changes), `cache` (answers
//! remembered for `cache_ttl`, lookups in flight shared).
//!
//! Each lookup runs in a task of its own, so a caller that goes away (a fetch whose device hung
//! up) does not strand the others waiting for the same address; every caller waits at most
//! until the lookup's deadline. Only successes are remembered: a provider that recovers is used
//! at once.

mod address;
mod cache;
mod http;
mod mmdb;
#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tessera_config::{GeoProvider, Geolocation, Proxy};
use tokio::time::Instant;

pub use self::address::is_public;
use self::cache::{Begin, Cache};
use self::http::HttpProvider;
use self::mmdb::MmdbProvider;
use crate::error::StartupError;

/// Longest a lookup may take; an answer later than this is a failure (API.md §6: "~1 s").
pub const LOOKUP_TIMEOUT: Duration = Duration::from_millis(1000);

/// Where an address is, as far as the provider knows. Empty strings are never stored: a field
/// the provider left empty is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// ISO 3166-1 alpha-2, upper case (`NL`).
    pub country_code: Option<String>,
    /// First-level subdivision (`Provincie Utrecht`).
    pub region: Option<String>,
    pub city: Option<String>,
}

impl Location {
    /// Nothing known: no country, region or city.
    pub fn is_empty(&self) -> bool {
        self.country_code.is_none() && self.region.is_none() && self.city.is_none()
    }
}

/// Why a lookup gave no location. `Display` is the cause written into the `GEOLOCATION
/// FAILURE` event: it never holds the private key (which is part of the HTTP provider's URL).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeoError {
    #[error("no answer within {0} ms")]
    Timeout(u64),
    #[error("provider unreachable: {0}")]
    Unreachable(String),
    #[error("provider answered HTTP {0}")]
    Status(u16),
    #[error("provider's answer is not JSON")]
    NotJson,
    #[error("provider's answer says success = false: {0}")]
    Unsuccessful(String),
    #[error("provider's answer holds no location")]
    NoLocation,
    #[error("address not in the database")]
    NotFound,
    #[error("database unusable: {0}")]
    Database(String),
    #[error("too many lookups in flight")]
    Busy,
}

/// What [`Geolocator::locate`] found.
#[derive(Debug, Clone)]
pub struct Located {
    pub result: Result<Arc<Location>, GeoError>,
    /// This call did the lookup itself (no cached answer, none in flight to join): the caller
    /// that reports failures reports this one.
    pub fresh: bool,
}

/// Answers remembered at most (about 100 bytes each): when full, expired ones go first, then
/// the oldest half.
const CACHE_CAPACITY: usize = 100_000;

/// Distinct addresses looked up at once at most; beyond, callers get `Busy` at once.
const MAX_IN_FLIGHT: usize = 1024;

/// The configured provider with its cache. Cheap to share (`Arc`).
pub struct Geolocator {
    provider: Arc<Provider>,
    cache: Arc<Cache>,
}

enum Provider {
    Http(HttpProvider),
    Mmdb(Arc<MmdbProvider>),
}

impl Geolocator {
    /// The geolocator `[geolocation]` describes; `None` when it is off. `proxy` is the outgoing
    /// proxy the HTTP provider goes through. Errors name the key at fault (an unreadable
    /// `mmdb_path`, a URL reqwest refuses).
    ///
    /// The HTTP provider's `private_key` may be empty, for a compatible service that takes
    /// none: it is then called as `GET {url}{ip}`. The MaxMind database is read here, whole.
    pub fn from_config(
        geo: &Geolocation,
        proxy: &Proxy,
    ) -> Result<Option<Arc<Self>>, StartupError> {
        if !geo.enabled {
            return Ok(None);
        }
        let provider = match geo.provider {
            GeoProvider::Http => {
                Provider::Http(HttpProvider::new(&geo.url, &geo.private_key, proxy)?)
            }
            GeoProvider::Mmdb => Provider::Mmdb(Arc::new(MmdbProvider::open(&geo.mmdb_path)?)),
        };
        let cache = Cache::new(geo.cache_ttl, CACHE_CAPACITY, MAX_IN_FLIGHT);
        Ok(Some(Arc::new(Self::new(provider, cache))))
    }

    fn new(provider: Provider, cache: Cache) -> Self {
        Self {
            provider: Arc::new(provider),
            cache: Arc::new(cache),
        }
    }

    /// The provider's name (`http`, `mmdb`), as metrics label it.
    pub fn provider_name(&self) -> &'static str {
        self.provider.name()
    }

    /// The location of `ip`: cached, joined from a lookup in flight, or looked up now; at most
    /// [`LOOKUP_TIMEOUT`]. Addresses that are not public are never looked up (see
    /// [`is_public`]); callers check that first.
    ///
    /// `Busy` (too many other addresses in flight) is `fresh`: nobody else will report it.
    pub async fn locate(&self, ip: IpAddr) -> Located {
        // `::ffff:a.b.c.d` is a.b.c.d: one cache entry, and the provider asked about the IPv4.
        let ip = ip.to_canonical();
        let generation = match &*self.provider {
            Provider::Http(_) => 0,
            Provider::Mmdb(db) => db.refresh(),
        };
        let deadline = Instant::now() + LOOKUP_TIMEOUT;
        match self.cache.begin(ip, generation, deadline) {
            Begin::Hit(location) => Located {
                result: Ok(location),
                fresh: false,
            },
            Begin::Busy => Located {
                result: Err(GeoError::Busy),
                fresh: true,
            },
            Begin::Join(waiter) => Located {
                result: waiter.outcome().await,
                fresh: false,
            },
            Begin::Lead(waiter, ticket) => {
                let provider = Arc::clone(&self.provider);
                tokio::spawn(async move {
                    let outcome = tokio::time::timeout_at(deadline, provider.lookup(ip))
                        .await
                        .unwrap_or(Err(GeoError::Timeout(timeout_ms())));
                    if let Err(e) = &outcome {
                        // The error's text never holds the key (see `GeoError`).
                        let provider = provider.name();
                        tracing::debug!(provider, error = %e, "geolocation lookup failed");
                    }
                    ticket.deliver(outcome.map(Arc::new));
                });
                Located {
                    result: waiter.outcome().await,
                    fresh: true,
                }
            }
        }
    }
}

impl Provider {
    async fn lookup(&self, ip: IpAddr) -> Result<Location, GeoError> {
        match self {
            Self::Http(http) => http.lookup(ip).await,
            Self::Mmdb(db) => db.lookup(ip),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Http(_) => GeoProvider::Http,
            Self::Mmdb(_) => GeoProvider::Mmdb,
        }
        .as_str()
    }
}

/// [`LOOKUP_TIMEOUT`] in milliseconds, as `GeoError::Timeout` carries it.
fn timeout_ms() -> u64 {
    u64::try_from(LOOKUP_TIMEOUT.as_millis()).unwrap_or(u64::MAX)
}

/// `text` fit for an event line and a rendered message: control characters become spaces,
/// outer whitespace goes, and at most `max` characters stay.
fn clean(text: &str, max: usize) -> String {
    let cleaned: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    cleaned.trim_end().to_owned()
}
