//! `/general` and `/sms`: read, replace, validation, and the effect on the next start.

use serde_json::json;

use super::*;

#[actix_rt::test]
async fn general_settings_are_read_replaced_and_used_at_once() {
    let (api, engine) = admin_api();
    let mut general = read(&api, "/general").await;
    assert_eq!(general["max_message_length"], 155);
    general["max_message_length"] = json!(10);
    let a = write(&api, "/general", general.clone()).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.json()["max_message_length"], 10);
    assert_last_event(&engine, "ADMIN CONFIGURATION CHANGED", "general updated").await;
    // The next start is held to the new limit.
    let a = Call::post(format!("{V4}/user"))
        .portal()
        .form(&[
            ("type", "sms"),
            ("user_id", "alice"),
            ("phone_number", PHONE),
            ("message", "a message longer than ten {code}"),
        ])
        .send(&api)
        .await;
    a.assert_error(400, "1005");
    // SMS switched off: the next SMS start is refused with the vendor's code.
    general["sms_authentication_enabled"] = json!(false);
    general["max_message_length"] = json!(155);
    assert_eq!(write(&api, "/general", general).await.status, 200);
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
}

#[actix_rt::test]
async fn general_validation_names_fields_and_changes_nothing() {
    let (api, engine) = admin_api();
    let a = write(
        &api,
        "/general",
        json!({"max_message_length": 0, "supported_locales": ["nl"]}),
    )
    .await;
    let f = fields(&a);
    assert!(f.contains_key("max_message_length"), "{f:?}");
    assert!(f.contains_key("supported_locales"), "{f:?}");
    assert_eq!(engine.config().general.max_message_length, 155);
    // Dropping a language the types still have messages in breaks a rule elsewhere: that
    // problem keeps its full path.
    let a = write(&api, "/general", json!({"supported_locales": ["en"]})).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let (api, _) = admin_api_routed(
        "supported_locales = [\"en\", \"nl\"]",
        &array(
            "mobile_auth_types",
            &[tessera_testkit::conf::MobileAuthType {
                default_messages: [("nl".into(), "Je code is {code}".into())].into(),
                ..tessera_testkit::conf::auth_type(
                    "sms_nl",
                    tessera_testkit::conf::Method::Sms,
                    "Code {code}",
                )
            }],
        ),
    );
    let f = fields(&write(&api, "/general", json!({"supported_locales": ["en"]})).await);
    let key = f
        .keys()
        .find(|k| k.starts_with("mobile_auth_types["))
        .cloned();
    assert!(
        key.as_deref()
            .is_some_and(|k| k.ends_with("default_messages.nl")),
        "{f:?}"
    );
}

#[actix_rt::test]
async fn the_sms_route_is_read_and_replaced_and_refuses_unknown_gateways() {
    let (api, _) = admin_api();
    let sms = read(&api, "/sms").await;
    assert_eq!(sms["gateways"], json!(["console"]));
    let f = fields(&write(&api, "/sms", json!({"gateways": ["nope"]})).await);
    assert!(f.contains_key("gateways[0]"), "{f:?}");
    let a = write(
        &api,
        "/sms",
        json!({"gateways": ["console"], "failover_cooldown": "5s"}),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.json()["failover_cooldown"], "5s");
}

/// A `PUT` that forgot its body is refused and replaces nothing with the defaults, on every
/// kind of configuration write.
#[actix_rt::test]
async fn a_write_without_a_body_is_400_and_changes_nothing() {
    let (api, engine) = admin_api();
    let mut general = read(&api, "/general").await;
    general["max_message_length"] = json!(10);
    assert_eq!(write(&api, "/general", general).await.status, 200);
    for path in [
        "/general",
        "/sms",
        "/mobile-auth-types/sms",
        "/applications/acme",
        "/applications/acme/versions/android/9.9",
        "/api-clients/someone",
    ] {
        Call::put(format!("{ADMIN}{path}"))
            .operator()
            .send(&api)
            .await
            .assert_error(400, "invalid_request");
    }
    assert_eq!(engine.config().general.max_message_length, 10);
    assert_eq!(read(&api, "/general").await["max_message_length"], 10);
}
