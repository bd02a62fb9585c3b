//! Push transactions answered by the app (API.md §2.2, §2.3, §4): accept and reject for each push
//! method, authenticator limits (PIN up to disconnection, fingerprint and custom up to
//! revocation), fetch once and expiry, number matching and transaction signing. The phone is
//! [`DeviceClient`] with real OpenPGP against the real binary.

use crate::support;

use std::time::Duration;

use serde_json::Value;
use tessera_api::ClientError;
use tessera_api::wire::{AnswerOutcome, StartParams};
use tessera_engine::AnswerBody;

use crate::support::device::{
    FACE, PIN, World, accept, assert_outcome, expect_api_error, reject, remaining_attempts,
};

/// The inner JSON of a `log` provider line's FCM data message (`{"content": "<json>"}`).
fn fcm_content(line: &str) -> Value {
    let (_, payload) = line
        .split_once(" (fcm): ")
        .unwrap_or_else(|| panic!("not an FCM push line: {line}"));
    let data: Value = serde_json::from_str(payload).unwrap_or_else(|e| panic!("{e}: {line}"));
    let keys: Vec<&String> = data.as_object().expect("an object").keys().collect();
    assert_eq!(
        keys,
        ["content"],
        "a data message carries `content` only: {data}"
    );
    serde_json::from_str(data["content"].as_str().expect("content is a string"))
        .unwrap_or_else(|e| panic!("content is not JSON ({e}): {data}"))
}

/// An answer that must not accept: `200 {"result": "rejected"}` or a 4xx refusal, never an
/// accept and never a server error.
#[track_caller]
fn assert_not_accepted(outcome: &Result<AnswerOutcome, ClientError>) {
    match outcome {
        Ok(AnswerOutcome::Rejected) => {}
        Err(e) if e.status().is_some_and(|s| (400..500).contains(&s)) => {}
        other => panic!("expected a rejection or a 4xx, got {other:?}"),
    }
}

#[tokio::test]
async fn plain_push_accepted_and_rejected() {
    let w = World::start("").await;
    let phone = w.phone("alice", "Alice's Pixel").await;

    let started = w.start_push("push", "alice").await;
    assert_eq!(started.auth_method, "push");
    let device = started.device.as_ref().expect("one device named");
    assert_eq!(
        (device.name.as_str(), device.platform.as_str()),
        ("Alice's Pixel", "android")
    );
    assert!(started.devices.is_none() && started.number_challenge.is_none());
    assert_eq!(started.time_to_live, 300_000, "the default 5 min");
    let id = started.transaction_id;

    // The log provider carried identifiers only; the app finds the work in its pending list.
    let pushes = w.wait_pushes(phone.device_id(), 1).await;
    let content = fcm_content(&pushes[0]);
    assert_eq!(content["og_transaction_id"], id.as_str(), "{content}");
    assert_eq!(content["og_profile_id"], phone.profile_id(), "{content}");
    assert_eq!(content["og_message"], "Log in to ACME?", "{content}");
    let pending = phone.pending().await.unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].transaction_id, id);
    assert_eq!(pending[0].type_name, "push");
    assert_eq!(pending[0].message, "Log in to ACME?");
    assert!(pending[0].time_to_live > 0 && pending[0].time_to_live <= 300_000);

    let doc = phone.fetch(&id).await.unwrap();
    assert_eq!(doc.transaction_id, id);
    assert_eq!(
        (doc.type_name.as_str(), doc.method.as_str()),
        ("push", "push")
    );
    assert_eq!(doc.message, "Log in to ACME?");
    assert!(doc.signing_data.is_none() && doc.number_choices.is_none());
    assert_eq!(
        phone.answer(&id, &accept()).await.unwrap(),
        AnswerOutcome::Accepted
    );
    let result = w.final_result(&id).await;
    assert_outcome(&result, "accepted", None);
    assert_eq!(result.authentication_method, "push");
    assert_eq!(result.user_id.as_deref(), Some("alice"));
    assert_eq!(result.used_authentication_attempts, 0, "no token carried");

    // Rejected: "not me" and "fraud" give the two rejection reasons.
    for (reason, expected) in [("not_me", "not_accepted"), ("fraud", "fraud_reported")] {
        let id = w.start_push("push", "alice").await.transaction_id;
        phone.fetch(&id).await.unwrap();
        assert_eq!(
            phone.answer(&id, &reject(reason)).await.unwrap(),
            AnswerOutcome::Rejected
        );
        let result = w.final_result(&id).await;
        assert_outcome(&result, "rejected", Some(expected));
        assert_eq!(result.authentication_method, "push");
    }
}

