//! `/api-clients`: the secret shown once, hashes only, rotation, deletion, and the admin
//! scope that cannot be given up by the last client holding it.

use serde_json::json;

use super::*;

async fn portal_start(api: &Api, id: &str, secret: &str) -> Answer {
    Call::post(format!("{V4}/user"))
        .basic(id, secret)
        .form(&[
            ("type", "sms"),
            ("user_id", "alice"),
            ("phone_number", PHONE),
        ])
        .send(api)
        .await
}

#[actix_rt::test]
async fn a_created_client_calls_until_rotated_or_deleted() {
    let (api, engine) = admin_api();
    let a = write(
        &api,
        "/api-clients/shop",
        json!({"scopes": ["mobile_authentication"]}),
    )
    .await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let created = a.json();
    assert_eq!(created["id"], "shop");
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 43, "256 bits");
    assert_last_event(
        &engine,
        "ADMIN API CLIENT CREATED",
        "api-clients/shop created",
    )
    .await;
    // Only the hash is kept; reading shows neither.
    let view = read(&api, "/api-clients/shop").await;
    assert_eq!(
        view,
        json!({"id": "shop", "scopes": ["mobile_authentication"], "allowed_ips": []})
    );
    let stored = engine.config();
    let client = stored.api_clients.iter().find(|c| c.id == "shop").unwrap();
    assert_eq!(client.secret_sha256.len(), 64);
    assert!(client.secret.is_empty());
    assert_sealed(&engine, &[&secret]).await;

    assert_eq!(portal_start(&api, "shop", &secret).await.status, 200);
    // Another scope it was not given.
    let a = Call::get(format!("{USERS}/alice/devices"))
        .basic("shop", &secret)
        .send(&api)
        .await;
    a.assert_error(403, "insufficient_scope");

    let a = Call::post(format!("{ADMIN}/api-clients/shop/rotate-secret"))
        .operator()
        .send(&api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let rotated = a.json()["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(rotated, secret);
    assert_last_event(
        &engine,
        "ADMIN API CLIENT SECRET ROTATED",
        "api-clients/shop secret rotated",
    )
    .await;
    portal_start(&api, "shop", &secret)
        .await
        .assert_error(401, "invalid_client");
    assert_eq!(portal_start(&api, "shop", &rotated).await.status, 200);

    // Updating keeps the secret unless a new one is given.
    let a = write(
        &api,
        "/api-clients/shop",
        json!({"scopes": ["mobile_authentication", "end_user"]}),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert!(a.json().get("client_secret").is_none());
    assert_eq!(portal_start(&api, "shop", &rotated).await.status, 200);
    let chosen = "a-secret-chosen-by-the-operator-0123";
    let a = write(
        &api,
        "/api-clients/shop",
        json!({"scopes": ["mobile_authentication"], "secret": chosen}),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(portal_start(&api, "shop", chosen).await.status, 200);

    assert_eq!(remove(&api, "/api-clients/shop").await.status, 204);
    assert_last_event(
        &engine,
        "ADMIN API CLIENT DELETED",
        "api-clients/shop deleted",
    )
    .await;
    portal_start(&api, "shop", chosen)
        .await
        .assert_error(401, "invalid_client");
    remove(&api, "/api-clients/shop")
        .await
        .assert_error(404, "not_found");
    Call::post(format!("{ADMIN}/api-clients/shop/rotate-secret"))
        .operator()
        .send(&api)
        .await
        .assert_error(404, "not_found");
}

#[actix_rt::test]
async fn bad_writes_are_refused_with_their_fields() {
    let (api, engine) = admin_api();
    let f = fields(&write(&api, "/api-clients/x", json!({"scopes": []})).await);
    assert!(f.contains_key("scopes"), "{f:?}");
    let f = fields(
        &write(
            &api,
            "/api-clients/x",
            json!({"scopes": ["admin"], "secret": "short"}),
        )
        .await,
    );
    assert!(f.contains_key("secret"), "{f:?}");
    let f = fields(&write(&api, "/api-clients/x", json!({"scopes": ["root"]})).await);
    assert!(f.keys().any(|k| k.starts_with("scopes")), "{f:?}");
    let f = fields(
        &write(
            &api,
            "/api-clients/x",
            json!({"scopes": ["admin"], "secret_sha256": "00"}),
        )
        .await,
    );
    assert!(
        f["secret_sha256"]
            .as_str()
            .unwrap()
            .contains("unknown field"),
        "{f:?}"
    );
    let f = fields(
        &write(
            &api,
            "/api-clients/x",
            json!({"scopes": ["admin"], "allowed_ips": ["nope"]}),
        )
        .await,
    );
    assert!(f.keys().any(|k| k.starts_with("allowed_ips")), "{f:?}");
    assert!(engine.config().api_clients.iter().all(|c| c.id != "x"));
}

#[actix_rt::test]
async fn the_last_admin_client_cannot_be_deleted_or_descoped() {
    let (api, engine) = admin_api();
    remove(&api, "/api-clients/operator")
        .await
        .assert_error(409, "in_use");
    write(&api, "/api-clients/operator", json!({"scopes": ["events"]}))
        .await
        .assert_error(409, "in_use");
    // With a second admin it may go, even by its own hand.
    let a = write(&api, "/api-clients/second", json!({"scopes": ["admin"]})).await;
    assert_eq!(a.status, 201);
    let second = a.json()["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(remove(&api, "/api-clients/operator").await.status, 204);
    assert!(
        engine
            .config()
            .api_clients
            .iter()
            .all(|c| c.id != "operator")
    );
    let a = Call::get(format!("{ADMIN}/api-clients"))
        .basic("second", &second)
        .send(&api)
        .await;
    assert_eq!(a.status, 200);
    let list = a.json();
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] <= w[1]), "ordered: {ids:?}");
    assert!(ids.contains(&"second") && !ids.contains(&"operator"));
}
