//! Concurrent device calls (API.md §4): a document is fetched once, an OTP redeemed once, and
//! authenticator failures are counted exactly — however many requests race.

use std::collections::BTreeMap;

use futures::future::join_all;
use tessera_api::ClientError;
use tessera_api::wire::{AnswerOutcome, StartParams};
use tessera_engine::AnswerBody;

use crate::support::device::{PIN, World, accept};

/// `ok` or `status code` of a device call, for tallies.
fn outcome<T>(r: &Result<T, ClientError>) -> String {
    match r {
        Ok(_) => "ok".to_owned(),
        Err(e) => format!(
            "{} {}",
            e.status().map_or("-".to_owned(), |s| s.to_string()),
            e.code().unwrap_or("-")
        ),
    }
}

fn tally<T>(results: &[Result<T, ClientError>]) -> BTreeMap<String, usize> {
    let mut t = BTreeMap::new();
    for r in results {
        *t.entry(outcome(r)).or_default() += 1;
    }
    t
}

#[tokio::test]
async fn concurrent_fetches_get_the_document_once() {
    let w = World::start("").await;
    let phone = w.phone("alice", "Pixel").await;
    for _ in 0..5 {
        let id = w.start_push("push", "alice").await.transaction_id;
        let results = join_all((0..8).map(|_| phone.fetch(&id))).await;
        let t = tally(&results);
        let expected =
            BTreeMap::from([("ok".to_owned(), 1), ("409 already_fetched".to_owned(), 7)]);
        assert_eq!(t, expected);
        w.portal.cancel(&id).await.unwrap();
    }
}

#[tokio::test]
async fn concurrent_wrong_pins_disconnect_exactly_once() {
    let w = World::start("").await;
    // A few rounds, each with a fresh user and phone: the race is not lost every time.
    for round in 0..3 {
        let user = format!("user-{round}");
        let phone = w.phone(&user, "Pixel").await;
        let id = w.start_push("push_pin", &user).await.transaction_id;
        phone.fetch(&id).await.unwrap();

        let results = join_all((0..10).map(|_| phone.answer_with_pin(&id, "0000", true))).await;
        let t = tally(&results);
        let result = w.final_result(&id).await;
        // max_pin_attempts = 3: as in any one-at-a-time order, the first two counted wrong PINs
        // are told what is left (2, then 1), the third disconnects, and the rest find the device
        // gone or the transaction final. A wrong PIN counted against the limit must not be
        // answered as if the transaction had been final before it.
        let what = format!(
            "round {round}: answers {t:?}, used_authentication_attempts {}",
            result.used_authentication_attempts
        );
        assert_eq!(t.get("403 device_disconnected"), Some(&1), "{what}");
        assert!(
            t.keys().all(|k| [
                "403 invalid_authenticator",
                "403 device_disconnected",
                "401 invalid_device",
                "409 already_final"
            ]
            .contains(&k.as_str())),
            "{what}"
        );
        let mut left: Vec<u32> = results
            .iter()
            .filter_map(|r| match r {
                Err(ClientError::Api {
                    remaining_attempts: Some(n),
                    ..
                }) => Some(*n),
                _ => None,
            })
            .collect();
        left.sort();
        assert_eq!(
            left,
            [1, 2],
            "remaining attempts 2 and 1 told once each: {what}"
        );
        assert_eq!(result.status, "failed", "{result:?}");
        assert_eq!(
            result.not_authenticated_reason.map(|r| r.reason).as_deref(),
            Some("invalid_answer")
        );
        assert_eq!(
            result.used_authentication_attempts, 3,
            "three tokens counted: {what}"
        );
        let err = phone.pending().await.expect_err("disconnected");
        assert_eq!(err.code(), Some("invalid_device"));
    }
}

#[tokio::test]
async fn concurrent_wrong_fingerprints_revoke_exactly_once() {
    let w = World::start("").await;
    let phone = w.phone("alice", "Pixel").await;
    let id = w
        .start_push("push_fingerprint", "alice")
        .await
        .transaction_id;
    phone.fetch(&id).await.unwrap();
    let wrong = AnswerBody {
        fingerprint_token: Some("wrong".into()),
        ..accept()
    };
    let results = join_all((0..8).map(|_| phone.answer(&id, &wrong))).await;
    let t = tally(&results);
    // max_fingerprint_attempts = 2: one counted failure, then revoked for everyone after.
    let expected = BTreeMap::from([
        ("403 invalid_authenticator".to_owned(), 1),
        ("403 authenticator_revoked".to_owned(), 7),
    ]);
    assert_eq!(t, expected);
    assert_eq!(w.result(&id).await.status, "pending");
    assert_eq!(
        phone.answer_with_pin(&id, PIN, true).await.unwrap(),
        AnswerOutcome::Accepted
    );
}

