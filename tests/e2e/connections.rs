//! Connection limits over the real binary (`[server]`, CONFIG.md): silent sockets and half an
//! h2 preface are closed after `handshake_timeout` without slowing anyone else down, idle HTTP/1
//! and h2c connections after `idle_timeout` while a long-poll is not idle, the per-address cap,
//! and a refused request whose slow body is never waited for.
//!
//! Timeouts are short (1 s); assertions are "closed within the timeout plus generous slack",
//! and "not before the timeout" where the server's own clock makes that certain.

use crate::support;

use std::net::SocketAddr;
use std::time::Duration;

use crate::support::conf::{sms_type, with_server};
use crate::support::h2::{GOAWAY, H2};
use crate::support::portal::txn_id;
use crate::support::{DEADLINE, Tessera, raw};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

const SHORT: Duration = Duration::from_secs(1);
/// Slack on top of a timeout before "it was not closed" fails a test.
const SLACK: Duration = Duration::from_secs(8);

async fn tessera(server_keys: &str) -> Tessera {
    Tessera::start(&with_server(server_keys, &sms_type("sms"))).await
}

/// Reads (and drops) until the server closes `stream`; panics after `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) {
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "still open after {within:?}");
}

/// Reads one HTTP/1.1 response with a `Content-Length` off a keep-alive connection.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(DEADLINE, stream.read(&mut chunk))
            .await
            .expect("response in time")
            .expect("read");
        assert!(
            n > 0,
            "closed before the response: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= len {
                return text;
            }
        }
    }
}

async fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.expect("connect")
}

#[tokio::test]
async fn silent_sockets_do_not_stop_clients_and_are_closed_after_the_handshake_timeout() {
    let t = tessera("handshake_timeout = \"1s\"\nmax_connections_per_ip = 1000").await;
    let opened = Instant::now();
    let mut silent = Vec::new();
    for _ in 0..300 {
        silent.push(connect(t.addr).await);
    }
    // A normal client is served while they hang around.
    let live = tokio::time::timeout(DEADLINE, t.http.get(t.url("/health/live")).send())
        .await
        .expect("answered promptly")
        .expect("request");
    assert_eq!(live.status(), 200);
    t.start_sms("sms", "alice", &[]).await;

    let all = futures::future::join_all(silent.iter_mut().map(|s| closed_within(s, SHORT + SLACK)));
    all.await;
    assert!(
        opened.elapsed() >= SHORT - Duration::from_millis(50),
        "not before the timeout"
    );
}

#[tokio::test]
async fn half_an_h2_preface_is_closed_after_the_handshake_timeout() {
    let t = tessera("handshake_timeout = \"1s\"").await;
    let mut stream = connect(t.addr).await;
    let sent = Instant::now();
    stream.write_all(&support::h2::PREFACE[..12]).await.unwrap();
    closed_within(&mut stream, SHORT + SLACK).await;
    assert!(sent.elapsed() >= SHORT - Duration::from_millis(50));
}

#[tokio::test]
async fn an_idle_h2c_connection_gets_goaway_and_is_closed_after_the_idle_timeout() {
    let t = tessera("idle_timeout = \"1s\"").await;
    let mut h2 = H2::connect(t.addr).await;
    h2.get(1, "/health/live").await;
    h2.response(1).await;
    let answered = Instant::now();
    let kinds = tokio::time::timeout(SHORT + SLACK, h2.until_closed())
        .await
        .expect("closed within the idle timeout and slack");
    assert!(
        kinds.contains(&GOAWAY),
        "GOAWAY before the close: {kinds:?}"
    );
    assert!(answered.elapsed() >= SHORT - Duration::from_millis(50));
}

#[tokio::test]
async fn an_idle_http1_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let t = tessera("idle_timeout = \"1s\"").await;
    let mut stream = connect(t.addr).await;
    for _ in 0..2 {
        // Kept alive between requests shorter apart than the idle timeout.
        stream
            .write_all(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .unwrap();
        let resp = read_response(&mut stream).await;
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let idle = Instant::now();
    closed_within(&mut stream, SHORT + SLACK).await;
    assert!(idle.elapsed() >= SHORT - Duration::from_millis(400));
}

#[tokio::test]
async fn a_long_poll_longer_than_the_idle_timeout_is_not_cut() {
    let t = tessera("idle_timeout = \"1s\"").await;
    let id = txn_id(&t.start_sms("sms", "alice", &[]).await);
    let path = format!("/oauth/api/v4/authenticate/transaction/{id}?wait=2500");

    // HTTP/1.1, on a connection kept alive afterwards.
    let mut stream = connect(t.addr).await;
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\n\r\n",
        raw::portal_basic()
    );
    let asked = Instant::now();
    stream.write_all(head.as_bytes()).await.unwrap();
    let resp = read_response(&mut stream).await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("\"pending\""), "{resp}");
    assert!(asked.elapsed() >= Duration::from_millis(2500), "it waited");
    // Not treated as idle meanwhile: the connection was not told to close and serves on.
    assert!(
        !resp.to_ascii_lowercase().contains("connection: close"),
        "{resp}"
    );
    stream
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));

    // h2c: an open stream keeps the connection busy.
    let h2c = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .timeout(DEADLINE)
        .build()
        .unwrap();
    let resp = h2c
        .get(t.url(&path))
        .basic_auth(support::conf::CLIENT_ID, Some(support::conf::CLIENT_SECRET))
        .send()
        .await
        .expect("the long-poll is answered, not cut");
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "pending", "{body}");
}

#[tokio::test]
async fn a_connection_over_the_per_ip_cap_is_closed_at_once() {
    let t = tessera("max_connections_per_ip = 2").await;
    let mut first = connect(t.addr).await;
    let _second = connect(t.addr).await;
    // Both are served: the first answers a request.
    first
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    assert!(read_response(&mut first).await.starts_with("HTTP/1.1 200"));

    let mut third = connect(t.addr).await;
    // Closed at once: long before the 10 s handshake timeout.
    closed_within(&mut third, Duration::from_secs(3)).await;

    // A closed connection gives its slot back.
    drop(first);
    crate::support::eventually(
        DEADLINE,
        "a slot freed by the closed connection",
        || async {
            raw::send(t.addr, &raw::request("GET", "/health/live", &[], b""))
                .await
                .ok()
                .filter(|r| r.status == 200)
        },
    )
    .await;
}

#[tokio::test]
async fn wrong_credentials_with_a_slow_body_are_refused_without_reading_it() {
    let t = tessera("").await;
    let wrong = {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD.encode("portal:wrong");
        format!("Basic {token}")
    };
    // The head promises a body that never comes; the 401 does not wait for it.
    for length in ["60000", "10000000000"] {
        let req = raw::request(
            "POST",
            "/oauth/api/v4/authenticate/user",
            &[
                ("Authorization", &wrong),
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Content-Length", length),
            ],
            b"type=sms&user_id=al",
        );
        let asked = Instant::now();
        let resp = raw::send(t.addr, &req).await.expect("an answer");
        assert_eq!(resp.status, 401, "{}", resp.text());
        let body: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        assert_eq!(body["error"], "invalid_client", "{body}");
        assert!(resp.header("www-authenticate").is_some());
        // The body read timeout is 30 s: an answer this soon did not wait for the body.
        assert!(asked.elapsed() < Duration::from_secs(10));
    }
}
