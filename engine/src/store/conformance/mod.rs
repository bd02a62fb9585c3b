//! The `Store` contract, one suite for every implementation: each test body takes an
//! `Arc<dyn Store>`, and [`store_conformance!`] instantiates the whole list for one store
//! factory (`store::memory_tests`, and `store::redis::tests` on its own `redis-server`).

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

mod config_doc;
mod devices;
mod limits;
mod ops;

pub(crate) use config_doc::*;
pub(crate) use devices::*;
pub(crate) use limits::*;
pub(crate) use ops::*;

use super::{DeadLetter, Store, StoreError, StoreResult};
use crate::clock::Clock;
use crate::model::{Event, EventName, EventQuery, Method, Millis, Status, Transaction, TxnId};
use crate::test_util;

/// Instantiates every contract test as a `#[tokio::test]` over `$make` (an expression giving
/// `(guard, Arc<dyn Store>)`; the guard lives as long as the test, e.g. a Redis server).
macro_rules! store_conformance {
    ($make:expr) => {
        store_conformance!(@tests $make;
            versioned_transaction_writes,
            two_concurrent_writers_of_one_version_one_wins,
            records_go_at_their_purge_time,
            pending_lists_only_pending_transactions,
            a_final_transaction_with_its_callback_due_stays_until_released,
            a_dead_node_is_claimed_by_one_live_node_once,
            dead_letters_newest_first_and_taken_once,
            events_newest_first_filtered_and_limited,
            devices_are_versioned_and_indexed_by_user_and_token,
            a_push_token_belongs_to_one_device,
            sole_push_refuses_a_rival_of_the_same_application,
            racing_sole_push_enrollments_one_wins,
            enrollment_codes_are_single_use,
            racing_takes_of_one_code_one_wins,
            the_first_server_key_stays,
            device_pending_index_keeps_what_is_due,
            flush_succeeds,
            node_stats_are_shared_until_they_run_out,
            dead_letters_are_counted,
            recent_lists_newest_first_filtered_and_limited,
            config_doc_starts_empty_and_counts_versions_up,
            a_config_doc_write_on_a_stale_version_changes_nothing,
            racing_config_doc_writers_one_wins,
            a_bucket_allows_its_burst_then_refuses,
            a_check_without_consume_counts_nothing,
            a_bucket_refills_one_per_interval,
            a_fast_bucket_counts_microseconds,
            racing_takes_of_one_bucket_allow_exactly_count,
            a_mute_keeps_the_later_end,
            a_mute_runs_out);
    };
    (@tests $make:expr; $($name:ident),*) => {
        $(
            #[tokio::test]
            async fn $name() {
                let (_guard, store) = $make;
                $crate::store::conformance::$name(store).await;
            }
        )*
    };
}
pub(crate) use store_conformance;

pub(super) fn now() -> Millis {
    Clock::new().now()
}

/// A pending transaction at `version` (the first write is version 1).
fn txn(version: u64) -> Transaction {
    let mut t = test_util::txn(Method::Sms);
    t.version = version;
    t
}

fn bump(t: &Transaction, status: Status) -> Arc<Transaction> {
    let mut next = t.clone();
    next.version += 1;
    next.status = status;
    Arc::new(next)
}
/// A versioned write refused because the store held `found` where `expected` was due.
#[track_caller]
pub(super) fn assert_conflict(result: &StoreResult<()>, expected: u64, found: Option<u64>) {
    match result {
        Err(StoreError::Conflict {
            expected: e,
            found: f,
            ..
        }) => assert_eq!((*e, *f), (expected, found)),
        other => panic!("expected a version conflict, got {other:?}"),
    }
}

pub(super) fn later() -> Millis {
    now() + 60_000
}

pub(crate) async fn versioned_transaction_writes(store: Arc<dyn Store>) {
    let first = Arc::new(txn(1));
    store.save(&first, later()).await.unwrap();
    assert_eq!(store.get(first.id).await.unwrap().as_deref(), Some(&*first));

    let again = store.save(&first, later()).await;
    assert_conflict(&again, 0, Some(1));
    let mut skipped = (*first).clone();
    skipped.version = 3;
    let skip = store.save(&Arc::new(skipped), later()).await;
    assert_conflict(&skip, 2, Some(1));

    let second = bump(&first, Status::Accepted);
    store.save(&second, later()).await.unwrap();
    assert_eq!(
        store.get(first.id).await.unwrap().as_deref(),
        Some(&*second)
    );

    // A version past 1 of a transaction that was never written.
    let orphan = store.save(&Arc::new(txn(2)), later()).await;
    assert_conflict(&orphan, 1, None);
    assert!(store.get(TxnId::random()).await.unwrap().is_none());
}

