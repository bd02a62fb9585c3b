//! APNs against loopback fakes: h2c and h2 over TLS, a `CONNECT` proxy, Apple's error answers.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde_json::json;
use tessera_config::{ApnsEnvironment, Platform, Proxy, PushConfig, PushKind};

use super::*;
use crate::outbound::push::delivery::send_with_retry;
use crate::outbound::push::retry::RetryPolicy;
use crate::outbound::push::test_support::{
    T0, notice, proxy, proxy_authorization, target, testdata, verified_claims,
};
use crate::telemetry::PushMetrics;
use tessera_testkit::http::{LoopbackServer, Recorded, Reply};
use tessera_testkit::proxy::ConnectProxy;
use tessera_testkit::tls::TEST_CA;

const TOKEN: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

fn config(endpoint: &str) -> PushConfig {
    PushConfig {
        id: "apns-main".into(),
        platform: Platform::Ios,
        kind: PushKind::Apns,
        endpoint: endpoint.into(),
        team_id: "TEAM123456".into(),
        key_id: "KEY1234567".into(),
        key_file: testdata("apns_key.p8"),
        ..Default::default()
    }
}

fn provider(pc: &PushConfig, proxy: &Proxy) -> ApnsProvider {
    ApnsProvider::from_config(pc, proxy, Clock::starting_at(T0)).unwrap()
}

fn at(server: &LoopbackServer) -> ApnsProvider {
    provider(&config(&server.url("")), &Proxy::default())
}

fn ios() -> PushTarget {
    target(Platform::Ios, TOKEN)
}

fn jwt_of(r: &Recorded) -> String {
    r.header("authorization")
        .and_then(|a| {
            a.strip_prefix("bearer ")
                .or_else(|| a.strip_prefix("Bearer "))
        })
        .expect("bearer provider token")
        .to_owned()
}

fn reason(status: u16, reason: &str) -> Reply {
    Reply::json(status, json!({ "reason": reason }))
}

#[tokio::test]
async fn posts_the_payload_over_h2_with_apple_headers_and_a_verifiable_token() {
    let apple = LoopbackServer::start(|_, _| Reply::status(200).header("apns-id", "x")).await;
    let n = notice(120_000, Some(3));
    at(&apple).send(&ios(), &n).await.unwrap();

    let r = &apple.requests()[0];
    assert_eq!(r.version, hyper::Version::HTTP_2);
    assert_eq!(r.method, "POST");
    assert!(r.uri.ends_with(&format!("/3/device/{TOKEN}")), "{}", r.uri);
    assert_eq!(r.header("apns-topic"), Some("com.acme.bank"));
    assert_eq!(r.header("apns-push-type"), Some("alert"));
    assert_eq!(r.header("apns-priority"), Some("10"));
    let expiration: u64 = r.header("apns-expiration").unwrap().parse().unwrap();
    assert!(
        (T0 / 1000 + 120..=T0 / 1000 + 122).contains(&expiration),
        "expires when the time to live ends: {expiration}"
    );
    assert_eq!(r.json(), payload::apns(&n));
    assert_eq!(r.json()["aps"]["badge"], 3);

    let jwt = jwt_of(r);
    let header = jsonwebtoken::decode_header(&jwt).unwrap();
    assert_eq!(header.kid.as_deref(), Some("KEY1234567"));
    let claims = verified_claims(&jwt, "apns_key.pub.pem", Algorithm::ES256);
    assert_eq!(claims["iss"], "TEAM123456");
    assert_eq!(claims["iat"], T0 / 1000);
}

#[tokio::test]
async fn many_pushes_share_one_token_and_one_connection() {
    let apple = LoopbackServer::start(|_, _| Reply::status(200)).await;
    let p = Arc::new(at(&apple));
    p.send(&ios(), &notice(60_000, None)).await.unwrap();
    let sends = (0..20).map(|_| {
        let p = p.clone();
        tokio::spawn(async move { p.send(&ios(), &notice(60_000, None)).await })
    });
    for s in futures::future::join_all(sends).await {
        s.unwrap().unwrap();
    }
    let seen = apple.requests();
    assert_eq!(seen.len(), 21);
    let first = jwt_of(&seen[0]);
    assert!(seen.iter().all(|r| jwt_of(r) == first), "one JWT, one iat");
    assert_eq!(
        apple.connections(),
        1,
        "HTTP/2 multiplexes over one connection"
    );
}

