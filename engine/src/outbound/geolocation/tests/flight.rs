//! The cache and single flight in front of a provider (the IPQualityScore fake).

use std::time::Duration;

use futures::future::join_all;
use tessera_config::Proxy;
use tessera_testkit::geo::{IpqsBehaviour, IpqsFake, UTRECHT_IP};

use super::*;
use crate::outbound::geolocation::cache::Cache;
use crate::outbound::geolocation::http::HttpProvider;
use crate::outbound::geolocation::{LOOKUP_TIMEOUT, Provider};

#[tokio::test]
async fn second_lookup_is_a_cache_hit() {
    let fake = IpqsFake::start().await;
    let geo = http_geo(&fake, DAY);
    let first = geo.locate(ip(UTRECHT_IP)).await;
    let second = geo.locate(ip(UTRECHT_IP)).await;
    assert_eq!(found(&first), found(&second));
    assert!(first.fresh && !second.fresh);
    assert_eq!(fake.requests().len(), 1);

    // An IPv4-mapped address is the same address.
    let mapped = geo.locate(ip(&format!("::ffff:{UTRECHT_IP}"))).await;
    assert_eq!(found(&mapped), found(&first));
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn answers_expire_after_the_ttl() {
    let fake = IpqsFake::start().await;
    let geo = http_geo(&fake, Duration::from_millis(200));
    geo.locate(ip(UTRECHT_IP)).await;
    geo.locate(ip(UTRECHT_IP)).await;
    assert_eq!(fake.requests().len(), 1, "still fresh");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = geo.locate(ip(UTRECHT_IP)).await;
    assert!(again.fresh);
    assert_eq!(fake.requests().len(), 2, "expired: asked again");
}

#[tokio::test]
async fn ttl_zero_asks_every_time() {
    let fake = IpqsFake::start().await;
    let geo = http_geo(&fake, Duration::ZERO);
    for _ in 0..3 {
        assert!(geo.locate(ip(UTRECHT_IP)).await.fresh);
    }
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn concurrent_lookups_of_one_address_share_one_request() {
    for ttl in [DAY, Duration::ZERO] {
        let fake = IpqsFake::start().await;
        fake.behave(IpqsBehaviour::Slow(Duration::from_millis(200)));
        let geo = http_geo(&fake, ttl);
        let all = join_all((0..20).map(|_| geo.locate(ip(UTRECHT_IP)))).await;
        for located in &all {
            assert_eq!(found(located).city.as_deref(), Some("Utrecht"));
        }
        assert_eq!(all.iter().filter(|l| l.fresh).count(), 1, "one leader");
        assert_eq!(fake.requests().len(), 1, "ttl {ttl:?}: one request");
    }
}

#[tokio::test]
async fn joiners_share_a_failure_and_only_the_leader_is_fresh() {
    let fake = IpqsFake::start().await;
    fake.behave(IpqsBehaviour::Slow(Duration::from_secs(5)));
    let geo = http_geo(&fake, DAY);
    let all = join_all((0..5).map(|_| geo.locate(ip(UTRECHT_IP)))).await;
    for located in &all {
        assert_eq!(failure(located), GeoError::Timeout(1000));
    }
    assert_eq!(all.iter().filter(|l| l.fresh).count(), 1);
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_leader_that_goes_away_does_not_strand_the_others() {
    let fake = IpqsFake::start().await;
    fake.behave(IpqsBehaviour::Slow(Duration::from_millis(300)));
    let geo = http_geo(&fake, DAY);
    let leader = tokio::spawn({
        let geo = Arc::clone(&geo);
        async move { geo.locate(ip(UTRECHT_IP)).await }
    });
    fake.wait_for(1).await;
    let joiner = tokio::spawn({
        let geo = Arc::clone(&geo);
        async move { geo.locate(ip(UTRECHT_IP)).await }
    });
    tokio::task::yield_now().await;
    leader.abort();
    let joined = joiner.await.unwrap();
    assert_eq!(found(&joined).city.as_deref(), Some("Utrecht"));
    assert!(!joined.fresh);
    assert_eq!(
        fake.requests().len(),
        1,
        "the joiner joined, it did not ask again"
    );
    assert!(
        !geo.locate(ip(UTRECHT_IP)).await.fresh,
        "and the answer was cached"
    );
}

#[tokio::test]
async fn too_many_addresses_in_flight_is_busy_at_once() {
    let fake = IpqsFake::start().await;
    fake.behave(IpqsBehaviour::Slow(Duration::from_millis(500)));
    let provider = HttpProvider::new(&fake.url(), IpqsFake::KEY, &Proxy::default()).unwrap();
    let geo = Arc::new(Geolocator::new(
        Provider::Http(provider),
        Cache::new(DAY, 100, 2),
    ));
    let [a, b] = ["145.100.0.1", "145.100.0.2"].map(|address| {
        let geo = Arc::clone(&geo);
        tokio::spawn(async move { geo.locate(ip(address)).await })
    });
    fake.wait_for(2).await;

    let started = tokio::time::Instant::now();
    let busy = geo.locate(ip("145.100.0.3")).await;
    assert!(started.elapsed() < LOOKUP_TIMEOUT / 2, "at once");
    assert_eq!(failure(&busy), GeoError::Busy);
    assert!(busy.fresh, "nobody else reports it");

    // Joining a lookup in flight is still fine.
    let joined = geo.locate(ip("145.100.0.1")).await;
    assert_eq!(
        failure(&joined),
        GeoError::NoLocation,
        "N/A: not in the fake's table"
    );
    for handle in [a, b] {
        handle.await.unwrap();
    }
    assert_eq!(fake.requests().len(), 2);

    // Room again once they are done.
    assert!(geo.locate(ip("145.100.0.3")).await.fresh);
    assert_eq!(fake.requests().len(), 3);
}
