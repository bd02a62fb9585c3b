//! FCM HTTP v1 (with its OAuth token endpoint) and the legacy API against loopback fakes.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use tessera_config::{Platform, Proxy, PushConfig, PushKind};

use super::*;
use crate::outbound::push::delivery::send_with_retry;
use crate::outbound::push::retry::RetryPolicy;
use crate::outbound::push::test_support::{
    T0, notice, proxy, proxy_authorization, service_account_file, target, verified_claims,
};
use crate::telemetry::PushMetrics;
use tessera_testkit::http::{LoopbackServer, Recorded, Reply};

const TOKEN: &str = "fcm-registration-token:APA91bH";
const SEND_PATH: &str = "/v1/projects/acme-push/messages:send";

/// One fake for Google: the OAuth token endpoint at `/token` (it verifies the assertion and
/// hands out `ya29.test-<n>`), and FCM at `/v1/...`, whose answer `fcm` decides after the
/// bearer token has been checked.
struct Google {
    server: LoopbackServer,
    account: PathBuf,
}

impl Google {
    async fn start<F>(expires_in: u64, fcm: F) -> Self
    where
        F: Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    {
        let tokens = Arc::new(AtomicUsize::new(0));
        let sends = AtomicUsize::new(0);
        let server = LoopbackServer::start(move |r, _| {
            if r.uri.ends_with("/token") {
                let n = tokens.fetch_add(1, Ordering::SeqCst) + 1;
                return Reply::json(
                    200,
                    json!({
                        "access_token": format!("ya29.test-{n}"),
                        "expires_in": expires_in,
                        "token_type": "Bearer",
                    }),
                );
            }
            let issued = tokens.load(Ordering::SeqCst);
            let bearer = r.header("authorization").unwrap_or_default();
            if issued == 0 || bearer != format!("Bearer ya29.test-{issued}") {
                return Reply::json(401, json!({"error": {"status": "UNAUTHENTICATED"}}));
            }
            fcm(r, sends.fetch_add(1, Ordering::SeqCst))
        })
        .await;
        let account = service_account_file(&server.url("/token"));
        Self { server, account }
    }

    fn config(&self) -> PushConfig {
        PushConfig {
            id: "fcm-main".into(),
            platform: Platform::Android,
            kind: PushKind::FcmV1,
            endpoint: self.server.url(""),
            service_account_file: self.account.display().to_string(),
            ..Default::default()
        }
    }

    fn provider(&self) -> FcmV1Provider {
        FcmV1Provider::from_config(&self.config(), &Proxy::default(), Clock::starting_at(T0))
            .unwrap()
    }

    fn token_requests(&self) -> Vec<Recorded> {
        let all = self.server.requests();
        all.into_iter()
            .filter(|r| r.uri.ends_with("/token"))
            .collect()
    }

    fn sends(&self) -> Vec<Recorded> {
        let all = self.server.requests();
        all.into_iter()
            .filter(|r| r.uri.ends_with(SEND_PATH))
            .collect()
    }
}

impl Drop for Google {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.account);
    }
}

fn android() -> PushTarget {
    target(Platform::Android, TOKEN)
}

fn accepted() -> Reply {
    Reply::json(200, json!({"name": "projects/acme-push/messages/0:1"}))
}

fn ok(_: &Recorded, _: usize) -> Reply {
    accepted()
}

fn fcm_error(status: u16, code: &str, extra: Value) -> Reply {
    let mut details = vec![json!({
        "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
        "errorCode": code,
    })];
    if !extra.is_null() {
        details.push(extra);
    }
    Reply::json(
        status,
        json!({"error": {"code": status, "message": "x", "status": code, "details": details}}),
    )
}

