//! IP geolocation for the secure message's context (API.md §6): an IPQualityScore-compatible
//! HTTP service or a local MaxMind-format database, behind one bounded, single-flight cache.
//!
//! [`Geolocator::locate`] never takes longer than [`LOOKUP_TIMEOUT`]: a start only *begins* a
//! lookup (the push is never held back for it), and the device's fetch of the transaction
//! document joins the lookup in flight, so both see one answer per address.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tessera_config::{Geolocation, Proxy};

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

/// The configured provider with its cache. Cheap to share (`Arc`).
pub struct Geolocator {
    _private: (),
}

impl Geolocator {
    /// The geolocator `[geolocation]` describes; `None` when it is off. `proxy` is the outgoing
    /// proxy the HTTP provider goes through. Errors name the key at fault (an unreadable
    /// `mmdb_path`, a URL reqwest refuses).
    pub fn from_config(
        geo: &Geolocation,
        proxy: &Proxy,
    ) -> Result<Option<Arc<Self>>, StartupError> {
        let _ = (geo, proxy);
        unimplemented!("issue 13: geolocation providers")
    }

    /// The location of `ip`: cached, joined from a lookup in flight, or looked up now; at most
    /// [`LOOKUP_TIMEOUT`]. Addresses that are not public are never looked up (see
    /// [`is_public`]); callers check that first.
    pub async fn locate(&self, ip: IpAddr) -> Located {
        let _ = ip;
        unimplemented!("issue 13: geolocation providers")
    }
}

/// Whether `ip` may be sent to (or looked up in) a provider: not private, loopback,
/// link-local, documentation, unspecified, multicast, broadcast, shared (CGNAT), benchmarking
/// or reserved; IPv4-mapped IPv6 judged as the IPv4 address; IPv6 unique-local, link-local,
/// documentation (`2001:db8::/32`) and the like excluded.
pub fn is_public(ip: IpAddr) -> bool {
    let _ = ip;
    unimplemented!("issue 13: geolocation providers")
}
