//! The device half of the store contract: versioned device writes and their indexes, push
//! enrollment rules, enrollment codes, server keys, each device's pending index.

use std::sync::Arc;

use super::{assert_conflict, later, now};
use crate::model::{Device, EnrollmentCode, Platform, TxnId};
use crate::store::{Store, StoreError};

/// A device of `user` (version 1), as the store tests write them.
pub(crate) fn device_for_tests(id: &str, user: &str, app: &str, token: Option<&str>) -> Device {
    device(id, user, app, token)
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

pub(crate) async fn devices_are_versioned_and_indexed_by_user_and_token(store: Arc<dyn Store>) {
    let d = device("D1", "alice", "acme", Some("tok-1"));
    store.save_device(&d).await.unwrap();
    assert_eq!(store.get_device("D1").await.unwrap(), Some(d.clone()));
    let again = store.save_device(&d).await;
    assert_conflict(&again, 0, Some(1));

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
