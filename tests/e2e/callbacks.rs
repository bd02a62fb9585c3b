//! Callbacks to the portal (API.md §2.5): the allow list, Basic credentials, the signature and
//! idempotency key, retries with backoff and the dead letter after the last try.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tessera_testkit::callback::CallbackFake;
use tessera_testkit::http::Recorded;
use tessera_testkit::sms::SmsHookFake;

use crate::support;
use crate::support::Tessera;
use crate::support::conf::{
    self, FAST_CALLBACKS, callback_config, gateways, hook_gateway, sms_type,
};
use crate::support::portal::{PHONE, txn_id};

async fn tessera(callback: &CallbackFake, allow_list: bool) -> (SmsHookFake, Tessera) {
    let hook = SmsHookFake::start().await;
    let config = conf::with(&format!(
        "[general]\ncallback_allow_list_enabled = {allow_list}\n{FAST_CALLBACKS}{}{}{}{}",
        callback_config(callback),
        gateways(&["hook"]),
        hook_gateway("hook", &hook),
        sms_type("sms")
    ));
    let t = Tessera::start(&config).await;
    (hook, t)
}

/// Starts an SMS transaction calling back to `uri` and returns its id.
async fn start(t: &Tessera, uri: &str) -> String {
    txn_id(&t.start_sms("sms", "alice", &[("callback_uri", uri)]).await)
}

/// Checks `Tessera-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`.
fn assert_signed(req: &Recorded, secret: &str) {
    let header = req
        .header("tessera-signature")
        .unwrap_or_else(|| panic!("no Tessera-Signature: {:?}", req.headers));
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = Some(value.to_owned()),
            Some(("v1", value)) => v1 = Some(value.to_owned()),
            _ => {}
        }
    }
    let (t, v1) = (
        t.expect("t= in the signature"),
        v1.expect("v1= in the signature"),
    );
    let sent_at: u64 = t.parse().expect("t is unix seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        sent_at.abs_diff(now) <= 300,
        "t={sent_at} is not now ({now})"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(&req.body);
    let expected = hex::encode(mac.finalize().into_bytes());
    assert_eq!(v1, expected, "signature over `{t}.<body>` does not verify");
}

#[tokio::test]
async fn the_allow_list_refuses_callback_uris_not_configured() {
    let callback = CallbackFake::start().await;
    let (hook, t) = tessera(&callback, true).await;
    let url = callback.url();
    for bad in [
        "http://127.0.0.1:9/elsewhere".to_owned(),
        format!("{url}/more"),
        format!("{url}?x=1"),
        url.to_uppercase(),
    ] {
        t.start_raw(&[
            ("type", "sms"),
            ("user_id", "alice"),
            ("phone_number", PHONE),
            ("callback_uri", bad.as_str()),
        ])
        .await
        .expect_error(400, "1003");
    }
    assert!(hook.requests().is_empty(), "refused starts send nothing");
    start(&t, &url).await;
    hook.wait_for_messages(1).await;
}

#[tokio::test]
async fn a_callback_carries_basic_auth_a_verifiable_signature_and_an_idempotency_key() {
    let callback = CallbackFake::start().await;
    let (hook, t) = tessera(&callback, true).await;
    let url = callback.url();
    let id = start(&t, &url).await;
    let code = hook.wait_for_messages(1).await[0].verification_code.clone();
    t.verify("alice", &id, &code).await.expect(200);

    let got = callback.wait_for(1).await;
    let req = &got[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, CallbackFake::PATH);
    assert!(
        req.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{:?}",
        req.headers
    );
    let body = req.json();
    assert_eq!(
        body,
        serde_json::json!({"callback_uri": url, "transaction_id": id}),
        "exactly the vendor's two fields"
    );
    assert_eq!(
        req.basic_auth(),
        Some((
            CallbackFake::USERNAME.to_owned(),
            CallbackFake::PASSWORD.to_owned()
        ))
    );
    assert_eq!(req.header("idempotency-key"), Some(id.as_str()));
    assert_signed(req, CallbackFake::SIGNING_SECRET);
    assert_eq!(t.result(&id).await["callback_uri"], url.as_str());

    let names = t.wait_for_event(&id, "PUSH AUTH CALLBACK SENT", 1).await;
    assert!(
        !names.iter().any(|n| n == "PUSH AUTH CALLBACK FAILED"),
        "{names:?}"
    );
    callback
        .assert_no_more_than(1, Duration::from_millis(200))
        .await;
}

#[tokio::test]
async fn a_callback_uri_without_a_callback_config_gets_no_credentials() {
    let callback = CallbackFake::start().await;
    let (_hook, t) = tessera(&callback, false).await;
    // Same fake, a path no callback config names.
    let uri = callback.url().replace("/cb", "/unlisted");
    let id = start(&t, &uri).await;
    t.cancel(&id).await.expect(204);

    let got = callback.wait_for(1).await;
    let req = &got[0];
    assert_eq!(req.path, "/unlisted");
    assert_eq!(req.header("authorization"), None, "no credentials to send");
    assert_eq!(
        req.header("tessera-signature"),
        None,
        "no secret to sign with"
    );
    assert_eq!(req.header("idempotency-key"), Some(id.as_str()));
}