#[tokio::test]
async fn push_with_pin_accepted_and_rejected() {
    let w = World::start("").await;
    let phone = w.phone("alice", "Pixel").await;

    let started = w.start_push("push_pin", "alice").await;
    assert_eq!(started.auth_method, "push_with_pin");
    let id = started.transaction_id;
    let doc = phone.fetch(&id).await.unwrap();
    assert_eq!(doc.method, "push_with_pin");
    // Accepting without a token is not an accept, nor with a token push with PIN does not
    // take.
    let err = expect_api_error(
        phone.answer(&id, &accept()).await,
        403,
        "invalid_authenticator",
    );
    assert_eq!(w.result(&id).await.status, "pending", "{err}");
    let fingerprint = AnswerBody {
        fingerprint_token: phone.fingerprint_token().map(str::to_owned),
        ..accept()
    };
    assert_not_accepted(&phone.answer(&id, &fingerprint).await);
    assert_eq!(w.result(&id).await.status, "pending");
    assert_eq!(
        phone.answer_with_pin(&id, PIN, true).await.unwrap(),
        AnswerOutcome::Accepted
    );
    let result = w.final_result(&id).await;
    assert_outcome(&result, "accepted", None);
    assert_eq!(result.authentication_method, "push_with_pin");
    assert_eq!(result.used_authentication_attempts, 1);

    let id = w.start_push("push_pin", "alice").await.transaction_id;
    phone.fetch(&id).await.unwrap();
    assert_eq!(
        phone.answer_with_pin(&id, PIN, false).await.unwrap(),
        AnswerOutcome::Rejected
    );
    assert_outcome(&w.final_result(&id).await, "rejected", Some("not_accepted"));
}

#[tokio::test]
async fn push_with_fingerprint_takes_a_fingerprint_or_the_pin() {
    let w = World::start("").await;
    let phone = w.phone("alice", "Pixel").await;
    let fingerprint = phone.fingerprint_token().expect("registered").to_owned();

    let started = w.start_push("push_fingerprint", "alice").await;
    assert_eq!(started.auth_method, "push_with_fingerprint");
    let id = started.transaction_id;
    assert_eq!(
        phone.fetch(&id).await.unwrap().method,
        "push_with_fingerprint"
    );
    let answer = AnswerBody {
        fingerprint_token: Some(fingerprint),
        ..accept()
    };
    assert_eq!(
        phone.answer(&id, &answer).await.unwrap(),
        AnswerOutcome::Accepted
    );
    let result = w.final_result(&id).await;
    assert_outcome(&result, "accepted", None);
    assert_eq!(result.authentication_method, "push_with_fingerprint");

    let id = w
        .start_push("push_fingerprint", "alice")
        .await
        .transaction_id;
    phone.fetch(&id).await.unwrap();
    assert_eq!(
        phone.answer_with_pin(&id, PIN, true).await.unwrap(),
        AnswerOutcome::Accepted
    );
    assert_outcome(&w.final_result(&id).await, "accepted", None);

    let id = w
        .start_push("push_fingerprint", "alice")
        .await
        .transaction_id;
    phone.fetch(&id).await.unwrap();
    assert_eq!(
        phone.answer(&id, &reject("cancelled")).await.unwrap(),
        AnswerOutcome::Rejected
    );
    assert_outcome(&w.final_result(&id).await, "rejected", Some("not_accepted"));
}

