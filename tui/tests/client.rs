//! `AdminClient` and the background readers against a loopback HTTP server inside the test
//! that speaks the admin contract's JSON and SSE (API.md §5).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, Response};
use serde_json::{Value, json};
use tessera_config::admin::{self, codes};
use tessera_tui::action::Action;
use tessera_tui::client::{EventQuery, TransactionQuery};
use tessera_tui::resources::Collection;
use tessera_tui::sse::Record;
use tessera_tui::{AdminClient, Error};
use tokio::sync::mpsc;

/// `ops:s3cret` in Basic form.
const AUTH: &str = "Basic b3BzOnMzY3JldA==";

#[derive(Default)]
struct Seen {
    uris: Vec<String>,
    bodies: Vec<Value>,
    streams: usize,
}

type Shared = Arc<Mutex<Seen>>;

fn json_answer(status: u16, v: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json;charset=UTF-8")
        .body(Full::new(Bytes::from(v.to_string())))
        .unwrap()
}

fn error(status: u16, code: &str, fields: Value) -> Response<Full<Bytes>> {
    let mut body = json!({"error_code": code, "description": format!("{code} (test)")});
    if !fields.is_null() {
        body["fields"] = fields;
    }
    json_answer(status, body)
}

fn summary(id: &str, status: &str, version: u64) -> Value {
    json!({"transaction_id": id, "type": "push", "method": "push", "client_id": "portal",
           "user_id": "alice", "status": status, "state": status, "created_at": 1000,
           "deadline": 301000, "version": version})
}

/// The stream's answers, one per connection: records then a drop; an event; an endless line.
fn stream_body(n: usize) -> String {
    match n {
        1 => format!(
            ": hello\n\nevent: transaction\ndata: {}\n\nevent: unknown-kind\ndata: {{}}\n\nevent: dropped\ndata: {{\"reason\":\"slow subscriber\",\"missed\":12}}\n\n",
            summary("t1", "pending", 3)
        ),
        2 => "event: event\r\ndata: {\"event_identifier\":\"e9\",\"event_name\":\"SMS SENT\",\"event_type\":\"MOBILE_AUTH\",\"occurred\":5}\r\n\r\n".to_owned(),
        _ => format!("data: {}", "x".repeat(70 * 1024)),
    }
}

async fn handle(
    seen: Shared,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let uri = req.uri().to_string();
    let method = req.method().clone();
    let authorized = req
        .headers()
        .get("authorization")
        .is_some_and(|v| v == AUTH);
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    {
        let mut s = seen.lock().unwrap();
        s.uris.push(format!("{method} {uri}"));
        s.bodies.push(body.clone());
    }
    if !authorized {
        return Ok(json_answer(
            401,
            json!({"error": "invalid_client", "error_description": "bad credentials"}),
        ));
    }
    let path = uri
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_start_matches("/admin/v1");
    Ok(match (method.as_str(), path) {
        ("GET", "/stats") => json_answer(
            200,
            serde_json::to_value(admin::Stats {
                node: "n1".into(),
                at: 7,
                dead_letters: 3,
                ..Default::default()
            })
            .unwrap(),
        ),
        ("GET", "/transactions") => {
            json_answer(200, json!({"transactions": [summary("t1", "pending", 1)]}))
        }
        ("GET", "/transactions/t1") => {
            let mut d = summary("t1", "pending", 2);
            d["used_authentication_attempts"] = json!(0);
            d["resends_used"] = json!(0);
            d["timeline"] = json!([{"event_identifier": "e1", "event_name": "PUSH AUTHENTICATION STARTED", "event_type": "MOBILE_AUTH", "occurred": 1000}]);
            json_answer(200, d)
        }
        ("POST", "/transactions/t1/cancel") => Response::builder()
            .status(204)
            .body(Full::default())
            .unwrap(),
        ("POST", "/transactions/t2/cancel") => error(409, codes::ALREADY_FINAL, Value::Null),
        ("GET", "/events") => json_answer(200, json!({"events": []})),
        ("GET", "/dead-letters") => json_answer(
            200,
            json!({"dead_letters": [{"id": "d1", "transaction_id": "t1", "callback_uri": "http://portal/cb", "tries": 5, "last_error": "refused", "created_at": 9}]}),
        ),
        ("POST", "/dead-letters/d1/replay") => json_answer(
            200,
            json!({"id": "d1", "transaction_id": "t1", "delivered": false, "error": "503"}),
        ),
        ("GET", "/mobile-auth-types") => json_answer(
            200,
            json!({"items": [{"name": "sms", "method": "sms", "time_to_live": "5m"}]}),
        ),
        ("PUT", "/mobile-auth-types/sms") if body["time_to_live"] == "99h" => error(
            422,
            codes::INVALID_CONFIG,
            json!({"time_to_live": "at most 24h"}),
        ),
        ("PUT", "/mobile-auth-types/sms") => json_answer(200, body),
        ("PUT", "/api-clients/ops") => json_answer(
            200,
            json!({"id": "ops", "scopes": body["scopes"], "allowed_ips": []}),
        ),
        ("PUT", "/api-clients/new") => json_answer(
            201,
            json!({"id": "new", "scopes": ["admin"], "allowed_ips": [], "client_secret": "shown-once"}),
        ),
        ("GET", "/stream") => {
            let n = {
                let mut s = seen.lock().unwrap();
                s.streams += 1;
                s.streams
            };
            Response::builder()
                .header("content-type", "text/event-stream")
                .body(Full::new(Bytes::from(stream_body(n))))
                .unwrap()
        }
        _ => error(404, codes::NOT_FOUND, Value::Null),
    })
}

