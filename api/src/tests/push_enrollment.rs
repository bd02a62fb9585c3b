//! Push enrollment and its modes (API.md §4), and authenticator registration.

use serde_json::json;

use crate::test_util::*;

#[actix_rt::test]
async fn single_device_refuses_a_second_device_of_the_same_app() {
    let (api, _) = device_api("");
    let first = enroll(&api, "alice", "acme").await;
    let second = enroll(&api, "alice", "acme").await;
    let other_app = enroll(&api, "alice", "plain").await;
    assert_eq!(push_enroll(&api, &first, "tok-1").await.status, 204);
    push_enroll(&api, &second, "tok-2")
        .await
        .assert_error(409, "user_already_enrolled");
    // Another application never conflicts.
    assert_eq!(push_enroll(&api, &other_app, "tok-3").await.status, 204);
    // Re-enrolling the same device (a new token) is fine.
    assert_eq!(push_enroll(&api, &first, "tok-1b").await.status, 204);

    // Once the first leaves push, the second may take its place.
    let a = Call::delete(format!("{DEV}/push-enrollment"))
        .device(&first)
        .send(&api)
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    assert_eq!(push_enroll(&api, &second, "tok-2").await.status, 204);
}

#[actix_rt::test]
async fn override_drops_the_other_device() {
    let (api, engine) = device_api("push_enrollment_mode = \"override_allowed\"");
    let first = enroll(&api, "alice", "acme").await;
    let second = enroll(&api, "alice", "acme").await;
    assert_eq!(push_enroll(&api, &first, "tok-1").await.status, 204);
    assert_eq!(push_enroll(&api, &second, "tok-2").await.status, 204);
    assert!(
        engine
            .store()
            .get_device(&first.id)
            .await
            .unwrap()
            .is_none()
    );
    // The dropped device's credentials are gone with it.
    Call::get(format!("{DEV}/transactions/pending"))
        .device(&first)
        .send(&api)
        .await
        .assert_error(401, "invalid_device");
    let devices = engine.devices_of("alice").await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].id, second.id);
}

#[actix_rt::test]
async fn multiple_devices_coexist() {
    let (api, engine) = device_api("push_enrollment_mode = \"multiple_devices\"");
    let first = enroll(&api, "alice", "acme").await;
    let second = enroll(&api, "alice", "acme").await;
    assert_eq!(push_enroll(&api, &first, "tok-1").await.status, 204);
    assert_eq!(push_enroll(&api, &second, "tok-2").await.status, 204);
    let devices = engine.devices_of("alice").await.unwrap();
    assert_eq!(devices.len(), 2);
    assert!(devices.iter().all(|d| d.push_ready()));
}

#[actix_rt::test]
async fn push_token_held_by_another_device_is_409() {
    let (api, _) = device_api("");
    let alice = enroll(&api, "alice", "acme").await;
    let bob = enroll(&api, "bob", "acme").await;
    assert_eq!(push_enroll(&api, &alice, "shared-token").await.status, 204);
    push_enroll(&api, &bob, "shared-token")
        .await
        .assert_error(409, "push_token_in_use");
}

#[actix_rt::test]
async fn push_enrollment_refusals() {
    let (api, _) = device_api("");
    let d = enroll(&api, "alice", "acme").await;
    let put = |body: serde_json::Value| {
        Call::put(format!("{DEV}/push-enrollment"))
            .device(&d)
            .json(body)
    };
    put(json!({}))
        .send(&api)
        .await
        .assert_error(400, "invalid_request");
    put(json!({"push_token": 5}))
        .send(&api)
        .await
        .assert_error(400, "invalid_request");
    put(json!({"push_token": "a\u{7}b"}))
        .send(&api)
        .await
        .assert_error(400, "invalid_request");
    // The limit counts characters, as the document's `maxLength` does: 4096 two-byte
    // characters pass, one more does not.
    put(json!({"push_token": "é".repeat(4097)}))
        .send(&api)
        .await
        .assert_error(400, "invalid_request");
    let a = put(json!({"push_token": "é".repeat(4096)}))
        .send(&api)
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    let a = put(json!({"push_token": "new", "old_push_token": "old"}))
        .send(&api)
        .await;
    assert_eq!(a.status, 204);

    let (api, _) = device_api("push_enrollment_enabled = false");
    let d = enroll(&api, "alice", "acme").await;
    push_enroll(&api, &d, "tok")
        .await
        .assert_error(403, "push_enrollment_disabled");
}

#[actix_rt::test]
async fn authenticators_register_and_refuse() {
    let (api, engine) = device_api("");
    let d = enroll(&api, "alice", "acme").await;
    let put = |path: &str| Call::put(format!("{DEV}/authenticators/{path}")).device(&d);

    let a = put("pin").send(&api).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let pin = a.json()["pin_token"].as_str().unwrap().to_owned();
    assert!(pin.len() >= 43);
    // Beyond the first PIN, registering needs the PIN token as proof; an empty body has none.
    put("fingerprint")
        .json(json!({}))
        .send(&api)
        .await
        .assert_error(403, "invalid_authenticator");
    let proof = json!({ "pin_token": pin });
    let a = put("fingerprint").json(proof.clone()).send(&api).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    assert!(a.json()["fingerprint_token"].is_string());
    let a = put("custom/face").json(proof.clone()).send(&api).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    assert!(a.json()["custom_token"].is_string());
    put("custom/iris")
        .json(proof)
        .send(&api)
        .await
        .assert_error(403, "authenticator_disabled");
    // Only hashes are kept.
    let stored = engine.store().get_device(&d.id).await.unwrap().unwrap();
    assert_ne!(stored.pin.unwrap().token_sha256, pin);
    assert_eq!(
        stored.custom.keys().collect::<Vec<_>>(),
        vec!["face"],
        "one custom authenticator"
    );

    let plain = enroll(&api, "bob", "plain").await;
    for path in ["pin", "fingerprint", "custom/face"] {
        Call::put(format!("{DEV}/authenticators/{path}"))
            .device(&plain)
            .send(&api)
            .await
            .assert_error(403, "authenticator_disabled");
    }
}