#[tokio::test]
async fn push_with_custom_authenticator_takes_its_token_or_the_pin() {
    let w = World::start("").await;
    let phone = w.phone("alice", "Pixel").await;
    let face = phone.custom_token(FACE).expect("registered").to_owned();

    let started = w.start_push("push_custom", "alice").await;
    assert_eq!(started.auth_method, "push_with_custom_authenticator");
    let id = started.transaction_id;
    assert_eq!(
        phone.fetch(&id).await.unwrap().method,
        "push_with_custom_authenticator"
    );
    let answer = AnswerBody {
        custom_token: Some(face.clone()),
        custom_authenticator_id: Some(FACE.into()),
        ..accept()
    };
    assert_eq!(
        phone.answer(&id, &answer).await.unwrap(),
        AnswerOutcome::Accepted
    );
    let result = w.final_result(&id).await;
    assert_outcome(&result, "accepted", None);
    assert_eq!(
        result.authentication_method,
        "push_with_custom_authenticator"
    );
    assert_eq!(result.used_authentication_attempts, 1);

    let id = w.start_push("push_custom", "alice").await.transaction_id;
    phone.fetch(&id).await.unwrap();
    assert_eq!(
        phone.answer_with_pin(&id, PIN, true).await.unwrap(),
        AnswerOutcome::Accepted
    );
    assert_outcome(&w.final_result(&id).await, "accepted", None);

    let id = w.start_push("push_custom", "alice").await.transaction_id;
    phone.fetch(&id).await.unwrap();
    assert_eq!(
        phone.answer(&id, &reject("not_me")).await.unwrap(),
        AnswerOutcome::Rejected
    );
    assert_outcome(&w.final_result(&id).await, "rejected", Some("not_accepted"));

    // Only the application's custom authenticators can be registered.
    let mut other = w.enroll("bob", "Bob's Pixel").await;
    expect_api_error(
        other.register_custom("iris", None).await,
        403,
        "authenticator_disabled",
    );
}

#[tokio::test]
async fn wrong_pins_are_counted_up_to_disconnection() {
    let w = World::start("").await;
    let phone = w.phone("alice", "Pixel").await;
    let id = w.start_push("push_pin", "alice").await.transaction_id;
    phone.fetch(&id).await.unwrap();

    // The wrong PIN decrypts to a well-formed wrong token: only the server tells, and counts.
    for left in [2, 1] {
        let err = expect_api_error(
            phone.answer_with_pin(&id, "0000", true).await,
            403,
            "invalid_authenticator",
        );
        assert_eq!(remaining_attempts(&err), Some(left), "{err}");
        let result = w.result(&id).await;
        assert_eq!(result.status, "pending", "{result:?}");
        assert!(result.not_authenticated_reason.is_none(), "{result:?}");
    }
    expect_api_error(
        phone.answer_with_pin(&id, "0000", true).await,
        403,
        "device_disconnected",
    );
    let result = w.final_result(&id).await;
    assert_outcome(&result, "failed", Some("invalid_answer"));
    assert_eq!(result.used_authentication_attempts, 3);

    // Disconnected: every call of the device is refused, even with the right PIN.
    expect_api_error(phone.pending().await, 401, "invalid_device");
    expect_api_error(phone.fetch(&id).await, 401, "invalid_device");
    expect_api_error(
        phone.answer_with_pin(&id, PIN, true).await,
        401,
        "invalid_device",
    );
    expect_api_error(phone.push_enroll("fcm-new").await, 401, "invalid_device");
    expect_api_error(phone.redeem_otp("x").await, 401, "invalid_device");
    let mut again = phone.clone();
    expect_api_error(again.register_pin(PIN).await, 401, "invalid_device");
    // And the user has no device left to push to.
    assert!(w.mgmt.devices("alice").await.unwrap().is_empty());
}

#[tokio::test]
async fn pin_failures_count_across_transactions_until_a_right_pin() {
    let w = World::start("").await;
    let phone = w.phone("alice", "Pixel").await;

    let first = w.start_push("push_pin", "alice").await.transaction_id;
    phone.fetch(&first).await.unwrap();
    let err = expect_api_error(
        phone.answer_with_pin(&first, "0000", true).await,
        403,
        "invalid_authenticator",
    );
    assert_eq!(remaining_attempts(&err), Some(2));
    w.portal.cancel(&first).await.unwrap();

    // The failure followed the device into the next transaction.
    let second = w.start_push("push_pin", "alice").await.transaction_id;
    phone.fetch(&second).await.unwrap();
    let err = expect_api_error(
        phone.answer_with_pin(&second, "0000", true).await,
        403,
        "invalid_authenticator",
    );
    assert_eq!(remaining_attempts(&err), Some(1));
    assert_eq!(
        phone.answer_with_pin(&second, PIN, true).await.unwrap(),
        AnswerOutcome::Accepted
    );
    assert_eq!(
        w.final_result(&second).await.used_authentication_attempts,
        2
    );

    // The right PIN reset the count.
    let third = w.start_push("push_pin", "alice").await.transaction_id;
    phone.fetch(&third).await.unwrap();
    let err = expect_api_error(
        phone.answer_with_pin(&third, "0000", true).await,
        403,
        "invalid_authenticator",
    );
    assert_eq!(remaining_attempts(&err), Some(2));
}

