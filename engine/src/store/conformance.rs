//! The `Store` contract, one suite for every implementation: each test body takes an
//! `Arc<dyn Store>`, and [`store_conformance!`] instantiates the whole list for one store
//! factory (the memory store here, a Redis store on its own `redis-server` in `redis_tests`).

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::{DeadLetter, Store, StoreError};
use crate::clock::Clock;
use crate::model::{
    Device, EnrollmentCode, Event, EventName, EventQuery, Method, Millis, Platform, Status,
    Transaction, TxnId,
};
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
            flush_succeeds);
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

fn now() -> Millis {
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

fn device(id: &str, user: &str, app: &str, token: Option<&str>) -> Device {
    Device {
        id: id.to_owned(),
        version: 1,
        profile_id: format!("profile-{id}"),
        user_id: user.to_owned(),
        app_id: app.to_owned(),
        app_version: "1.0".into(),
        platform: Platform::Android,
        name: "phone".into(),
        model: None,
        os_version: None,
        created_at: now(),
        last_login: None,
        secret_sha256: "00".repeat(32),
        public_key: "key".into(),
        server_key_id: "shared".into(),
        push_token: token.map(str::to_owned),
        push_enabled: token.is_some(),
        mobile_auth_enabled: true,
        pin: None,
        fingerprint: None,
        custom: Default::default(),
        revoked: Default::default(),
    }
}

/// The ids of `user`'s devices, in the order the store lists them.
async fn device_ids(store: &Arc<dyn Store>, user: &str) -> Vec<String> {
    let devices = store.user_devices(user).await.unwrap();
    devices.into_iter().map(|d| d.id).collect()
}

fn later() -> Millis {
    now() + 60_000
}

pub(crate) async fn versioned_transaction_writes(store: Arc<dyn Store>) {
    let first = Arc::new(txn(1));
    store.save(&first, later()).await.unwrap();
    assert_eq!(store.get(first.id).await.unwrap().as_deref(), Some(&*first));

    let again = store.save(&first, later()).await;
    assert!(
        matches!(
            again,
            Err(StoreError::Conflict {
                expected: 0,
                found: Some(1),
                ..
            })
        ),
        "{again:?}"
    );
    let mut skipped = (*first).clone();
    skipped.version = 3;
    let skip = store.save(&Arc::new(skipped), later()).await;
    assert!(
        matches!(
            skip,
            Err(StoreError::Conflict {
                expected: 2,
                found: Some(1),
                ..
            })
        ),
        "{skip:?}"
    );

    let second = bump(&first, Status::Accepted);
    store.save(&second, later()).await.unwrap();
    assert_eq!(
        store.get(first.id).await.unwrap().as_deref(),
        Some(&*second)
    );

    // A version past 1 of a transaction that was never written.
    let orphan = store.save(&Arc::new(txn(2)), later()).await;
    assert!(
        matches!(
            orphan,
            Err(StoreError::Conflict {
                expected: 1,
                found: None,
                ..
            })
        ),
        "{orphan:?}"
    );
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

pub(crate) async fn devices_are_versioned_and_indexed_by_user_and_token(store: Arc<dyn Store>) {
    let d = device("D1", "alice", "acme", Some("tok-1"));
    store.save_device(&d).await.unwrap();
    assert_eq!(store.get_device("D1").await.unwrap(), Some(d.clone()));
    let again = store.save_device(&d).await;
    assert!(
        matches!(
            again,
            Err(StoreError::Conflict {
                expected: 0,
                found: Some(1),
                ..
            })
        ),
        "{again:?}"
    );

    // Version 2 moves to a new token: the old one is free for another device.
    let mut moved = d.clone();
    moved.version = 2;
    moved.push_token = Some("tok-2".into());
    store.save_device(&moved).await.unwrap();
    store
        .save_device(&device("D2", "alice", "other", Some("tok-1")))
        .await
        .unwrap();
    assert_eq!(device_ids(&store, "alice").await, ["D1", "D2"]);

    assert_eq!(store.delete_device("D1").await.unwrap(), Some(moved));
    assert!(store.get_device("D1").await.unwrap().is_none());
    assert!(store.delete_device("D1").await.unwrap().is_none());
    assert_eq!(device_ids(&store, "alice").await, ["D2"]);
    // The deleted device's token went with it.
    store
        .save_device(&device("D3", "bob", "acme", Some("tok-2")))
        .await
        .unwrap();
    assert!(store.user_devices("carol").await.unwrap().is_empty());
}

pub(crate) async fn a_push_token_belongs_to_one_device(store: Arc<dyn Store>) {
    store
        .save_device(&device("D1", "alice", "acme", Some("tok")))
        .await
        .unwrap();
    let taken = store
        .save_device(&device("D2", "bob", "acme", Some("tok")))
        .await;
    assert!(
        matches!(taken, Err(StoreError::PushTokenTaken)),
        "{taken:?}"
    );
    assert!(store.get_device("D2").await.unwrap().is_none());
}

pub(crate) async fn sole_push_refuses_a_rival_of_the_same_application(store: Arc<dyn Store>) {
    store
        .save_device(&device("D1", "alice", "acme", Some("tok-1")))
        .await
        .unwrap();
    let rival = store
        .save_device_sole_push(&device("D2", "alice", "acme", Some("tok-2")))
        .await;
    assert!(
        matches!(rival, Err(StoreError::PushEnrollmentTaken)),
        "{rival:?}"
    );
    assert!(store.get_device("D2").await.unwrap().is_none());
    // Another application, another user, or the device itself are no rivals.
    store
        .save_device_sole_push(&device("D3", "alice", "other", Some("tok-3")))
        .await
        .unwrap();
    store
        .save_device_sole_push(&device("D4", "bob", "acme", Some("tok-4")))
        .await
        .unwrap();
    let mut d1 = device("D1", "alice", "acme", Some("tok-1b"));
    d1.version = 2;
    store.save_device_sole_push(&d1).await.unwrap();
}

pub(crate) async fn racing_sole_push_enrollments_one_wins(store: Arc<dyn Store>) {
    for round in 0..20 {
        let user = format!("user-{round}");
        let a = device(
            &format!("A{round}"),
            &user,
            "acme",
            Some(&format!("ta{round}")),
        );
        let b = device(
            &format!("B{round}"),
            &user,
            "acme",
            Some(&format!("tb{round}")),
        );
        let (sa, sb) = (store.clone(), store.clone());
        let (ra, rb) = tokio::join!(
            async move { sa.save_device_sole_push(&a).await },
            async move { sb.save_device_sole_push(&b).await }
        );
        assert!(ra.is_ok() != rb.is_ok(), "exactly one wins: {ra:?} {rb:?}");
        assert_eq!(store.user_devices(&user).await.unwrap().len(), 1);
    }
}

pub(crate) async fn enrollment_codes_are_single_use(store: Arc<dyn Store>) {
    let code = EnrollmentCode {
        user_id: "alice".into(),
        expires_at: later(),
    };
    store.put_enrollment_code("h1", &code).await.unwrap();
    assert_eq!(
        store.peek_enrollment_code("h1").await.unwrap(),
        Some(code.clone())
    );
    assert_eq!(
        store.peek_enrollment_code("h1").await.unwrap(),
        Some(code.clone())
    );
    assert_eq!(store.take_enrollment_code("h1").await.unwrap(), Some(code));
    assert!(store.take_enrollment_code("h1").await.unwrap().is_none());
    assert!(store.peek_enrollment_code("h1").await.unwrap().is_none());
    assert!(
        store
            .take_enrollment_code("unknown")
            .await
            .unwrap()
            .is_none()
    );
}

pub(crate) async fn racing_takes_of_one_code_one_wins(store: Arc<dyn Store>) {
    for round in 0..20 {
        let hash = format!("race-{round}");
        let code = EnrollmentCode {
            user_id: "alice".into(),
            expires_at: later(),
        };
        store.put_enrollment_code(&hash, &code).await.unwrap();
        let (sa, sb) = (store.clone(), store.clone());
        let (ha, hb) = (hash.clone(), hash.clone());
        let (a, b) = tokio::join!(
            async move { sa.take_enrollment_code(&ha).await.unwrap() },
            async move { sb.take_enrollment_code(&hb).await.unwrap() }
        );
        assert!(a.is_some() != b.is_some(), "exactly one take: {a:?} {b:?}");
    }
}

pub(crate) async fn the_first_server_key_stays(store: Arc<dyn Store>) {
    assert!(store.get_server_key("shared").await.unwrap().is_none());
    assert_eq!(
        store.put_server_key_if_absent("shared", "a").await.unwrap(),
        "a"
    );
    assert_eq!(
        store.put_server_key_if_absent("shared", "b").await.unwrap(),
        "a"
    );
    assert_eq!(
        store.get_server_key("shared").await.unwrap().as_deref(),
        Some("a")
    );
    store.delete_server_key("shared").await.unwrap();
    assert!(store.get_server_key("shared").await.unwrap().is_none());
    assert_eq!(
        store.put_server_key_if_absent("shared", "b").await.unwrap(),
        "b"
    );
}

pub(crate) async fn device_pending_index_keeps_what_is_due(store: Arc<dyn Store>) {
    let t = now();
    let (a, b, c, past) = (
        TxnId::random(),
        TxnId::random(),
        TxnId::random(),
        TxnId::random(),
    );
    store
        .save_device(&device("D1", "alice", "acme", None))
        .await
        .unwrap();
    store.add_device_txn("D1", a, t + 10_000).await.unwrap();
    store.add_device_txn("D1", b, t + 20_000).await.unwrap();
    store.add_device_txn("D1", c, t + 30_000).await.unwrap();
    store
        .add_device_txn("D1", past, t.saturating_sub(1))
        .await
        .unwrap();
    assert_eq!(store.device_txns("D1", t).await.unwrap(), vec![a, b, c]);

    store.remove_device_txn("D1", b).await.unwrap();
    assert_eq!(store.device_txns("D1", t).await.unwrap(), vec![a, c]);
    // Reading at a later time drops what is no longer due.
    assert_eq!(store.device_txns("D1", t + 15_000).await.unwrap(), vec![c]);
    assert!(store.device_txns("D2", t).await.unwrap().is_empty());

    store.delete_device("D1").await.unwrap();
    assert!(
        store.device_txns("D1", t).await.unwrap().is_empty(),
        "gone with the device"
    );
}

pub(crate) async fn flush_succeeds(store: Arc<dyn Store>) {
    store.save(&Arc::new(txn(1)), later()).await.unwrap();
    store.flush().await.unwrap();
}
