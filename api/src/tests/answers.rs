//! The device API under abuse (API.md §1, §4): random bytes, broken armor, wrong keys, wrong
//! content types and huge bodies to every device endpoint get a `4xx` JSON answer, never a panic;
//! PIN guessing ends in a disconnected device.

use serde_json::json;
use tessera_engine::AnswerBody;
use tessera_engine::crypto::{self, DeviceKeyPair};

use crate::routes::Api;
use crate::test_util::*;

/// Starts a `push_pin` transaction for `user`; returns its id.
pub(super) async fn start_pin(api: &Api, user: &str) -> String {
    let a = Call::post(format!("{V4}/user"))
        .portal()
        .form(&[("type", "push_pin"), ("user_id", user)])
        .send(api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.json()["transaction_id"].as_str().unwrap().to_owned()
}

pub(super) fn sealed(d: &TestDevice, by: &DeviceKeyPair, plaintext: &[u8]) -> String {
    crypto::seal_for_server(plaintext, &d.server, by).unwrap()
}

/// An accepting answer bound to transaction `id`.
pub(super) fn answer_json(id: &str, pin: Option<&str>) -> Vec<u8> {
    let body = AnswerBody {
        transaction_id: Some(id.to_owned()),
        accepted: true,
        pin_token: pin.map(str::to_owned),
        ..AnswerBody::default()
    };
    serde_json::to_vec(&body).unwrap()
}

#[track_caller]
fn assert_4xx_json(a: &Answer, what: &str) {
    assert!(
        a.status.is_client_error(),
        "{what}: {} {:?}",
        a.status,
        a.body
    );
    assert_eq!(
        a.header("content-type"),
        Some("application/json;charset=UTF-8"),
        "{what}"
    );
    assert!(!a.code().is_empty(), "{what}: {:?}", a.body);
}

#[actix_rt::test]
async fn garbage_answers_are_refused_and_the_transaction_survives() {
    let (api, _) = device_api("");
    let (d, pin) = ready_device(&api, "alice").await;
    let stranger = DeviceKeyPair::generate().unwrap();
    let id = start_pin(&api, "alice").await;
    let post = |content_type: &str, body: Vec<u8>| {
        Call::post(format!("{DEV}/transactions/{id}/answer"))
            .device(&d)
            .raw(content_type, body)
    };
    let random: Vec<u8> = (0..2048).map(|_| rand::random::<u8>()).collect();
    let pgp = "application/pgp-encrypted";
    let cases: Vec<(&str, Call, u16, &str)> = vec![
        (
            "random bytes",
            post(pgp, random.clone()),
            400,
            "invalid_message",
        ),
        ("empty", post(pgp, Vec::new()), 400, "invalid_message"),
        (
            "broken armor",
            post(
                pgp,
                b"-----BEGIN PGP MESSAGE-----\n\nAAAA!!!!\n-----END PGP MESSAGE-----\n".to_vec(),
            ),
            400,
            "invalid_message",
        ),
        (
            "a key, not a message",
            post(pgp, d.keys.public_armored().as_bytes().to_vec()),
            400,
            "invalid_message",
        ),
        (
            "signed by another key",
            post(
                pgp,
                sealed(&d, &stranger, &answer_json(&id, Some(&pin))).into_bytes(),
            ),
            400,
            "invalid_message",
        ),
        (
            "not JSON inside",
            post(pgp, sealed(&d, &d.keys, b"accept!").into_bytes()),
            400,
            "invalid_message",
        ),
        (
            "wrong JSON inside",
            post(
                pgp,
                sealed(&d, &d.keys, br#"{"accepted":"yes"}"#).into_bytes(),
            ),
            400,
            "invalid_message",
        ),
        (
            "JSON type",
            post("application/json", b"{}".to_vec()),
            415,
            "unsupported_media_type",
        ),
        (
            "form type",
            post("application/x-www-form-urlencoded", b"a=b".to_vec()),
            415,
            "unsupported_media_type",
        ),
        (
            "huge",
            post(pgp, vec![b'A'; crate::MAX_BODY_BYTES + 10]),
            413,
            "request_too_large",
        ),
        (
            "no content type",
            Call::post(format!("{DEV}/transactions/{id}/answer"))
                .device(&d)
                .raw("", random),
            415,
            "unsupported_media_type",
        ),
    ];
    for (what, call, status, code) in cases {
        let a = call.send(&api).await;
        assert_4xx_json(&a, what);
        assert_eq!(
            (a.status.as_u16(), a.code().as_str()),
            (status, code),
            "{what}"
        );
    }
    // Still pending, and a proper answer (as text/plain, which some stacks send) goes through.
    let a = post(
        "text/plain; charset=us-ascii",
        sealed(&d, &d.keys, &answer_json(&id, Some(&pin))).into_bytes(),
    )
    .send(&api)
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.json(), json!({"result": "accepted"}));
}

#[actix_rt::test]
async fn garbage_to_every_json_endpoint() {
    let (api, _) = device_api("");
    let (d, _) = ready_device(&api, "alice").await;
    let random: Vec<u8> = (0..512).map(|_| rand::random::<u8>()).collect();
    let bodies: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "random JSON-typed bytes",
            "application/json",
            random.clone(),
        ),
        ("random untyped bytes", "application/octet-stream", random),
        ("JSON array", "application/json", b"[1,2]".to_vec()),
        (
            "truncated JSON",
            "application/json",
            b"{\"push_token\":".to_vec(),
        ),
        (
            "form",
            "application/x-www-form-urlencoded",
            b"push_token=x".to_vec(),
        ),
        (
            "PGP armor",
            "application/pgp-encrypted",
            b"-----BEGIN PGP MESSAGE-----".to_vec(),
        ),
        (
            "huge",
            "application/json",
            vec![b' '; crate::MAX_BODY_BYTES + 1],
        ),
    ];
    let endpoints = [
        ("POST", "/enrollments"),
        ("PUT", "/push-enrollment"),
        ("DELETE", "/push-enrollment"),
        ("PUT", "/authenticators/pin"),
        ("PUT", "/authenticators/fingerprint"),
        ("PUT", "/authenticators/custom/face"),
        ("POST", "/otp"),
    ];
    for (method, path) in endpoints {
        for (what, content_type, body) in &bodies {
            let call = Call::new(method.parse().unwrap(), format!("{DEV}{path}"))
                .device(&d)
                .raw(content_type, body.clone());
            let a = call.send(&api).await;
            assert_4xx_json(&a, &format!("{method} {path}: {what}"));
        }
    }
}

