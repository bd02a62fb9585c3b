//! Ownership (API.md §1): a transaction belongs to the API client that started it. Another
//! client reading, verifying, resending or cancelling it gets what an unknown id gets
//! (`404 3004`) and changes nothing.

use serde_json::Value;

use crate::test_util::*;

async fn result(api: &crate::routes::Api, id: &str) -> Value {
    let a = Call::get(format!("{V4}/transaction/{id}"))
        .portal()
        .send(api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.json()
}

#[actix_rt::test]
async fn another_client_cannot_touch_an_sms_transaction() {
    let (api, engine) = api();
    let id = start_sms(&api, "sms", "alice").await;
    let code = sms_code(&engine, &id).await;

    let attempts = [
        Call::get(format!("{V4}/transaction/{id}")),
        Call::get(format!("{V4}/transaction/{id}?wait=50")),
        Call::get(format!("/oauth/api/v3/authenticate/transaction/{id}")),
        Call::post(format!("{V4}/transaction/{id}/cancel")),
        Call::post(format!("{V4}/transaction/{id}/resend")),
        Call::post(format!("{V4}/user/alice/sms/resend")).form(&[("transaction_id", &id)]),
        // The right code, from the wrong client: refused, and no attempt is used.
        Call::post(format!("{V4}/user/alice/sms"))
            .form(&[("transaction_id", &id), ("sms_code", &code)]),
        Call::post(format!("{V4}/user/alice/sms"))
            .form(&[("transaction_id", &id), ("sms_code", "000000")]),
    ];
    for call in attempts {
        let a = call.rival().send(&api).await;
        a.assert_error(404, "3004");
    }
    // The answers are those of an id that does not exist at all.
    let unknown = uuid::Uuid::new_v4();
    Call::get(format!("{V4}/transaction/{unknown}"))
        .rival()
        .send(&api)
        .await
        .assert_error(404, "3004");

    let v = result(&api, &id).await;
    assert_eq!(v["status"], "pending");
    assert_eq!(v["used_authentication_attempts"], 0);

    // The owner still completes it with the code.
    let a = Call::post(format!("{V4}/user/alice/sms"))
        .portal()
        .form(&[("transaction_id", &id), ("sms_code", &code)])
        .send(&api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(result(&api, &id).await["status"], "accepted");
    // Finished: still invisible to the other client.
    Call::get(format!("{V4}/transaction/{id}"))
        .rival()
        .send(&api)
        .await
        .assert_error(404, "3004");
}

#[actix_rt::test]
async fn another_client_cannot_see_an_otp_qr_code_or_cancel_it() {
    let (api, _) = api();
    let a = Call::post(format!("{V4}/user"))
        .portal()
        .form(&[("type", "otp")])
        .send(&api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let id = a.json()["transaction_id"].as_str().unwrap().to_owned();
    Call::get(format!("{V4}/transaction/{id}/otp.svg"))
        .rival()
        .send(&api)
        .await
        .assert_error(404, "3004");
    Call::post(format!("{V4}/transaction/{id}/cancel"))
        .rival()
        .send(&api)
        .await
        .assert_error(404, "3004");
    let svg = Call::get(format!("{V4}/transaction/{id}/otp.svg"))
        .portal()
        .send(&api)
        .await;
    assert_eq!(svg.status, 200);
    assert_eq!(result(&api, &id).await["status"], "pending");
}
