//! The real push providers through the binary (API.md §4 payloads, §7 outbound contracts): FCM
//! HTTP v1 and APNs loopback fakes in place of the `log` provider. The phone reacts to the push
//! it received — the transaction id in the payload — as the app would: it fetches that
//! transaction and answers with its PIN. Delivery failures: a dead token drops the push
//! enrollment and fails the transaction or continues it by SMS; an outage is ridden out.

use std::time::Duration;

use futures::future::join_all;
use tessera_api::DeviceClient;
use tessera_api::device_client::Platform;
use tessera_testkit::conf::{MobileAuthType, PushConfig, array};
use tessera_testkit::push::apns::{ApnsFailure, ApnsFake};
use tessera_testkit::push::fcm::{FcmFailure, FcmFake};

use crate::support::binary::TempDir;
use crate::support::world::{
    PUSH_MESSAGE, World, android_version, apns_config, application, fcm_config, ios_version,
    push_pin, push_pin_type,
};

/// An FCM registration token of the shape Google hands out.
fn fcm_token(user: &str) -> String {
    format!("{user}:APA91bH{}", "x".repeat(140))
}

/// An APNs device token: 32 bytes in hex.
fn apns_token(seed: u8) -> String {
    format!("{seed:02x}").repeat(32)
}

/// The FCM fake, Tessera with Android `acme` 1.0 pushing through it, and the type `push`.
async fn fcm_world(push: MobileAuthType) -> (FcmFake, World) {
    let fcm = FcmFake::start().await;
    let dir = TempDir::new();
    let account = fcm.write_service_account(dir.path());
    let sections = format!(
        "{}{}{}",
        fcm_config("fcm-main", &fcm, &account),
        application(&[android_version("1.0", "fcm-main")]),
        push_pin_type(push),
    );
    let world = World::start(dir, &sections, &[]).await;
    (fcm, world)
}

async fn android_phone(w: &World, user: &str) -> DeviceClient {
    w.phone(user, Platform::Android, "1.0", &fcm_token(user))
        .await
}

#[tokio::test]
async fn fcm_push_with_pin_end_to_end_on_one_cached_token() {
    let (fcm, w) = fcm_world(push_pin("push_pin")).await;
    let users = ["alice", "bob", "carol"];
    let mut phones = Vec::new();
    for user in users {
        phones.push(android_phone(&w, user).await);
    }

    let started = w.start_push("push_pin", "alice").await;
    assert_eq!(started.auth_method, "push_with_pin");
    let push = fcm.next_push().await;
    assert_eq!(push.token, fcm_token("alice"));
    assert_eq!(push.transaction_id, started.transaction_id);
    assert_eq!(push.profile_id, phones[0].profile_id());
    assert_eq!(push.message, PUSH_MESSAGE);
    let ttl = push.android["ttl"].as_str().unwrap_or_default();
    let secs: u64 = ttl.trim_end_matches('s').parse().expect("ttl in seconds");
    assert!(
        (290..=300).contains(&secs),
        "android.ttl {ttl} of a 5 min type"
    );
    // The phone acts on what the push said, not on what the portal was told.
    w.accept_with_pin(&phones[0], &push.transaction_id).await;
    let result = w.final_result(&started.transaction_id).await;
    assert_eq!(result.status, "accepted");
    assert!(result.is_authenticated);
    assert_eq!(result.authentication_method, "push_with_pin");

    // Three users at once: each phone gets its own push and answers it.
    let starts = join_all(users.iter().map(|u| w.start_push("push_pin", u))).await;
    for _ in &users {
        let push = fcm.next_push().await;
        let (i, _) = users
            .iter()
            .enumerate()
            .find(|(_, u)| fcm_token(u) == push.token)
            .unwrap_or_else(|| panic!("push to an unknown token {}", push.token));
        assert_eq!(push.profile_id, phones[i].profile_id());
        assert_eq!(push.transaction_id, starts[i].transaction_id);
        w.accept_with_pin(&phones[i], &push.transaction_id).await;
    }
    for (started, user) in starts.iter().zip(users) {
        let result = w.final_result(&started.transaction_id).await;
        assert_eq!(result.status, "accepted", "{user}: {result:?}");
        assert_eq!(result.user_id.as_deref(), Some(user));
    }

    fcm.assert_clean();
    assert_eq!(fcm.sends().len(), 4);
    assert_eq!(
        fcm.token_requests().len(),
        1,
        "one bearer token serves every push"
    );
    assert!(
        fcm.unread_push().await.is_none(),
        "one push per transaction"
    );
}

