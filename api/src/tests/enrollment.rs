//! Enrollment codes and device enrollment (API.md §3, §4), and device authentication.

use serde_json::json;

use crate::test_util::*;

#[actix_rt::test]
async fn enrollment_code_then_enrollment() {
    let (api, engine) = device_api("");
    let a = Call::post(format!("{USERS}/alice/enrollment-codes"))
        .helpdesk()
        .send(&api)
        .await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let v = a.json();
    let code = v["enrollment_code"].as_str().unwrap().to_owned();
    assert_eq!(v["expires_in_ms"], 300_000);
    assert!(v["qr_svg"].as_str().unwrap().contains("<svg"));
    // The portal client lacks `end_user`.
    let a = Call::post(format!("{USERS}/alice/enrollment-codes"))
        .portal()
        .send(&api)
        .await;
    a.assert_error(403, "insufficient_scope");

    let (body, keys) = enrollment(&code, "acme", "ios");
    let a = Call::post(format!("{DEV}/enrollments"))
        .json(body.clone())
        .send(&api)
        .await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    assert_eq!(
        a.header("content-type"),
        Some("application/json;charset=UTF-8")
    );
    assert!(a.header("cache-control").unwrap().contains("no-store"));
    let v = a.json();
    let id = v["device_id"].as_str().unwrap();
    assert!(
        id.len() == 64
            && id
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase())
    );
    assert!(v["device_secret"].as_str().unwrap().len() >= 43);
    assert!(!v["profile_id"].as_str().unwrap().is_empty());
    tessera_engine::crypto::PublicKey::parse(v["server_public_key"].as_str().unwrap()).unwrap();
    let stored = engine.store().get_device(id).await.unwrap().unwrap();
    assert_eq!(
        (stored.user_id.as_str(), stored.app_id.as_str()),
        ("alice", "acme")
    );
    assert_eq!(stored.platform.as_str(), "ios");
    assert_eq!(stored.model.as_deref(), Some("Pixel 9"));
    assert_eq!(stored.public_key, keys.public_armored());

    // Single use.
    let a = Call::post(format!("{DEV}/enrollments"))
        .json(body)
        .send(&api)
        .await;
    a.assert_error(400, "invalid_enrollment_code");
}

#[actix_rt::test]
async fn enrollment_refusals() {
    let (api, _) = device_api("");
    let code = enrollment_code(&api, "alice").await;
    let post = |body: serde_json::Value| {
        let api = api.clone();
        async move {
            Call::post(format!("{DEV}/enrollments"))
                .json(body)
                .send(&api)
                .await
        }
    };
    let (good, _) = enrollment(&code, "acme", "android");
    let with = |key: &str, value: serde_json::Value| {
        let mut b = good.clone();
        b[key] = value;
        b
    };
    post(with("app_version", json!("0.9")))
        .await
        .assert_error(403, "app_version_disabled");
    post(with("app_version", json!("7.0")))
        .await
        .assert_error(403, "app_version_disabled");
    // iOS 1.0 exists, but `plain` ships only for Android.
    let mut ios_plain = with("platform", json!("ios"));
    ios_plain["app_id"] = json!("plain");
    post(ios_plain)
        .await
        .assert_error(403, "app_version_disabled");
    post(with("public_key", json!("not a key")))
        .await
        .assert_error(400, "invalid_public_key");
    post(with("platform", json!("windows")))
        .await
        .assert_error(400, "invalid_request");
    post(with("app_id", json!("nope")))
        .await
        .assert_error(400, "invalid_request");
    post(with("device_name", json!(7)))
        .await
        .assert_error(400, "invalid_request");
    for missing in [
        "enrollment_code",
        "app_id",
        "app_version",
        "device_name",
        "public_key",
    ] {
        let mut b = good.clone();
        b.as_object_mut().unwrap().remove(missing);
        let a = post(b).await;
        a.assert_error(400, "invalid_request");
        assert!(a.json()["description"].as_str().unwrap().contains(missing));
    }
    // None of that spent the code.
    assert_eq!(post(good).await.status, 201);
}

#[actix_rt::test]
async fn disabled_enrollment_is_403() {
    let (api, _) = device_api("enrollment_enabled = false");
    let a = Call::post(format!("{USERS}/alice/enrollment-codes"))
        .helpdesk()
        .send(&api)
        .await;
    a.assert_error(403, "enrollment_disabled");
    let (body, _) = enrollment("0123456789ABCDEF", "acme", "android");
    let a = Call::post(format!("{DEV}/enrollments"))
        .json(body)
        .send(&api)
        .await;
    a.assert_error(403, "enrollment_disabled");
}

#[actix_rt::test]
async fn device_credentials_are_checked_on_every_call() {
    let (api, _) = device_api("");
    let d = enroll(&api, "alice", "acme").await;
    let id = uuid::Uuid::new_v4();
    let calls = || {
        vec![
            Call::put(format!("{DEV}/push-enrollment")).json(json!({"push_token": "t"})),
            Call::delete(format!("{DEV}/push-enrollment")),
            Call::put(format!("{DEV}/authenticators/pin")),
            Call::put(format!("{DEV}/authenticators/fingerprint")),
            Call::put(format!("{DEV}/authenticators/custom/face")),
            Call::get(format!("{DEV}/transactions/pending")),
            Call::get(format!("{DEV}/transactions/{id}")),
            Call::post(format!("{DEV}/transactions/{id}/answer"))
                .raw("application/pgp-encrypted", "x"),
            Call::post(format!("{DEV}/otp")).json(json!({"otp": "x"})),
        ]
    };
    let wrong_secret = TestDevice {
        secret: "wrong".into(),
        ..enroll(&api, "bob", "acme").await
    };
    let creds: [Box<dyn Fn(Call) -> Call>; 4] = [
        Box::new(|c| c),
        Box::new(|c| c.device(&wrong_secret)),
        Box::new(|c| c.basic(&"F".repeat(64), &d.secret)),
        Box::new(|c| c.basic("portal", "portal-secret-0123456789abcdef")),
    ];
    for cred in &creds {
        for call in calls() {
            let a = cred(call).send(&api).await;
            a.assert_error(401, "invalid_device");
            assert_eq!(
                a.header("www-authenticate"),
                Some("Basic realm=\"tessera-device\"")
            );
        }
    }
    // The right credentials get past authentication.
    let a = Call::get(format!("{DEV}/transactions/pending"))
        .device(&d)
        .send(&api)
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json(), json!({"transactions": []}));
}
