//! The HTTP provider against the IPQualityScore fake: the wire format, each failure, the proxy.

use std::time::Duration;

use serde_json::json;
use tessera_config::Proxy;
use tessera_testkit::geo::{IpqsBehaviour, IpqsFake, UTRECHT_IP};
use tessera_testkit::http::{LoopbackServer, Reply};
use tessera_testkit::proxy::ForwardProxy;
use tokio::time::Instant;

use super::*;
use crate::outbound::geolocation::http::MAX_BODY;

/// `IpqsFake::KEY` as a path segment.
const ENCODED_KEY: &str = "ipqs-Pr1vate%2Fkey%3F%23%25";

#[tokio::test]
async fn seed_example_over_the_wire() {
    let fake = IpqsFake::start().await;
    let geo = http_geo(&fake, DAY);
    let located = geo.locate(ip(UTRECHT_IP)).await;
    assert_eq!(found(&located), place("NL", "Provincie Utrecht", "Utrecht"));
    assert!(located.fresh);

    let seen = fake.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(
        seen[0].path,
        format!("/api/json/ip/{ENCODED_KEY}/{UTRECHT_IP}"),
        "{{url}}{{key}}/{{ip}}: no slash added or dropped, the key percent-encoded"
    );
    assert_eq!(seen[0].header("accept"), Some("application/json"));
}

#[tokio::test]
async fn empty_key_and_a_url_without_prefix() {
    let fake = IpqsFake::start().await;
    fake.set_key(None);
    let config = Geolocation {
        url: fake.root_url(),
        private_key: String::new(),
        ..fake.config()
    };
    let geo = Geolocator::from_config(&config, &Proxy::default())
        .unwrap()
        .unwrap();
    let ipv6 = "2001:480::1";
    fake.place(ipv6, "us", "California", "San Diego");
    assert_eq!(
        found(&geo.locate(ip(ipv6)).await).city.as_deref(),
        Some("San Diego")
    );
    assert_eq!(fake.requests()[0].path, format!("/{ipv6}"));
}

#[tokio::test]
async fn fields_are_normalised() {
    let fake = IpqsFake::start().await;
    let geo = http_geo(&fake, DAY);
    let cases = [
        (("nl", "N/A", ""), place("NL", "", "")),
        (
            ("N/A", "Provincie Utrecht", " Utrecht "),
            place("", "Provincie Utrecht", "Utrecht"),
        ),
        (("NLD", "", "Utrecht"), place("", "", "Utrecht")),
        (
            ("N1", "Utrecht\nProvincie", "n/a"),
            place("", "Utrecht Provincie", ""),
        ),
    ];
    for (n, ((country, region, city), expected)) in cases.into_iter().enumerate() {
        let address = format!("145.100.1.{n}");
        fake.place(&address, country, region, city);
        assert_eq!(
            found(&geo.locate(ip(&address)).await),
            expected,
            "{address}"
        );
    }
}

#[tokio::test]
async fn each_failure_kind() {
    let fake = IpqsFake::start().await;
    let geo = http_geo(&fake, DAY);
    let utrecht = ip(UTRECHT_IP);
    let cases = [
        (IpqsBehaviour::Status(500), GeoError::Status(500)),
        (IpqsBehaviour::Status(403), GeoError::Status(403)),
        (IpqsBehaviour::NotJson, GeoError::NotJson),
        (IpqsBehaviour::NoLocation, GeoError::NoLocation),
        (
            IpqsBehaviour::Unsuccessful("You have exceeded your request quota.".into()),
            GeoError::Unsuccessful("You have exceeded your request quota.".into()),
        ),
    ];
    for (behaviour, expected) in cases {
        fake.behave(behaviour.clone());
        let located = geo.locate(utrecht).await;
        assert_eq!(failure(&located), expected, "{behaviour:?}");
        assert!(
            located.fresh,
            "{behaviour:?}: this call's own lookup failed"
        );
    }
    // Unknown to the service: "N/A" everywhere.
    fake.behave(IpqsBehaviour::Normal);
    assert_eq!(
        failure(&geo.locate(ip("8.8.8.8")).await),
        GeoError::NoLocation
    );

    // Failures are not remembered: the recovered service is asked at once.
    assert_eq!(
        found(&geo.locate(utrecht).await).city.as_deref(),
        Some("Utrecht")
    );
    assert_eq!(fake.requests().len(), 7);
}

#[tokio::test]
async fn wrong_key_is_unsuccessful_without_the_key_in_the_text() {
    let fake = IpqsFake::start().await;
    let config = Geolocation {
        private_key: "my-wrong-key".into(),
        ..fake.config()
    };
    let geo = Geolocator::from_config(&config, &Proxy::default())
        .unwrap()
        .unwrap();
    let GeoError::Unsuccessful(message) = failure(&geo.locate(ip(UTRECHT_IP)).await) else {
        panic!("unsuccessful expected");
    };
    assert!(message.contains("Invalid"), "{message}");
}

