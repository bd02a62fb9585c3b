//! `store.kind = "redis"` end to end: the real binary on a real `redis-server` (testkit), and
//! what a Redis store is for — surviving a `kill -9`. A new process on the same Redis still
//! knows the enrolled devices (and the server key they encrypt to), still verifies an SMS
//! transaction started before the kill (pending transactions are recovered with their timers),
//! and finishes one whose deadline passed while no process ran as `expired`, calling back once.
//! `rediss://` works, and checks Redis's certificate against the trusted roots.

use std::process::Command;
use std::time::Duration;

use tessera_api::wire::{AnswerOutcome, StartParams};
use tessera_api::{ManagementClient, PortalClient};
use tessera_testkit::callback::CallbackFake;
use tessera_testkit::redis::{RedisServer, TEST_CA_PEM};
use tessera_testkit::sms::SmsHookFake;

use crate::support::binary::{TempDir, Tessera, command, run};
use crate::support::conf::{self, CLIENT_ID, CLIENT_SECRET, FAST_CALLBACKS};
use crate::support::device::{self, PIN, World, accept, assert_outcome};
use crate::support::portal::txn_id;

const HASH_KEY: &str = "0123456789abcdef0123456789abcdef";

pub(crate) fn store(redis_url: &str) -> String {
    format!("\n[store]\nkind = \"redis\"\nredis_url = \"{redis_url}\"\nhash_key = \"{HASH_KEY}\"\n")
}

/// The device suite's application and types, SMS through `hook`, callbacks to `callback`, the
/// Redis store, on a fixed port so the phones' clients reach the restarted process too.
pub(crate) fn config(
    redis: &RedisServer,
    hook: &SmsHookFake,
    callback: &CallbackFake,
    port: u16,
) -> String {
    config_with_store(&store(&redis.url()), hook, callback, port)
}

/// [`config`] with any `[store]` section.
pub(crate) fn config_with_store(
    store_section: &str,
    hook: &SmsHookFake,
    callback: &CallbackFake,
    port: u16,
) -> String {
    let sections = format!(
        "[general]\n{}{}{}{}{}{}{}",
        device::application(),
        device::types(),
        conf::gateways(&["hook"]),
        conf::hook_gateway("hook", hook),
        FAST_CALLBACKS,
        conf::callback_config(callback),
        store_section,
    );
    conf::with(&sections).replacen(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{port}\""),
        1,
    )
}

pub(crate) async fn world(toml: &str) -> World {
    let t = Tessera::start(toml).await;
    let portal = PortalClient::with_http(t.http.clone(), &t.base, CLIENT_ID, CLIENT_SECRET);
    let mgmt = ManagementClient::with_http(t.http.clone(), &t.base, CLIENT_ID, CLIENT_SECRET);
    World { t, portal, mgmt }
}