#[actix_rt::test]
async fn transaction_ids_and_fetch_errors() {
    let (api, _) = device_api("");
    let (d, _) = ready_device(&api, "alice").await;
    let (other, _) = ready_device(&api, "bob").await;
    let unknown = uuid::Uuid::new_v4().to_string();
    for id in [
        "nope",
        "%00",
        "..",
        unknown.as_str(),
        "123e4567-e89b-12d3-a456-42661417400",
    ] {
        Call::get(format!("{DEV}/transactions/{id}"))
            .device(&d)
            .send(&api)
            .await
            .assert_error(404, "invalid_transaction");
        Call::post(format!("{DEV}/transactions/{id}/answer"))
            .device(&d)
            .raw("application/pgp-encrypted", "x")
            .send(&api)
            .await
            .assert_error(404, "invalid_transaction");
    }
    let id = start_pin(&api, "alice").await;
    // Another user's device may neither fetch nor answer it.
    Call::get(format!("{DEV}/transactions/{id}"))
        .device(&other)
        .send(&api)
        .await
        .assert_error(404, "invalid_transaction");
    let a = Call::get(format!("{DEV}/transactions/{id}"))
        .device(&d)
        .send(&api)
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some("application/pgp-encrypted"));
    assert!(a.header("cache-control").unwrap().contains("no-store"));
    assert_eq!(a.header("pragma"), Some("no-cache"));
    let doc = crypto::open_from_server(std::str::from_utf8(&a.body).unwrap(), &d.keys, &d.server)
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&doc).unwrap();
    assert_eq!(doc["transaction_id"], id.as_str());
    assert_eq!(doc["type"], "push_pin");
    Call::get(format!("{DEV}/transactions/{id}"))
        .device(&d)
        .send(&api)
        .await
        .assert_error(409, "already_fetched");
    // Methods the device API does not have on known paths.
    Call::post(format!("{DEV}/transactions/{id}"))
        .device(&d)
        .send(&api)
        .await
        .assert_error(405, "method_not_allowed");
    Call::get(format!("{DEV}/nowhere"))
        .device(&d)
        .send(&api)
        .await
        .assert_error(404, "not_found");
}

#[actix_rt::test]
async fn pin_guessing_disconnects_the_device() {
    let (api, engine) = device_api("");
    let (d, pin) = ready_device(&api, "alice").await;
    let id = start_pin(&api, "alice").await;
    let wrong = sealed(
        &d,
        &d.keys,
        &answer_json(&id, Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")),
    );
    let answer = |body: String| {
        Call::post(format!("{DEV}/transactions/{id}/answer"))
            .device(&d)
            .raw("application/pgp-encrypted", body)
    };
    for remaining in [2, 1] {
        let a = answer(wrong.clone()).send(&api).await;
        a.assert_error(403, "invalid_authenticator");
        assert_eq!(a.json()["remaining_attempts"], remaining);
    }
    // No token at all on push with PIN: refused, without a count to report.
    let a = answer(sealed(&d, &d.keys, &answer_json(&id, None)))
        .send(&api)
        .await;
    a.assert_error(403, "invalid_authenticator");
    assert!(a.json().get("remaining_attempts").is_none(), "{:?}", a.body);

    answer(wrong.clone())
        .send(&api)
        .await
        .assert_error(403, "device_disconnected");
    assert!(engine.store().get_device(&d.id).await.unwrap().is_none());
    // Disconnected: every call now fails authentication, the right PIN included.
    answer(sealed(&d, &d.keys, &answer_json(&id, Some(&pin))))
        .send(&api)
        .await
        .assert_error(401, "invalid_device");
}