pub(crate) async fn two_concurrent_writers_of_one_version_one_wins(store: Arc<dyn Store>) {
    for _ in 0..20 {
        let first = txn(1);
        store.save(&Arc::new(first.clone()), later()).await.unwrap();
        let (a, b) = (
            bump(&first, Status::Accepted),
            bump(&first, Status::Rejected),
        );
        let (ra, rb) = tokio::join!(
            {
                let s = store.clone();
                async move { s.save(&a, later()).await }
            },
            {
                let s = store.clone();
                async move { s.save(&b, later()).await }
            }
        );
        assert!(ra.is_ok() != rb.is_ok(), "exactly one wins: {ra:?} {rb:?}");
        let stored = store.get(first.id).await.unwrap().unwrap();
        let winner = if ra.is_ok() {
            Status::Accepted
        } else {
            Status::Rejected
        };
        assert_eq!(stored.status, winner);
    }
}

pub(crate) async fn records_go_at_their_purge_time(store: Arc<dyn Store>) {
    let past = Arc::new(txn(1));
    store.save(&past, now().saturating_sub(1)).await.unwrap();
    assert!(store.get(past.id).await.unwrap().is_none(), "already past");

    let soon = Arc::new(txn(1));
    store.save(&soon, now() + 300).await.unwrap();
    let kept = Arc::new(txn(1));
    store.save(&kept, later()).await.unwrap();
    assert!(store.get(soon.id).await.unwrap().is_some());

    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        store.get(soon.id).await.unwrap().is_none(),
        "gone at its purge time"
    );
    store.purge_expired(now()).await.unwrap();
    let pending = store.pending(100).await.unwrap();
    assert_eq!(
        pending,
        vec![kept.id],
        "a purged transaction is not recovered"
    );
    assert!(store.get(kept.id).await.unwrap().is_some());
}

pub(crate) async fn pending_lists_only_pending_transactions(store: Arc<dyn Store>) {
    let a = txn(1);
    let b = txn(1);
    store.save(&Arc::new(a.clone()), later()).await.unwrap();
    store.save(&Arc::new(b.clone()), later()).await.unwrap();
    let mut ids = store.pending(100).await.unwrap();
    ids.sort();
    let mut both = vec![a.id, b.id];
    both.sort();
    assert_eq!(ids, both);
    assert_eq!(store.pending(1).await.unwrap().len(), 1, "limit");

    store
        .save(&bump(&b, Status::Expired), later())
        .await
        .unwrap();
    assert_eq!(store.pending(100).await.unwrap(), vec![a.id]);
}

pub(crate) async fn a_final_transaction_with_its_callback_due_stays_until_released(
    store: Arc<dyn Store>,
) {
    let a = txn(1);
    store.save(&Arc::new(a.clone()), later()).await.unwrap();
    let mut finished = (*bump(&a, Status::Accepted)).clone();
    finished.callback_due = true;
    store.save(&Arc::new(finished), later()).await.unwrap();
    assert_eq!(
        store.pending(100).await.unwrap(),
        vec![a.id],
        "its callback is still due: a recovering node must find it"
    );
    store.release(a.id).await.unwrap();
    assert!(store.pending(100).await.unwrap().is_empty());
    let kept = store.get(a.id).await.unwrap().expect("still readable");
    assert_eq!(kept.status, Status::Accepted);
}

