//! API-client authentication (API.md §1).

use serde_json::json;

use crate::test_util::*;

#[actix_rt::test]
async fn basic_credentials_work() {
    let (api, _) = api();
    let a = Call::get(format!("{V4}/user/alice/enabled"))
        .portal()
        .send(&api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
}

#[actix_rt::test]
async fn form_and_json_credentials_work() {
    let (api, _) = api();
    let a = Call::post(format!("{V4}/user"))
        .form(&[
            ("client_id", "portal"),
            ("client_secret", "portal-secret-0123456789abcdef"),
            ("type", "sms"),
            ("user_id", "alice"),
            ("phone_number", PHONE),
        ])
        .send(&api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let a = Call::post(format!("{V4}/user"))
        .json(
            json!({"client_id": "portal", "client_secret": "portal-secret-0123456789abcdef", "type": "sms",
            "user_id": "alice", "phone_number": PHONE}),
        )
        .send(&api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
}

#[actix_rt::test]
async fn failures_are_invalid_client_with_www_authenticate() {
    let (api, _) = api();
    let path = format!("{V4}/user/alice/enabled");
    for call in [
        Call::get(&path),
        Call::get(&path).basic("portal", "wrong"),
        Call::get(&path).basic("nobody", "portal-secret-0123456789abcdef"),
        Call::get(&path).basic("portal", ""),
    ] {
        let a = call.send(&api).await;
        a.assert_error(401, "invalid_client");
        assert!(a.json()["error_description"].is_string());
        assert_eq!(
            a.header("www-authenticate"),
            Some("Basic realm=\"tessera\"")
        );
    }
    // Wrong secret in the form.
    let a = Call::post(format!("{V4}/user"))
        .form(&[
            ("client_id", "portal"),
            ("client_secret", "nope"),
            ("type", "sms"),
        ])
        .send(&api)
        .await;
    a.assert_error(401, "invalid_client");
}

#[actix_rt::test]
async fn missing_scope_is_403() {
    let (api, _) = api();
    let a = Call::get(format!("{V4}/user/alice/enabled"))
        .basic("helpdesk", "helpdesk-secret-0123456789abcdef")
        .send(&api)
        .await;
    a.assert_error(403, "insufficient_scope");
    // `portal` lacks nothing for events, `office` lacks `events`.
    let a = Call::get("/oauth/api/v1/events")
        .basic("office", "office-secret-0123456789abcdef")
        .peer_ip("10.1.1.1")
        .send(&api)
        .await;
    a.assert_error(403, "insufficient_scope");
}

#[actix_rt::test]
async fn ip_allow_list_uses_the_peer_address() {
    let (api, _) = api();
    let path = format!("{V4}/user/alice/enabled");
    let a = Call::get(&path)
        .basic("office", "office-secret-0123456789abcdef")
        .peer_ip("10.2.3.4")
        .send(&api)
        .await;
    assert_eq!(a.status, 200);
    let a = Call::get(&path)
        .basic("office", "office-secret-0123456789abcdef")
        .peer_ip("192.168.1.1")
        .send(&api)
        .await;
    a.assert_error(401, "invalid_client");
    let a = Call::get(&path)
        .basic("office", "office-secret-0123456789abcdef")
        .peer_ip("::ffff:10.0.0.9")
        .send(&api)
        .await;
    assert_eq!(a.status, 200);
}

#[actix_rt::test]
async fn auth_comes_before_body_validation() {
    let (api, _) = api();
    // Malformed body and no credentials: the client is told to authenticate first.
    let a = Call::post(format!("{V4}/user"))
        .raw("application/json", "{oops")
        .send(&api)
        .await;
    a.assert_error(401, "invalid_client");
    let a = Call::post(format!("{V4}/user"))
        .portal()
        .raw("application/json", "{oops")
        .send(&api)
        .await;
    a.assert_error(400, "1003");
}