#[tokio::test]
async fn apns_push_with_pin_end_to_end_with_a_verified_provider_token() {
    let apns = ApnsFake::start().await;
    let sections = format!(
        "{}{}{}",
        apns_config("apns-main", &apns),
        application(&[
            ios_version("1.0", "apns-main", true),
            ios_version("2.0", "apns-main", false),
        ]),
        push_pin_type(push_pin("push_pin")),
    );
    let w = World::start(TempDir::new(), &sections, &[]).await;
    let alice = w
        .phone("alice", Platform::Ios, "1.0", &apns_token(0xa1))
        .await;
    let bob = w
        .phone("bob", Platform::Ios, "2.0", &apns_token(0xb0))
        .await;

    let started = w.start_push("push_pin", "alice").await;
    let push = apns.next_push().await;
    assert_eq!(push.device_token, apns_token(0xa1));
    assert_eq!(push.transaction_id, started.transaction_id);
    assert_eq!(push.profile_id, alice.profile_id());
    assert_eq!(push.alert, PUSH_MESSAGE);
    assert_eq!(push.priority, "10");
    assert_eq!(push.badge, Some(1), "send_badge_number: this pending one");
    let left = push.expiration.saturating_sub(push.received_at);
    assert!(
        (290..=301).contains(&left),
        "apns-expiration {} is {left} s away, the type lives 5 min",
        push.expiration
    );
    w.accept_with_pin(&alice, &push.transaction_id).await;
    assert_eq!(
        w.final_result(&started.transaction_id).await.status,
        "accepted"
    );

    let started = w.start_push("push_pin", "bob").await;
    let push = apns.next_push().await;
    assert_eq!(push.device_token, apns_token(0xb0));
    assert_eq!(
        push.badge, None,
        "version 2.0 sends no badge: {}",
        push.payload
    );
    w.accept_with_pin(&bob, &push.transaction_id).await;
    assert_eq!(
        w.final_result(&started.transaction_id).await.status,
        "accepted"
    );

    // Two at once for alice, on the same connection.
    let first = w.start_push("push_pin", "alice").await;
    let second = w.start_push("push_pin", "alice").await;
    for _ in 0..2 {
        let push = apns.next_push().await;
        w.accept_with_pin(&alice, &push.transaction_id).await;
    }
    for started in [&first, &second] {
        assert_eq!(
            w.final_result(&started.transaction_id).await.status,
            "accepted"
        );
    }
    apns.assert_clean();
    let tokens: Vec<String> = apns
        .requests()
        .iter()
        .filter_map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(tokens.len(), 4);
    assert!(
        tokens.iter().all(|t| *t == tokens[0]),
        "one provider token for every push: {tokens:#?}"
    );
    assert_eq!(apns.connections(), 1, "pushes share one HTTP/2 connection");
}

/// The badge is the number of the device's pending push transactions (`PushNotice::badge`).
#[tokio::test]
async fn apns_badge_counts_the_devices_pending_transactions() {
    let apns = ApnsFake::start().await;
    let sections = format!(
        "{}{}{}",
        apns_config("apns-main", &apns),
        application(&[ios_version("1.0", "apns-main", true)]),
        push_pin_type(push_pin("push_pin")),
    );
    let w = World::start(TempDir::new(), &sections, &[]).await;
    let alice = w
        .phone("alice", Platform::Ios, "1.0", &apns_token(0xa1))
        .await;

    let first = w.start_push("push_pin", "alice").await;
    let one = apns.next_push().await;
    let second = w.start_push("push_pin", "alice").await;
    let two = apns.next_push().await;
    assert_eq!(one.transaction_id, first.transaction_id);
    assert_eq!(two.transaction_id, second.transaction_id);
    assert_eq!((one.badge, two.badge), (Some(1), Some(2)));
    for (push, started) in [(&one, &first), (&two, &second)] {
        w.accept_with_pin(&alice, &push.transaction_id).await;
        let result = w.final_result(&started.transaction_id).await;
        assert_eq!(result.status, "accepted");
    }
    assert!(alice.pending().await.expect("pending").is_empty());

    // Both answered: the next push is the only pending one.
    let third = w.start_push("push_pin", "alice").await;
    let three = apns.next_push().await;
    assert_eq!(three.transaction_id, third.transaction_id);
    assert_eq!(
        three.badge,
        Some(1),
        "badge after two finished transactions; payload {}",
        three.payload
    );
    apns.assert_clean();
}

#[tokio::test]
async fn apns_outage_is_retried_until_the_push_arrives() {
    let apns = ApnsFake::start().await;
    let sections = format!(
        "{}{}{}",
        apns_config("apns-main", &apns),
        application(&[ios_version("1.0", "apns-main", false)]),
        push_pin_type(push_pin("push_pin")),
    );
    let w = World::start(TempDir::new(), &sections, &[]).await;
    let alice = w
        .phone("alice", Platform::Ios, "1.0", &apns_token(0xa1))
        .await;

    apns.queue(ApnsFailure::Unavailable);
    let id = w.start_push("push_pin", "alice").await.transaction_id;
    let push = apns.next_push().await;
    assert_eq!(push.transaction_id, id);
    w.accept_with_pin(&alice, &push.transaction_id).await;
    assert_eq!(w.final_result(&id).await.status, "accepted");
    let statuses: Vec<u16> = apns.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 200]);
    apns.assert_clean();
}