pub(crate) async fn a_dead_node_is_claimed_by_one_live_node_once(store: Arc<dyn Store>) {
    store
        .renew_node("dying", Duration::from_millis(50))
        .await
        .unwrap();
    store
        .renew_node("a", Duration::from_secs(30))
        .await
        .unwrap();
    store
        .renew_node("b", Duration::from_secs(30))
        .await
        .unwrap();
    assert!(
        store.claim_dead_nodes("a").await.unwrap().is_empty(),
        "a lease that has not run out is not claimed"
    );
    tokio::time::sleep(Duration::from_millis(120)).await;
    let (by_a, by_b) = tokio::join!(store.claim_dead_nodes("a"), store.claim_dead_nodes("b"));
    let mut claimed = by_a.unwrap();
    claimed.extend(by_b.unwrap());
    assert_eq!(claimed, vec!["dying".to_owned()], "one claim, by one node");
    assert!(store.claim_dead_nodes("a").await.unwrap().is_empty());

    // A node that renews again after being claimed is registered again.
    store
        .renew_node("dying", Duration::from_millis(50))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(
        store.claim_dead_nodes("b").await.unwrap(),
        vec!["dying".to_owned()]
    );

    // A node that leaves (a graceful shutdown) is claimed at once, its lease notwithstanding.
    store
        .renew_node("leaving", Duration::from_secs(30))
        .await
        .unwrap();
    assert!(store.claim_dead_nodes("a").await.unwrap().is_empty());
    store.leave_node("leaving").await.unwrap();
    assert_eq!(
        store.claim_dead_nodes("a").await.unwrap(),
        vec!["leaving".to_owned()]
    );
}

fn letter(n: u32) -> DeadLetter {
    DeadLetter {
        id: Uuid::new_v4(),
        transaction_id: TxnId::random(),
        callback_uri: format!("https://portal.example/cb/{n}"),
        tries: n,
        last_error: "503".into(),
        created_at: now() + u64::from(n),
        next_attempt_at: (n == 2).then(later),
    }
}

pub(crate) async fn dead_letters_newest_first_and_taken_once(store: Arc<dyn Store>) {
    let letters: Vec<_> = (1..=3).map(letter).collect();
    for l in &letters {
        store.put_dead_letter(l).await.unwrap();
    }
    let listed = store.dead_letters(10).await.unwrap();
    let newest_first: Vec<_> = letters.iter().rev().cloned().collect();
    assert_eq!(listed, newest_first);
    assert_eq!(store.dead_letters(2).await.unwrap(), newest_first[..2]);

    let taken = store.take_dead_letter(letters[1].id).await.unwrap();
    assert_eq!(taken.as_ref(), Some(&letters[1]));
    assert!(
        store
            .take_dead_letter(letters[1].id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.dead_letters(10).await.unwrap(),
        vec![letters[2].clone(), letters[0].clone()]
    );
}

pub(crate) async fn events_newest_first_filtered_and_limited(store: Arc<dyn Store>) {
    let id = TxnId::random();
    let mut all = Vec::new();
    for n in 0..6u64 {
        let mut e = Event::new(EventName::PushAuthCallbackSent, 1_000 + n);
        e.user_id = Some(if n % 2 == 0 { "alice" } else { "bob" }.into());
        e.transaction_id = (n < 3).then_some(id);
        store.append_event(&e).await.unwrap();
        all.push(e);
    }
    let query = |limit| EventQuery {
        transaction_id: None,
        user_id: None,
        event_name: None,
        from: None,
        to: None,
        limit,
    };
    let newest: Vec<_> = all.iter().rev().cloned().collect();
    assert_eq!(store.events(&query(100)).await.unwrap(), newest);
    assert_eq!(store.events(&query(2)).await.unwrap(), newest[..2]);

    let by_txn = store
        .events(&EventQuery {
            transaction_id: Some(id),
            ..query(100)
        })
        .await
        .unwrap();
    assert_eq!(by_txn, vec![all[2].clone(), all[1].clone(), all[0].clone()]);
    let alice = store
        .events(&EventQuery {
            user_id: Some("alice".into()),
            ..query(2)
        })
        .await
        .unwrap();
    assert_eq!(alice, vec![all[4].clone(), all[2].clone()]);
    let window = store
        .events(&EventQuery {
            from: Some(1_001),
            to: Some(1_002),
            ..query(100)
        })
        .await
        .unwrap();
    assert_eq!(window, vec![all[2].clone(), all[1].clone()]);
}

pub(crate) async fn flush_succeeds(store: Arc<dyn Store>) {
    store.save(&Arc::new(txn(1)), later()).await.unwrap();
    store.flush().await.unwrap();
}
