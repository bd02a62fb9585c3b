//! The admin API's `GET /admin/v1/stream` over a real socket: Server-Sent Events of a flow's
//! transaction changes and audit events, and a SIGTERM that ends the stream at once instead of
//! waiting for it (API.md §5).

use std::time::Duration;

use serde_json::Value;
use tessera_testkit::conf::{Scope, api_client, array};
use tokio::time::Instant;

use crate::support::Tessera;
use crate::support::conf::{gateways, sms_type, with_server};
use crate::support::portal::txn_id;

const OPS: (&str, &str) = ("ops", "ops-secret-0123456789abcdef");

/// Reads SSE records off a streaming response.
struct Events {
    resp: reqwest::Response,
    buf: String,
}

impl Events {
    /// The next `(event, data)`; `None` when the stream ended.
    async fn next(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let event = block.lines().find_map(|l| l.strip_prefix("event: "));
                let data = block.lines().find_map(|l| l.strip_prefix("data: "));
                if let (Some(e), Some(d)) = (event, data) {
                    return Some((e.to_owned(), serde_json::from_str(d).expect("JSON data")));
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.resp.chunk())
                .await
                .expect("a chunk in time")
                .expect("the stream reads");
            self.buf.push_str(std::str::from_utf8(&chunk?).unwrap());
        }
    }
}

#[tokio::test]
async fn the_stream_carries_a_flow_and_ends_at_shutdown() {
    let admin = array("api_clients", &[api_client(OPS.0, OPS.1, &[Scope::Admin])]);
    let mut t = Tessera::start(&with_server(
        "shutdown_grace = \"8s\"",
        &format!("{}{}{admin}", gateways(&["console"]), sms_type("sms")),
    ))
    .await;
    let resp = t
        .http
        .get(t.url("/admin/v1/stream"))
        .basic_auth(OPS.0, Some(OPS.1))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut events = Events {
        resp,
        buf: String::new(),
    };

    let id = txn_id(&t.start_sms("sms", "alice", &[]).await);
    let (mut saw_txn, mut saw_event) = (false, false);
    while !(saw_txn && saw_event) {
        let (event, data) = events.next().await.expect("records of the flow");
        if data["transaction_id"] != id.as_str() {
            continue;
        }
        match event.as_str() {
            "transaction" => {
                assert_eq!(data["type"], "sms");
                assert_eq!(data["status"], "pending");
                saw_txn = true;
            }
            "event" => {
                assert!(data["event_name"].as_str().unwrap().starts_with("SMS AUTH"));
                saw_event = true;
            }
            other => panic!("unexpected record `{other}`: {data}"),
        }
    }

    // SIGTERM: the stream ends now and the process exits well within its 8 s grace.
    let signalled = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &t.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    while events.next().await.is_some() {}
    while t.is_running() {
        assert!(signalled.elapsed() < Duration::from_secs(8), "{}", t.logs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        signalled.elapsed() < Duration::from_secs(4),
        "shutdown waited on the stream: {:?}",
        signalled.elapsed()
    );
    assert_eq!(t.exit_code(), Some(0), "{}", t.logs());
}