#[tokio::test]
async fn fingerprint_limit_revokes_the_fingerprint_and_the_pin_still_works() {
    let w = World::start("").await;
    let phone = w.phone("alice", "Pixel").await;
    let real = phone.fingerprint_token().expect("registered").to_owned();
    let id = w
        .start_push("push_fingerprint", "alice")
        .await
        .transaction_id;
    phone.fetch(&id).await.unwrap();

    let wrong = AnswerBody {
        fingerprint_token: Some("not-the-fingerprint-token".into()),
        ..accept()
    };
    let err = expect_api_error(
        phone.answer(&id, &wrong).await,
        403,
        "invalid_authenticator",
    );
    assert_eq!(remaining_attempts(&err), Some(1), "{err}");
    expect_api_error(
        phone.answer(&id, &wrong).await,
        403,
        "authenticator_revoked",
    );
    // Revoked: the real fingerprint token is no good now either.
    let right = AnswerBody {
        fingerprint_token: Some(real),
        ..accept()
    };
    expect_api_error(
        phone.answer(&id, &right).await,
        403,
        "authenticator_revoked",
    );
    let result = w.result(&id).await;
    assert_eq!(result.status, "pending", "{result:?}");

    // The device is still connected and its PIN answers.
    assert_eq!(
        phone.answer_with_pin(&id, PIN, true).await.unwrap(),
        AnswerOutcome::Accepted
    );
    let result = w.final_result(&id).await;
    assert_outcome(&result, "accepted", None);
    assert_eq!(
        result.used_authentication_attempts, 4,
        "four answers carried a token"
    );
    let devices = w.mgmt.devices("alice").await.unwrap();
    assert_eq!(devices.len(), 1);
    assert!(
        !devices[0].token_types.iter().any(|t| t == "FINGERPRINT"),
        "{devices:?}"
    );
}

#[tokio::test]
async fn custom_authenticator_limit_revokes_it_and_the_pin_still_works() {
    let w = World::start("").await;
    let phone = w.phone("alice", "Pixel").await;
    let id = w.start_push("push_custom", "alice").await.transaction_id;
    phone.fetch(&id).await.unwrap();

    let wrong = AnswerBody {
        custom_token: Some("not-the-face-token".into()),
        custom_authenticator_id: Some(FACE.into()),
        ..accept()
    };
    let err = expect_api_error(
        phone.answer(&id, &wrong).await,
        403,
        "invalid_authenticator",
    );
    assert_eq!(remaining_attempts(&err), Some(1), "{err}");
    expect_api_error(
        phone.answer(&id, &wrong).await,
        403,
        "authenticator_revoked",
    );
    assert_eq!(w.result(&id).await.status, "pending");
    assert_eq!(
        phone.answer_with_pin(&id, PIN, true).await.unwrap(),
        AnswerOutcome::Accepted
    );
    assert_outcome(&w.final_result(&id).await, "accepted", None);
}

#[tokio::test]
async fn a_transaction_is_fetched_once_and_not_after_it_expired() {
    let w = World::start("").await;
    let phone = w.phone("alice", "Pixel").await;

    let id = w.start_push("push_pin", "alice").await.transaction_id;
    phone.fetch(&id).await.unwrap();
    assert!(phone.pending().await.unwrap().is_empty(), "fetched");
    expect_api_error(phone.fetch(&id).await, 409, "already_fetched");
    // Another user's phone cannot fetch it at all.
    let stranger = w.phone("bob", "Bob's Pixel").await;
    expect_api_error(stranger.fetch(&id).await, 404, "invalid_transaction");
    expect_api_error(
        stranger.fetch("00000000-0000-4000-8000-000000000000").await,
        404,
        "invalid_transaction",
    );

    // Time to live "2s": after it, fetching is 410 and nothing is pending.
    let started = w.start_push("push_short", "alice").await;
    assert_eq!(started.time_to_live, 2000);
    let short = started.transaction_id;
    let result = w.final_result(&short).await;
    assert_outcome(&result, "expired", Some("expired"));
    expect_api_error(phone.fetch(&short).await, 410, "transaction_expired");
    assert!(phone.pending().await.unwrap().is_empty());
    expect_api_error(
        phone.answer_with_pin(&short, PIN, true).await,
        410,
        "transaction_expired",
    );
}

