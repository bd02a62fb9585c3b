//! SMS verification and resend (API.md §2.4).

use crate::test_util::*;

#[actix_rt::test]
async fn wrong_code_then_right_code() {
    let (api, engine) = api();
    let id = start_sms(&api, "sms", "alice").await;
    let code = sms_code(&engine, &id).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let path = format!("{V4}/user/alice/sms");
    let a = Call::post(&path)
        .portal()
        .form(&[("transaction_id", &id), ("sms_code", wrong)])
        .send(&api)
        .await;
    a.assert_error(404, "3003");
    let v = Call::get(format!("{V4}/transaction/{id}"))
        .portal()
        .send(&api)
        .await
        .json();
    assert_eq!(v["status"], "pending");
    assert_eq!(v["used_authentication_attempts"], 1);

    let a = Call::post(&path)
        .portal()
        .form(&[("transaction_id", &id), ("sms_code", &code)])
        .send(&api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.json(), serde_json::json!({"transaction_id": id}));

    let v = Call::get(format!("{V4}/transaction/{id}"))
        .portal()
        .send(&api)
        .await
        .json();
    assert_eq!(v["status"], "accepted");
    assert_eq!(v["is_authenticated"], true);
    assert!(v.get("not_authenticated_reason").is_none());
    // Final now: a further code is for an unknown transaction.
    let a = Call::post(&path)
        .portal()
        .form(&[("transaction_id", &id), ("sms_code", &code)])
        .send(&api)
        .await;
    a.assert_error(404, "3004");
}

#[actix_rt::test]
async fn attempts_exhausted_fails_the_transaction() {
    let (api, engine) = api();
    let id = start_sms(&api, "sms", "alice").await;
    let code = sms_code(&engine, &id).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let path = format!("{V4}/user/alice/sms");
    for _ in 0..3 {
        let a = Call::post(&path)
            .portal()
            .form(&[("transaction_id", &id), ("sms_code", wrong)])
            .send(&api)
            .await;
        assert_eq!(a.code(), "3003");
    }
    let v = Call::get(format!("{V4}/transaction/{id}?wait=1000"))
        .portal()
        .send(&api)
        .await
        .json();
    assert_eq!(v["status"], "failed");
    assert_eq!(v["not_authenticated_reason"]["reason"], "attempts_exceeded");
    let a = Call::post(&path)
        .portal()
        .form(&[("transaction_id", &id), ("sms_code", &code)])
        .send(&api)
        .await;
    a.assert_error(404, "3004");
}

#[actix_rt::test]
async fn verify_request_errors() {
    let (api, _) = api();
    let id = start_sms(&api, "sms", "alice").await;
    let path = format!("{V4}/user/alice/sms");
    Call::post(&path)
        .portal()
        .form(&[("sms_code", "123456")])
        .send(&api)
        .await
        .assert_error(400, "1003");
    Call::post(&path)
        .portal()
        .form(&[("transaction_id", &id)])
        .send(&api)
        .await
        .assert_error(400, "1003");
    Call::post(&path)
        .portal()
        .form(&[("transaction_id", "zzz"), ("sms_code", "1")])
        .send(&api)
        .await
        .assert_error(404, "3004");
    // Another user's transaction is not found for this user.
    let a = Call::post(format!("{V4}/user/mallory/sms"))
        .portal()
        .form(&[("transaction_id", &id), ("sms_code", "123456")])
        .send(&api)
        .await;
    assert_eq!(a.status, 404, "{:?}", a.body);
}

#[actix_rt::test]
async fn resend_inside_cooldown_is_429_with_retry_after() {
    let (api, _) = api();
    let id = start_sms(&api, "sms", "alice").await;
    let a = Call::post(format!("{V4}/user/alice/sms/resend"))
        .portal()
        .form(&[("transaction_id", &id)])
        .send(&api)
        .await;
    a.assert_error(429, "1007");
    let secs: u64 = a.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&secs), "{secs}");
}

#[actix_rt::test]
async fn resend_then_limit_is_3006() {
    let (api, _) = api();
    let id = start_sms(&api, "sms_free", "alice").await;
    let path = format!("{V4}/user/alice/sms/resend");
    for _ in 0..3 {
        let a = Call::post(&path)
            .portal()
            .form(&[("transaction_id", &id)])
            .send(&api)
            .await;
        assert_eq!(a.status, 204, "{:?}", a.body);
    }
    let a = Call::post(&path)
        .portal()
        .form(&[("transaction_id", &id)])
        .send(&api)
        .await;
    a.assert_error(403, "3006");
    Call::post(&path)
        .portal()
        .form(&[])
        .send(&api)
        .await
        .assert_error(400, "1003");
}
