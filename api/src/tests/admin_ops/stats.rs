//! `GET /stats` after real flows: SMS through the loopback REST hook, push with PIN through
//! the log provider.

use tessera_testkit::sms::SmsHookFake;

use super::*;
use crate::tests::answers::{answer_json, sealed, start_pin};

#[actix_rt::test]
async fn stats_count_real_flows() {
    let hook = SmsHookFake::start().await;
    let (api, engine) = admin_api(&hook, None);
    let accepted = start_sms_with(&api, "alice", &[]).await;
    verify_last(&api, &hook, "alice", &accepted, 1).await;
    let _pending = start_sms_with(&api, "bob", &[]).await;

    let (d, pin) = ready_device(&api, "carol").await;
    let push = start_pin(&api, "carol").await;
    let a = Call::post(format!("{DEV}/transactions/{push}/answer"))
        .device(&d)
        .raw(
            "application/pgp-encrypted",
            sealed(&d, &d.keys, &answer_json(&push, Some(&pin))),
        )
        .send(&api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);

    let stats = admin_until(&api, "/stats", |v| {
        v["nodes"][0]["outcomes"]["accepted"] == 2
    })
    .await;
    assert_eq!(stats["node"], engine.node());
    assert_eq!(
        stats["store"],
        serde_json::json!({"kind": "memory", "healthy": true})
    );
    assert_eq!(stats["dead_letters"], 0);
    let nodes = stats["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "the memory store has this node only");
    let node = &nodes[0];
    assert_eq!(node["name"], engine.node());

    let ty = |name: &str| {
        node["types"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("type {name} in {node}"))
            .clone()
    };
    let sms = ty("sms");
    assert_eq!(
        (sms["method"].as_str(), sms["started"].as_u64()),
        (Some("sms"), Some(2))
    );
    assert_eq!(sms["active"], 1);
    assert_eq!(sms["finished"]["accepted"], 1);
    let per_second = sms["starts_per_second"].as_array().unwrap();
    assert_eq!(per_second.len(), 60);
    assert_eq!(
        per_second.iter().map(|n| n.as_u64().unwrap()).sum::<u64>(),
        2
    );
    let pin_type = ty("push_pin");
    assert_eq!(
        (pin_type["started"].as_u64(), pin_type["active"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(pin_type["finished"]["accepted"], 1);
    // Configured types are listed before their first start.
    assert_eq!(ty("otp")["started"], 0);

    assert_eq!(node["active_by_state"]["code_sent"], 1, "{node}");
    assert_eq!(node["active_by_state"]["fetched"], 0);
    assert_eq!(node["outcomes"]["cancelled"], 0);
    assert_eq!(node["start_latency"]["count"], 3);
    assert!(node["start_latency"]["p99_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(node["flow_latency"]["count"], 2);

    let hook_health = &node["sms_gateways"][0];
    assert_eq!(
        (hook_health["name"].as_str(), hook_health["kind"].as_str()),
        (Some("hook"), Some("rest"))
    );
    assert_eq!(
        (hook_health["sent"].as_u64(), hook_health["failed"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(hook_health["healthy"], true);
    let log = node["push_providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "log-android")
        .unwrap()
        .clone();
    assert_eq!(
        (log["kind"].as_str(), log["sent"].as_u64()),
        (Some("log"), Some(1))
    );
    assert_eq!(node["callbacks"]["sent"], 0);
}

#[actix_rt::test]
async fn a_failing_gateway_shows_unhealthy_with_its_error() {
    let hook = SmsHookFake::start().await;
    hook.fail_always(500);
    let (api, _) = admin_api(&hook, None);
    let a = Call::post(format!("{V4}/user"))
        .portal()
        .form(&[
            ("type", "sms"),
            ("user_id", "alice"),
            ("phone_number", PHONE),
        ])
        .send(&api)
        .await;
    assert_eq!(a.status, 503, "{:?}", a.body);
    let stats = admin_get(&api, "/stats").await;
    let g = &stats["nodes"][0]["sms_gateways"][0];
    assert_eq!(
        (g["failed"].as_u64(), g["healthy"].as_bool()),
        (Some(1), Some(false))
    );
    assert!(g["last_error"].as_str().unwrap().contains("500"), "{g}");
    assert!(g["last_error_at"].as_u64().is_some());
    assert_eq!(stats["nodes"][0]["outcomes"]["failed"], 1);
}
