//! `/mobile-auth-types`: CRUD, validation, references, and the effect on the next transaction.

use serde_json::json;

use super::*;

#[actix_rt::test]
async fn create_read_update_delete() {
    let (api, engine) = admin_api();
    let list = read(&api, "/mobile-auth-types").await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "ordered by name");
    assert!(names.contains(&"sms") && names.contains(&"push_pin"));

    let body = json!({"method": "sms", "time_to_live": "90s", "code_length": 8,
        "default_messages": {"en": "Code: {code}"}});
    let a = write(&api, "/mobile-auth-types/sms_fast", body.clone()).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    assert_eq!(a.json()["name"], "sms_fast");
    assert_eq!(a.json()["time_to_live"], "1m 30s");
    assert_last_event(
        &engine,
        "ADMIN CONFIGURATION CHANGED",
        "mobile-auth-types/sms_fast created",
    )
    .await;
    let got = read(&api, "/mobile-auth-types/sms_fast").await;
    assert_eq!(got["code_length"], 8);

    // PUT again replaces the whole object: 200, and what is left out takes its default.
    let a = write(
        &api,
        "/mobile-auth-types/sms_fast",
        json!({"method": "sms"}),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.json()["code_length"], 6);
    // An SMS type without messages gets the default one, as in the file.
    assert_eq!(a.json()["default_messages"]["en"], "Your code is {code}");
    assert_last_event(
        &engine,
        "ADMIN CONFIGURATION CHANGED",
        "mobile-auth-types/sms_fast updated",
    )
    .await;

    let a = remove(&api, "/mobile-auth-types/sms_fast").await;
    assert_eq!(a.status, 204);
    let a = Call::get(format!("{ADMIN}/mobile-auth-types/sms_fast"))
        .operator()
        .send(&api)
        .await;
    a.assert_error(404, "not_found");
    remove(&api, "/mobile-auth-types/sms_fast")
        .await
        .assert_error(404, "not_found");
    assert!(engine.config().mobile_auth_type("sms_fast").is_none());
}

#[actix_rt::test]
async fn validation_errors_name_their_fields() {
    let (api, engine) = admin_api();
    // Rules of the config file, named relative to the type.
    let a = write(
        &api,
        "/mobile-auth-types/bad",
        json!({"method": "sms", "code_length": 99, "fallback": "nope"}),
    )
    .await;
    let f = fields(&a);
    assert!(f["code_length"].as_str().unwrap().contains("4"), "{f:?}");
    assert!(f["fallback"].as_str().unwrap().contains("nope"), "{f:?}");
    // Types the file would refuse: a bad duration, an unknown key, an unknown method.
    let f = fields(
        &write(
            &api,
            "/mobile-auth-types/bad",
            json!({"time_to_live": "soon"}),
        )
        .await,
    );
    assert!(f.contains_key("time_to_live"), "{f:?}");
    let f = fields(&write(&api, "/mobile-auth-types/bad", json!({"colour": "red"})).await);
    assert!(
        f["colour"].as_str().unwrap().contains("unknown field"),
        "{f:?}"
    );
    let f = fields(&write(&api, "/mobile-auth-types/bad", json!({"method": "fax"})).await);
    assert!(f.contains_key("method"), "{f:?}");
    // The name in the body must be the one in the path.
    let f = fields(&write(&api, "/mobile-auth-types/bad", json!({"name": "other"})).await);
    assert!(f.contains_key("name"), "{f:?}");
    assert!(engine.config().mobile_auth_type("bad").is_none());
    // A malformed body is a 400, a form body a 415.
    Call::put(format!("{ADMIN}/mobile-auth-types/bad"))
        .operator()
        .raw("application/json", "{not json")
        .send(&api)
        .await
        .assert_error(400, "invalid_request");
    Call::put(format!("{ADMIN}/mobile-auth-types/bad"))
        .operator()
        .form(&[("method", "sms")])
        .send(&api)
        .await
        .assert_error(415, "unsupported_media_type");
    // Nothing was stored.
    assert!(engine.store().config_doc().await.unwrap().is_none());
}

#[actix_rt::test]
async fn a_type_another_falls_back_to_is_in_use() {
    let (api, engine) = admin_api();
    let a = remove(&api, "/mobile-auth-types/sms").await;
    a.assert_error(409, "in_use");
    assert!(a.json()["description"].as_str().unwrap().contains("push"));
    assert!(engine.config().mobile_auth_type("sms").is_some());
    // Once nothing falls back to it, it goes.
    let a = write(&api, "/mobile-auth-types/push", json!({"method": "push"})).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(remove(&api, "/mobile-auth-types/sms").await.status, 204);
}

#[actix_rt::test]
async fn the_next_transaction_uses_the_change_and_a_running_one_keeps_its_settings() {
    let (api, engine) = admin_api();
    let running = start_sms(&api, "sms", "alice").await;
    let mut sms = read(&api, "/mobile-auth-types/sms").await;
    sms["time_to_live"] = json!("42s");
    sms["max_attempts"] = json!(1);
    let a = write(&api, "/mobile-auth-types/sms", sms).await;
    assert_eq!(a.status, 200, "{:?}", a.body);

    let a = Call::post(format!("{V4}/user"))
        .portal()
        .form(&[("type", "sms"), ("user_id", "bob"), ("phone_number", PHONE)])
        .send(&api)
        .await;
    assert_eq!(a.json()["time_to_live"], 42_000);
    let next = a.json()["transaction_id"].as_str().unwrap().to_owned();

    let old = engine.result(running.parse().unwrap(), None).await.unwrap();
    assert_eq!(old.deadline - old.created_at, 300_000, "started before");
    // One wrong code ends the new one (max_attempts 1); the old one still has three.
    for (id, user) in [(&running, "alice"), (&next, "bob")] {
        let a = Call::post(format!("{V4}/user/{user}/sms"))
            .portal()
            .form(&[("transaction_id", id), ("sms_code", "000000000")])
            .send(&api)
            .await;
        a.assert_error(404, "3003");
    }
    let old = engine.result(running.parse().unwrap(), None).await.unwrap();
    let new = engine.result(next.parse().unwrap(), None).await.unwrap();
    assert_eq!(old.status, tessera_engine::model::Status::Pending);
    assert_eq!(new.status, tessera_engine::model::Status::Failed);
    assert_sealed(&engine, &[]).await;
}
