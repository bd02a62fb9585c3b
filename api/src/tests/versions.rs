//! v3 and v2 aliases (API.md §2.6).

use crate::test_util::*;

const V3: &str = "/oauth/api/v3/authenticate";
const V2: &str = "/oauth/api/v2/authenticate";

#[actix_rt::test]
async fn v3_and_v2_reach_the_same_handlers() {
    let (api, engine) = api();
    for base in [V3, V2] {
        let a = Call::post(format!("{base}/user"))
            .portal()
            .form(&[
                ("type", "sms"),
                ("user_id", "bob"),
                ("phone_number", PHONE),
                ("app_id", "demo"),
            ])
            .send(&api)
            .await;
        assert_eq!(a.status, 200, "{base}: {:?}", a.body);
        let id = a.json()["transaction_id"].as_str().unwrap().to_owned();
        let code = sms_code(&engine, &id).await;
        let a = Call::post(format!("{base}/user/bob/sms"))
            .portal()
            .form(&[("transaction_id", &id), ("sms_code", &code)])
            .send(&api)
            .await;
        assert_eq!(a.status, 200, "{base}: {:?}", a.body);
        let v = Call::get(format!("{base}/transaction/{id}"))
            .portal()
            .send(&api)
            .await
            .json();
        assert_eq!(v["status"], "accepted");
        let a = Call::post(format!("{base}/transaction/{id}/cancel"))
            .portal()
            .send(&api)
            .await;
        a.assert_error(409, "4002");
        let a = Call::get(format!("{base}/user/bob/enabled"))
            .portal()
            .send(&api)
            .await;
        assert_eq!(a.status, 200);
        assert!(
            a.json()["enabled"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["type"] == "sms")
        );
    }
}

#[actix_rt::test]
async fn v3_application_and_v2_type_availability() {
    let (api, _) = api();
    let a = Call::get(format!("{V3}/user/bob/application/demo/enabled"))
        .portal()
        .send(&api)
        .await;
    assert_eq!(a.status, 200);
    assert!(
        a.json()["enabled"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == "sms")
    );
    let a = Call::get(format!("{V2}/user/bob/enabled/sms"))
        .portal()
        .send(&api)
        .await;
    assert_eq!(a.json(), serde_json::json!({"enabled": true}));
    let a = Call::get(format!("{V2}/user/bob/enabled/otp"))
        .portal()
        .send(&api)
        .await;
    assert_eq!(a.json(), serde_json::json!({"enabled": false}));
    // v4 has no application path, v3 no device path.
    Call::get(format!("{V4}/user/bob/application/demo/enabled"))
        .portal()
        .send(&api)
        .await
        .assert_error(404, "not_found");
    Call::get(format!("{V3}/user/bob/device/x/enabled"))
        .portal()
        .send(&api)
        .await
        .assert_error(404, "not_found");
}

#[actix_rt::test]
async fn multiple_devices_mode_closes_v2_and_v3() {
    let (api, _) = api_with(config("push_enrollment_mode = \"multiple_devices\"", ""));
    let id = uuid::Uuid::new_v4();
    for base in [V3, V2] {
        for call in [
            Call::get(format!("{base}/user/bob/enabled")),
            Call::post(format!("{base}/user")).form(&[
                ("type", "sms"),
                ("user_id", "bob"),
                ("phone_number", PHONE),
            ]),
            Call::get(format!("{base}/transaction/{id}")),
            Call::post(format!("{base}/transaction/{id}/cancel")),
            Call::post(format!("{base}/transaction/{id}/resend")),
            Call::post(format!("{base}/user/bob/sms"))
                .form(&[("transaction_id", &id.to_string()), ("sms_code", "1")]),
            Call::post(format!("{base}/user/bob/sms/resend"))
                .form(&[("transaction_id", &id.to_string())]),
        ] {
            call.portal().send(&api).await.assert_error(404, "4001");
        }
    }
    Call::get(format!("{V3}/user/bob/application/demo/enabled"))
        .portal()
        .send(&api)
        .await
        .assert_error(404, "4001");
    Call::get(format!("{V2}/user/bob/enabled/sms"))
        .portal()
        .send(&api)
        .await
        .assert_error(404, "4001");
    // The version rule comes before body validation.
    let a = Call::post(format!("{V3}/user"))
        .portal()
        .raw("text/plain", "x")
        .send(&api)
        .await;
    a.assert_error(404, "4001");
    // v4 is unaffected.
    let a = Call::get(format!("{V4}/user/bob/enabled"))
        .portal()
        .send(&api)
        .await;
    assert_eq!(a.status, 200);
}