/// `max_attempts` and `retry_delay` of a push config (Tessera additions) bound its retries: two
/// tries, then the push has failed and so has the transaction (no fallback configured).
#[tokio::test]
async fn a_push_configs_max_attempts_bounds_its_retries() {
    let apns = ApnsFake::start().await;
    let tuned = PushConfig {
        max_attempts: Some(2),
        retry_delay: Some(Duration::from_millis(20)),
        ..apns.push_config("apns-main")
    };
    let sections = format!(
        "{}{}{}",
        array("push_configs", &[tuned]),
        application(&[ios_version("1.0", "apns-main", false)]),
        push_pin_type(push_pin("push_pin")),
    );
    let w = World::start(TempDir::new(), &sections, &[]).await;
    let _alice = w
        .phone("alice", Platform::Ios, "1.0", &apns_token(0xa1))
        .await;

    for _ in 0..3 {
        apns.queue(ApnsFailure::Unavailable);
    }
    let id = w.start_push("push_pin", "alice").await.transaction_id;
    let result = w.final_result(&id).await;
    assert_eq!(result.status, "failed", "{result:?}");
    let statuses: Vec<u16> = apns.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 503], "two tries in all");
}

#[tokio::test]
async fn apns_unregistered_drops_the_push_enrollment() {
    let apns = ApnsFake::start().await;
    let sections = format!(
        "{}{}{}",
        apns_config("apns-main", &apns),
        application(&[ios_version("1.0", "apns-main", false)]),
        push_pin_type(push_pin("push_pin")),
    );
    let w = World::start(TempDir::new(), &sections, &[]).await;
    let _alice = w
        .phone("alice", Platform::Ios, "1.0", &apns_token(0xa1))
        .await;
    apns.unregister(&apns_token(0xa1));

    let id = w.start_push("push_pin", "alice").await.transaction_id;
    let result = w.final_result(&id).await;
    assert_eq!(result.status, "failed", "{result:?}");
    let reason = result.not_authenticated_reason.expect("a reason");
    assert_eq!(reason.reason, "failed_to_send");
    assert_eq!(apns.requests().len(), 1, "a dead token is not retried");
    apns.assert_clean();

    let devices = w.helpdesk.devices("alice").await.expect("devices");
    assert_eq!(devices.len(), 1, "the device stays");
    assert!(!devices[0].push_authentication_enabled, "{devices:?}");
    let err = w.try_start("push_pin", "alice").await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(404), Some("1001")),
        "{err}"
    );
}

#[tokio::test]
async fn fcm_unregistered_drops_the_push_enrollment_and_fails_the_transaction() {
    let (fcm, w) = fcm_world(push_pin("push_pin")).await;
    let alice = android_phone(&w, "alice").await;
    fcm.unregister(&fcm_token("alice"));

    let id = w.start_push("push_pin", "alice").await.transaction_id;
    let result = w.final_result(&id).await;
    assert_eq!(result.status, "failed", "{result:?}");
    assert!(!result.is_authenticated);
    let reason = result.not_authenticated_reason.expect("a reason");
    assert_eq!(reason.reason, "failed_to_send");
    assert_eq!(fcm.sends().len(), 1, "a dead token is not retried");
    fcm.assert_clean();

    for name in [
        "PUSH AUTH ENROLLMENT REMOVED",
        "PUSH AUTH PUSH SERVICE FAILURE",
    ] {
        w.tessera.wait_for_event(&id, name, 1).await;
    }
    let devices = w.helpdesk.devices("alice").await.expect("devices");
    assert_eq!(devices.len(), 1, "the device stays");
    assert!(!devices[0].push_authentication_enabled, "{devices:?}");
    // Nothing left to push to, and this type has no fallback.
    let err = w.try_start("push_pin", "alice").await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(404), Some("1001")),
        "{err}"
    );
    assert_eq!(fcm.sends().len(), 1);

    // The app registers its new token: pushes flow again.
    alice
        .push_enroll("alice-new:APA91bH-fresh")
        .await
        .expect("push enrollment");
    let id = w.start_push("push_pin", "alice").await.transaction_id;
    let push = fcm.next_push().await;
    assert_eq!(push.token, "alice-new:APA91bH-fresh");
    w.accept_with_pin(&alice, &push.transaction_id).await;
    assert_eq!(w.final_result(&id).await.status, "accepted");
}

