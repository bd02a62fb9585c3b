//! Geolocation end to end inside the engine: the HTTP provider against the loopback
//! IPQualityScore fake (through a real forward proxy too), the MaxMind provider against real
//! `.mmdb` files, and the cache and single flight in front of both.

mod flight;
mod http;
mod mmdb;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tessera_config::{GeoProvider, Geolocation, Proxy};
use tessera_testkit::geo::IpqsFake;

use super::{GeoError, Geolocator, Located, Location};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn place(country: &str, region: &str, city: &str) -> Location {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Location {
        country_code: some(country),
        region: some(region),
        city: some(city),
    }
}

/// The geolocator of the fake's own config, with `ttl`.
fn http_geo(fake: &IpqsFake, ttl: Duration) -> Arc<Geolocator> {
    let config = Geolocation {
        cache_ttl: ttl,
        ..fake.config()
    };
    Geolocator::from_config(&config, &Proxy::default())
        .unwrap()
        .expect("enabled")
}

fn mmdb_config(path: &Path, ttl: Duration) -> Geolocation {
    Geolocation {
        enabled: true,
        provider: GeoProvider::Mmdb,
        mmdb_path: path.display().to_string(),
        cache_ttl: ttl,
        ..Geolocation::default()
    }
}

fn mmdb_geo(path: &Path, ttl: Duration) -> Arc<Geolocator> {
    Geolocator::from_config(&mmdb_config(path, ttl), &Proxy::default())
        .unwrap()
        .expect("enabled")
}

/// The location found, panicking (failing the test) on an error.
fn found(located: &Located) -> Location {
    match &located.result {
        Ok(location) => Location::clone(location),
        Err(e) => panic!("expected a location, got {e:?}"),
    }
}

fn failure(located: &Located) -> GeoError {
    match &located.result {
        Ok(location) => panic!("expected a failure, got {location:?}"),
        Err(e) => e.clone(),
    }
}

const DAY: Duration = Duration::from_secs(24 * 3600);

/// A directory under the system's temporary one, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("tessera-geo-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn disabled_is_none() {
    let off = Geolocation::default();
    assert!(
        Geolocator::from_config(&off, &Proxy::default())
            .unwrap()
            .is_none()
    );
}
