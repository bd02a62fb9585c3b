//! The admin API's configuration document: versioned, compare-and-set, one record per store.

use std::sync::Arc;

use crate::store::{ConfigDoc, Store, StoreError};

pub(crate) async fn config_doc_starts_empty_and_counts_versions_up(store: Arc<dyn Store>) {
    assert_eq!(store.config_doc().await.unwrap(), None);
    assert_eq!(store.config_doc_version().await.unwrap(), 0);
    assert_eq!(store.put_config_doc(0, b"first").await.unwrap(), 1);
    assert_eq!(store.config_doc_version().await.unwrap(), 1);
    // Bytes come back exactly, whatever they hold.
    let binary = [0u8, 255, b'{', b'}', 10, 13];
    assert_eq!(store.put_config_doc(1, &binary).await.unwrap(), 2);
    assert_eq!(
        store.config_doc().await.unwrap(),
        Some(ConfigDoc {
            version: 2,
            bytes: binary.to_vec()
        })
    );
}

pub(crate) async fn a_config_doc_write_on_a_stale_version_changes_nothing(store: Arc<dyn Store>) {
    // Nothing stored: only version 0 may be expected.
    match store.put_config_doc(3, b"x").await {
        Err(StoreError::Conflict {
            expected: 3,
            found: None,
            ..
        }) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    store.put_config_doc(0, b"a").await.unwrap();
    store.put_config_doc(1, b"b").await.unwrap();
    match store.put_config_doc(1, b"stale").await {
        Err(StoreError::Conflict {
            expected: 1,
            found: Some(2),
            ..
        }) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    let doc = store.config_doc().await.unwrap().unwrap();
    assert_eq!((doc.version, doc.bytes.as_slice()), (2, &b"b"[..]));
}

pub(crate) async fn racing_config_doc_writers_one_wins(store: Arc<dyn Store>) {
    store.put_config_doc(0, b"base").await.unwrap();
    let writers = (0..8u8).map(|i| {
        let store = store.clone();
        tokio::spawn(async move { store.put_config_doc(1, &[i]).await })
    });
    let results = futures::future::join_all(writers).await;
    let won: Vec<_> = results
        .into_iter()
        .map(|r| r.unwrap())
        .filter(|r| r.is_ok())
        .collect();
    assert_eq!(won.len(), 1, "exactly one writer of version 1 wins");
    assert_eq!(store.config_doc_version().await.unwrap(), 2);
}
