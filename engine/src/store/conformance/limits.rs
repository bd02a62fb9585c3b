//! The contract of the abuse limits' store methods: GCRA buckets (`rate_limit`) and fraud mutes
//! (`put_mute`, `mute_until`). Times are given explicitly, so refills need no sleeping (never
//! behind the real time: a store may drop what has passed by its own clock); the expiry of a
//! mute is real time.

use std::sync::Arc;
use std::time::Duration;

use tessera_config::Rate;

use super::now;
use crate::limits::{Bucket, Decision};
use crate::store::Store;

/// `5/10m`: one event per 2 minutes, a burst of 5.
fn five_per_10m() -> Bucket {
    Bucket::of(Rate::new(5, Duration::from_secs(600))).expect("on")
}

fn denied(retry_after_ms: u64) -> Decision {
    Decision::Denied { retry_after_ms }
}

pub(crate) async fn a_bucket_allows_its_burst_then_refuses(store: Arc<dyn Store>) {
    let b = five_per_10m();
    let t = now();
    for i in 0..5 {
        assert_eq!(
            store.rate_limit("rl:a", b, true, t).await.unwrap(),
            Decision::Allowed,
            "event {i}"
        );
    }
    assert_eq!(
        store.rate_limit("rl:a", b, true, t).await.unwrap(),
        denied(120_000)
    );
    assert_eq!(
        store
            .rate_limit("rl:a", b, true, t + 100_000)
            .await
            .unwrap(),
        denied(20_000),
        "the wait shrinks as time passes"
    );
    // Another key is another bucket.
    assert_eq!(
        store.rate_limit("rl:b", b, true, t).await.unwrap(),
        Decision::Allowed
    );
}

pub(crate) async fn a_check_without_consume_counts_nothing(store: Arc<dyn Store>) {
    let b = Bucket::of(Rate::new(2, Duration::from_secs(60))).expect("on");
    let t = now();
    for _ in 0..20 {
        assert_eq!(
            store.rate_limit("rl:c", b, false, t).await.unwrap(),
            Decision::Allowed
        );
    }
    for _ in 0..2 {
        assert_eq!(
            store.rate_limit("rl:c", b, true, t).await.unwrap(),
            Decision::Allowed
        );
    }
    assert_eq!(
        store.rate_limit("rl:c", b, false, t).await.unwrap(),
        denied(30_000)
    );
    // Refused takes count nothing either: the wait stays what it was.
    for _ in 0..5 {
        assert_eq!(
            store.rate_limit("rl:c", b, true, t).await.unwrap(),
            denied(30_000)
        );
    }
    assert_eq!(
        store.rate_limit("rl:c", b, true, t + 30_000).await.unwrap(),
        Decision::Allowed
    );
}

pub(crate) async fn a_bucket_refills_one_per_interval(store: Arc<dyn Store>) {
    let b = five_per_10m();
    let t = now();
    for _ in 0..5 {
        store.rate_limit("rl:r", b, true, t).await.unwrap();
    }
    let at = |ms| store.rate_limit("rl:r", b, true, t + ms);
    assert_eq!(at(119_999).await.unwrap(), denied(1));
    assert_eq!(at(120_000).await.unwrap(), Decision::Allowed);
    assert_eq!(at(120_000).await.unwrap(), denied(120_000));
    // The whole period after the last event: a full burst again.
    for _ in 0..5 {
        assert_eq!(at(720_000).await.unwrap(), Decision::Allowed);
    }
    assert_eq!(at(720_000).await.unwrap(), denied(120_000));
}

pub(crate) async fn a_fast_bucket_counts_microseconds(store: Arc<dyn Store>) {
    // 2000/s: 500 µs per event, two per millisecond. A minute ahead of the real time, so the
    // frozen clock stays ahead of it however slowly the 2,100 checks run.
    let b = Bucket::of(Rate::new(2000, Duration::from_secs(1))).expect("on");
    let t = now() + 60_000;
    let mut passed = 0;
    for _ in 0..2100 {
        if store.rate_limit("rl:f", b, true, t).await.unwrap() == Decision::Allowed {
            passed += 1;
        }
    }
    assert_eq!(passed, 2000);
    assert_eq!(
        store.rate_limit("rl:f", b, true, t).await.unwrap(),
        denied(1)
    );
    for _ in 0..2 {
        assert_eq!(
            store.rate_limit("rl:f", b, true, t + 1).await.unwrap(),
            Decision::Allowed
        );
    }
    assert_eq!(
        store.rate_limit("rl:f", b, true, t + 1).await.unwrap(),
        denied(1)
    );
}

pub(crate) async fn racing_takes_of_one_bucket_allow_exactly_count(store: Arc<dyn Store>) {
    let b = Bucket::of(Rate::new(10, Duration::from_secs(600))).expect("on");
    let t = now();
    let takes = (0..40).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.rate_limit("rl:race", b, true, t).await })
    });
    let passed = futures::future::join_all(takes)
        .await
        .into_iter()
        .filter(|r| matches!(r, Ok(Ok(Decision::Allowed))))
        .count();
    assert_eq!(passed, 10);
}

pub(crate) async fn a_mute_keeps_the_later_end(store: Arc<dyn Store>) {
    let t = now();
    assert_eq!(store.mute_until("mute:a", t).await.unwrap(), None);
    store.put_mute("mute:a", t + 60_000).await.unwrap();
    assert_eq!(
        store.mute_until("mute:a", t).await.unwrap(),
        Some(t + 60_000)
    );
    store.put_mute("mute:a", t + 30_000).await.unwrap();
    assert_eq!(
        store.mute_until("mute:a", t).await.unwrap(),
        Some(t + 60_000),
        "a shorter mute does not cut a longer one"
    );
    store.put_mute("mute:a", t + 90_000).await.unwrap();
    assert_eq!(
        store.mute_until("mute:a", t).await.unwrap(),
        Some(t + 90_000)
    );
    assert_eq!(
        store.mute_until("mute:a", t + 90_000).await.unwrap(),
        None,
        "over at its end"
    );
    assert_eq!(store.mute_until("mute:b", t).await.unwrap(), None);
    // A mute that already ended sets nothing.
    store.put_mute("mute:c", t.saturating_sub(1)).await.unwrap();
    assert_eq!(store.mute_until("mute:c", t).await.unwrap(), None);
}

pub(crate) async fn a_mute_runs_out(store: Arc<dyn Store>) {
    store.put_mute("mute:e", now() + 300).await.unwrap();
    assert!(store.mute_until("mute:e", now()).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(store.mute_until("mute:e", now()).await.unwrap(), None);
}