#[tokio::test]
async fn concurrent_right_and_wrong_pins_accept_at_most_once() {
    let w = World::start("").await;
    let phone = w.phone("alice", "Pixel").await;
    let id = w.start_push("push_pin", "alice").await.transaction_id;
    phone.fetch(&id).await.unwrap();
    let tries = (0..6).map(|i| {
        let pin = if i % 3 == 0 { PIN } else { "0000" };
        phone.answer_with_pin(&id, pin, true)
    });
    let results = join_all(tries).await;
    let accepted = results
        .iter()
        .filter(|r| matches!(r, Ok(AnswerOutcome::Accepted)))
        .count();
    let result = w.final_result(&id).await;
    assert!(accepted <= 1, "{:?}", tally(&results));
    assert_eq!(
        result.status == "accepted",
        accepted == 1,
        "{result:?} {:?}",
        tally(&results)
    );
    for r in &results {
        if let Err(e) = r {
            assert!(e.status().is_some_and(|s| (400..500).contains(&s)), "{e}");
        }
    }
}

#[tokio::test]
async fn an_otp_is_redeemed_by_one_of_many_racing_devices() {
    let w = World::start("push_enrollment_mode = \"multiple_devices\"").await;
    let mut phones = Vec::new();
    for (user, name) in [("alice", "A"), ("bob", "B"), ("carol", "C"), ("dave", "D")] {
        phones.push(w.phone(user, name).await);
    }
    let started = w.start_with(&StartParams::new("otp")).await;
    let otp = started.otp.expect("an otp");
    let results = join_all(phones.iter().map(|p| p.redeem_otp(&otp))).await;
    let t = tally(&results);
    let expected = BTreeMap::from([("ok".to_owned(), 1), ("404 invalid_otp".to_owned(), 3)]);
    assert_eq!(t, expected);
    let (winner, _) = phones
        .iter()
        .zip(&results)
        .find(|(_, r)| r.is_ok())
        .expect("a winner");
    let losers: Vec<_> = phones
        .iter()
        .filter(|p| p.device_id() != winner.device_id())
        .collect();
    // Only the winner may answer.
    for loser in losers {
        let late = loser.answer(&started.transaction_id, &accept()).await;
        let err = late.expect_err("not this device's transaction");
        assert_eq!(
            (err.status(), err.code()),
            (Some(404), Some("invalid_transaction"))
        );
    }
    assert_eq!(
        winner
            .answer(&started.transaction_id, &accept())
            .await
            .unwrap(),
        AnswerOutcome::Accepted
    );
    let result = w.final_result(&started.transaction_id).await;
    let user = ["alice", "bob", "carol", "dave"][phones
        .iter()
        .position(|p| p.device_id() == winner.device_id())
        .unwrap()];
    assert_eq!(result.user_id.as_deref(), Some(user));
}

#[tokio::test]
async fn deleting_a_device_while_it_answers() {
    let w = World::start("").await;
    let mut tally_all: BTreeMap<String, usize> = BTreeMap::new();
    for n in 0..10 {
        let user = format!("user-{n}");
        let phone = w.phone(&user, "Pixel").await;
        let id = w.start_push("push_pin", &user).await.transaction_id;
        phone.fetch(&id).await.unwrap();
        let (answered, deleted) = tokio::join!(
            phone.answer_with_pin(&id, PIN, true),
            w.mgmt.delete_device(&user, phone.device_id())
        );
        deleted.unwrap();
        let result = w.final_result(&id).await;
        // Either the answer came first (accepted) or the deletion did (device_removed, and the
        // answer was refused); never a mix, never a 5xx.
        let key = format!(
            "{} / {}",
            outcome(&answered),
            result
                .not_authenticated_reason
                .as_ref()
                .map_or(result.status.clone(), |r| r.reason.clone())
        );
        *tally_all.entry(key).or_default() += 1;
    }
    let allowed = [
        "ok / accepted",
        "401 invalid_device / device_removed",
        "409 already_final / device_removed",
        "404 invalid_transaction / device_removed",
    ];
    assert!(
        tally_all.keys().all(|k| allowed.contains(&k.as_str())),
        "{tally_all:?}"
    );
}