#[tokio::test]
async fn exchanges_a_signed_assertion_then_sends_the_data_message() {
    let google = Google::start(3599, ok).await;
    let n = notice(90_500, None);
    google.provider().send(&android(), &n).await.unwrap();

    let token = &google.token_requests()[0];
    let form = token.form();
    assert_eq!(form[0], ("grant_type".into(), GRANT.into()));
    assert_eq!(form[1].0, "assertion");
    let claims = verified_claims(&form[1].1, "fcm_key.pub.pem", Algorithm::RS256);
    assert_eq!(claims["iss"], "tessera@acme-push.iam.gserviceaccount.com");
    assert_eq!(
        claims["scope"],
        "https://www.googleapis.com/auth/firebase.messaging"
    );
    assert_eq!(claims["aud"], google.server.url("/token"));
    assert_eq!(claims["iat"], T0 / 1000);
    assert_eq!(claims["exp"], T0 / 1000 + 3600);

    let send = &google.sends()[0];
    assert_eq!(send.header("authorization"), Some("Bearer ya29.test-1"));
    assert_eq!(
        send.json(),
        json!({"message": {
            "token": TOKEN,
            "data": payload::fcm_data(&n),
            "android": {"priority": "high", "ttl": "90s"},
        }})
    );
}

const GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

#[tokio::test]
async fn one_token_request_serves_many_concurrent_pushes() {
    let google = Google::start(3599, ok).await;
    let p = Arc::new(google.provider());
    let sends = (0..25).map(|_| {
        let p = p.clone();
        tokio::spawn(async move { p.send(&android(), &notice(60_000, None)).await })
    });
    for s in futures::future::join_all(sends).await {
        s.unwrap().unwrap();
    }
    assert_eq!(google.sends().len(), 25);
    assert_eq!(google.token_requests().len(), 1);
}

#[tokio::test]
async fn the_token_is_renewed_before_it_expires() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _guard = metrics::set_default_local_recorder(&recorder);
    // A two-second token is kept for half its life.
    let google = Google::start(2, ok).await;
    let p = google.provider();
    p.send(&android(), &notice(60_000, None)).await.unwrap();
    p.send(&android(), &notice(60_000, None)).await.unwrap();
    assert_eq!(google.token_requests().len(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    p.send(&android(), &notice(60_000, None)).await.unwrap();
    assert_eq!(google.token_requests().len(), 2);
    assert_eq!(
        google.sends()[2].header("authorization"),
        Some("Bearer ya29.test-2")
    );
    let text = handle.render();
    let line = r#"tessera_provider_token_refreshes_total{provider="fcm-main",result="ok"} 2"#;
    assert!(text.contains(line), "{line} in\n{text}");
}

#[tokio::test]
async fn a_refused_bearer_token_is_fetched_anew() {
    let google = Google::start(3599, |_, n| match n {
        0 => Reply::json(401, json!({"error": {"status": "UNAUTHENTICATED"}})),
        _ => accepted(),
    })
    .await;
    let p = google.provider();
    let e = p.send(&android(), &notice(60_000, None)).await.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    p.send(&android(), &notice(60_000, None)).await.unwrap();
    assert_eq!(google.token_requests().len(), 2);
}

#[tokio::test]
async fn unregistered_and_invalid_tokens_are_dropped() {
    let bad_token = json!({
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [{"field": "message.token", "description": "Invalid registration token"}],
    });
    let answers = [
        fcm_error(404, "UNREGISTERED", Value::Null),
        fcm_error(400, "INVALID_ARGUMENT", bad_token),
    ];
    for answer in answers {
        let google = Google::start(3599, move |_, _| answer.clone()).await;
        let result = google
            .provider()
            .send(&android(), &notice(60_000, None))
            .await;
        assert_eq!(result, Err(PushError::Unregistered));
    }
}

#[tokio::test]
async fn an_invalid_message_is_our_failure_not_the_tokens() {
    let bad_ttl = json!({
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [{"field": "message.android.ttl", "description": "Invalid value"}],
    });
    let google = Google::start(3599, move |_, _| {
        fcm_error(400, "INVALID_ARGUMENT", bad_ttl.clone())
    })
    .await;
    let result = google
        .provider()
        .send(&android(), &notice(60_000, None))
        .await;
    assert_eq!(
        result,
        Err(PushError::Failed(
            "FCM answered 400 INVALID_ARGUMENT".into()
        ))
    );
}

#[tokio::test]
async fn a_404_that_is_not_fcms_verdict_keeps_the_token() {
    let google = Google::start(3599, |_, _| Reply::text(404, "Not Found")).await;
    let result = google
        .provider()
        .send(&android(), &notice(60_000, None))
        .await;
    assert_eq!(result, Err(PushError::Failed("FCM answered 404".into())));
}

#[tokio::test]
async fn quota_and_outages_are_retryable() {
    let google = Google::start(3599, |_, n| match n {
        0 => fcm_error(429, "QUOTA_EXCEEDED", Value::Null).header("retry-after", "7"),
        _ => fcm_error(503, "UNAVAILABLE", Value::Null),
    })
    .await;
    let p = google.provider();
    let e = p.send(&android(), &notice(60_000, None)).await.unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    let e = p.send(&android(), &notice(60_000, None)).await.unwrap_err();
    assert!(matches!(e, PushError::Retryable(_)), "{e:?}");
}

#[tokio::test]
async fn token_endpoint_refusals_and_outages() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _guard = metrics::set_default_local_recorder(&recorder);
    let refusing = LoopbackServer::start(|_, n| match n {
        0 => Reply::json(
            400,
            json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}),
        ),
        _ => Reply::status(503),
    })
    .await;
    let account = service_account_file(&refusing.url("/token"));
    let pc = PushConfig {
        id: "fcm".into(),
        service_account_file: account.display().to_string(),
        endpoint: refusing.url(""),
        ..Default::default()
    };
    let p = FcmV1Provider::from_config(&pc, &Proxy::default(), Clock::new()).unwrap();
    let e = p.send(&android(), &notice(60_000, None)).await.unwrap_err();
    assert_eq!(
        e,
        PushError::Failed("OAuth token endpoint answered 400 invalid_grant".into())
    );
    let e = p.send(&android(), &notice(60_000, None)).await.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    let _ = std::fs::remove_file(account);
    let text = handle.render();
    let line = r#"tessera_provider_token_refreshes_total{provider="fcm",result="failed"} 2"#;
    assert!(text.contains(line), "{line} in\n{text}");
}

