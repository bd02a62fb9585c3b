//! `/applications` and `/applications/{id}/versions/{platform}/{version}`: CRUD, validation
//! paths inside the application, and a version switched off for the next enrollment.

use serde_json::json;

use super::*;

#[actix_rt::test]
async fn applications_create_read_update_delete() {
    let (api, engine) = admin_api();
    let list = read(&api, "/applications").await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["acme", "plain"]);
    let body = json!({"name": "Bank", "custom_verifier_signing_secret": "verifier-secret-0123",
        "versions": [{"platform": "android", "version": "2.0", "push_config": "log-android"}]});
    let a = write(&api, "/applications/bank", body).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    assert_masked(&a.json(), &["custom_verifier_signing_secret"]);
    assert_eq!(a.json()["versions"][0]["version"], "2.0");
    assert_sealed(&engine, &["verifier-secret-0123"]).await;
    assert_last_event(
        &engine,
        "ADMIN CONFIGURATION CHANGED",
        "applications/bank created",
    )
    .await;
    let mut got = read(&api, "/applications/bank").await;
    got["name"] = json!("Bank & Co");
    let a = write(&api, "/applications/bank", got).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let stored = engine.config();
    let bank = stored.application("bank").unwrap();
    assert_eq!(bank.name, "Bank & Co");
    assert_eq!(bank.custom_verifier_signing_secret, "verifier-secret-0123");
    assert_eq!(remove(&api, "/applications/bank").await.status, 204);
    remove(&api, "/applications/bank")
        .await
        .assert_error(404, "not_found");
}

#[actix_rt::test]
async fn application_problems_are_named_inside_it() {
    let (api, engine) = admin_api();
    let body = json!({"versions": [
        {"platform": "android", "version": "1.0", "push_config": "log-android"},
        {"platform": "android", "version": "2.0", "push_config": "nope"}]});
    let f = fields(&write(&api, "/applications/bank", body).await);
    assert!(f.contains_key("versions[1].push_config"), "{f:?}");
    let f = fields(
        &write(
            &api,
            "/applications/bank",
            json!({"versions": [{"platform": "pc"}]}),
        )
        .await,
    );
    assert!(f.contains_key("versions[0].platform"), "{f:?}");
    assert!(engine.config().application("bank").is_none());
}

#[actix_rt::test]
async fn versions_create_read_update_delete() {
    let (api, engine) = admin_api();
    let v = read(&api, "/applications/acme/versions/android/1.0").await;
    assert_eq!(v["push_config"], "log-android");
    let at = "/applications/acme/versions/android/3.1";
    let a = write(&api, at, json!({"push_config": "log-android"})).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    assert_eq!(a.json()["platform"], "android");
    assert_eq!(a.json()["version"], "3.1");
    let a = write(
        &api,
        at,
        json!({"push_config": "log-android", "status": "disabled"}),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(read(&api, at).await["status"], "disabled");
    // Problems are named inside the version; the path's platform and version win.
    let f = fields(&write(&api, at, json!({"push_config": "nope"})).await);
    assert!(f.contains_key("push_config"), "{f:?}");
    let f = fields(
        &write(
            &api,
            at,
            json!({"platform": "ios", "push_config": "log-ios"}),
        )
        .await,
    );
    assert!(f.contains_key("platform"), "{f:?}");
    assert_eq!(remove(&api, at).await.status, 204);
    assert_last_event(
        &engine,
        "ADMIN CONFIGURATION CHANGED",
        "applications/acme/versions/android/3.1 deleted",
    )
    .await;
    for missing in [
        at,
        "/applications/nope/versions/android/1.0",
        "/applications/acme/versions/pc/1.0",
    ] {
        let a = Call::get(format!("{ADMIN}{missing}"))
            .operator()
            .send(&api)
            .await;
        a.assert_error(404, "not_found");
    }
    write(&api, "/applications/nope/versions/ios/1.0", json!({}))
        .await
        .assert_error(404, "not_found");
}

#[actix_rt::test]
async fn a_version_switched_off_refuses_the_next_enrollment() {
    let (api, _) = admin_api();
    enroll(&api, "alice", "acme").await;
    let a = write(
        &api,
        "/applications/acme/versions/android/1.0",
        json!({"push_config": "log-android", "status": "disabled"}),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let code = enrollment_code(&api, "bob").await;
    let (body, _) = enrollment(&code, "acme", "android");
    let a = Call::post(format!("{DEV}/enrollments"))
        .json(body)
        .send(&api)
        .await;
    a.assert_error(403, "app_version_disabled");
}
