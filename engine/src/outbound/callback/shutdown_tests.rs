//! Shutdown against a loopback portal answering 500: a delivery waiting for its retry, and one
//! whose try outlives the grace, both end up as dead letters instead of vanishing.

use std::time::Duration;

use super::tests::{config, harness, job};
use crate::clock::Clock;
use crate::model::EventName::*;
use crate::store::Store;
use tessera_testkit::http::{LoopbackServer, Reply};

#[tokio::test]
async fn a_retry_waiting_at_shutdown_is_dead_lettered_with_its_due_time() {
    let portal = LoopbackServer::start(|_, _| Reply::status(500)).await;
    let mut cfg = config(&portal, 5);
    // The first retry would come in about a minute: shutdown finds the delivery asleep.
    cfg.callbacks.initial_backoff = Duration::from_secs(60);
    let mut h = harness(&cfg, 10);
    let job = job(portal.url("/cb"));
    h.dispatcher.dispatch(job.clone());
    assert_eq!(h.next_names(1).await, [PushAuthCallbackFailed]);

    let before = Clock::new().now();
    let finished = tokio::time::timeout(
        Duration::from_secs(5),
        h.dispatcher.shutdown(Duration::from_secs(10)),
    )
    .await
    .expect("shutdown does not wait for the backoff");
    assert!(finished, "nothing had to be cut");
    assert_eq!(h.next_names(1).await, [CallbackDeadLettered]);

    let letters = h.store.dead_letters(10).await.unwrap();
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!(letter.transaction_id, job.transaction_id);
    assert_eq!(letter.callback_uri, job.callback_uri);
    assert_eq!(letter.tries, 1);
    assert_eq!(letter.last_error, "portal answered 500");
    let due = letter
        .next_attempt_at
        .expect("the next attempt time is kept");
    // 60 s plus at most 10 % jitter after the failure, which came shortly before `before`.
    assert!(
        due >= before + 55_000 && due <= before + 67_000,
        "due {due}, shutdown at {before}"
    );
    assert_eq!(portal.requests().len(), 1, "no retry was made");
}

#[tokio::test]
async fn a_try_outliving_the_grace_is_dead_lettered_as_due_now() {
    let portal =
        LoopbackServer::start(|_, _| Reply::status(500).after(Duration::from_secs(20))).await;
    let mut cfg = config(&portal, 5);
    cfg.callbacks.timeout = Duration::from_secs(30);
    let mut h = harness(&cfg, 10);
    let job = job(portal.url("/cb"));
    h.dispatcher.dispatch(job.clone());
    portal.wait_for(1).await;

    let finished = h.dispatcher.shutdown(Duration::from_millis(200)).await;
    assert!(!finished, "the try had to be cut");
    let after = Clock::new().now();
    assert_eq!(h.next_names(1).await, [CallbackDeadLettered]);
    let letters = h.store.dead_letters(10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].transaction_id, job.transaction_id);
    assert_eq!(letters[0].tries, 0, "the cut try does not count");
    let due = letters[0].next_attempt_at.expect("due time kept");
    assert!(due <= after, "due at once");
}

#[tokio::test]
async fn a_delivery_after_shutdown_is_tried_once_then_kept() {
    let portal = LoopbackServer::start(|_, _| Reply::status(500)).await;
    let mut h = harness(&config(&portal, 5), 10);
    assert!(h.dispatcher.shutdown(Duration::from_secs(1)).await);
    h.dispatcher.dispatch(job(portal.url("/cb")));
    assert_eq!(
        h.next_names(2).await,
        [PushAuthCallbackFailed, CallbackDeadLettered]
    );
    let letters = h.store.dead_letters(10).await.unwrap();
    assert_eq!(letters[0].tries, 1);
    assert!(letters[0].next_attempt_at.is_some());
}
