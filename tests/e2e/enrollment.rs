//! Enrollment and the push enrollment modes (API.md §3 enrollment codes, §4 enrollment and push
//! enrollment, §2.6 v2/v3 under `multiple_devices`): `single_device` refuses a second device,
//! `override_allowed` drops the first one, `multiple_devices` fans pushes out to all of them and
//! the first answer wins.

use serde_json::json;
use tessera_api::wire::{AnswerOutcome, StartParams};

use crate::support::device::{PIN, World, accept, assert_outcome, expect_api_error, push_token};
use crate::support::portal::PHONE;

#[tokio::test]
async fn an_enrollment_code_is_single_use_and_checked() {
    let w = World::start("").await;
    let issued = w.mgmt.enrollment_code("alice").await.unwrap();
    assert!(!issued.enrollment_code.is_empty());
    assert_eq!(issued.expires_in_ms, 300_000, "default TTL 5 min");
    assert!(issued.qr_svg.contains("<svg"), "{}", issued.qr_svg);

    let enroll = |code: &str, version: &str, key: &str| {
        let body = json!({
            "enrollment_code": code,
            "app_id": "acme",
            "app_version": version,
            "platform": "android",
            "device_name": "Pixel",
            "public_key": key,
        });
        w.t.send(w.t.http.post(w.t.url("/device/v1/enrollments")).json(&body))
    };
    let key = tessera_engine::crypto::DeviceKeyPair::generate().unwrap();
    let key = key.public_armored();

    let resp = enroll("not-a-code", "1.0", key).await;
    resp.expect_error(400, "invalid_enrollment_code");
    // A disabled version, and one the application does not have.
    for version in ["0.9", "0.1"] {
        enroll(&issued.enrollment_code, version, key)
            .await
            .expect_error(403, "app_version_disabled");
    }
    let resp = enroll(
        &issued.enrollment_code,
        "1.0",
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnope\n-----END PGP PUBLIC KEY BLOCK-----\n",
    )
    .await;
    resp.expect_error(400, "invalid_public_key");

    let resp = enroll(&issued.enrollment_code, "1.0", key).await;
    resp.expect(201);
    let enrolled = resp.json();
    let device_id = enrolled["device_id"].as_str().unwrap_or_default();
    assert_eq!(device_id.len(), 64, "{enrolled}");
    assert!(
        device_id
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()),
        "device_id is upper-case hex: {device_id}"
    );
    for field in ["device_secret", "profile_id", "server_public_key"] {
        assert!(enrolled[field].is_string(), "{field} missing: {enrolled}");
    }
    assert!(
        enrolled["server_public_key"]
            .as_str()
            .unwrap()
            .contains("BEGIN PGP PUBLIC KEY BLOCK")
    );

    // Used: the same code enrolls nothing more.
    enroll(&issued.enrollment_code, "1.0", key)
        .await
        .expect_error(400, "invalid_enrollment_code");
    let devices = w.mgmt.devices("alice").await.unwrap();
    assert_eq!(devices.len(), 1, "{devices:?}");
    assert_eq!(devices[0].id, device_id);
}

#[tokio::test]
async fn single_device_mode_refuses_a_second_push_enrollment() {
    let w = World::start("push_enrollment_mode = \"single_device\"").await;
    let first = w.phone("alice", "First").await;
    let second = w.enroll("alice", "Second").await;
    expect_api_error(
        second.push_enroll(&push_token(&second)).await,
        409,
        "user_already_enrolled",
    );
    // Another user's device may not take the first device's push token either.
    let bob = w.enroll("bob", "Bob's").await;
    expect_api_error(
        bob.push_enroll(&push_token(&first)).await,
        409,
        "push_token_in_use",
    );

    // The push still goes to the first device only.
    let started = w.start_push("push_pin", "alice").await;
    assert_eq!(
        started.device.as_ref().map(|d| d.name.as_str()),
        Some("First")
    );
    let id = started.transaction_id;
    assert_eq!(first.pending().await.unwrap().len(), 1);
    assert!(second.pending().await.unwrap().is_empty());
    assert!(w.pushes_to(second.device_id()).is_empty());
    first.fetch(&id).await.unwrap();
    assert_eq!(
        first.answer_with_pin(&id, PIN, true).await.unwrap(),
        AnswerOutcome::Accepted
    );

    // Once the first device gives up push, the second may take it.
    first.push_unenroll().await.unwrap();
    second.push_enroll(&push_token(&second)).await.unwrap();
    let started = w.start_push("push", "alice").await;
    assert_eq!(
        started.device.as_ref().map(|d| d.name.as_str()),
        Some("Second")
    );
}

#[tokio::test]
async fn override_allowed_mode_drops_the_first_device() {
    let w = World::start("push_enrollment_mode = \"override_allowed\"").await;
    let first = w.phone("alice", "First").await;
    let pending = w.start_push("push_pin", "alice").await.transaction_id;
    let second = w.phone("alice", "Second").await;

    // The first enrollment and its keys are gone: its credentials no longer work, and the
    // transaction that waited for it failed.
    assert_outcome(
        &w.final_result(&pending).await,
        "failed",
        Some("device_removed"),
    );
    expect_api_error(first.pending().await, 401, "invalid_device");
    expect_api_error(
        first.push_enroll(&push_token(&first)).await,
        401,
        "invalid_device",
    );
    let devices = w.mgmt.devices("alice").await.unwrap();
    let ids: Vec<&str> = devices.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, [second.device_id()]);

    let started = w.start_push("push_pin", "alice").await;
    assert_eq!(
        started.device.as_ref().map(|d| d.name.as_str()),
        Some("Second")
    );
    let id = started.transaction_id;
    w.wait_pushes(second.device_id(), 1).await;
    let to_first = w.pushes_to(first.device_id());
    assert!(
        to_first.iter().all(|l| !l.contains(&id)),
        "pushed to the dropped device: {to_first:?}"
    );
    second.fetch(&id).await.unwrap();
    assert_eq!(
        second.answer_with_pin(&id, PIN, true).await.unwrap(),
        AnswerOutcome::Accepted
    );
    expect_api_error(first.fetch(&id).await, 401, "invalid_device");
}