#[tokio::test]
async fn provider_message_is_clipped_and_never_echoes_the_key() {
    let fake = IpqsFake::start().await;
    let geo = http_geo(&fake, DAY);
    let echo = format!(
        "Bad request for /api/json/ip/{ENCODED_KEY}/x (key {}) {}",
        IpqsFake::KEY,
        "x".repeat(1000)
    );
    fake.behave(IpqsBehaviour::Unsuccessful(echo));
    let error = failure(&geo.locate(ip(UTRECHT_IP)).await);
    let text = error.to_string();
    assert!(!text.contains(IpqsFake::KEY), "{text}");
    assert!(!text.contains(ENCODED_KEY), "{text}");
    assert!(
        text.contains("Bad request for /api/json/ip/***/x (key ***)"),
        "{text}"
    );
    let GeoError::Unsuccessful(message) = error else {
        panic!("unsuccessful expected");
    };
    assert_eq!(message.chars().count(), 200);
}

#[tokio::test]
async fn slow_service_times_out_within_the_bound() {
    let fake = IpqsFake::start().await;
    fake.behave(IpqsBehaviour::Slow(Duration::from_secs(5)));
    let geo = http_geo(&fake, DAY);
    let started = Instant::now();
    let located = geo.locate(ip(UTRECHT_IP)).await;
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(failure(&located), GeoError::Timeout(1000));
    assert!(located.fresh);
}

#[tokio::test]
async fn closed_connection_and_refused_port_are_unreachable_without_the_url() {
    let fake = IpqsFake::start().await;
    fake.behave(IpqsBehaviour::Close);
    let geo = http_geo(&fake, DAY);
    let error = failure(&geo.locate(ip(UTRECHT_IP)).await);
    assert!(matches!(error, GeoError::Unreachable(_)), "{error:?}");
    assert_eq!(fake.closed(), 1);
    assert_no_secret(&error.to_string());

    // A port nobody listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = Geolocation {
        url: format!("http://127.0.0.1:{port}/api/json/ip/"),
        ..fake.config()
    };
    let geo = Geolocator::from_config(&config, &Proxy::default())
        .unwrap()
        .unwrap();
    let error = failure(&geo.locate(ip(UTRECHT_IP)).await);
    assert!(matches!(error, GeoError::Unreachable(_)), "{error:?}");
    assert_no_secret(&error.to_string());
}

fn assert_no_secret(text: &str) {
    for secret in [
        IpqsFake::KEY,
        ENCODED_KEY,
        "ipqs-Pr1vate",
        "http://",
        "/api/json",
    ] {
        assert!(!text.contains(secret), "{secret:?} in {text:?}");
    }
}

#[tokio::test]
async fn oversized_answer_is_not_read() {
    let padding = "x".repeat(MAX_BODY);
    let server = LoopbackServer::start(move |_, _| {
        Reply::json(
            200,
            json!({"success": true, "country_code": "NL", "padding": padding}),
        )
    })
    .await;
    let config = Geolocation {
        url: server.url("/"),
        private_key: "k".into(),
        ..IpqsFake::start().await.config()
    };
    let geo = Geolocator::from_config(&config, &Proxy::default())
        .unwrap()
        .unwrap();
    assert_eq!(
        failure(&geo.locate(ip(UTRECHT_IP)).await),
        GeoError::NotJson
    );
}

#[tokio::test]
async fn goes_through_the_outgoing_proxy() {
    let fake = IpqsFake::start().await;
    let proxy = ForwardProxy::start("squid", "s3cret").await;
    let proxy_config = Proxy {
        enabled: true,
        host: "127.0.0.1".into(),
        port: proxy.port(),
        username: "squid".into(),
        password: "s3cret".into(),
        preemptive_auth: true,
        ..Proxy::default()
    };
    let geo = Geolocator::from_config(&fake.config(), &proxy_config)
        .unwrap()
        .unwrap();
    assert_eq!(
        found(&geo.locate(ip(UTRECHT_IP)).await).city.as_deref(),
        Some("Utrecht")
    );
    let via = proxy.requests();
    assert_eq!(via.len(), 1, "problems: {:?}", proxy.problems());
    assert_eq!(
        via[0].uri,
        format!("{}{ENCODED_KEY}/{UTRECHT_IP}", fake.url()),
        "absolute-form request to the provider"
    );
    assert_eq!(fake.requests().len(), 1, "forwarded to the provider");
}

#[tokio::test]
async fn url_that_cannot_take_the_key_is_a_startup_error_without_it() {
    let fake = IpqsFake::start().await;
    let config = Geolocation {
        url: "not a url/".into(),
        ..fake.config()
    };
    let Err(e) = Geolocator::from_config(&config, &Proxy::default()) else {
        panic!("a bad URL must not start");
    };
    assert_eq!(e.key(), "geolocation.url");
    assert!(!e.to_string().contains("ipqs-Pr1vate"), "{e}");
}
