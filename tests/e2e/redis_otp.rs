//! The OTP image from the store (issue 10: any node serves `otp.svg`). Two `tessera` processes
//! share one `redis-server` and the same `store.hash_key`: an OTP transaction started on one
//! draws the same QR code on the other, because the record carries the OTP's secret sealed under
//! that key (never in clear), and neither draws it once the OTP is redeemed or the transaction
//! is over.

use std::process::Command;

use tessera_api::wire::StartParams;
use tessera_api::{ManagementClient, PortalClient};
use tessera_engine::enroll::codes;
use tessera_testkit::redis::RedisServer;

use crate::redis_store::store;
use crate::support::binary::Tessera;
use crate::support::conf::{CLIENT_ID, CLIENT_SECRET};
use crate::support::device::{self, World, expect_api_error};

async fn node(toml: &str) -> World {
    let t = Tessera::start(toml).await;
    let portal = PortalClient::with_http(t.http.clone(), &t.base, CLIENT_ID, CLIENT_SECRET);
    let mgmt = ManagementClient::with_http(t.http.clone(), &t.base, CLIENT_ID, CLIENT_SECRET);
    World { t, portal, mgmt }
}

/// Everything Redis holds under transaction `id`'s key (default key prefix): its record.
fn stored_record(redis: &RedisServer, id: &str) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &redis.port().to_string(), "--raw", "HGETALL"])
        .arg(format!("tessera:{{t:{id}}}"))
        .output()
        .expect("run redis-cli");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success() && text.contains(id), "{out:?}");
    text
}

#[tokio::test]
async fn any_node_on_a_shared_redis_draws_the_otp_qr_code_until_it_is_redeemed() {
    let redis = RedisServer::start();
    let toml = format!("{}{}", device::config(""), store(&redis.url()));
    let a = node(&toml).await;
    let b = node(&toml).await;
    let phone = a.phone("alice", "Pixel").await;

    let started = a.start_with(&StartParams::new("otp")).await;
    let otp = started.otp.expect("an otp");
    let id = started.transaction_id;
    let on_a = a.portal.otp_svg(&id).await.expect("otp.svg on A");
    let on_b = b
        .portal
        .otp_svg(&id)
        .await
        .unwrap_or_else(|e| panic!("otp.svg on B: {e}\n{}", b.t.logs()));
    assert_eq!(on_a, on_b, "both nodes draw the same QR code");
    assert_eq!(Some(on_b), codes::qr_svg(&otp), "the QR code of the OTP");

    // At rest: sealed, not the OTP nor its secret.
    let record = stored_record(&redis, &id);
    assert!(record.contains("\"otp_sealed\""), "{record}");
    assert!(
        !record.contains(&otp[22..]),
        "the OTP's secret in clear: {record}"
    );

    // Redeemed on A: neither node shows it any more, and the record no longer holds it.
    let doc = phone.redeem_otp(&otp).await.expect("redeem the OTP");
    assert_eq!(doc.transaction_id, id);
    for (name, node) in [("A", &a), ("B", &b)] {
        let got = node.portal.otp_svg(&id).await;
        assert!(got.is_err(), "{name} still draws a redeemed OTP");
        expect_api_error(got, 404, "3004");
    }
    assert!(!stored_record(&redis, &id).contains("otp_sealed"));

    // Finished unredeemed (cancelled on A): B answers 404 3004 too.
    let other = a.start_with(&StartParams::new("otp")).await.transaction_id;
    b.portal.otp_svg(&other).await.expect("otp.svg on B");
    a.portal.cancel(&other).await.expect("cancel on A");
    expect_api_error(b.portal.otp_svg(&other).await, 404, "3004");
    expect_api_error(a.portal.otp_svg(&other).await, 404, "3004");
}