#[tokio::test]
async fn multiple_devices_mode_fans_out_and_the_first_answer_wins() {
    let w = World::start("push_enrollment_mode = \"multiple_devices\"").await;
    let a = w.phone("alice", "Phone A").await;
    let b = w.phone("alice", "Phone B").await;

    let started = w.start_push("push_pin", "alice").await;
    assert!(started.device.is_none(), "{started:?}");
    let mut names: Vec<String> = started
        .devices
        .clone()
        .expect("the devices the push went to")
        .into_iter()
        .map(|d| d.name)
        .collect();
    names.sort();
    assert_eq!(names, ["Phone A", "Phone B"]);
    let id = started.transaction_id;

    // Both got the push and both see the transaction.
    for phone in [&a, &b] {
        let pushes = w.wait_pushes(phone.device_id(), 1).await;
        assert!(pushes[0].contains(&id), "{}", pushes[0]);
        let pending = phone.pending().await.unwrap();
        assert_eq!(pending.len(), 1, "{pending:?}");
        assert_eq!(pending[0].transaction_id, id);
    }

    // B answers first and wins; A's list empties and A's answer comes too late.
    b.fetch(&id).await.unwrap();
    assert_eq!(
        b.answer_with_pin(&id, PIN, true).await.unwrap(),
        AnswerOutcome::Accepted
    );
    assert!(a.pending().await.unwrap().is_empty());
    let late = a.answer_with_pin(&id, PIN, false).await;
    let err = late.expect_err("the transaction is final");
    assert_eq!(err.status(), Some(409), "{err}");
    let result = w.final_result(&id).await;
    assert_eq!(result.status, "accepted");
    assert_eq!(result.authentication_method, "push_with_pin");

    // Targeting one device by id pushes to it alone.
    let started = w
        .start_with(&StartParams {
            user_id: Some("alice".into()),
            device_id: Some(a.device_id().into()),
            ..StartParams::new("push")
        })
        .await;
    assert_eq!(
        started.device.as_ref().map(|d| d.name.as_str()),
        Some("Phone A")
    );
    assert_eq!(a.pending().await.unwrap().len(), 1);
    assert!(b.pending().await.unwrap().is_empty());
    a.fetch(&started.transaction_id).await.unwrap();
    a.answer(&started.transaction_id, &accept()).await.unwrap();
}

#[tokio::test]
async fn concurrent_answers_from_two_devices_accept_once() {
    let w = World::start("push_enrollment_mode = \"multiple_devices\"").await;
    let a = w.phone("alice", "Phone A").await;
    let b = w.phone("alice", "Phone B").await;
    let id = w.start_push("push", "alice").await.transaction_id;
    a.fetch(&id).await.unwrap();
    b.fetch(&id).await.unwrap();
    let yes = accept();
    let (ra, rb) = tokio::join!(a.answer(&id, &yes), b.answer(&id, &yes));
    let wins = [&ra, &rb]
        .iter()
        .filter(|r| matches!(r, Ok(AnswerOutcome::Accepted)))
        .count();
    assert_eq!(wins, 1, "{ra:?} {rb:?}");
    for loser in [ra, rb].into_iter().filter_map(Result::err) {
        assert_eq!(loser.status(), Some(409), "{loser}");
    }
    assert_eq!(w.final_result(&id).await.status, "accepted");
}

#[tokio::test]
async fn multiple_devices_mode_closes_v2_and_v3() {
    let w = World::start("push_enrollment_mode = \"multiple_devices\"").await;
    w.phone("alice", "Phone A").await;
    let t = &w.t;
    t.get("/oauth/api/v2/authenticate/user/alice/enabled/push_pin")
        .await
        .expect_error(404, "4001");
    t.get("/oauth/api/v3/authenticate/user/alice/enabled")
        .await
        .expect_error(404, "4001");
    t.post_form(
        "/oauth/api/v3/authenticate/user",
        &[
            ("type", "sms"),
            ("user_id", "alice"),
            ("phone_number", PHONE),
        ],
    )
    .await
    .expect_error(404, "4001");
    t.post_form(
        "/oauth/api/v2/authenticate/user",
        &[
            ("type", "sms"),
            ("user_id", "alice"),
            ("phone_number", PHONE),
        ],
    )
    .await
    .expect_error(404, "4001");
    // v4 is served.
    t.get("/oauth/api/v4/authenticate/user/alice/enabled")
        .await
        .expect(200);
}

#[tokio::test]
async fn single_device_mode_serves_v2_and_v3() {
    let w = World::start("").await;
    w.phone("alice", "Phone A").await;
    let v2 =
        w.t.get("/oauth/api/v2/authenticate/user/alice/enabled/push_pin")
            .await;
    v2.expect(200);
    assert_eq!(v2.json()["enabled"], true, "{}", v2.text());
    let v3 =
        w.t.get("/oauth/api/v3/authenticate/user/alice/enabled")
            .await;
    v3.expect(200);
    let body = v3.json();
    let push = body["enabled"]
        .as_array()
        .and_then(|l| l.iter().find(|t| t["type"] == "push_pin"))
        .unwrap_or_else(|| panic!("push_pin not listed: {body}"));
    assert_eq!(
        push["apps_enrolled_for_push"],
        json!([{"id": "acme", "name": "ACME"}]),
        "{body}"
    );
}
