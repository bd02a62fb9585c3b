//! Authentication before the body: a request whose `Authorization` header fails is refused
//! without its body being polled at all, with the usual 401; good credentials do get it read,
//! and a body that never arrives is given up on after the read timeout.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use http::{Method, Request, Response};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame};

use crate::routes::Api;
use crate::test_util::*;

/// A body that never yields a byte and records whether anyone asked for one.
struct Silent(Arc<AtomicBool>);

impl Body for Silent {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.store(true, Ordering::SeqCst);
        Poll::Pending
    }
}

/// Sends `method path` with `Authorization: Basic base64(user:secret)` (none when `basic` is
/// empty) and a declared but silent 60 000-byte JSON body; returns the answer and whether the
/// body was polled.
async fn send_silent(api: &Api, method: Method, path: &str, basic: &str) -> (Answer, bool) {
    use base64::Engine as _;
    let polled = Arc::new(AtomicBool::new(false));
    let token = base64::engine::general_purpose::STANDARD.encode(basic);
    let mut req = Request::builder().method(method).uri(path);
    if !basic.is_empty() {
        req = req.header(AUTHORIZATION, format!("Basic {token}"));
    }
    let req = req
        .header(CONTENT_TYPE, "application/json")
        .header(CONTENT_LENGTH, "60000")
        .body(Silent(polled.clone()))
        .unwrap();
    let peer = ([127, 0, 0, 1], 40000).into();
    let resp: Response<crate::ApiBody> = api.handle(req, peer).await;
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let answer = Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    };
    (answer, polled.load(Ordering::SeqCst))
}

#[actix_rt::test]
async fn wrong_api_client_credentials_are_refused_without_reading_the_body() {
    tokio::time::pause();
    let (api, _) = api();
    let cases = [
        (format!("{V4}/user"), "portal:wrong"),
        (
            format!("{V4}/user"),
            "nobody:portal-secret-0123456789abcdef",
        ),
        (
            "/oauth/api/v4/users/alice/devices".to_owned(),
            "helpdesk:wrong",
        ),
        (
            "/admin/v1/api-clients/portal/rotate-secret".to_owned(),
            "portal:wrong",
        ),
    ];
    for (path, basic) in cases {
        let t0 = tokio::time::Instant::now();
        let (a, polled) = send_silent(&api, Method::POST, &path, basic).await;
        a.assert_error(401, "invalid_client");
        assert!(a.header("www-authenticate").is_some(), "{path}");
        assert!(!polled, "{path}: the body was polled");
        assert_eq!(
            t0.elapsed(),
            Duration::ZERO,
            "{path}: answered without waiting"
        );
    }
    // A valid client without the scope is refused before the body too.
    let (a, polled) = send_silent(
        &api,
        Method::POST,
        &format!("{V4}/user"),
        "helpdesk:helpdesk-secret-0123456789abcdef",
    )
    .await;
    a.assert_error(403, "insufficient_scope");
    assert!(!polled);
    // So is a portal client on the admin API.
    let (a, polled) = send_silent(
        &api,
        Method::PUT,
        "/admin/v1/mobile-auth-types/sms",
        "portal:portal-secret-0123456789abcdef",
    )
    .await;
    a.assert_error(403, "insufficient_scope");
    assert!(!polled);
}

#[actix_rt::test]
async fn wrong_device_credentials_are_refused_without_reading_the_body() {
    tokio::time::pause();
    let (api, _) = device_api("");
    let d = enroll(&api, "alice", "acme").await;
    let basic = format!("{}:wrong", d.id);
    let (a, polled) = send_silent(&api, Method::PUT, "/device/v1/push-enrollment", &basic).await;
    a.assert_error(401, "invalid_device");
    assert!(!polled, "the body was polled");
}

#[actix_rt::test]
async fn device_calls_without_credentials_are_refused_without_reading_the_body() {
    tokio::time::pause();
    let (api, _) = device_api("");
    let (a, polled) = send_silent(&api, Method::PUT, "/device/v1/push-enrollment", "").await;
    a.assert_error(401, "invalid_device");
    assert!(!polled, "the body was polled");
}

#[actix_rt::test]
async fn good_credentials_read_the_body_within_the_read_timeout() {
    tokio::time::pause();
    let (api, _) = api();
    let t0 = tokio::time::Instant::now();
    let (a, polled) = send_silent(
        &api,
        Method::POST,
        &format!("{V4}/user"),
        "portal:portal-secret-0123456789abcdef",
    )
    .await;
    assert!(polled, "an authenticated request has its body read");
    a.assert_error(400, "1003");
    assert!(
        t0.elapsed() >= Duration::from_secs(30),
        "gave up after the read timeout"
    );
    assert!(t0.elapsed() < Duration::from_secs(31));
}
