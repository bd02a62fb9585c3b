//! The ops surface (API.md, table of surfaces): health, Prometheus metrics and the OpenAPI
//! document, served without credentials.

mod support;

use support::Tessera;
use support::conf::{self, gateways, sms_type};

async fn tessera() -> Tessera {
    Tessera::start(&conf::with(&format!(
        "{}{}",
        gateways(&["console"]),
        sms_type("sms", "")
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