#[tokio::test]
async fn a_429_with_retry_after_is_honoured_by_the_retry_loop() {
    let google = Google::start(3599, |_, n| match n {
        0 => fcm_error(429, "QUOTA_EXCEEDED", Value::Null).header("retry-after", "1"),
        _ => accepted(),
    })
    .await;
    let start = tokio::time::Instant::now();
    let result = send_with_retry(
        &google.provider(),
        &android(),
        notice(30_000, None),
        start + Duration::from_secs(30),
        &RetryPolicy::default(),
        &PushMetrics::new("fcm"),
    )
    .await;
    assert_eq!(result, Ok(()));
    assert_eq!(google.sends().len(), 2);
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "waited as asked, not the 200 ms backoff"
    );
}

#[tokio::test]
async fn token_request_and_push_both_go_through_the_proxy() {
    // A forward proxy answers for the targets itself (absolute-form requests); nothing listens
    // at the configured host, so only the proxy can have answered.
    let squid = LoopbackServer::start(|r, _| {
        if r.uri.ends_with("/token") {
            Reply::json(
                200,
                json!({"access_token": "ya29.via-proxy", "expires_in": 3599}),
            )
        } else {
            accepted()
        }
    })
    .await;
    let account = service_account_file("http://127.0.0.1:9/token");
    let pc = PushConfig {
        id: "fcm".into(),
        service_account_file: account.display().to_string(),
        endpoint: "http://127.0.0.1:9".into(),
        ..Default::default()
    };
    let p = FcmV1Provider::from_config(&pc, &proxy(squid.addr().port()), Clock::new()).unwrap();
    p.send(&android(), &notice(60_000, None)).await.unwrap();

    let seen = squid.requests();
    assert_eq!(seen[0].uri, "http://127.0.0.1:9/token");
    assert_eq!(seen[1].uri, format!("http://127.0.0.1:9{SEND_PATH}"));
    assert_eq!(
        seen[1].header("authorization"),
        Some("Bearer ya29.via-proxy")
    );
    for r in &seen {
        assert_eq!(
            r.header("proxy-authorization"),
            Some(proxy_authorization().as_str())
        );
    }
    let _ = std::fs::remove_file(account);
}

