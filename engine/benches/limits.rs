//! Cost of one rate-limit check, release build: `cargo bench -p tessera-engine --bench limits`.
//! `Limiter::take` as the API calls it (keyed hash of the subject, then the store's GCRA
//! check), on the memory store and on a `redis-server` this bench starts on a free loopback port
//! (as the tests do; `redis-server` must be on `PATH`). Each line is 100,000 calls, timed as a
//! whole, in rounds after a warm-up; plain std timing (no bench framework): sizes, not a
//! regression gate.
#![allow(clippy::disallowed_types)] // std's Instant is fine outside engine code

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use tessera_config::{Rate, RateLimits};
use tessera_engine::limits::{Limit, Limiter};
use tessera_engine::txn::code_key::CodeKey;
use tessera_engine::{Clock, MemoryStore, RedisStore, Store};
use tessera_testkit::redis::RedisServer;

const CALLS: u32 = 100_000;

/// `per_client` roomy enough that 100,000 calls on one key all pass; the rest as configured by
/// default (`sms_per_phone` 5/10m).
fn limits() -> RateLimits {
    RateLimits {
        per_client: Rate::new(1_000_000, Duration::from_secs(1)),
        ..RateLimits::default()
    }
}

fn limiter(store: Arc<dyn Store>, limits: RateLimits) -> Limiter {
    Limiter::new(
        store,
        limits,
        CodeKey::from_config("bench hash key"),
        Clock::new(),
    )
}

/// Times `rounds` runs of [`CALLS`] checks made by `run` (given the round, so each round can
/// use fresh subjects); prints the mean and best per-call time.
async fn time<F, Fut>(name: &str, rounds: u32, mut run: F) -> Duration
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = ()>,
{
    run(u32::MAX).await;
    let mut per_call = Vec::new();
    for round in 0..rounds {
        let start = Instant::now();
        run(round).await;
        per_call.push(start.elapsed() / CALLS);
    }
    per_call.sort();
    let mean = per_call.iter().sum::<Duration>() / rounds;
    println!(
        "{name:<58} mean {mean:>9.2?}  best {:>9.2?}  ({rounds}×{CALLS})",
        per_call[0]
    );
    mean
}

/// One key, every call allowed (`per_client`).
async fn hot_key(limiter: &Limiter) {
    for _ in 0..CALLS {
        let passed = limiter.take(Limit::PerClient, "portal").await;
        assert!(matches!(passed, Ok(Ok(()))));
    }
}

/// A fresh phone number per call (`sms_per_phone`): a new bucket each time.
async fn distinct_keys(limiter: &Limiter, round: u32) {
    for i in 0..CALLS {
        let phone = format!("+31{round:04}{i:06}");
        let passed = limiter.take(Limit::SmsPerPhone, &phone).await;
        assert!(matches!(passed, Ok(Ok(()))));
    }
}

/// One key that is used up: every call refused (`sms_per_phone`, the same number).
async fn refused(limiter: &Limiter) {
    for _ in 0..5 {
        let _ = limiter.take(Limit::SmsPerPhone, "+31612345678").await;
    }
    for _ in 0..CALLS {
        let passed = limiter.take(Limit::SmsPerPhone, "+31612345678").await;
        assert!(matches!(passed, Ok(Err(_))));
    }
}

/// [`CALLS`] distinct-key checks, `width` in flight at once.
async fn concurrent(limiter: &Limiter, round: u32, width: usize) {
    futures::stream::iter(0..CALLS)
        .map(|i| {
            let limiter = limiter.clone();
            async move {
                let phone = format!("+32{round:04}{i:06}");
                limiter.take(Limit::SmsPerPhone, &phone).await
            }
        })
        .buffer_unordered(width)
        .for_each(|passed| async move { assert!(matches!(passed, Ok(Ok(())))) })
        .await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let bare = limiter(Arc::new(MemoryStore::new()), limits());
        time("bucket key alone (format + HMAC-SHA256 + hex)", 5, |r| {
            let bare = &bare;
            async move {
                for i in 0..CALLS {
                    let phone = format!("+31{r:04}{i:06}");
                    std::hint::black_box(bare.bucket(Limit::SmsPerPhone, &phone));
                }
            }
        })
        .await;

        let memory = limiter(Arc::new(MemoryStore::new()), limits());
        let m_hot = time("memory: take, one key, allowed", 5, |_| hot_key(&memory)).await;
        let m_new = time("memory: take, a new key each call", 5, |r| {
            distinct_keys(&memory, r)
        })
        .await;
        let m_ref = time("memory: take, refused", 5, |_| refused(&memory)).await;

        let server = RedisServer::start();
        let store = RedisStore::new(&server.url(), 4, "bench:").expect("a Redis store");
        let redis = limiter(Arc::new(store), limits());
        let r_hot = time("redis: take, one key, allowed (sequential)", 3, |_| {
            hot_key(&redis)
        })
        .await;
        let r_new = time("redis: take, a new key each call (sequential)", 3, |r| {
            distinct_keys(&redis, r)
        })
        .await;
        let r_ref = time("redis: take, refused (sequential)", 3, |_| refused(&redis)).await;
        let r_conc = time("redis: take, a new key each call, 64 in flight", 3, |r| {
            concurrent(&redis, r, 64)
        })
        .await;
        let ratio = |r: Duration, m: Duration| r.as_secs_f64() / m.as_secs_f64();
        println!(
            "redis / memory: one key {:.0}×, new keys {:.0}×, refused {:.0}×; 64 in flight / memory new keys {:.0}×",
            ratio(r_hot, m_hot),
            ratio(r_new, m_new),
            ratio(r_ref, m_ref),
            ratio(r_conc, m_new),
        );
    });
}
