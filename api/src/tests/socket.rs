//! Over a real socket on port 0: the server, h2c, the ops listener and the typed client.

use std::time::Duration;

use tessera_engine::{Engine, EngineOptions};

use crate::client::PortalClient;
use crate::test_util::*;
use crate::wire::{EventsQuery, StartParams};

fn launch(ops: bool) -> (crate::ServerInfo, Engine) {
    let mut cfg = config("", "");
    if ops {
        cfg.server.ops_listen = Some("127.0.0.1:0".parse().unwrap());
    }
    let engine = Engine::launch_with_sms(
        cfg,
        EngineOptions {
            shards: 1,
            in_place: true,
        },
        Vec::new(),
        outbox(),
    )
    .unwrap();
    let info = crate::start(engine.clone(), None).unwrap().info;
    (info, engine)
}

#[actix_rt::test]
async fn client_runs_an_sms_flow_over_http1() {
    let (info, engine) = launch(false);
    assert_ne!(info.addr.port(), 0);
    let client = PortalClient::new(
        format!("http://{}", info.addr),
        "portal",
        "portal-secret-0123456789abcdef",
    );

    client.live().await.unwrap();
    let avail = client.availability("alice").await.unwrap();
    assert!(avail.enabled.iter().any(|t| t.type_name == "sms"));

    let params = StartParams {
        user_id: Some("alice".into()),
        phone_number: Some(PHONE.into()),
        ..StartParams::new("sms")
    };
    let started = client.start(&params).await.unwrap();
    assert_eq!(started.auth_method, "sms");
    let id = started.transaction_id;

    let err = client.verify_sms("alice", &id, "nope").await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(404), Some("3003")));
    let err = client.resend_sms("alice", &id).await.unwrap_err();
    assert_eq!(err.code(), Some("1007"));
    assert!(matches!(
        err,
        crate::ClientError::Api {
            retry_after: Some(_),
            ..
        }
    ));

    let code = sms_code(&engine, &id).await;
    assert_eq!(
        client
            .verify_sms("alice", &id, &code)
            .await
            .unwrap()
            .transaction_id,
        id
    );
    let result = client
        .result(&id, Some(Duration::from_secs(1)))
        .await
        .unwrap();
    assert_eq!(result.status, "accepted");
    assert!(result.is_authenticated);

    let err = client.cancel(&id).await.unwrap_err();
    assert_eq!(err.code(), Some("4002"));
    let events = client
        .events(&EventsQuery {
            transaction_id: Some(id.clone()),
            ..EventsQuery::default()
        })
        .await;
    assert!(events.is_ok(), "{events:?}");

    let wrong = PortalClient::new(format!("http://{}", info.addr), "portal", "wrong");
    let err = wrong.availability("alice").await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(401), Some("invalid_client"))
    );
}

#[actix_rt::test]
async fn h2c_is_served() {
    let (info, _) = launch(false);
    let http = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let resp = http
        .get(format!("http://{}/health/live", info.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
}

#[actix_rt::test]
async fn ops_listener_serves_health_separately() {
    let (info, _) = launch(true);
    let ops = info.ops_addr.expect("ops listener");
    let http = reqwest::Client::new();
    let main = http
        .get(format!("http://{}/health/live", info.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(main.status(), 404);
    let ops = http
        .get(format!("http://{ops}/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(ops.status(), 200);
}

#[actix_rt::test]
async fn one_accept_loop_per_shard_shares_the_port() {
    let engine = Engine::launch(
        config("", ""),
        EngineOptions {
            shards: 3,
            in_place: false,
        },
    )
    .unwrap();
    let info = crate::start(engine.clone(), None).unwrap().info;
    // Fresh connections each time, so the kernel spreads them over the listeners.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for _ in 0..12 {
        let client = PortalClient::with_http(
            http.clone(),
            format!("http://{}", info.addr),
            "portal",
            "portal-secret-0123456789abcdef",
        );
        let params = StartParams {
            user_id: Some("alice".into()),
            phone_number: Some(PHONE.into()),
            ..StartParams::new("sms")
        };
        let id = client.start(&params).await.unwrap().transaction_id;
        client.cancel(&id).await.unwrap();
        assert_eq!(client.result(&id, None).await.unwrap().status, "cancelled");
    }
}

/// Writes `request` whole, then reads until the server closes.
async fn raw_exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf).into_owned()
}

#[actix_rt::test]
async fn oversized_bodies_are_answered_not_reset() {
    use base64::Engine as _;
    let (info, _) = launch(false);
    let token =
        base64::engine::general_purpose::STANDARD.encode("portal:portal-secret-0123456789abcdef");
    let body = format!("type=sms&message={}", "a".repeat(100 * 1024));
    let head = format!(
        "POST {V4}/user HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Basic {token}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n"
    );
    let sized = format!("{head}Content-Length: {}\r\n\r\n{body}", body.len());
    let answer = raw_exchange(info.addr, sized.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(r#""error_code":"1003""#), "{answer}");

    let mut chunked = format!("{head}Transfer-Encoding: chunked\r\n\r\n").into_bytes();
    for part in body.as_bytes().chunks(8 * 1024) {
        chunked.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        chunked.extend_from_slice(part);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let answer = raw_exchange(info.addr, &chunked).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}
