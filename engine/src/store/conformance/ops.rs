//! The contract of the admin operations' store methods: published node stats that run out,
//! the dead-letter count, and the recent-transactions listing.

use std::sync::Arc;
use std::time::Duration;

use tessera_config::admin::NodeStats;

use super::{bump, letter, now, txn};
use crate::model::{Status, TxnQuery};
use crate::store::Store;

fn node(name: &str, at: u64) -> NodeStats {
    NodeStats {
        name: name.into(),
        at,
        ..Default::default()
    }
}

pub(crate) async fn node_stats_are_shared_until_they_run_out(store: Arc<dyn Store>) {
    assert!(store.node_stats().await.unwrap().is_empty());
    let short = Duration::from_millis(300);
    store.put_node_stats(&node("a", 1), short).await.unwrap();
    store
        .put_node_stats(&node("b", 1), Duration::from_secs(60))
        .await
        .unwrap();
    // A newer snapshot replaces the node's previous one.
    store.put_node_stats(&node("a", 2), short).await.unwrap();
    let mut all = store.node_stats().await.unwrap();
    all.sort_by(|x, y| x.name.cmp(&y.name));
    assert_eq!(all, vec![node("a", 2), node("b", 1)]);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(store.node_stats().await.unwrap(), vec![node("b", 1)]);
}

pub(crate) async fn dead_letters_are_counted(store: Arc<dyn Store>) {
    assert_eq!(store.dead_letter_count().await.unwrap(), 0);
    let letters: Vec<_> = (1..=3).map(letter).collect();
    for l in &letters {
        store.put_dead_letter(l).await.unwrap();
    }
    assert_eq!(store.dead_letter_count().await.unwrap(), 3);
    store.take_dead_letter(letters[0].id).await.unwrap();
    assert_eq!(store.dead_letter_count().await.unwrap(), 2);
}

pub(crate) async fn recent_lists_newest_first_filtered_and_limited(store: Arc<dyn Store>) {
    let base = now();
    let mut saved = Vec::new();
    for i in 0..5u64 {
        let mut t = txn(1);
        t.created_at = base + i;
        t.type_name = if i % 2 == 0 { "even" } else { "odd" }.into();
        t.user_id = Some(format!("user{}", i % 3));
        let t = Arc::new(t);
        store.save(&t, base + 60_000).await.unwrap();
        saved.push(t);
    }
    // A later version of the oldest: listed once, as it is now.
    let accepted = bump(&saved[0], Status::Accepted);
    store.save(&accepted, base + 60_000).await.unwrap();

    let ids = |q: TxnQuery| {
        let store = store.clone();
        async move {
            let got = store.recent(&q).await.unwrap();
            got.iter().map(|t| t.id).collect::<Vec<_>>()
        }
    };
    let all = TxnQuery {
        limit: 100,
        ..Default::default()
    };
    let newest: Vec<_> = saved.iter().rev().map(|t| t.id).collect();
    assert_eq!(ids(all.clone()).await, newest);
    assert_eq!(
        ids(TxnQuery {
            limit: 2,
            ..all.clone()
        })
        .await,
        newest[..2]
    );
    assert_eq!(
        ids(TxnQuery {
            state: Some("accepted".into()),
            ..all.clone()
        })
        .await,
        vec![saved[0].id]
    );
    assert_eq!(
        store
            .recent(&TxnQuery {
                state: Some("accepted".into()),
                ..all.clone()
            })
            .await
            .unwrap()[0]
            .version,
        2
    );
    // The fine state of a pending SMS whose code has not left yet.
    assert_eq!(
        ids(TxnQuery {
            state: Some("sending".into()),
            ..all.clone()
        })
        .await
        .len(),
        4
    );
    assert_eq!(
        ids(TxnQuery {
            type_name: Some("odd".into()),
            ..all.clone()
        })
        .await,
        vec![saved[3].id, saved[1].id]
    );
    assert_eq!(
        ids(TxnQuery {
            user_id: Some("user1".into()),
            type_name: Some("even".into()),
            ..all.clone()
        })
        .await,
        vec![saved[4].id]
    );
    // Purging leaves transactions that are still kept in the list.
    store.purge_expired(now()).await.unwrap();
    assert_eq!(ids(all).await.len(), 5);
}