/// Serves the fake admin API on a free loopback port until the test ends.
async fn serve() -> (SocketAddr, Shared) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Shared::default();
    let shared = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let seen = shared.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| handle(seen.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    (addr, seen)
}

fn client(addr: SocketAddr) -> AdminClient {
    AdminClient::new(&format!("http://{addr}/"), "ops", "s3cret").unwrap()
}

#[tokio::test]
async fn operations_speak_the_contract() {
    let (addr, seen) = serve().await;
    let c = client(addr);
    assert_eq!(c.stats().await.unwrap().dead_letters, 3);
    let q = TransactionQuery {
        state: Some("pending".into()),
        type_name: Some("push".into()),
        user_id: Some("a b".into()),
        limit: Some(50),
    };
    assert_eq!(
        c.transactions(&q).await.unwrap().transactions[0].transaction_id,
        "t1"
    );
    assert_eq!(
        c.transactions(&TransactionQuery::default())
            .await
            .unwrap()
            .transactions
            .len(),
        1
    );
    let d = c.transaction("t1").await.unwrap();
    assert_eq!(d.timeline[0].event_name, "PUSH AUTHENTICATION STARTED");
    assert_eq!(
        c.transaction("nope").await.unwrap_err().code(),
        Some(codes::NOT_FOUND)
    );
    c.cancel("t1").await.unwrap();
    let e = c.cancel("t2").await.unwrap_err();
    assert_eq!(
        (e.status(), e.code()),
        (Some(409), Some(codes::ALREADY_FINAL))
    );
    let eq = EventQuery {
        transaction_id: Some("t1".into()),
        limit: Some(10),
        ..Default::default()
    };
    assert!(c.events(&eq).await.unwrap().events.is_empty());
    assert_eq!(c.dead_letters().await.unwrap().dead_letters[0].tries, 5);
    let outcome = c.replay("d1").await.unwrap();
    assert!(!outcome.delivered);
    assert_eq!(outcome.error.as_deref(), Some("503"));
    let uris = seen.lock().unwrap().uris.clone();
    assert!(
        uris.contains(
            &"GET /admin/v1/transactions?state=pending&type=push&user_id=a+b&limit=50".to_owned()
        ),
        "{uris:?}"
    );
    assert!(
        uris.contains(&"GET /admin/v1/transactions".to_owned()),
        "no empty query: {uris:?}"
    );
    assert!(
        uris.contains(&"GET /admin/v1/events?transaction_id=t1&limit=10".to_owned()),
        "{uris:?}"
    );
    assert!(uris.contains(&"POST /admin/v1/dead-letters/d1/replay".to_owned()));
}

