//! Issue 8 over HTTP (API.md §4): a replayed answer is `400 invalid_answer`, replacing an
//! authenticator needs the PIN (`403 invalid_authenticator`, the limit disconnects), and a
//! device with mobile authentication disabled gets `403 mobile_authentication_disabled`.

use serde_json::json;
use tessera_engine::model::{Status, TxnId};

use super::answers::{answer_json, sealed, start_pin};
use crate::test_util::*;

fn answer_call(d: &TestDevice, id: &str, armored: String) -> Call {
    Call::post(format!("{DEV}/transactions/{id}/answer"))
        .device(d)
        .raw("application/pgp-encrypted", armored)
}

#[actix_rt::test]
async fn a_replayed_answer_is_invalid_answer_and_changes_nothing() {
    let (api, engine) = device_api("");
    let (d, pin) = ready_device(&api, "alice").await;
    let first = start_pin(&api, "alice").await;
    let captured = sealed(&d, &d.keys, &answer_json(&first, Some(&pin)));
    let a = answer_call(&d, &first, captured.clone()).send(&api).await;
    assert_eq!(a.json(), json!({"result": "accepted"}));

    let second = start_pin(&api, "alice").await;
    let a = answer_call(&d, &second, captured).send(&api).await;
    a.assert_error(400, "invalid_answer");
    let body = a.json();
    let keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, vec!["description", "error_code"]);
    let id: TxnId = second.parse().unwrap();
    let txn = engine.result(id, None).await.unwrap();
    assert_eq!(
        (txn.status, txn.used_authentication_attempts),
        (Status::Pending, 0)
    );
    let stored = engine.store().get_device(&d.id).await.unwrap().unwrap();
    assert_eq!(stored.pin.unwrap().failures, 0);
}

#[actix_rt::test]
async fn replacing_the_pin_needs_the_pin_and_guessing_disconnects() {
    let (api, engine) = device_api("");
    let (d, pin) = ready_device(&api, "alice").await;
    let put = || Call::put(format!("{DEV}/authenticators/pin")).device(&d);
    let a = put().send(&api).await;
    a.assert_error(403, "invalid_authenticator");
    assert!(a.json().get("remaining_attempts").is_none());
    // A right proof issues a new token and resets the count a wrong one left.
    let wrong = json!({"pin_token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"});
    let a = put().json(wrong.clone()).send(&api).await;
    a.assert_error(403, "invalid_authenticator");
    assert_eq!(a.json()["remaining_attempts"], 2);
    let a = put().json(json!({ "pin_token": pin })).send(&api).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let stored = engine.store().get_device(&d.id).await.unwrap().unwrap();
    assert_eq!(stored.pin.unwrap().failures, 0);

    for remaining in [2, 1] {
        let a = put().json(wrong.clone()).send(&api).await;
        a.assert_error(403, "invalid_authenticator");
        assert_eq!(a.json()["remaining_attempts"], remaining);
    }
    put()
        .json(wrong)
        .send(&api)
        .await
        .assert_error(403, "device_disconnected");
    Call::get(format!("{DEV}/transactions/pending"))
        .device(&d)
        .send(&api)
        .await
        .assert_error(401, "invalid_device");
}

#[actix_rt::test]
async fn a_device_with_mobile_authentication_disabled_is_refused() {
    let (api, _) = device_api("");
    let (d, pin) = ready_device(&api, "alice").await;
    let id = start_pin(&api, "alice").await;
    let a = Call::post(format!(
        "{USERS}/alice/devices/{}/disableMobileAuthentication",
        d.id
    ))
    .helpdesk()
    .send(&api)
    .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    Call::get(format!("{DEV}/transactions/{id}"))
        .device(&d)
        .send(&api)
        .await
        .assert_error(403, "mobile_authentication_disabled");
    answer_call(&d, &id, sealed(&d, &d.keys, &answer_json(&id, Some(&pin))))
        .send(&api)
        .await
        .assert_error(403, "mobile_authentication_disabled");
    Call::post(format!("{DEV}/otp"))
        .device(&d)
        .json(json!({"otp": "anything"}))
        .send(&api)
        .await
        .assert_error(403, "mobile_authentication_disabled");
}