#[tokio::test]
async fn otp_is_redeemed_once_by_the_app() {
    let w = World::start("").await;
    let phone = w.phone("alice", "Pixel").await;

    // An OTP start names no user: whoever scans the code is the user.
    w.t.start_raw(&[("type", "otp"), ("user_id", "alice")])
        .await
        .expect_error(400, "1003");
    let started = w.start_with(&StartParams::new("otp")).await;
    assert_eq!(started.auth_method, "otp");
    let otp = started.otp.clone().expect("an otp");
    assert!(
        otp.len() >= 43
            && otp
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "not base64url of ≥ 256 bits: {otp}"
    );
    let id = started.transaction_id;
    let svg =
        w.t.get(&format!("{}/transaction/{id}/otp.svg", support::portal::V4))
            .await;
    svg.expect(200);
    let ct = svg.header("content-type").unwrap_or_default();
    assert!(ct.starts_with("image/svg+xml"), "content type {ct}");
    assert!(svg.text().contains("<svg") && svg.text().contains("</svg>"));
    let pending = w.result(&id).await;
    assert_eq!(pending.status, "pending");

    let doc = phone.redeem_otp(&otp).await.unwrap();
    assert_eq!(doc.transaction_id, id);
    assert_eq!(
        (doc.type_name.as_str(), doc.method.as_str()),
        ("otp", "otp")
    );
    assert_eq!(doc.message, "Log in to ACME on this computer?");
    // Single use, for this phone as for any other.
    expect_api_error(phone.redeem_otp(&otp).await, 404, "invalid_otp");
    let other = w.phone("bob", "Bob's Pixel").await;
    expect_api_error(other.redeem_otp(&otp).await, 404, "invalid_otp");

    assert_eq!(
        phone.answer(&id, &accept()).await.unwrap(),
        AnswerOutcome::Accepted
    );
    let result = w.final_result(&id).await;
    assert_outcome(&result, "accepted", None);
    assert_eq!(result.authentication_method, "otp");
    assert_eq!(result.user_id.as_deref(), Some("alice"));
    expect_api_error(phone.redeem_otp(&otp).await, 404, "invalid_otp");
    expect_api_error(phone.redeem_otp("bm90LWFuLW90cA").await, 404, "invalid_otp");
}

#[tokio::test]
async fn number_matching_needs_the_number_the_portal_shows() {
    let w = World::start("").await;
    let phone = w.phone("alice", "Pixel").await;

    // A wrong pick fails the transaction.
    let started = w.start_push("push_number", "alice").await;
    let challenge = started.number_challenge.expect("a number challenge");
    assert!((10..=99).contains(&challenge), "two digits: {challenge}");
    let id = started.transaction_id;
    let choices = phone
        .fetch(&id)
        .await
        .unwrap()
        .number_choices
        .expect("number choices in the document");
    assert_eq!(choices.len(), 3, "{choices:?}");
    assert!(
        choices.contains(&challenge),
        "{challenge} not in {choices:?}"
    );
    let wrong = *choices.iter().find(|&&c| c != challenge).expect("decoys");
    let outcome = phone
        .answer(
            &id,
            &AnswerBody {
                number: Some(wrong),
                ..accept()
            },
        )
        .await;
    assert_not_accepted(&outcome);
    assert_outcome(&w.final_result(&id).await, "failed", Some("invalid_answer"));

    // The right pick is accepted.
    let started = w.start_push("push_number", "alice").await;
    let challenge = started.number_challenge.expect("a number challenge");
    let id = started.transaction_id;
    let choices = phone.fetch(&id).await.unwrap().number_choices.unwrap();
    assert!(
        choices.contains(&challenge),
        "{challenge} not in {choices:?}"
    );
    let answer = AnswerBody {
        number: Some(challenge),
        ..accept()
    };
    assert_eq!(
        phone.answer(&id, &answer).await.unwrap(),
        AnswerOutcome::Accepted
    );
    assert_outcome(&w.final_result(&id).await, "accepted", None);
}

