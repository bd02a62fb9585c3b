//! The ops surface (API.md, table of surfaces): health, Prometheus metrics and the OpenAPI
//! document, served without credentials.

use crate::support::Tessera;
use crate::support::conf::{self, gateways, sms_type};

async fn tessera() -> Tessera {
    Tessera::start(&conf::with(&format!(
        "{}{}",
        gateways(&["console"]),
        sms_type("sms")
    )))
    .await
}

#[tokio::test]
async fn health_endpoints_answer_without_credentials() {
    let t = tessera().await;
    for path in ["/health/live", "/health/ready"] {
        let resp = t.send(t.http.get(t.url(path))).await;
        assert_eq!(resp.status, 200, "{path}: {}", resp.text());
    }
}

#[tokio::test]
async fn metrics_count_transactions_and_http_requests() {
    let t = tessera().await;
    t.start_sms("sms", "alice", &[]).await;
    let resp = t.send(t.http.get(t.url("/metrics"))).await;
    resp.expect(200);
    let ct = resp.header("content-type").unwrap_or_default();
    assert!(
        ct.starts_with("text/plain"),
        "Prometheus text format, got `{ct}`"
    );
    let text = resp.text();
    for name in [
        "tessera_transactions_started_total",
        "tessera_http_requests_total",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(name) && !l.starts_with('#')),
            "no `{name}` sample in /metrics:\n{text}"
        );
    }
}

#[tokio::test]
async fn the_openapi_document_is_served() {
    let t = tessera().await;
    let resp = t.send(t.http.get(t.url("/openapi.yaml"))).await;
    resp.expect(200);
    let text = resp.text();
    assert!(
        text.lines()
            .any(|l| l.starts_with("openapi:") && l.contains("3.1")),
        "not an OpenAPI 3.1 document:\n{}",
        &text[..text.len().min(500)]
    );
    for needle in ["paths:", "transaction_id", "sms_code"] {
        assert!(
            text.contains(needle),
            "`{needle}` missing from the document"
        );
    }
}

#[tokio::test]
async fn ops_listen_moves_metrics_and_health_to_their_own_listener() {
    let config = conf::with(&format!("{}{}", gateways(&["console"]), sms_type("sms"))).replace(
        "listen = \"127.0.0.1:0\"",
        "listen = \"127.0.0.1:0\"\nops_listen = \"127.0.0.1:0\"",
    );
    let t = Tessera::start(&config).await;
    let line = t
        .stdout_line("tessera ops (metrics, health) on http://", 0)
        .await;
    let ops = line
        .rsplit("http://")
        .next()
        .expect("an address")
        .trim()
        .to_owned();
    assert_ne!(ops, t.addr.to_string(), "a listener of its own");
    for path in ["/health/live", "/metrics"] {
        let on_ops = t.send(t.http.get(format!("http://{ops}{path}"))).await;
        assert_eq!(on_ops.status, 200, "{path} on the ops listener");
        let on_main = t.send(t.http.get(t.url(path))).await;
        assert_eq!(on_main.status, 404, "{path} still on the main listener");
    }
    // The portal API stays on the main listener.
    t.start_sms("sms", "alice", &[]).await;
}

#[tokio::test]
async fn sigterm_stops_the_engine_cleanly() {
    let mut t = tessera().await;
    let status = std::process::Command::new("kill")
        .args(["-TERM", &t.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    t.stdout_line("tessera shutting down", 0).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while t.is_running() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still running after SIGTERM\n{}",
            t.logs()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(t.exit_code(), Some(0), "{}", t.logs());
}
