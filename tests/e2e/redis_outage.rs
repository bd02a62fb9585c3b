//! Redis going away while the binary serves (issue 10, item 5): every API call that needs the
//! store is answered `503` at once — the portal's `1002`, management's and the device API's
//! `store_unavailable` — `/health/ready` turns unready while `/health/live` stays up, and when
//! Redis is back the node serves again by itself. Redis runs with an append-only file here, so
//! what was acknowledged before the outage is still there after it and still verifies.

use std::time::Duration;

use tessera_testkit::eventually;
use tessera_testkit::redis::RedisServer;
use tessera_testkit::sms::SmsHookFake;
use tokio::time::Instant;

use crate::redis_store::store;
use crate::support::binary::Tessera;
use crate::support::conf;
use crate::support::portal::{Resp, V4, txn_id};

/// Each answer during the outage comes within this (the store's own timeouts are 0.5 s to
/// wait for a connection and 1 s per call; the gate answers without waiting at all).
const PROMPT: Duration = Duration::from_secs(3);

async fn status_of(t: &Tessera, path: &str) -> u16 {
    t.http
        .get(t.url(path))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// `call`'s answer, asserted to come within [`PROMPT`].
async fn promptly(what: &str, call: impl Future<Output = Resp>) -> Resp {
    let began = Instant::now();
    let resp = call.await;
    let took = began.elapsed();
    assert!(took < PROMPT, "{what} took {took:?}");
    resp
}

#[tokio::test]
async fn while_redis_is_down_calls_get_a_prompt_503_and_service_resumes_when_it_returns() {
    let mut redis = RedisServer::start_persistent();
    let hook = SmsHookFake::start().await;
    let toml = conf::with(&format!(
        "{}{}{}{}",
        conf::sms_type("sms"),
        conf::gateways(&["hook"]),
        conf::hook_gateway("hook", &hook),
        store(&redis.url())
    ));
    let t = Tessera::start(&toml).await;
    assert_eq!(status_of(&t, "/health/ready").await, 200);

    // Acknowledged before the outage: one to verify in the outage and after, and a few more.
    let before = txn_id(&t.start_sms("sms", "alice", &[]).await);
    let code = hook.wait_for_messages(1).await[0].verification_code.clone();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let mut others = Vec::new();
    for (i, user) in ["carol", "dave", "erin"].into_iter().enumerate() {
        let id = txn_id(&t.start_sms("sms", user, &[]).await);
        let sent = hook.wait_for_messages(2 + i).await[1 + i]
            .verification_code
            .clone();
        others.push((user, id, sent));
    }

    redis.stop();
    eventually(Duration::from_secs(5), "unready", || async {
        (status_of(&t, "/health/ready").await == 503).then_some(())
    })
    .await;
    assert_eq!(status_of(&t, "/health/live").await, 200);

    // The portal: the vendor's 1002, with Retry-After.
    let start = promptly(
        "a start",
        t.start_raw(&[
            ("type", "sms"),
            ("user_id", "bob"),
            ("phone_number", "+31612345678"),
        ]),
    )
    .await;
    start.expect_error(503, "1002");
    assert_eq!(start.header("retry-after").as_deref(), Some("1"));
    promptly("a verify", t.verify("alice", &before, wrong))
        .await
        .expect_error(503, "1002");
    promptly("a result", t.get(&format!("{V4}/transaction/{before}")))
        .await
        .expect_error(503, "1002");
    // Management and device APIs: store_unavailable.
    promptly("a device list", t.get("/oauth/api/v4/users/alice/devices"))
        .await
        .expect_error(503, "store_unavailable");
    let pending = t
        .http
        .get(t.url("/device/v1/transactions/pending"))
        .basic_auth("D".repeat(64), Some("secret"));
    promptly("a device call", t.send(pending))
        .await
        .expect_error(503, "store_unavailable");
    // A burst of calls at once: each refused promptly, none waits for another.
    let burst = (0..20).map(|i| {
        let (user, id, _) = &others[i % others.len()];
        promptly("a verify in a burst", t.verify(user, id, wrong))
    });
    for resp in futures::future::join_all(burst).await {
        resp.expect_error(503, "1002");
    }
    assert_eq!(hook.wait_for_messages(4).await.len(), 4, "nothing was sent");

    // Redis is back (with its data): ready again without a restart of the node.
    redis.restart();
    eventually(Duration::from_secs(5), "ready again", || async {
        (status_of(&t, "/health/ready").await == 200).then_some(())
    })
    .await;
    // The transaction acknowledged before still verifies (the wrong code tried during the
    // outage was refused before it could count), and new ones work.
    t.verify("alice", &before, &code).await.expect(200);
    assert_eq!(t.result(&before).await["status"], "accepted");
    for (user, id, sent) in &others {
        t.verify(user, id, sent).await.expect(200);
    }
    let after = txn_id(&t.start_sms("sms", "bob", &[]).await);
    let code = hook.wait_for_messages(5).await[4].verification_code.clone();
    t.verify("bob", &after, &code).await.expect(200);
    assert_eq!(t.result(&after).await["status"], "accepted");
    // One attempt: the verify after the outage; the wrong code during it never reached the engine.
    assert_eq!(t.result(&before).await["used_authentication_attempts"], 1);
}