#[tokio::test]
async fn default_hosts_follow_the_app_versions_environment() {
    let p = provider(&config(""), &Proxy::default());
    let mut t = ios();
    assert_eq!(
        p.url(&t).unwrap().as_str(),
        format!("https://api.push.apple.com/3/device/{TOKEN}")
    );
    t.apns_environment = ApnsEnvironment::Development;
    t.token = "../../x?y".into();
    assert_eq!(
        p.url(&t).unwrap().as_str(),
        "https://api.sandbox.push.apple.com/3/device/..%2F..%2Fx%3Fy",
        "a token is one path segment"
    );
}

#[tokio::test]
async fn dead_tokens_are_unregistered() {
    for answer in [reason(410, "Unregistered"), reason(400, "BadDeviceToken")] {
        let apple = LoopbackServer::start(move |_, _| answer.clone()).await;
        let result = at(&apple).send(&ios(), &notice(60_000, None)).await;
        assert_eq!(result, Err(PushError::Unregistered));
    }
}

#[tokio::test]
async fn other_refusals_fail_without_dropping_the_token() {
    let apple = LoopbackServer::start(|_, n| match n {
        0 => reason(400, "BadTopic"),
        _ => Reply::text(410, "Gone"),
    })
    .await;
    let p = at(&apple);
    let result = p.send(&ios(), &notice(60_000, None)).await;
    assert_eq!(
        result,
        Err(PushError::Failed("APNs answered 400 BadTopic".into()))
    );
    // A 410 without Apple's reason is not Apple's verdict on the token.
    let result = p.send(&ios(), &notice(60_000, None)).await;
    assert_eq!(result, Err(PushError::Failed("APNs answered 410".into())));
}

#[tokio::test]
async fn busy_and_broken_answers_are_retryable() {
    let apple = LoopbackServer::start(|_, n| match n {
        0 => reason(429, "TooManyRequests").header("retry-after", "2"),
        1 => reason(503, "ServiceUnavailable"),
        _ => Reply::status(500),
    })
    .await;
    let p = at(&apple);
    let first = p.send(&ios(), &notice(60_000, None)).await.unwrap_err();
    assert_eq!(first.retry_after(), Some(Duration::from_secs(2)));
    for _ in 0..2 {
        let e = p.send(&ios(), &notice(60_000, None)).await.unwrap_err();
        assert!(matches!(e, PushError::Retryable(_)), "{e:?}");
    }
}

#[tokio::test]
async fn an_expired_provider_token_is_replaced() {
    let apple = LoopbackServer::start(|_, n| match n {
        0 => reason(403, "ExpiredProviderToken"),
        _ => Reply::status(200),
    })
    .await;
    let p = at(&apple);
    let e = p.send(&ios(), &notice(60_000, None)).await.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    p.send(&ios(), &notice(60_000, None)).await.unwrap();
    let seen = apple.requests();
    assert_ne!(jwt_of(&seen[0]), jwt_of(&seen[1]), "a freshly signed token");
}

#[tokio::test]
async fn unreachable_host_is_retryable() {
    let p = provider(&config("http://127.0.0.1:9"), &Proxy::default());
    let e = p.send(&ios(), &notice(60_000, None)).await.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert!(!e.to_string().contains(TOKEN), "no token in errors: {e}");
}

