//! Dead letters against a loopback portal: after the last try, when the queue is full, and
//! replayed.

use super::tests::{config, harness, job};
use crate::model::EventName::*;
use crate::store::Store;
use tessera_testkit::http::{LoopbackServer, Reply};

#[tokio::test]
async fn dead_letters_after_the_last_try_and_replays() {
    // Down for the three tries, back for the replay.
    let portal = LoopbackServer::start(|_, n| {
        if n < 3 {
            Reply::status(503)
        } else {
            Reply::status(200)
        }
    })
    .await;
    let mut h = harness(&config(&portal, 3), 10);
    let job = job(portal.url("/cb"));
    h.dispatcher.dispatch(job.clone());
    assert_eq!(
        h.next_names(4).await,
        [
            PushAuthCallbackFailed,
            PushAuthCallbackFailed,
            PushAuthCallbackFailed,
            CallbackDeadLettered
        ]
    );
    let letters = h.store.dead_letters(10).await.unwrap();
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!(letter.transaction_id, job.transaction_id);
    assert_eq!(letter.callback_uri, job.callback_uri);
    assert_eq!(letter.tries, 3);
    assert_eq!(letter.last_error, "portal answered 503");

    let replayed = h.dispatcher.replay(letter.id).await.unwrap().unwrap();
    assert_eq!((replayed.error, replayed.letter.tries), (None, 4));
    assert_eq!(h.next_names(1).await, [PushAuthCallbackSent]);
    assert_eq!(portal.requests().len(), 4);
    assert!(
        h.store.dead_letters(10).await.unwrap().is_empty(),
        "taken by the replay"
    );
    assert!(
        h.dispatcher.replay(letter.id).await.unwrap().is_none(),
        "already replayed"
    );
}

#[tokio::test]
async fn a_full_queue_dead_letters_without_calling() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _guard = metrics::set_default_local_recorder(&recorder);
    let portal = LoopbackServer::start(|_, _| Reply::status(200)).await;
    let mut h = harness(&config(&portal, 6), 0);
    h.dispatcher.dispatch(job(portal.url("/cb")));
    assert_eq!(h.next_names(1).await, [CallbackDeadLettered]);
    let letters = h.store.dead_letters(10).await.unwrap();
    assert_eq!(
        (letters[0].tries, letters[0].last_error.as_str()),
        (0, "callback queue full")
    );
    assert!(portal.requests().is_empty());
    // Counted as dropped (never tried), not as tries exhausted.
    let text = handle.render();
    assert!(
        text.contains(r#"tessera_callbacks_total{result="dropped"} 1"#),
        "{text}"
    );
    assert!(!text.contains(r#"result="dead_lettered""#), "{text}");
}
