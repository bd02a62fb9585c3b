//! When a push cannot or does not reach the user (API.md §2.2, §2.3): the SMS fallback at start
//! (no push enrollment, push authorization off), the in-transaction fallback after
//! `fallback_after` (same transaction id, code from the console gateway's `SMS to ...` line), and
//! push resends up to `max_resends`.

use crate::support;

use std::time::Duration;

use tokio::time::Instant;

use crate::support::device::World;
use crate::support::portal::{PHONE, V4};
use crate::support::{code_in, wrong_code};

/// The console gateway's lines to the test phone number so far.
fn sms_lines(w: &World) -> Vec<String> {
    let prefix = format!("SMS to {PHONE} ");
    w.t.stdout
        .snapshot()
        .into_iter()
        .filter(|l| l.starts_with(&prefix))
        .collect()
}

/// The code of the `n`th SMS (1-based) to the test number, waiting for it.
async fn nth_sms_code(w: &World, n: usize) -> String {
    let lines = support::eventually(support::DEADLINE, "an SMS on the console", || async {
        let lines = sms_lines(w);
        (lines.len() >= n).then_some(lines)
    })
    .await;
    let line = &lines[n - 1];
    assert!(line.contains("Your ACME code is "), "{line}");
    code_in(line).unwrap_or_else(|| panic!("no code in `{line}`"))
}

#[tokio::test]
async fn without_a_push_enrollment_the_start_falls_back_to_sms() {
    let w = World::start("").await;
    // Enrolled, but never push-enrolled: no device to push to.
    let phone = w.enroll("alice", "Pixel").await;

    let started = w.start_with_phone("push_or_sms", "alice").await;
    assert_eq!(started.auth_method, "sms", "{started:?}");
    assert!(started.device.is_none() && started.devices.is_none());
    let id = started.transaction_id;
    let code = nth_sms_code(&w, 1).await;
    assert!(w.pushes_to(phone.device_id()).is_empty());
    assert!(phone.pending().await.unwrap().is_empty());

    w.t.verify("alice", &id, &code).await.expect(200);
    let result = w.final_result(&id).await;
    assert_eq!(result.status, "accepted", "{result:?}");
    assert_eq!(result.authentication_method, "sms");

    // A user Tessera has never seen falls back the same way.
    let started = w.start_with_phone("push_or_sms", "nobody").await;
    assert_eq!(started.auth_method, "sms", "{started:?}");
}

#[tokio::test]
async fn push_authorization_disabled_falls_back_to_sms() {
    let w = World::start("push_authorization_enabled = false").await;
    let phone = w.phone("alice", "Pixel").await;

    let started = w.start_with_phone("push_or_sms", "alice").await;
    assert_eq!(started.auth_method, "sms", "{started:?}");
    let id = started.transaction_id;
    let code = nth_sms_code(&w, 1).await;
    assert!(w.pushes_to(phone.device_id()).is_empty(), "pushed anyway");
    assert!(phone.pending().await.unwrap().is_empty());
    w.t.verify("alice", &id, &code).await.expect(200);
    let result = w.final_result(&id).await;
    assert_eq!(
        (
            result.status.as_str(),
            result.authentication_method.as_str()
        ),
        ("accepted", "sms")
    );

    // Without a fallback a push type has nothing to offer.
    w.t.start_raw(&[("type", "push"), ("user_id", "alice")])
        .await
        .expect_error(404, "1001");
}