#[test]
fn a_broken_service_account_is_a_config_error() {
    let pc = PushConfig {
        id: "fcm".into(),
        service_account_file: "/nonexistent/sa.json".into(),
        ..Default::default()
    };
    let e = FcmV1Provider::from_config(&pc, &Proxy::default(), Clock::starting_at(T0))
        .err()
        .unwrap();
    assert_eq!(e.key(), "service_account_file");
    assert!(matches!(e, StartupError::Unreadable { .. }), "{e}");
    assert!(e.to_string().contains("/nonexistent/sa.json"), "{e}");
}

// === legacy ===

fn legacy(endpoint: &str, proxy: &Proxy) -> FcmLegacyProvider {
    let pc = PushConfig {
        id: "fcm-old".into(),
        kind: PushKind::FcmLegacy,
        endpoint: endpoint.into(),
        server_key: "AAAA-server-key".into(),
        ..Default::default()
    };
    FcmLegacyProvider::from_config(&pc, proxy).unwrap()
}

fn legacy_result(error: Option<&str>) -> Reply {
    let result = match error {
        Some(e) => json!({"error": e}),
        None => json!({"message_id": "0:1"}),
    };
    let failed = u8::from(error.is_some());
    Reply::json(
        200,
        json!({"multicast_id": 1, "success": 1 - failed, "failure": failed, "results": [result]}),
    )
}

#[tokio::test]
async fn legacy_sends_the_data_message_with_the_server_key() {
    let google = LoopbackServer::start(|_, _| legacy_result(None)).await;
    let n = notice(45_000, None);
    legacy(&google.url("/fcm/send"), &Proxy::default())
        .send(&android(), &n)
        .await
        .unwrap();
    let r = &google.requests()[0];
    assert_eq!(r.uri, "/fcm/send");
    assert_eq!(r.header("authorization"), Some("key=AAAA-server-key"));
    assert_eq!(
        r.json(),
        json!({"to": TOKEN, "priority": "high", "time_to_live": 45, "data": payload::fcm_data(&n)})
    );
}

#[tokio::test]
async fn legacy_answers() {
    let google = LoopbackServer::start(|_, n| match n {
        0 => legacy_result(Some("NotRegistered")),
        1 => legacy_result(Some("InvalidRegistration")),
        2 => legacy_result(Some("Unavailable")),
        3 => legacy_result(Some("MismatchSenderId")),
        4 => Reply::text(401, "Unauthorized"),
        _ => Reply::status(500).header("retry-after", "3"),
    })
    .await;
    let p = legacy(&google.url("/fcm/send"), &Proxy::default());
    let mut results = Vec::new();
    for _ in 0..6 {
        results.push(p.send(&android(), &notice(60_000, None)).await);
    }
    assert_eq!(results[0], Err(PushError::Unregistered));
    assert_eq!(results[1], Err(PushError::Unregistered));
    assert!(matches!(&results[2], Err(PushError::Retryable(_))));
    assert_eq!(
        results[3],
        Err(PushError::Failed(
            "FCM legacy answered 200 MismatchSenderId".into()
        ))
    );
    assert_eq!(
        results[4],
        Err(PushError::Failed("FCM legacy answered 401".into()))
    );
    assert_eq!(
        results[5].as_ref().unwrap_err().retry_after(),
        Some(Duration::from_secs(3))
    );
}

#[tokio::test]
async fn legacy_goes_through_the_proxy() {
    let squid = LoopbackServer::start(|_, _| legacy_result(None)).await;
    let p = legacy("http://127.0.0.1:9/fcm/send", &proxy(squid.addr().port()));
    p.send(&android(), &notice(60_000, None)).await.unwrap();
    let r = &squid.requests()[0];
    assert_eq!(r.uri, "http://127.0.0.1:9/fcm/send");
    assert_eq!(
        r.header("proxy-authorization"),
        Some(proxy_authorization().as_str())
    );
}
