//! Graceful shutdown of the real binary (`[server] shutdown_grace`): SIGTERM answers a long-poll
//! at once with the current state, lets a slow in-flight request finish, refuses new
//! connections, and exits 0 within the grace.

use std::time::Duration;

use crate::support::conf::{sms_type, with_server};
use crate::support::portal::txn_id;
use crate::support::{DEADLINE, Tessera, raw};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

const GRACE: Duration = Duration::from_secs(5);

async fn tessera() -> Tessera {
    Tessera::start(&with_server("shutdown_grace = \"5s\"", &sms_type("sms"))).await
}

fn sigterm(t: &Tessera) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &t.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

/// Waits for the process to exit (panics after `within`) and returns its exit code.
async fn exit_code(t: &mut Tessera, within: Duration) -> Option<i32> {
    let deadline = Instant::now() + within;
    while t.is_running() {
        assert!(
            Instant::now() < deadline,
            "still running after {within:?}\n{}",
            t.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t.exit_code()
}

#[tokio::test]
async fn sigterm_answers_a_long_poll_at_once_and_exits_0_within_the_grace() {
    let mut t = tessera().await;
    let id = txn_id(&t.start_sms("sms", "alice", &[]).await);
    let poll = t.portal(
        reqwest::Method::GET,
        &format!("/oauth/api/v4/authenticate/transaction/{id}?wait=60000"),
    );
    let poll = tokio::spawn(poll.send());
    // Let the long-poll reach the server and park.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!poll.is_finished(), "the long-poll waits while serving");

    let signalled = Instant::now();
    sigterm(&t);
    let resp = tokio::time::timeout(GRACE + Duration::from_secs(3), poll)
        .await
        .expect("answered within the grace, not after its 60 s wait")
        .unwrap()
        .expect("an answer, not a cut connection");
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "pending", "{body}");
    assert_eq!(body["transaction_id"], id.as_str(), "{body}");

    let code = exit_code(&mut t, GRACE + Duration::from_secs(5)).await;
    assert_eq!(code, Some(0), "{}", t.logs());
    assert!(signalled.elapsed() < GRACE + Duration::from_secs(5));
    t.stdout_line("tessera stopped", 0).await;
}

#[tokio::test]
async fn sigterm_lets_a_slow_request_finish_and_refuses_new_connections() {
    let mut t = tessera().await;
    let body = b"type=sms&user_id=alice&phone_number=%2B31612345678";
    let (first, rest) = body.split_at(10);
    let head = format!(
        "POST /oauth/api/v4/authenticate/user HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Authorization: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n",
        raw::portal_basic(),
        body.len()
    );
    let mut slow = TcpStream::connect(t.addr).await.unwrap();
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(first).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    sigterm(&t);
    t.stdout_line("tessera shutting down", 0).await;
    // The listening sockets close: new connections are refused.
    crate::support::eventually(DEADLINE, "connections refused", || async {
        TcpStream::connect(t.addr).await.err()
    })
    .await;

    // The request under way still gets its answer.
    slow.write_all(rest).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(DEADLINE, slow.read_to_end(&mut answer))
        .await
        .expect("answered and closed")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}\n{}", t.logs());
    assert!(answer.contains("transaction_id"), "{answer}");

    let code = exit_code(&mut t, GRACE + Duration::from_secs(5)).await;
    assert_eq!(code, Some(0), "{}", t.logs());
}
