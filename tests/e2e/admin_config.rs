//! The admin API's configuration changes across processes: two `tessera` nodes on one Redis.
//! A change made on node A is used by node B's next transaction within about a second (B polls
//! the stored document), and both nodes run it again after a restart, although their file still
//! says otherwise (the store's document wins over the file's sections).

use std::time::Duration;

use serde_json::{Value, json};
use tessera_testkit::callback::CallbackFake;
use tessera_testkit::conf::{Scope, api_client, array};
use tessera_testkit::redis::RedisServer;
use tessera_testkit::sms::SmsHookFake;

use crate::redis_store::{config, world};
use crate::support::device::World;
use crate::support::portal::{Resp, txn_id};
use tessera_testkit::free_port;

const OPERATOR: &str = "operator";
const OPERATOR_SECRET: &str = "operator-secret-0123456789abcdef";

fn node_config(redis: &RedisServer, hook: &SmsHookFake, cb: &CallbackFake, port: u16) -> String {
    let operator = api_client(OPERATOR, OPERATOR_SECRET, &[Scope::Admin]);
    config(redis, hook, cb, port) + &array("api_clients", &[operator])
}

async fn admin(w: &World, method: reqwest::Method, path: &str, body: Option<Value>) -> Resp {
    let mut req =
        w.t.http
            .request(method, w.t.url(&format!("/admin/v1{path}")))
            .basic_auth(OPERATOR, Some(OPERATOR_SECRET));
    if let Some(body) = body {
        req = req.json(&body);
    }
    Resp::read(req.send().await.expect("admin request")).await
}

/// The `time_to_live` a new SMS transaction of `type_name` gets on `w`.
async fn ttl_of_next(w: &World, type_name: &str, user: &str) -> Value {
    w.t.start_sms(type_name, user, &[]).await["time_to_live"].clone()
}

#[tokio::test]
async fn a_change_on_one_node_reaches_the_other_and_survives_a_restart_of_both() {
    let redis = RedisServer::start();
    let hook = SmsHookFake::start().await;
    let callback = CallbackFake::start().await;
    let (port_a, port_b) = (free_port(), free_port());
    let a = world(&node_config(&redis, &hook, &callback, port_a)).await;
    let b = world(&node_config(&redis, &hook, &callback, port_b)).await;
    assert_eq!(ttl_of_next(&b, "sms", "alice").await, 300_000);

    // A changes a type and adds one.
    let mut sms = admin(&a, reqwest::Method::GET, "/mobile-auth-types/sms", None)
        .await
        .expect(200)
        .json();
    sms["time_to_live"] = json!("42s");
    admin(
        &a,
        reqwest::Method::PUT,
        "/mobile-auth-types/sms",
        Some(sms),
    )
    .await
    .expect(200);
    let changed = tokio::time::Instant::now();
    let fresh = json!({"method": "sms", "time_to_live": "77s"});
    admin(
        &a,
        reqwest::Method::PUT,
        "/mobile-auth-types/sms_fresh",
        Some(fresh),
    )
    .await
    .expect(201);
    assert_eq!(
        ttl_of_next(&a, "sms", "alice").await,
        42_000,
        "at once on A"
    );

    // B's next transaction uses it within about a second.
    loop {
        let ttl = ttl_of_next(&b, "sms", "bob").await;
        if ttl == 42_000 {
            break;
        }
        assert!(
            changed.elapsed() < Duration::from_secs(3),
            "B still starts with {ttl} after {:?}",
            changed.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let waited = changed.elapsed();
    assert!(waited < Duration::from_secs(2), "took {waited:?}");
    let on_b = b.t.start_sms("sms_fresh", "carol", &[]).await;
    assert_eq!(on_b["time_to_live"], 77_000);
    // B's transaction of the new type is one A knows too.
    let id = txn_id(&on_b);
    assert_eq!(a.t.result(&id).await["status"], "pending");

    // Both stop; both start again from the same file: the stored settings win.
    drop(a);
    drop(b);
    let a = world(&node_config(&redis, &hook, &callback, port_a)).await;
    let b = world(&node_config(&redis, &hook, &callback, port_b)).await;
    for node in [&a, &b] {
        assert_eq!(ttl_of_next(node, "sms", "dave").await, 42_000);
        assert_eq!(ttl_of_next(node, "sms_fresh", "erin").await, 77_000);
    }
    let listed = admin(&b, reqwest::Method::GET, "/mobile-auth-types", None)
        .await
        .expect(200)
        .json();
    let names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"sms_fresh"), "{names:?}");
    // Said so in the log, once per start.
    assert!(
        b.t.logs()
            .contains("the store holds a configuration document"),
        "{}",
        b.t.logs()
    );
}
