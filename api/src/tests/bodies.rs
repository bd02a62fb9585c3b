//! Body handling (API.md §1): size limit, content types, malformed bodies, common headers.

use serde_json::json;

use crate::MAX_BODY_BYTES;
use crate::test_util::*;

#[actix_rt::test]
async fn oversized_bodies_are_413() {
    let (api, _) = api();
    let big = "m".repeat(MAX_BODY_BYTES + 1);
    let a = Call::post(format!("{V4}/user"))
        .portal()
        .form(&[("type", "sms"), ("message", &big)])
        .send(&api)
        .await;
    a.assert_error(413, "1003");
}

#[actix_rt::test]
async fn unknown_content_types_are_415() {
    let (api, _) = api();
    let a = Call::post(format!("{V4}/user"))
        .portal()
        .raw("text/plain", "type=sms")
        .send(&api)
        .await;
    a.assert_error(415, "1003");
}

#[actix_rt::test]
async fn malformed_bodies_are_400() {
    let (api, _) = api();
    let path = format!("{V4}/user");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", b"{\"type\": ".to_vec()),
        ("application/json", b"[\"sms\"]".to_vec()),
        ("application/json", b"{\"type\": \"sms\xff\"}".to_vec()),
        (
            "application/x-www-form-urlencoded",
            b"type=sms&user_id=\xff\xfe".to_vec(),
        ),
        (
            "application/x-www-form-urlencoded",
            b"type=sms&user_id=%ZZ".to_vec(),
        ),
        (
            "application/x-www-form-urlencoded",
            b"type=sms&user_id=%C3%28".to_vec(),
        ),
    ];
    for (ct, body) in cases {
        let a = Call::post(&path)
            .portal()
            .raw(ct, body.clone())
            .send(&api)
            .await;
        assert_eq!(a.status, 400, "{ct} {:?}", String::from_utf8_lossy(&body));
        assert_eq!(a.code(), "1003");
    }
}

#[actix_rt::test]
async fn wrong_json_types_are_400_unknown_fields_ignored() {
    let (api, _) = api();
    let path = format!("{V4}/user");
    let a = Call::post(&path)
        .portal()
        .json(json!({"type": 5, "user_id": "alice"}))
        .send(&api)
        .await;
    a.assert_error(400, "1003");
    assert!(a.json()["description"].as_str().unwrap().contains("type"));
    let a = Call::post(&path)
        .portal()
        .json(json!({"type": "sms", "user_id": "alice", "phone_number": PHONE, "vendor_extra": {"x": [1]}}))
        .send(&api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
}

#[actix_rt::test]
async fn every_answer_has_json_and_no_cache_headers() {
    let (api, _) = api();
    for a in [
        Call::get(format!("{V4}/user/alice/enabled"))
            .portal()
            .send(&api)
            .await,
        Call::get(format!("{V4}/user/alice/enabled"))
            .send(&api)
            .await,
        Call::get("/nope").send(&api).await,
    ] {
        assert_eq!(
            a.header("content-type"),
            Some("application/json;charset=UTF-8")
        );
        assert_eq!(
            a.header("cache-control"),
            Some("no-cache, no-store, must-revalidate")
        );
        assert_eq!(a.header("pragma"), Some("no-cache"));
    }
}

#[actix_rt::test]
async fn unknown_paths_404_wrong_methods_405() {
    let (api, _) = api();
    let a = Call::get("/oauth/api/v4/authenticate/nope")
        .portal()
        .send(&api)
        .await;
    a.assert_error(404, "not_found");
    let a = Call::get("/oauth/api/v5/authenticate/user")
        .send(&api)
        .await;
    a.assert_error(404, "not_found");
    let a = Call::get(format!("{V4}/user")).portal().send(&api).await;
    a.assert_error(405, "method_not_allowed");
    let a = Call::new(http::Method::DELETE, format!("{V4}/transaction/x"))
        .send(&api)
        .await;
    a.assert_error(405, "method_not_allowed");
    let a = Call::post("/health/live").send(&api).await;
    a.assert_error(405, "method_not_allowed");
    // v2's typed availability only exists in v2.
    let a = Call::get(format!("{V4}/user/alice/enabled/sms"))
        .portal()
        .send(&api)
        .await;
    a.assert_error(404, "not_found");
}