#[tokio::test]
async fn fallback_after_continues_the_same_transaction_by_sms() {
    let w = World::start("").await;
    let phone = w.phone("alice", "Pixel").await;

    let began = Instant::now();
    let started = w.start_with_phone("push_or_sms", "alice").await;
    assert_eq!(started.auth_method, "push_with_pin", "{started:?}");
    assert_eq!(started.time_to_live, 60_000);
    let id = started.transaction_id;
    w.wait_pushes(phone.device_id(), 1).await;
    assert_eq!(phone.pending().await.unwrap().len(), 1);
    assert!(sms_lines(&w).is_empty(), "SMS before fallback_after");
    assert_eq!(w.result(&id).await.status, "pending");

    // Unanswered for 2 s: the same transaction continues by SMS.
    let code = nth_sms_code(&w, 1).await;
    let after = began.elapsed();
    assert!(
        after >= Duration::from_millis(1900),
        "fell back after {after:?}, before fallback_after"
    );
    let pending = w.result(&id).await;
    assert_eq!(pending.status, "pending", "{pending:?}");
    assert_eq!(pending.transaction_id, id);

    w.t.verify("alice", &id, &wrong_code(&code))
        .await
        .expect_error(404, "3003");
    let verified = w.t.verify("alice", &id, &code).await;
    verified.expect(200);
    assert_eq!(verified.json()["transaction_id"], id.as_str());
    let result = w.final_result(&id).await;
    assert_eq!(result.status, "accepted", "{result:?}");
    assert!(result.is_authenticated);
    assert_eq!(result.authentication_method, "sms");
    assert_eq!(result.user_id.as_deref(), Some("alice"));
    // The SMS went out once.
    assert_eq!(sms_lines(&w).len(), 1, "{:?}", sms_lines(&w));
}

#[tokio::test]
async fn an_answer_before_fallback_after_means_no_sms() {
    let w = World::start("").await;
    let phone = w.phone("alice", "Pixel").await;
    let id = w
        .start_with_phone("push_or_sms", "alice")
        .await
        .transaction_id;
    phone.fetch(&id).await.unwrap();
    phone
        .answer_with_pin(&id, support::device::PIN, true)
        .await
        .unwrap();
    let result = w.final_result(&id).await;
    assert_eq!(
        (
            result.status.as_str(),
            result.authentication_method.as_str()
        ),
        ("accepted", "push_with_pin")
    );
    // Past fallback_after (a long-poll on a final transaction returns at once, so wait on a
    // second one that is still pending and has no fallback).
    let other = w.start_push("push", "alice").await.transaction_id;
    w.t.wait_result(&other, Duration::from_millis(2500))
        .await
        .expect(200);
    assert!(sms_lines(&w).is_empty(), "{:?}", sms_lines(&w));
    assert_eq!(w.result(&id).await.authentication_method, "push_with_pin");
}

#[tokio::test]
async fn a_push_is_resent_up_to_max_resends() {
    let w = World::start("").await;
    let phone = w.phone("alice", "Pixel").await;

    let id = w.start_push("push_resend", "alice").await.transaction_id;
    w.wait_pushes(phone.device_id(), 1).await;
    let resend = format!("{V4}/transaction/{id}/resend");
    let resp = w.t.post_form(&resend, &[]).await;
    resp.expect(204);
    assert!(resp.body.is_empty(), "204 with a body: {}", resp.text());
    let pushes = w.wait_pushes(phone.device_id(), 2).await;
    assert!(pushes.iter().all(|l| l.contains(&id)), "{pushes:?}");
    w.t.post_form(&resend, &[]).await.expect_error(403, "3006");
    assert_eq!(w.pushes_to(phone.device_id()).len(), 2);

    // Still answerable, once.
    phone.fetch(&id).await.unwrap();
    phone.answer(&id, &support::device::accept()).await.unwrap();
    assert_eq!(w.final_result(&id).await.status, "accepted");

    // A type without resends (max_resends defaults to 0) refuses at once.
    let id = w.start_push("push", "alice").await.transaction_id;
    w.t.post_form(&format!("{V4}/transaction/{id}/resend"), &[])
        .await
        .expect_error(403, "3006");
    // Unknown transactions are 3004.
    w.t.post_form(
        &format!("{V4}/transaction/6f1c0d2e-9a4b-4c3d-8e7f-0a1b2c3d4e5f/resend"),
        &[],
    )
    .await
    .expect_error(404, "3004");
}