#[tokio::test]
async fn fcm_unregistered_continues_the_same_transaction_by_sms() {
    let (fcm, w) = fcm_world(MobileAuthType {
        fallback: "sms".into(),
        fallback_on_delivery_failure: true,
        ..push_pin("push_pin")
    })
    .await;
    let _alice = android_phone(&w, "alice").await;
    fcm.unregister(&fcm_token("alice"));

    let skip = w.tessera.stdout.snapshot().len();
    let started = w.start_push("push_pin", "alice").await;
    assert_eq!(started.auth_method, "push_with_pin", "push first");
    let id = started.transaction_id;
    let code = w.console_sms_code(skip).await;
    let pending = w.portal.result(&id, None).await.expect("result");
    assert_eq!(pending.status, "pending", "{pending:?}");

    let verified = w
        .portal
        .verify_sms("alice", &id, &code)
        .await
        .unwrap_or_else(|e| panic!("verify {code}: {e}\n{}", w.tessera.logs()));
    assert_eq!(verified.transaction_id, id);
    let result = w.final_result(&id).await;
    assert_eq!(result.status, "accepted", "{result:?}");
    assert!(result.is_authenticated);
    assert_eq!(result.authentication_method, "sms");
    assert_eq!(fcm.sends().len(), 1);
    fcm.assert_clean();

    // The enrollment is gone: the next start falls back at once.
    let devices = w.helpdesk.devices("alice").await.expect("devices");
    assert!(!devices[0].push_authentication_enabled, "{devices:?}");
    let skip = w.tessera.stdout.snapshot().len();
    let started = w.start_push("push_pin", "alice").await;
    assert_eq!(started.auth_method, "sms");
    let code = w.console_sms_code(skip).await;
    w.portal
        .verify_sms("alice", &started.transaction_id, &code)
        .await
        .expect("verify the second code");
    assert_eq!(fcm.sends().len(), 1, "no push tried for the fallback start");
}

#[tokio::test]
async fn fcm_outages_are_retried_until_the_push_arrives() {
    let (fcm, w) = fcm_world(push_pin("push_pin")).await;
    let alice = android_phone(&w, "alice").await;

    // 503 without a hint: the backoff's first pause, 200 ms ± 25%.
    fcm.queue(FcmFailure::Unavailable { retry_after: None });
    let id = w.start_push("push_pin", "alice").await.transaction_id;
    let push = fcm.next_push().await;
    assert_eq!(push.transaction_id, id);
    w.accept_with_pin(&alice, &push.transaction_id).await;
    assert_eq!(w.final_result(&id).await.status, "accepted");
    let sends = fcm.sends();
    assert_eq!(sends.len(), 2);
    assert_eq!(sends[0].status, 503);
    let pause = sends[1].at - sends[0].at;
    assert!(
        pause >= Duration::from_millis(140),
        "retried after {pause:?}"
    );

    // 503 with `Retry-After: 1`: honoured although the backoff is shorter.
    fcm.queue(FcmFailure::Unavailable {
        retry_after: Some(1),
    });
    let id = w.start_push("push_pin", "alice").await.transaction_id;
    let push = fcm.next_push().await;
    w.accept_with_pin(&alice, &push.transaction_id).await;
    assert_eq!(w.final_result(&id).await.status, "accepted");
    let sends = fcm.sends();
    assert_eq!(sends.len(), 4);
    let pause = sends[3].at - sends[2].at;
    assert!(
        pause >= Duration::from_millis(990),
        "Retry-After: 1 honoured, retried after {pause:?}"
    );
    fcm.assert_clean();
    assert_eq!(fcm.token_requests().len(), 1);
}

#[tokio::test]
async fn a_revoked_fcm_bearer_token_is_replaced() {
    let (fcm, w) = fcm_world(push_pin("push_pin")).await;
    let alice = android_phone(&w, "alice").await;
    let id = w.start_push("push_pin", "alice").await.transaction_id;
    let push = fcm.next_push().await;
    w.accept_with_pin(&alice, &push.transaction_id).await;
    assert_eq!(w.final_result(&id).await.status, "accepted");

    // FCM stops taking the cached token (`401`): the next try fetches a new one.
    fcm.revoke_tokens();
    let id = w.start_push("push_pin", "alice").await.transaction_id;
    let push = fcm.next_push().await;
    assert_eq!(push.transaction_id, id);
    w.accept_with_pin(&alice, &push.transaction_id).await;
    assert_eq!(w.final_result(&id).await.status, "accepted");

    fcm.assert_clean();
    let statuses: Vec<u16> = fcm.sends().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 401, 200]);
    assert_eq!(fcm.token_requests().len(), 2);
}
