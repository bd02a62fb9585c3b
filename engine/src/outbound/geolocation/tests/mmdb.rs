//! The MaxMind provider against real databases: MaxMind's test files and `utrecht.mmdb`.

use std::time::Duration;

use tessera_testkit::geo::{
    GEOIP2_CITY, GEOIP2_CITY_BROKEN, GEOLITE2_CITY, UTRECHT_IP, UTRECHT_MMDB,
};
use tessera_testkit::{DEADLINE, eventually};

use super::*;
use crate::error::StartupError;

#[tokio::test]
async fn geolite2_city_records() {
    let geo = mmdb_geo(Path::new(GEOLITE2_CITY), DAY);
    let cases = [
        ("81.2.69.142", place("GB", "England", "London")),
        // Two subdivisions (England, West Berkshire): the first is the region.
        ("2.125.160.216", place("GB", "England", "Boxford")),
        (
            "89.160.20.112",
            place("SE", "Östergötland County", "Linköping"),
        ),
        ("2001:480::1", place("US", "California", "San Diego")),
    ];
    for (address, expected) in cases {
        let located = geo.locate(ip(address)).await;
        assert_eq!(found(&located), expected, "{address}");
        assert!(located.fresh);
    }
    assert_eq!(
        failure(&geo.locate(ip(UTRECHT_IP)).await),
        GeoError::NotFound
    );
}

#[tokio::test]
async fn geoip2_city_and_the_seed_example() {
    let geo = mmdb_geo(Path::new(GEOIP2_CITY), DAY);
    assert_eq!(
        found(&geo.locate(ip("81.2.69.142")).await),
        place("GB", "England", "London")
    );

    let geo = mmdb_geo(Path::new(UTRECHT_MMDB), DAY);
    let expected = place("NL", "Provincie Utrecht", "Utrecht");
    assert_eq!(found(&geo.locate(ip(UTRECHT_IP)).await), expected);
    assert_eq!(found(&geo.locate(ip("145.100.255.1")).await), expected);
    assert_eq!(
        failure(&geo.locate(ip("145.101.0.1")).await),
        GeoError::NotFound
    );
    assert_eq!(
        failure(&geo.locate(ip("2a02:d3c0::1")).await),
        GeoError::NotFound
    );
}

#[tokio::test]
async fn record_that_does_not_decode_is_a_database_error() {
    let geo = mmdb_geo(Path::new(GEOIP2_CITY_BROKEN), DAY);
    let error = failure(&geo.locate(ip("2001:220::1")).await);
    assert!(matches!(error, GeoError::Database(_)), "{error:?}");
    // Other records still answer: only the fields shown are decoded, and the malformed
    // coordinates of this file are not among them.
    assert_eq!(
        found(&geo.locate(ip("81.2.69.142")).await).city.as_deref(),
        Some("London")
    );
}

#[test]
fn unusable_file_is_a_startup_error_naming_mmdb_path() {
    let scratch = Scratch::new("startup");
    let garbage = scratch.path("garbage.mmdb");
    std::fs::write(&garbage, b"not a MaxMind database at all").unwrap();
    let missing = scratch.path("missing.mmdb");
    for (path, unreadable) in [(missing.as_path(), true), (garbage.as_path(), false)] {
        let Err(e) = Geolocator::from_config(&mmdb_config(path, DAY), &Proxy::default()) else {
            panic!("{} must not start", path.display());
        };
        assert_eq!(e.key(), "geolocation.mmdb_path", "{e}");
        assert_eq!(
            matches!(e, StartupError::Unreadable { .. }),
            unreadable,
            "{e}"
        );
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    }
    let empty = Geolocation {
        mmdb_path: String::new(),
        ..mmdb_config(&missing, DAY)
    };
    let Err(e) = Geolocator::from_config(&empty, &Proxy::default()) else {
        panic!("an empty path must not start");
    };
    assert_eq!(e.key(), "geolocation.mmdb_path");
}

/// Waits until looking up `address` gives `expected` (the file is checked about once a second).
async fn eventually_located(geo: &Geolocator, address: &str, expected: Result<Location, GeoError>) {
    let what = format!("{address} to be {expected:?}");
    eventually(DEADLINE, &what, || {
        let expected = expected.clone();
        async move {
            let result = geo.locate(ip(address)).await.result;
            (result.map(|l| Location::clone(&l)) == expected).then_some(())
        }
    })
    .await;
}

#[tokio::test]
async fn reloads_a_file_replaced_by_rename_and_clears_the_cache() {
    let scratch = Scratch::new("rename");
    let db = scratch.path("City.mmdb");
    std::fs::copy(UTRECHT_MMDB, &db).unwrap();
    let geo = mmdb_geo(&db, DAY);
    assert!(geo.locate(ip(UTRECHT_IP)).await.result.is_ok());
    assert!(!geo.locate(ip(UTRECHT_IP)).await.fresh, "cached for a day");

    let staged = scratch.path("City.mmdb.new");
    std::fs::copy(GEOLITE2_CITY, &staged).unwrap();
    std::fs::rename(&staged, &db).unwrap();

    // The cached Utrecht answer goes with the old database.
    eventually_located(&geo, UTRECHT_IP, Err(GeoError::NotFound)).await;
    assert_eq!(
        found(&geo.locate(ip("81.2.69.142")).await),
        place("GB", "England", "London")
    );
}

#[tokio::test]
async fn reloads_a_file_rewritten_in_place() {
    let scratch = Scratch::new("rewrite");
    let db = scratch.path("City.mmdb");
    std::fs::copy(GEOLITE2_CITY, &db).unwrap();
    let geo = mmdb_geo(&db, DAY);
    assert_eq!(
        failure(&geo.locate(ip(UTRECHT_IP)).await),
        GeoError::NotFound
    );
    assert!(geo.locate(ip("81.2.69.142")).await.result.is_ok());

    std::fs::write(&db, std::fs::read(UTRECHT_MMDB).unwrap()).unwrap();
    eventually_located(
        &geo,
        UTRECHT_IP,
        Ok(place("NL", "Provincie Utrecht", "Utrecht")),
    )
    .await;
    assert_eq!(
        failure(&geo.locate(ip("81.2.69.142")).await),
        GeoError::NotFound,
        "the cached London went with the old database"
    );
}

#[tokio::test]
async fn broken_replacement_keeps_the_old_database() {
    let scratch = Scratch::new("broken");
    let db = scratch.path("City.mmdb");
    std::fs::copy(UTRECHT_MMDB, &db).unwrap();
    // No caching: every lookup reads the database in memory.
    let geo = mmdb_geo(&db, Duration::ZERO);
    let utrecht = place("NL", "Provincie Utrecht", "Utrecht");
    assert_eq!(found(&geo.locate(ip(UTRECHT_IP)).await), utrecht);

    // Truncated half-way, as a rewrite in progress leaves it.
    let bytes = std::fs::read(UTRECHT_MMDB).unwrap();
    std::fs::write(&db, &bytes[..bytes.len() / 2]).unwrap();
    // Keep looking up past a few checks (one a second).
    let until = tokio::time::Instant::now() + Duration::from_millis(2500);
    while tokio::time::Instant::now() < until {
        assert_eq!(found(&geo.locate(ip(UTRECHT_IP)).await), utrecht);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A good file after the broken one is picked up.
    std::fs::copy(GEOLITE2_CITY, &db).unwrap();
    eventually_located(&geo, UTRECHT_IP, Err(GeoError::NotFound)).await;
}