#[tokio::test]
async fn transaction_signing_verified_and_tampered() {
    let w = World::start("").await;
    let phone = w.phone("alice", "Pixel").await;
    let data = "Pay 250.00 EUR to NL91 ABNA 0417 1643 00";
    let start = |signing_data: &str| StartParams {
        user_id: Some("alice".into()),
        signing_data: Some(signing_data.into()),
        ..StartParams::new("push_signed")
    };

    let id = w.start_with(&start(data)).await.transaction_id;
    let doc = phone.fetch(&id).await.unwrap();
    assert_eq!(doc.signing_data.as_deref(), Some(data));
    let signature = phone.sign(data.as_bytes()).unwrap();
    let answer = AnswerBody {
        signature: Some(signature.clone()),
        ..accept()
    };
    assert_eq!(
        phone.answer(&id, &answer).await.unwrap(),
        AnswerOutcome::Accepted
    );
    let result = w.final_result(&id).await;
    assert_outcome(&result, "accepted", None);
    assert_eq!(result.signature_verified, Some(true), "{result:?}");
    assert_eq!(result.signature.as_deref(), Some(signature.as_str()));
    assert_eq!(
        result.user_public_key.as_deref(),
        Some(phone.public_key_armored())
    );

    // The device signs something else than what it was shown.
    let id = w.start_with(&start(data)).await.transaction_id;
    phone.fetch(&id).await.unwrap();
    let forged = phone.sign(b"Pay 9999.00 EUR to someone else").unwrap();
    let answer = AnswerBody {
        signature: Some(forged.clone()),
        ..accept()
    };
    let outcome = phone.answer(&id, &answer).await;
    assert_not_accepted(&outcome);
    let result = w.final_result(&id).await;
    assert_outcome(&result, "failed", Some("invalid_answer"));
    assert_eq!(result.signature_verified, Some(false), "{result:?}");
    assert_eq!(result.signature.as_deref(), Some(forged.as_str()));

    // No signature at all is no better.
    let id = w.start_with(&start(data)).await.transaction_id;
    phone.fetch(&id).await.unwrap();
    let outcome = phone.answer(&id, &accept()).await;
    assert_not_accepted(&outcome);
    assert_outcome(&w.final_result(&id).await, "failed", Some("invalid_answer"));
}

#[tokio::test]
async fn a_late_answer_after_the_result_changes_nothing() {
    let w = World::start("").await;
    let phone = w.phone("alice", "Pixel").await;
    let id = w.start_push("push", "alice").await.transaction_id;
    phone.fetch(&id).await.unwrap();
    phone.answer(&id, &reject("not_me")).await.unwrap();
    let late = phone.answer(&id, &accept()).await;
    let err = late.expect_err("a second answer");
    assert_eq!(err.status(), Some(409), "{err}");
    let result = w.result(&id).await;
    assert_outcome(&result, "rejected", Some("not_accepted"));
    // A long-poll on the final result returns at once.
    let began = tokio::time::Instant::now();
    let polled = w
        .portal
        .result(&id, Some(Duration::from_secs(20)))
        .await
        .unwrap();
    assert_eq!(polled.status, "rejected");
    assert!(began.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn the_secure_message_is_in_the_document_only() {
    let w = World::start("").await;
    let phone = w.phone("alice", "Pixel").await;
    let secret = "Transfer from account NL02 RABO 0123 4567 89";
    let started = w
        .start_with(&StartParams {
            user_id: Some("alice".into()),
            message: Some("Confirm the transfer?".into()),
            secure_message: Some(secret.into()),
            ..StartParams::new("push")
        })
        .await;
    let id = started.transaction_id;
    let push = w.wait_pushes(phone.device_id(), 1).await.remove(0);
    assert_eq!(fcm_content(&push)["og_message"], "Confirm the transfer?");
    assert!(
        !push.contains("NL02"),
        "the secure message went through FCM: {push}"
    );
    let pending = phone.pending().await.unwrap();
    assert_eq!(pending[0].message, "Confirm the transfer?");
    let doc = phone.fetch(&id).await.unwrap();
    assert_eq!(doc.message, "Confirm the transfer?");
    assert_eq!(doc.secure_message.as_deref(), Some(secret));
    assert!(
        !w.t.stdout.text().contains("NL02") && !w.t.stderr.text().contains("NL02"),
        "the secure message was logged:\n{}",
        w.t.logs()
    );
}
