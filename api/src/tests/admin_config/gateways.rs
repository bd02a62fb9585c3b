//! `/sms-gateways`: CRUD with masked credentials, and a gateway added at run time carrying the
//! next SMS to a loopback REST hook without a restart.

use serde_json::json;
use tessera_testkit::sms::SmsHookFake;

use super::*;

#[actix_rt::test]
async fn a_gateway_added_and_routed_carries_the_next_sms() {
    let (api, engine) = admin_api_routed("", "");
    let hook = SmsHookFake::start().await;
    let gateway = serde_json::to_value(hook.gateway("hook")).unwrap();
    let a = write(&api, "/sms-gateways/hook", gateway).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let created = a.json();
    assert_eq!(created["kind"], "rest");
    assert_eq!(created["username"], SmsHookFake::USERNAME);
    assert_masked(&created, &["password"]);
    assert_eq!(created["auth_token"], "", "an empty secret reads as empty");
    assert_sealed(&engine, &[SmsHookFake::PASSWORD]).await;

    // Declared but not routed yet: the console still takes SMS.
    start_sms(&api, "sms", "alice").await;
    assert!(hook.messages().is_empty());
    let a = write(&api, "/sms", json!({"gateways": ["hook", "console"]})).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    start_sms(&api, "sms", "bob").await;
    let msgs = hook.wait_for_messages(1).await;
    assert_eq!(msgs[0].phone_number, PHONE);
    // The stored password went out, not the mask.
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        SmsHookFake::USERNAME,
        SmsHookFake::PASSWORD
    ));
    let auth = hook.requests()[0]
        .header("authorization")
        .unwrap()
        .to_owned();
    assert_eq!(auth, format!("Basic {basic}"));

    // Writing the mask back keeps the password; the hook still accepts.
    let mut read_back = read(&api, "/sms-gateways/hook").await;
    read_back["timeout"] = json!("3s");
    assert_eq!(
        write(&api, "/sms-gateways/hook", read_back).await.status,
        200
    );
    assert_eq!(
        engine.config().sms_gateway("hook").unwrap().password,
        SmsHookFake::PASSWORD
    );
    start_sms(&api, "sms", "carol").await;
    hook.wait_for_messages(2).await;

    // Routed: in use. Unrouted: it goes.
    remove(&api, "/sms-gateways/hook")
        .await
        .assert_error(409, "in_use");
    assert_eq!(
        write(&api, "/sms", json!({"gateways": ["console"]}))
            .await
            .status,
        200
    );
    assert_eq!(remove(&api, "/sms-gateways/hook").await.status, 204);
    assert_last_event(
        &engine,
        "ADMIN CONFIGURATION CHANGED",
        "sms-gateways/hook deleted",
    )
    .await;
    let list = read(&api, "/sms-gateways").await;
    assert_eq!(list["items"], json!([]));
}

#[actix_rt::test]
async fn gateway_rules_and_secret_twins_are_refused() {
    let (api, engine) = admin_api();
    // A Twilio gateway needs its account.
    let f = fields(&write(&api, "/sms-gateways/t", json!({"kind": "twilio"})).await);
    assert!(
        f.keys().any(|k| k == "account_sid" || k == "auth_token"),
        "{f:?}"
    );
    // The server does not read files or its environment for an API caller.
    let f = fields(
        &write(
            &api,
            "/sms-gateways/t",
            json!({"kind": "rest", "url": "http://127.0.0.1:9/sms", "password_file": "/etc/shadow"}),
        )
        .await,
    );
    assert!(f.contains_key("password_file"), "{f:?}");
    assert!(engine.config().sms_gateway("t").is_none());
}
