//! Starting transactions (API.md §2.2) and availability (§2.1).

use serde_json::json;

use crate::test_util::*;

#[actix_rt::test]
async fn start_sms_answers_the_vendor_fields() {
    let (api, engine) = api();
    let a = Call::post(format!("{V4}/user"))
        .portal()
        .form(&[
            ("type", "sms"),
            ("user_id", "alice"),
            ("phone_number", PHONE),
            ("language_code", "en"),
        ])
        .send(&api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let v = a.json();
    let id = v["transaction_id"].as_str().unwrap();
    assert!(uuid::Uuid::try_parse(id).is_ok());
    assert_eq!(v["auth_method"], "sms");
    assert_eq!(v["time_to_live"], 300_000);
    assert!(v.get("otp").is_none());
    let txn = engine
        .store()
        .get(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(txn.client_id, "portal");
    assert_eq!(txn.user_id.as_deref(), Some("alice"));
}

#[actix_rt::test]
async fn start_otp_answers_an_otp() {
    let (api, _) = api();
    let a = Call::post(format!("{V4}/user"))
        .portal()
        .json(json!({"type": "otp"}))
        .send(&api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.json()["auth_method"], "otp");
    assert!(a.json()["otp"].as_str().is_some_and(|s| s.len() >= 43));
    // OTP with a user_id is an invalid request.
    let a = Call::post(format!("{V4}/user"))
        .portal()
        .json(json!({"type": "otp", "user_id": "alice"}))
        .send(&api)
        .await;
    a.assert_error(400, "1003");
}

#[actix_rt::test]
async fn push_without_devices_falls_back_to_sms_at_start() {
    let (api, _) = api();
    let a = Call::post(format!("{V4}/user"))
        .portal()
        .form(&[
            ("type", "push"),
            ("user_id", "alice"),
            ("phone_number", PHONE),
        ])
        .send(&api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.json()["auth_method"], "sms");
}

#[actix_rt::test]
async fn start_errors() {
    let (api, _) = api();
    let path = format!("{V4}/user");
    let start = |fields: Vec<(&'static str, String)>| {
        let api = api.clone();
        let path = path.clone();
        async move {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            Call::post(path).portal().form(&pairs).send(&api).await
        }
    };
    let user = ("user_id", "alice".to_owned());
    let phone = ("phone_number", PHONE.to_owned());
    // Missing type (empty counts as missing).
    start(vec![user.clone(), phone.clone()])
        .await
        .assert_error(400, "1003");
    start(vec![("type", String::new()), user.clone(), phone.clone()])
        .await
        .assert_error(400, "1003");
    // Unknown type.
    start(vec![("type", "nope".into()), user.clone(), phone.clone()])
        .await
        .assert_error(404, "3005");
    // Missing or invalid phone number.
    start(vec![("type", "sms".into()), user.clone()])
        .await
        .assert_error(400, "3001");
    start(vec![
        ("type", "sms".into()),
        user.clone(),
        ("phone_number", "0612".into()),
    ])
    .await
    .assert_error(400, "3001");
    // Missing user.
    start(vec![("type", "sms".into()), phone.clone()])
        .await
        .assert_error(400, "1003");
    // Message too long (default limit 155).
    start(vec![
        ("type", "sms".into()),
        user.clone(),
        phone.clone(),
        ("message", "x".repeat(156)),
    ])
    .await
    .assert_error(400, "1005");
    // Callback that is not an absolute URL.
    start(vec![
        ("type", "sms".into()),
        user.clone(),
        phone.clone(),
        ("callback_uri", "nope".into()),
    ])
    .await
    .assert_error(400, "1003");
}

#[actix_rt::test]
async fn disabled_features_map_to_their_codes() {
    let (api, _) = api_with(config("sms_authentication_enabled = false", ""));
    let a = Call::post(format!("{V4}/user"))
        .portal()
        .form(&[
            ("type", "sms"),
            ("user_id", "alice"),
            ("phone_number", PHONE),
        ])
        .send(&api)
        .await;
    a.assert_error(404, "3000");
    let (api, _) = api_with(config("mobile_authentication_enabled = false", ""));
    let a = Call::post(format!("{V4}/user"))
        .portal()
        .form(&[
            ("type", "sms"),
            ("user_id", "alice"),
            ("phone_number", PHONE),
        ])
        .send(&api)
        .await;
    a.assert_error(404, "1000");
}

#[actix_rt::test]
async fn availability_lists_usable_types() {
    let (api, _) = api();
    let a = Call::get(format!("{V4}/user/alice%40example.com/enabled"))
        .portal()
        .send(&api)
        .await;
    assert_eq!(a.status, 200);
    let enabled = a.json()["enabled"].as_array().unwrap().clone();
    let sms = enabled.iter().find(|t| t["type"] == "sms").unwrap();
    assert_eq!(sms["method"], "SMS");
    assert!(sms.get("sms_fallback_allowed").is_none());
    let push = enabled.iter().find(|t| t["type"] == "push").unwrap();
    assert_eq!(push["method"], "PUSH");
    assert_eq!(push["sms_fallback_allowed"], true);
    assert!(!enabled.iter().any(|t| t["type"] == "otp"));

    let a = Call::get(format!("{V4}/user/alice/device/{}/enabled", "A".repeat(64)))
        .portal()
        .send(&api)
        .await;
    assert_eq!(a.status, 200);
    let names = a.json()["enabled"].clone();
    assert!(
        names.as_array().unwrap().iter().any(|n| n == "sms"),
        "{names}"
    );
}

#[actix_rt::test]
async fn availability_of_an_invalid_user_id_is_3005() {
    let (api, _) = api();
    let long = "u".repeat(256);
    let a = Call::get(format!("{V4}/user/{long}/enabled"))
        .portal()
        .send(&api)
        .await;
    a.assert_error(404, "3005");
    let a = Call::get(format!("{V4}/user/a%0Ab/enabled"))
        .portal()
        .send(&api)
        .await;
    a.assert_error(404, "3005");
    let a = Call::get(format!("{V4}/user/a%ZZ/enabled"))
        .portal()
        .send(&api)
        .await;
    a.assert_error(400, "1003");
}
