//! `/push-configs`: CRUD with a masked server key, references from app versions, and a provider
//! built at run time carrying the next push to a loopback FCM.

use std::time::Duration;

use serde_json::json;
use tessera_testkit::push::fcm::FcmFake;

use super::*;

#[actix_rt::test]
async fn create_read_update_delete_with_a_masked_key() {
    let (api, engine) = admin_api();
    let key = "legacy-server-key-0123456789";
    let body =
        json!({"kind": "fcm_legacy", "server_key": key, "endpoint": "http://127.0.0.1:9/fcm/send"});
    let a = write(&api, "/push-configs/legacy", body).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    assert_masked(&a.json(), &["server_key"]);
    assert_sealed(&engine, &[key]).await;
    let got = read(&api, "/push-configs/legacy").await;
    assert_masked(&got, &["server_key"]);
    assert_eq!(got["kind"], "fcm_legacy");
    let list = read(&api, "/push-configs").await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["legacy", "log-android", "log-ios"]);

    // The mask written back keeps the key; a new value replaces it.
    let mut changed = got.clone();
    changed["max_attempts"] = json!(2);
    assert_eq!(
        write(&api, "/push-configs/legacy", changed.clone())
            .await
            .status,
        200
    );
    assert_eq!(
        engine.config().push_config("legacy").unwrap().server_key,
        key
    );
    changed["server_key"] = json!("another-server-key-0123");
    assert_eq!(
        write(&api, "/push-configs/legacy", changed).await.status,
        200
    );
    let stored = engine.config();
    assert_eq!(
        stored.push_config("legacy").unwrap().server_key,
        "another-server-key-0123"
    );
    assert_eq!(stored.push_config("legacy").unwrap().max_attempts, Some(2));

    assert_eq!(remove(&api, "/push-configs/legacy").await.status, 204);
    assert_last_event(
        &engine,
        "ADMIN CONFIGURATION CHANGED",
        "push-configs/legacy deleted",
    )
    .await;
    // Used by an app version: in use.
    let a = remove(&api, "/push-configs/log-android").await;
    a.assert_error(409, "in_use");
    assert!(a.json()["description"].as_str().unwrap().contains("acme"));
}

#[actix_rt::test]
async fn push_config_rules_name_their_fields() {
    let (api, engine) = admin_api();
    let f = fields(
        &write(
            &api,
            "/push-configs/apple",
            json!({"kind": "apns", "platform": "android"}),
        )
        .await,
    );
    assert!(f.contains_key("platform"), "{f:?}");
    assert!(f.contains_key("team_id"), "{f:?}");
    // A key file this node cannot read is refused before anything is stored.
    let f = fields(
        &write(
            &api,
            "/push-configs/apple",
            json!({"kind": "apns", "platform": "ios", "team_id": "T", "key_id": "K",
                   "key_file": "/nonexistent/AuthKey.p8"}),
        )
        .await,
    );
    assert!(f.contains_key("key_file"), "{f:?}");
    let f = fields(
        &write(
            &api,
            "/push-configs/x",
            json!({"kind": "fcm_legacy", "server_key_env": "KEY"}),
        )
        .await,
    );
    assert!(f.contains_key("server_key_env"), "{f:?}");
    assert!(engine.config().push_config("apple").is_none());
}

#[actix_rt::test]
async fn a_push_config_added_at_run_time_carries_the_next_push() {
    let (api, engine) = admin_api();
    let fcm = FcmFake::start().await;
    let dir = std::env::temp_dir().join(format!("tessera-admin-push-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let account = fcm.write_service_account(&dir);
    let config = serde_json::to_value(fcm.push_config("fcm-live", &account)).unwrap();
    let a = write(&api, "/push-configs/fcm-live", config).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let a = write(
        &api,
        "/applications/acme/versions/android/1.0",
        json!({"push_config": "fcm-live"}),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_last_event(
        &engine,
        "ADMIN CONFIGURATION CHANGED",
        "applications/acme/versions/android/1.0 updated",
    )
    .await;

    let (device, _) = ready_device(&api, "alice").await;
    let a = Call::post(format!("{V4}/user"))
        .portal()
        .form(&[("type", "push_pin"), ("user_id", "alice")])
        .send(&api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let push = tokio::time::timeout(Duration::from_secs(10), fcm.next_push())
        .await
        .expect("the push reached the new provider");
    assert_eq!(push.token, format!("push-{}", &device.id[..16]));
    let _ = std::fs::remove_dir_all(&dir);
}
