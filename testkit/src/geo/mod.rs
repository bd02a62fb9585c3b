//! Geolocation test data and the IPQualityScore fake.
//!
//! - The MaxMind-format databases in `testkit/data/geo/` (see its README for their origin,
//!   licences and the records the tests rely on), as paths.
//! - `fakes` feature: [`IpqsFake`], a loopback IPQualityScore-compatible JSON API.

#[cfg(feature = "fakes")]
mod ipqs;
#[cfg(all(test, feature = "fakes"))]
mod tests;

#[cfg(feature = "fakes")]
pub use ipqs::{IpqsBehaviour, IpqsFake};

/// MaxMind's `GeoLite2-City-Test.mmdb`: `81.2.69.142` → GB / England / London,
/// `2.125.160.216` → GB / England / Boxford, `89.160.20.112` → SE / Östergötland County /
/// Linköping, `2001:480::1` → US / California / San Diego.
pub const GEOLITE2_CITY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/geo/GeoLite2-City-Test.mmdb"
);

/// MaxMind's `GeoIP2-City-Test.mmdb` (the commercial database's shape, same test records).
pub const GEOIP2_CITY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/geo/GeoIP2-City-Test.mmdb"
);

/// MaxMind's `GeoIP2-City-Test-Broken-Double-Format.mmdb`: opens, but the record of
/// `2001:220::/32` holds a malformed double, so decoding it fails.
pub const GEOIP2_CITY_BROKEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/geo/GeoIP2-City-Test-Broken-Double-Format.mmdb"
);

/// The seed's example in a GeoIP2-City-shaped database written by `make-utrecht.pl`:
/// `145.100.0.0/16` ([`UTRECHT_IP`]) → NL / Provincie Utrecht / Utrecht.
pub const UTRECHT_MMDB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/geo/utrecht.mmdb");

/// A public address in Utrecht, in [`UTRECHT_MMDB`] and in [`IpqsFake`]'s table from the start.
pub const UTRECHT_IP: &str = "145.100.10.20";
