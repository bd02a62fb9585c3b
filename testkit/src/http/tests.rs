use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{LoopbackServer, Reply};

/// One HTTP/1.1 request on its own connection; the response's status line.
async fn post(addr: SocketAddr, path: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn records_each_request_with_its_index_and_status() {
    let server = LoopbackServer::start(|r, n| {
        Reply::status(if n == 0 { 503 } else { 200 }).header("x-path", &r.path)
    })
    .await;
    assert_eq!(
        post(server.addr(), "/a?q=1", "one").await,
        "HTTP/1.1 503 Service Unavailable"
    );
    assert_eq!(post(server.addr(), "/b", "two").await, "HTTP/1.1 200 OK");
    let seen = server.wait_for(2).await;
    assert_eq!(
        (seen[0].path.as_str(), seen[0].query.as_deref()),
        ("/a", Some("q=1"))
    );
    assert_eq!((seen[0].status, seen[1].status), (503, 200));
    assert_eq!(&seen[1].body[..], b"two");
    assert_eq!(server.connections(), 2);
    assert_eq!(server.received(), 2);
}

#[tokio::test]
async fn an_unrecorded_server_answers_and_counts_but_keeps_nothing() {
    let addr = "127.0.0.1:0".parse().unwrap();
    let server = LoopbackServer::serve_unrecorded(addr, |r, _| {
        Reply::status(if r.path == "/sms" { 204 } else { 404 })
    })
    .await
    .unwrap();
    assert_eq!(
        post(server.addr(), "/sms", "{}").await,
        "HTTP/1.1 204 No Content"
    );
    assert_eq!(
        post(server.addr(), "/nope", "").await,
        "HTTP/1.1 404 Not Found"
    );
    assert_eq!(server.received(), 2);
    assert!(server.requests().is_empty());
}
