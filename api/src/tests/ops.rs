//! Ops routes: health, metrics, OpenAPI, and the ops listener split.

use crate::test_util::*;
use crate::{OPENAPI_YAML, routes::service};

#[actix_rt::test]
async fn health_routes() {
    let (api, _) = api();
    let a = Call::get("/health/live").send(&api).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["status"], "ok");
    let a = Call::get("/health/ready").send(&api).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["status"], "ready");
}

#[actix_rt::test]
async fn openapi_is_served() {
    let (api, _) = api();
    let a = Call::get("/openapi.yaml").send(&api).await;
    assert_eq!(a.status, 200);
    assert!(
        a.header("content-type")
            .unwrap()
            .starts_with("application/yaml")
    );
    assert_eq!(a.body, OPENAPI_YAML.as_bytes());
    assert!(OPENAPI_YAML.starts_with("openapi: 3.1"));
}

#[actix_rt::test]
async fn metrics_render_http_and_engine_counters() {
    let recorder = crate::metrics::recorder().unwrap();
    let handle = recorder.handle();
    let _guard = ::metrics::set_default_local_recorder(&recorder);
    let (_, engine) = api();
    let api = service(engine, Some(handle));
    start_sms(&api, "sms", "alice").await;
    Call::get(format!("{V4}/transaction/{}", uuid::Uuid::new_v4()))
        .portal()
        .send(&api)
        .await;
    let a = Call::get("/metrics").send(&api).await;
    assert_eq!(a.status, 200);
    assert!(a.header("content-type").unwrap().starts_with("text/plain"));
    let text = String::from_utf8(a.body.to_vec()).unwrap();
    assert!(
        text.contains(
            r#"tessera_http_requests_total{surface="portal",route="/oauth/api/v4/authenticate/user",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"tessera_http_requests_total{surface="portal",route="/oauth/api/v4/authenticate/transaction/{id}",status="404"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(
            "tessera_http_request_duration_seconds_bucket{surface=\"portal\",route=\"/oauth/api/v4/authenticate/user\""
        ),
        "{text}"
    );
    assert!(
        text.contains("tessera_transactions_started_total"),
        "{text}"
    );
}

#[actix_rt::test]
async fn metrics_without_a_recorder_is_404() {
    let (api, _) = api();
    Call::get("/metrics")
        .send(&api)
        .await
        .assert_error(404, "not_found");
}

#[actix_rt::test]
async fn ops_listen_moves_health_and_metrics() {
    let mut cfg = config("", "");
    cfg.server.ops_listen = Some("127.0.0.1:0".parse().unwrap());
    let (api, _) = api_with(cfg);
    Call::get("/health/live")
        .send(&api)
        .await
        .assert_error(404, "not_found");
    Call::get("/metrics")
        .send(&api)
        .await
        .assert_error(404, "not_found");
    assert_eq!(Call::get("/openapi.yaml").send(&api).await.status, 200);
    let ops = api.ops();
    assert_eq!(Call::get("/health/live").send(&ops).await.status, 200);
    assert_eq!(Call::get("/health/ready").send(&ops).await.status, 200);
    Call::get(format!("{V4}/user/alice/enabled"))
        .portal()
        .send(&ops)
        .await
        .assert_error(404, "not_found");
}

/// The API can be shared across threads, and its request futures moved between them, so
/// embedders may serve it from a multi-threaded runtime too.
#[test]
fn api_and_its_futures_are_send() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    fn check(api: &crate::Api) {
        send_sync(api);
        let req = http::Request::new(http_body_util::Full::new(bytes::Bytes::new()));
        let fut = api.handle(req, "127.0.0.1:1".parse().unwrap());
        send(&fut);
    }
    let _ = check;
}

/// A Redis store on a port nothing listens on: the health watch finds it gone within about a
/// second, then the API answers 503 at once and readiness is refused, liveness not.
#[actix_rt::test]
async fn while_the_store_does_not_answer_calls_get_503_and_ready_is_refused() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let store = format!(
        "[store]\nkind = \"redis\"\nredis_url = \"redis://127.0.0.1:{closed}\"\n\
         hash_key = \"0123456789abcdef0123456789abcdef\"\n"
    );
    let (api, engine) = api_with(config("", &store));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while engine.store_available() {
        assert!(tokio::time::Instant::now() < deadline, "never noticed");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let ready = Call::get("/health/ready").send(&api).await;
    assert_eq!(
        (ready.status.as_u16(), ready.code()),
        (503, "not_ready".into())
    );
    assert_eq!(Call::get("/health/live").send(&api).await.status, 200);

    let started = tokio::time::Instant::now();
    for (call, code) in [
        (
            Call::get("/oauth/api/v4/authenticate/transaction/x").portal(),
            "1002",
        ),
        (
            Call::get("/oauth/api/v4/users/alice/devices").portal(),
            "store_unavailable",
        ),
        (
            Call::get("/device/v1/transactions/pending").basic(&"D".repeat(64), "secret"),
            "store_unavailable",
        ),
    ] {
        let a = call.send(&api).await;
        assert_eq!((a.status.as_u16(), a.code()), (503, code.into()));
        assert_eq!(a.header("retry-after"), Some("1"));
    }
    // Answered by the gate, without waiting for the store's timeouts.
    assert!(started.elapsed() < std::time::Duration::from_millis(400));
}