pub(crate) fn kill_9(w: &World) {
    let status = std::process::Command::new("kill")
        .args(["-9", &w.t.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

#[tokio::test]
async fn enrolled_devices_and_pending_transactions_survive_a_kill_9() {
    let redis = RedisServer::start();
    let hook = SmsHookFake::start().await;
    let callback = CallbackFake::start().await;
    let toml = config(&redis, &hook, &callback, tessera_testkit::free_port());
    let w = world(&toml).await;

    // An SMS flow verifies, and an enrolled phone answers a push.
    let sms = txn_id(&w.t.start_sms("sms", "alice", &[]).await);
    let code = hook.wait_for_messages(1).await[0].verification_code.clone();
    w.t.verify("alice", &sms, &code).await.expect(200);
    assert_eq!(w.t.result(&sms).await["status"], "accepted");

    let phone = w.phone("bob", "Pixel").await;
    let push = w.start_push("push", "bob").await.transaction_id;
    phone.fetch(&push).await.unwrap();
    assert_eq!(
        phone.answer(&push, &accept()).await.unwrap(),
        AnswerOutcome::Accepted
    );
    assert_outcome(&w.final_result(&push).await, "accepted", None);

    // Before the kill: an SMS transaction to verify later, and a push (two seconds to live)
    // whose deadline passes while no process runs.
    let waiting = txn_id(&w.t.start_sms("sms", "carol", &[]).await);
    let waiting_code = hook.wait_for_messages(2).await[1].verification_code.clone();
    let short = w
        .start_with(&StartParams {
            user_id: Some("bob".into()),
            callback_uri: Some(callback.url()),
            ..StartParams::new("push_short")
        })
        .await
        .transaction_id;
    kill_9(&w);
    drop(w);
    tokio::time::sleep(Duration::from_millis(2_500)).await;

    let w = world(&toml).await;
    // Recovered and re-armed: the expired one finished at once and called back once.
    let expired = w.final_result(&short).await;
    assert_outcome(&expired, "expired", Some("expired"));
    let got = callback.wait_for(1).await;
    assert_eq!(
        got[0].json()["transaction_id"],
        short.as_str(),
        "{}",
        got[0].json()
    );
    callback
        .assert_no_more_than(1, Duration::from_secs(1))
        .await;

    // The code sent before the kill still verifies (only its HMAC was stored).
    w.t.verify("carol", &waiting, &waiting_code)
        .await
        .expect(200);
    assert_eq!(w.t.result(&waiting).await["status"], "accepted");

    // The phone, its keys and the server key survived: it answers a new push with its PIN.
    let again = w.start_push("push_pin", "bob").await.transaction_id;
    phone.fetch(&again).await.unwrap();
    assert_eq!(
        phone.answer_with_pin(&again, PIN, true).await.unwrap(),
        AnswerOutcome::Accepted,
        "{}",
        w.t.logs()
    );
    assert_outcome(&w.final_result(&again).await, "accepted", None);
}

#[test]
fn an_unreachable_redis_at_start_exits_69_with_a_clear_message() {
    let mut redis = RedisServer::start();
    let url = redis.url();
    redis.stop();
    let dir = TempDir::new();
    let path = dir.write("tessera.toml", &conf::with(&store(&url)));
    let mut cmd = command();
    cmd.arg("serve").arg("--config").arg(&path);
    let out = run(cmd, Duration::from_secs(30));
    assert_eq!(out.code(), Some(69), "{}", out.stderr);
    assert!(out.stderr.contains("store.redis_url"), "{}", out.stderr);
    assert!(!out.stdout.contains("tessera listening"), "{}", out.stdout);
}

/// `serve` on an SMS type sending through `hook`, on the Redis at `redis_url`, with the test CA
/// trusted (`SSL_CERT_FILE`) or not.
fn tls_command(dir: &TempDir, hook: &SmsHookFake, redis_url: &str, trust: bool) -> Command {
    let toml = conf::with(&format!(
        "{}{}{}{}",
        conf::sms_type("sms"),
        conf::gateways(&["hook"]),
        conf::hook_gateway("hook", hook),
        store(redis_url)
    ));
    let path = dir.write("tessera.toml", &toml);
    let mut cmd = command();
    cmd.arg("serve").arg("--config").arg(&path);
    if trust {
        cmd.env("SSL_CERT_FILE", TEST_CA_PEM);
    } else {
        cmd.env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR");
    }
    cmd
}

#[tokio::test]
async fn a_tls_redis_with_a_trusted_certificate_serves_an_sms_flow() {
    let redis = RedisServer::start_tls();
    let hook = SmsHookFake::start().await;
    let dir = TempDir::new();
    let cmd = tls_command(&dir, &hook, &redis.url(), true);
    let t = Tessera::spawn(cmd, dir).await;
    let id = txn_id(&t.start_sms("sms", "alice", &[]).await);
    let code = hook.wait_for_messages(1).await[0].verification_code.clone();
    t.verify("alice", &id, &code).await.expect(200);
    assert_eq!(t.result(&id).await["status"], "accepted");
}

#[tokio::test]
async fn a_tls_redis_whose_certificate_is_not_trusted_is_not_used() {
    let redis = RedisServer::start_tls();
    let hook = SmsHookFake::start().await;
    let dir = TempDir::new();
    let cmd = tls_command(&dir, &hook, &redis.url(), false);
    let out = tokio::task::spawn_blocking(move || run(cmd, Duration::from_secs(30)))
        .await
        .unwrap();
    assert_eq!(out.code(), Some(69), "{}", out.stderr);
    assert!(!out.stdout.contains("tessera listening"), "{}", out.stdout);
}