#[tokio::test]
async fn failed_callbacks_are_retried_until_one_succeeds() {
    let callback = CallbackFake::start().await;
    callback.fail_first(2, 500);
    let (_hook, t) = tessera(&callback, true).await;
    let id = start(&t, &callback.url()).await;
    t.cancel(&id).await.expect(204);

    let got = callback.wait_for(3).await;
    let statuses: Vec<u16> = got.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 500, 200]);
    for req in &got {
        assert_eq!(req.body, got[0].body, "every try sends the same body");
        assert_eq!(req.header("idempotency-key"), Some(id.as_str()));
        assert_signed(req, CallbackFake::SIGNING_SECRET);
    }
    let names = t.wait_for_event(&id, "PUSH AUTH CALLBACK SENT", 1).await;
    let failed = names
        .iter()
        .filter(|n| *n == "PUSH AUTH CALLBACK FAILED")
        .count();
    assert_eq!(failed, 2, "{names:?}");
    callback
        .assert_no_more_than(3, Duration::from_millis(300))
        .await;
}

#[tokio::test]
async fn a_callback_failing_every_try_is_dead_lettered_after_max_tries() {
    let callback = CallbackFake::start().await;
    callback.fail_always(503);
    let (hook, t) = tessera(&callback, true).await;
    let id = start(&t, &callback.url()).await;
    let code = hook.wait_for_messages(1).await[0].verification_code.clone();
    t.verify("alice", &id, &code).await.expect(200);

    let got = callback.wait_for(3).await;
    assert!(got.iter().all(|r| r.status == 503));
    // Exponential backoff from initial_backoff = 50 ms: at least 50 ms, then at least 100 ms.
    let gaps: Vec<Duration> = got.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(
        gaps[0] >= Duration::from_millis(50) && gaps[1] >= Duration::from_millis(100),
        "retry gaps {gaps:?}"
    );
    let names = t.wait_for_event(&id, "PUSH AUTH CALLBACK FAILED", 3).await;
    assert!(
        !names.iter().any(|n| n == "PUSH AUTH CALLBACK SENT"),
        "{names:?}"
    );
    // max_tries = 3: backoff is 50 ms then 100 ms, so a fourth try would come well within this.
    callback
        .assert_no_more_than(3, Duration::from_millis(600))
        .await;
    assert_eq!(callback.requests().len(), 3, "exactly max_tries requests");
    // The portal's own outcome is untouched by its callback failing.
    assert_eq!(t.result(&id).await["status"], "accepted");
}

#[tokio::test]
async fn a_callback_that_times_out_is_retried() {
    let callback = CallbackFake::start().await;
    // FAST_CALLBACKS times a try out after 500 ms.
    callback.stall_first(1, Duration::from_secs(3));
    let (_hook, t) = tessera(&callback, true).await;
    let id = start(&t, &callback.url()).await;
    t.cancel(&id).await.expect(204);

    let got = callback.wait_for(2).await;
    assert_eq!(got[0].body, got[1].body, "the retry sends the same body");
    let names = t.wait_for_event(&id, "PUSH AUTH CALLBACK SENT", 1).await;
    let failed = names
        .iter()
        .filter(|n| *n == "PUSH AUTH CALLBACK FAILED")
        .count();
    assert_eq!(failed, 1, "the timed-out try counts as failed: {names:?}");
    callback
        .assert_no_more_than(2, Duration::from_millis(300))
        .await;
}

#[tokio::test]
async fn every_final_state_calls_back() {
    let callback = CallbackFake::start().await;
    let (hook, t) = tessera(&callback, true).await;
    let url = callback.url();

    let accepted = start(&t, &url).await;
    let code = hook.wait_for_messages(1).await[0].verification_code.clone();
    t.verify("alice", &accepted, &code).await.expect(200);

    let cancelled = start(&t, &url).await;
    t.cancel(&cancelled).await.expect(204);

    // The type allows 3 attempts (the default).
    let failed = start(&t, &url).await;
    let code = hook.wait_for_messages(3).await[2].verification_code.clone();
    for _ in 0..3 {
        t.verify("alice", &failed, &support::wrong_code(&code))
            .await
            .expect_error(404, "3003");
    }
    assert_eq!(t.result(&failed).await["status"], "failed");

    let got = callback.wait_for(3).await;
    let mut ids: Vec<String> = got
        .iter()
        .map(|r| {
            r.json()["transaction_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    ids.sort();
    let mut expected = vec![accepted, cancelled, failed];
    expected.sort();
    assert_eq!(ids, expected, "one callback per finished transaction");
    callback
        .assert_no_more_than(3, Duration::from_millis(200))
        .await;
}