#[tokio::test]
async fn a_500_then_200_is_retried_to_success() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _guard = metrics::set_default_local_recorder(&recorder);
    let apple = LoopbackServer::start(|_, n| match n {
        0 => reason(500, "InternalServerError"),
        _ => Reply::status(200),
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let result = send_with_retry(
        &at(&apple),
        &ios(),
        notice(30_000, None),
        deadline,
        &RetryPolicy::default(),
        &PushMetrics::new("apns"),
    )
    .await;
    assert_eq!(result, Ok(()));
    assert_eq!(apple.requests().len(), 2);
    // Both requests timed, one retry counted.
    let text = handle.render();
    for line in [
        r#"tessera_push_send_duration_seconds_count{provider="apns"} 2"#,
        r#"tessera_push_retries_total{provider="apns"} 1"#,
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
}

#[tokio::test]
async fn a_persistent_503_gives_up_within_the_time_to_live() {
    let apple = LoopbackServer::start(|_, _| reason(503, "ServiceUnavailable")).await;
    let start = tokio::time::Instant::now();
    let ttl = Duration::from_millis(1500);
    let result = send_with_retry(
        &at(&apple),
        &ios(),
        notice(1500, None),
        start + ttl,
        &RetryPolicy::default(),
        &PushMetrics::new("apns"),
    )
    .await;
    assert!(result.unwrap_err().is_retryable());
    // A try still running at the deadline is cut off there; allow for scheduling only.
    let ended = start.elapsed();
    assert!(
        ended < ttl + Duration::from_millis(250),
        "gave up at {ended:?}"
    );
    // Tries at ~0, 0.2, 0.6 and 1.4 s fit; the next (~3 s) would not.
    let tries = apple.requests().len();
    assert!((3..=4).contains(&tries), "{tries} tries");
}

#[tokio::test]
async fn https_endpoint_trusted_through_ca_file_speaks_h2() {
    let apple = LoopbackServer::start_tls(|_, _| Reply::status(200)).await;
    let mut pc = config(&apple.url(""));
    pc.ca_file = TEST_CA.into();
    provider(&pc, &Proxy::default())
        .send(&ios(), &notice(60_000, None))
        .await
        .unwrap();
    assert_eq!(apple.requests()[0].version, hyper::Version::HTTP_2);

    // Without the extra root the certificate is not trusted.
    let e = at(&apple)
        .send(&ios(), &notice(60_000, None))
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert_eq!(apple.requests().len(), 1);
}

#[tokio::test]
async fn https_goes_through_a_connect_tunnel_with_proxy_credentials() {
    let apple = LoopbackServer::start_tls(|_, _| Reply::status(200)).await;
    let squid = ConnectProxy::start(|_, _| Reply::status(502)).await;
    let mut pc = config(&apple.url(""));
    pc.ca_file = TEST_CA.into();
    let p = provider(&pc, &proxy(squid.addr().port()));
    p.send(&ios(), &notice(60_000, None)).await.unwrap();
    p.send(&ios(), &notice(60_000, None)).await.unwrap();

    let tunnels = squid.requests();
    assert_eq!(tunnels.len(), 1, "one tunnel carries both pushes");
    assert_eq!(tunnels[0].method, "CONNECT");
    assert_eq!(tunnels[0].uri, apple.addr().to_string());
    assert_eq!(
        tunnels[0].header("proxy-authorization"),
        Some(proxy_authorization().as_str())
    );
    let pushed = apple.requests();
    assert_eq!(pushed.len(), 2);
    assert_eq!(pushed[0].version, hyper::Version::HTTP_2);
    assert_eq!(
        pushed[0].header("proxy-authorization"),
        None,
        "credentials stay with the proxy"
    );
}

/// A plain-`http` endpoint (only test fakes use one) is not tunnelled: reqwest speaks h2c to the
/// proxy itself, in absolute form, with the credentials on the request.
#[tokio::test]
async fn h2c_endpoint_is_forwarded_by_the_proxy_in_absolute_form() {
    let squid = ConnectProxy::start(|_, _| Reply::status(200)).await;
    let p = provider(&config("http://127.0.0.1:9"), &proxy(squid.addr().port()));
    p.send(&ios(), &notice(60_000, None)).await.unwrap();

    let r = &squid.requests()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.version, hyper::Version::HTTP_2);
    assert_eq!(r.uri, format!("http://127.0.0.1:9/3/device/{TOKEN}"));
    assert_eq!(
        r.header("proxy-authorization"),
        Some(proxy_authorization().as_str())
    );
}
