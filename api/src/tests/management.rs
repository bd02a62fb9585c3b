//! User & device management (API.md §3): v4 and v3 listings, deletes, disables, scopes, and the
//! v3 rule in `multiple_devices` mode.

use serde_json::{Value, json};

use crate::test_util::*;

const USERS_V3: &str = "/oauth/api/v3/users";

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

#[actix_rt::test]
async fn devices_list_in_v4_and_v3_names() {
    let (api, _) = device_api("");
    let (d, _) = ready_device(&api, "alice").await;
    let a = Call::get(format!("{USERS}/alice/devices"))
        .helpdesk()
        .send(&api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let list = a.json();
    let dev = &list["devices"][0];
    assert_eq!(
        keys(dev),
        [
            "application",
            "createdAt",
            "id",
            "lastLogin",
            "mobileAuthenticationEnabled",
            "model",
            "name",
            "osVersion",
            "platform",
            "pushAuthenticationEnabled",
            "tokenTypes"
        ]
    );
    assert_eq!(dev["id"], d.id.as_str());
    assert_eq!(dev["application"], "acme");
    assert_eq!(dev["platform"], "android");
    assert_eq!(
        (dev["model"].clone(), dev["osVersion"].clone()),
        (json!("Pixel 9"), json!("15"))
    );
    assert!(
        dev["createdAt"].as_u64().unwrap() > 1_600_000_000_000,
        "epoch ms"
    );
    assert_eq!(dev["tokenTypes"], json!(["PIN"]));
    assert_eq!(dev["mobileAuthenticationEnabled"], true);
    assert_eq!(dev["pushAuthenticationEnabled"], true);

    let a = Call::get(format!("{USERS_V3}/alice/devices"))
        .helpdesk()
        .send(&api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let dev = &a.json()["devices"][0];
    assert_eq!(
        keys(dev),
        [
            "application",
            "created_at",
            "id",
            "last_login",
            "mobile_authentication_enabled",
            "name",
            "platform",
            "push_authentication_enabled",
            "token_types"
        ]
    );
    assert_eq!(dev["token_types"], json!(["PIN"]));

    for base in [USERS, USERS_V3] {
        Call::get(format!("{base}/nobody/devices"))
            .helpdesk()
            .send(&api)
            .await
            .assert_error(404, "not_found");
    }
    // Scope `end_user` only.
    Call::get(format!("{USERS}/alice/devices"))
        .portal()
        .send(&api)
        .await
        .assert_error(403, "insufficient_scope");
    Call::get(format!("{USERS}/alice/devices"))
        .send(&api)
        .await
        .assert_error(401, "invalid_client");
}

#[actix_rt::test]
async fn disable_switches_off_what_it_names() {
    let (api, _) = device_api("");
    let (d, pin) = ready_device(&api, "alice").await;
    let a = Call::put(format!("{DEV}/authenticators/fingerprint"))
        .device(&d)
        .json(json!({ "pin_token": pin }))
        .send(&api)
        .await;
    assert_eq!(a.status, 201);
    let listed = || async {
        Call::get(format!("{USERS}/alice/devices"))
            .helpdesk()
            .send(&api)
            .await
            .json()["devices"][0]
            .clone()
    };
    assert_eq!(listed().await["tokenTypes"], json!(["PIN", "FINGERPRINT"]));
    let disable = |what: &str, user: &str| {
        Call::post(format!("{USERS}/{user}/devices/{}/{what}", d.id)).helpdesk()
    };
    let a = disable("disableFingerprint", "alice").send(&api).await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    assert_eq!(listed().await["tokenTypes"], json!(["PIN"]));
    assert_eq!(
        disable("disablePushAuthentication", "alice")
            .send(&api)
            .await
            .status,
        204
    );
    assert_eq!(listed().await["pushAuthenticationEnabled"], false);
    assert_eq!(
        disable("disableMobileAuthentication", "alice")
            .send(&api)
            .await
            .status,
        204
    );
    assert_eq!(listed().await["mobileAuthenticationEnabled"], false);
    // Somebody else's device is not found; so is an unknown action.
    disable("disableFingerprint", "bob")
        .send(&api)
        .await
        .assert_error(404, "not_found");
    disable("disableEverything", "alice")
        .send(&api)
        .await
        .assert_error(404, "not_found");
    // Other methods on a known action path.
    Call::get(format!("{USERS}/alice/devices/{}/disableFingerprint", d.id))
        .helpdesk()
        .send(&api)
        .await
        .assert_error(405, "method_not_allowed");
}

#[actix_rt::test]
async fn deletes_one_some_and_all() {
    let (api, engine) = device_api("");
    let (d1, _) = ready_device(&api, "alice").await;
    let d2 = enroll(&api, "alice", "acme").await;
    let d3 = enroll(&api, "alice", "plain").await;
    let bob = enroll(&api, "bob", "acme").await;

    // A pending push to a deleted device fails with `device_removed`.
    let a = Call::post(format!("{V4}/user"))
        .portal()
        .form(&[("type", "push_pin"), ("user_id", "alice")])
        .send(&api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let txn = a.json()["transaction_id"].as_str().unwrap().to_owned();

    Call::delete(format!("{USERS}/alice/devices/{}", bob.id))
        .helpdesk()
        .send(&api)
        .await
        .assert_error(404, "not_found");
    let a = Call::delete(format!("{USERS}/alice/devices/{}", d1.id))
        .helpdesk()
        .send(&api)
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    Call::get(format!("{DEV}/transactions/pending"))
        .device(&d1)
        .send(&api)
        .await
        .assert_error(401, "invalid_device");
    let result = Call::get(format!("{V4}/transaction/{txn}?wait=1000"))
        .portal()
        .send(&api)
        .await
        .json();
    assert_eq!(result["status"], "failed");
    assert_eq!(
        result["not_authenticated_reason"]["reason"],
        "device_removed"
    );

    // Bulk: one good, one unknown → the vendor's partial failure.
    let a = Call::post(format!("{USERS}/alice/devices"))
        .helpdesk()
        .json(json!({"delete": [d2.id, "nope"]}))
        .send(&api)
        .await;
    assert_eq!(a.status, 500, "{:?}", a.body);
    assert_eq!(
        a.json(),
        json!({
            "code": "not_all_devices_deleted",
            "message": "not all devices could be deleted",
            "details": [{"device_id": "nope", "error_code": "not_found"}],
        })
    );
    assert!(engine.store().get_device(&d2.id).await.unwrap().is_none());
    // Forms may list ids comma-separated.
    let a = Call::post(format!("{USERS}/alice/devices"))
        .helpdesk()
        .form(&[("delete", d3.id.as_str())])
        .send(&api)
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    Call::post(format!("{USERS}/alice/devices"))
        .helpdesk()
        .json(json!({"delete": []}))
        .send(&api)
        .await
        .assert_error(400, "invalid_request");
    Call::post(format!("{USERS}/alice/devices"))
        .helpdesk()
        .json(json!({"delete": "x", "other": 1}))
        .send(&api)
        .await
        .assert_error(500, "not_all_devices_deleted");

    let a = Call::delete(format!("{USERS}/bob/devices"))
        .helpdesk()
        .send(&api)
        .await;
    assert_eq!(a.status, 204);
    assert!(engine.devices_of("bob").await.unwrap().is_empty());
    // Nothing left to delete is still fine.
    let a = Call::delete(format!("{USERS}/bob/devices"))
        .helpdesk()
        .send(&api)
        .await;
    assert_eq!(a.status, 204);
}

#[actix_rt::test]
async fn management_bodies_use_named_codes() {
    let (api, _) = device_api("");
    Call::post(format!("{USERS}/alice/devices"))
        .helpdesk()
        .raw("text/plain", "delete=x")
        .send(&api)
        .await
        .assert_error(415, "unsupported_media_type");
    Call::post(format!("{USERS}/alice/devices"))
        .helpdesk()
        .raw("application/json", "{")
        .send(&api)
        .await
        .assert_error(400, "invalid_request");
    Call::post(format!("{USERS}/alice/devices"))
        .helpdesk()
        .raw("application/json", vec![b' '; crate::MAX_BODY_BYTES + 1])
        .send(&api)
        .await
        .assert_error(413, "request_too_large");
    Call::post(format!("{USERS}/alice/devices"))
        .helpdesk()
        .json(json!({"delete": [1, 2]}))
        .send(&api)
        .await
        .assert_error(400, "invalid_request");
}

#[actix_rt::test]
async fn v3_users_require_v4_in_multiple_devices_mode() {
    let (api, _) = device_api("push_enrollment_mode = \"multiple_devices\"");
    let d = enroll(&api, "alice", "acme").await;
    let calls = vec![
        Call::get(format!("{USERS_V3}/alice/devices")),
        Call::delete(format!("{USERS_V3}/alice/devices")),
        Call::post(format!("{USERS_V3}/alice/devices")).json(json!({"delete": [d.id]})),
        Call::delete(format!("{USERS_V3}/alice/devices/{}", d.id)),
        Call::post(format!(
            "{USERS_V3}/alice/devices/{}/disableFingerprint",
            d.id
        )),
    ];
    for call in calls {
        call.helpdesk().send(&api).await.assert_error(404, "4001");
    }
    for path in [
        "/oauth/api/v3/authenticate/user/alice/enabled",
        "/oauth/api/v3/authenticate/user/alice/application/acme/enabled",
        "/oauth/api/v2/authenticate/user/alice/enabled/sms",
    ] {
        Call::get(path)
            .portal()
            .send(&api)
            .await
            .assert_error(404, "4001");
    }
    let a = Call::get(format!("{USERS}/alice/devices"))
        .helpdesk()
        .send(&api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
}