#[tokio::test]
async fn resources_are_read_and_written_whole_with_field_errors() {
    let (addr, seen) = serve().await;
    let c = client(addr);
    let items = c.list(Collection::MobileAuthTypes).await.unwrap();
    assert_eq!(items[0]["time_to_live"], "5m");
    let mut body = items[0].clone();
    body["time_to_live"] = json!("99h");
    let e = c
        .put(Collection::MobileAuthTypes, "sms", &body)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(422));
    assert_eq!(e.fields().unwrap()["time_to_live"], "at most 24h");
    body["time_to_live"] = json!("10m");
    let saved = c
        .put(Collection::MobileAuthTypes, "sms", &body)
        .await
        .unwrap();
    assert_eq!(saved, Some(body));
    // An API client's view is sent as the write body: no `id`.
    let view = json!({"id": "ops", "scopes": ["admin"], "allowed_ips": []});
    c.put(Collection::ApiClients, "ops", &view).await.unwrap();
    assert_eq!(
        seen.lock().unwrap().bodies.last().unwrap(),
        &json!({"scopes": ["admin"], "allowed_ips": []})
    );
    let created = c
        .put_api_client(
            "new",
            &admin::ApiClientWrite {
                scopes: vec![tessera_config::Scope::Admin],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        matches!(created, tessera_tui::resources::ApiClientPut::Created(c) if c.client_secret == "shown-once")
    );
    let e = c
        .delete(Collection::PushConfigs, "a/b c")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(codes::NOT_FOUND));
    assert!(
        seen.lock()
            .unwrap()
            .uris
            .contains(&"DELETE /admin/v1/push-configs/a%2Fb%20c".to_owned()),
        "names are one path segment"
    );
}

#[tokio::test]
async fn authentication_failures_and_refused_connections_are_told_apart() {
    let (addr, _) = serve().await;
    let wrong = AdminClient::new(&format!("http://{addr}"), "ops", "wrong").unwrap();
    let e = wrong.stats().await.unwrap_err();
    assert_eq!((e.status(), e.code()), (Some(401), Some("invalid_client")));
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let e = client(closed).stats().await.unwrap_err();
    assert!(
        matches!(&e, Error::Connect(m) if m.to_lowercase().contains("refused")),
        "{e:?}"
    );
    assert!(matches!(
        AdminClient::new("ftp://x", "a", "b"),
        Err(Error::Url(_))
    ));
    // The secret never shows in Debug output.
    assert!(!format!("{:?}", client(addr)).contains("s3cret"));
}

#[tokio::test]
async fn the_stream_reader_yields_records_and_bounds_lines() {
    let (addr, _) = serve().await;
    let c = client(addr);
    let mut r = c.stream().await.unwrap();
    assert!(matches!(r.next().await, Some(Ok(Record::Transaction(t))) if t.version == 3));
    assert!(matches!(r.next().await, Some(Ok(Record::Dropped(d))) if d.missed == 12));
    assert!(r.next().await.is_none());
    let mut r = c.stream().await.unwrap();
    assert!(matches!(r.next().await, Some(Ok(Record::Event(e))) if e.event_name == "SMS SENT"));
    assert!(r.next().await.is_none());
    let mut r = c.stream().await.unwrap();
    assert!(matches!(r.next().await, Some(Err(Error::TooLarge(_)))));
}

#[tokio::test]
async fn the_follower_reconnects_after_a_drop_and_the_poller_reports() {
    let (addr, _) = serve().await;
    let (tx, mut rx) = mpsc::channel(64);
    let follower = tokio::spawn(tessera_tui::worker::follow_stream(client(addr), tx.clone()));
    let mut got = Vec::new();
    while got.len() < 6 {
        got.push(
            tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    follower.abort();
    assert_eq!(got[0], Action::StreamUp);
    assert!(matches!(&got[1], Action::Stream(r) if matches!(**r, Record::Transaction(_))));
    assert!(matches!(&got[2], Action::Stream(r) if matches!(**r, Record::Dropped(_))));
    assert!(matches!(&got[3], Action::StreamDown { attempt: 1, .. }));
    assert_eq!(got[4], Action::StreamUp, "reconnected by itself");
    assert!(matches!(&got[5], Action::Stream(r) if matches!(**r, Record::Event(_))));

    drop(tx);
    // The poller on its own channel (the follower's may hold more records).
    let (tx, mut rx) = mpsc::channel(64);
    let poller = tokio::spawn(tessera_tui::worker::poll_stats(client(addr), tx.clone()));
    let first = rx.recv().await.unwrap();
    assert!(matches!(first, Action::Stats(s) if s.node == "n1"));
    poller.abort();
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let poller = tokio::spawn(tessera_tui::worker::poll_stats(client(closed), tx));
    let failed = rx.recv().await.unwrap();
    poller.abort();
    assert!(
        matches!(
            failed,
            Action::StatsFailed {
                error: Error::Connect(_),
                attempt: 1,
                ..
            }
        ),
        "{failed:?}"
    );
}
