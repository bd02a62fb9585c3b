//! The limits' Redis side beyond the shared contract: what the keys hold and how long they live,
//! and the Lua script deciding exactly what [`gcra`] (and so the memory store) decides.

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands as _;
use tessera_config::Rate;
use tessera_testkit::redis::RedisServer;

use super::super::RedisStore;
use crate::limits::{Bucket, Decision, gcra};
use crate::store::conformance::now;
use crate::store::{MemoryStore, Store};

async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// The key holds the arrival time in µs, exactly what `gcra` computes (no float rounding, no
/// exponent form), and expires at it (rounded up to the ms): never later than the window.
#[tokio::test]
async fn a_bucket_key_holds_its_arrival_time_and_lives_until_it() {
    let server = RedisServer::start();
    let store = RedisStore::new(&server.url(), 2, "test:").unwrap();
    let mut conn = raw(&server).await;
    // 7/s: 142,858 µs per event, not a whole millisecond.
    let b = Bucket::of(Rate::new(7, Duration::from_secs(1))).unwrap();
    let t = now();
    let mut tat = None;
    for _ in 0..3 {
        assert_eq!(
            store.rate_limit("rl:x:1", b, true, t).await.unwrap(),
            Decision::Allowed
        );
        tat = gcra(tat, t, b, true).1;
    }
    let held: String = conn.get("test:{rl:x:1}").await.unwrap();
    assert_eq!(held, tat.unwrap().to_string());
    let ttl: i64 = conn.pttl("test:{rl:x:1}").await.unwrap();
    assert!(ttl > 400 && ttl <= 429, "3 × 142.858 ms left: PTTL {ttl}");

    // A burst fills the window; the key lives no longer than it.
    for _ in 0..10 {
        store.rate_limit("rl:x:2", b, true, t).await.unwrap();
    }
    let ttl: i64 = conn.pttl("test:{rl:x:2}").await.unwrap();
    assert!(
        ttl > 0 && ttl <= 1001,
        "PTTL {ttl} for a window of {} µs",
        b.period_us
    );
    // A check and a refusal write nothing.
    store.rate_limit("rl:x:3", b, false, t).await.unwrap();
    assert!(!conn.exists::<_, bool>("test:{rl:x:3}").await.unwrap());
    let before: String = conn.get("test:{rl:x:2}").await.unwrap();
    assert!(matches!(
        store.rate_limit("rl:x:2", b, true, t).await.unwrap(),
        Decision::Denied { .. }
    ));
    assert_eq!(
        conn.get::<_, String>("test:{rl:x:2}").await.unwrap(),
        before
    );

    // 5/1s: one event holds the key 200 ms, then it is gone.
    let short = Bucket::of(Rate::new(5, Duration::from_secs(1))).unwrap();
    store
        .rate_limit("rl:x:4", short, true, now())
        .await
        .unwrap();
    let ttl: i64 = conn.pttl("test:{rl:x:4}").await.unwrap();
    assert!(ttl > 0 && ttl <= 200, "PTTL {ttl}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let left: Vec<String> = conn.keys("test:{rl:*").await.unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn a_mute_key_goes_at_its_end() {
    let server = RedisServer::start();
    let store = RedisStore::new(&server.url(), 2, "test:").unwrap();
    let mut conn = raw(&server).await;
    let until = now() + 400;
    store.put_mute("mute:m", until).await.unwrap();
    assert_eq!(
        conn.get::<_, String>("test:{mute:m}").await.unwrap(),
        until.to_string()
    );
    let ttl: i64 = conn.pttl("test:{mute:m}").await.unwrap();
    assert!(ttl > 0 && ttl <= 400, "PTTL {ttl}");
    // Not shortened by an earlier end.
    store.put_mute("mute:m", until - 300).await.unwrap();
    let ttl: i64 = conn.pttl("test:{mute:m}").await.unwrap();
    assert!(ttl > 100, "PTTL {ttl}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!conn.exists::<_, bool>("test:{mute:m}").await.unwrap());
}

/// A value that is not a number (written by hand, or by something else under the prefix) is an
/// absent bucket, not a script error.
#[tokio::test]
async fn a_garbled_bucket_counts_as_absent() {
    let server = RedisServer::start();
    let store = RedisStore::new(&server.url(), 2, "test:").unwrap();
    let mut conn = raw(&server).await;
    let _: () = conn.set("test:{rl:g}", "not a number").await.unwrap();
    let b = Bucket::of(Rate::new(1, Duration::from_secs(60))).unwrap();
    assert_eq!(
        store.rate_limit("rl:g", b, true, now()).await.unwrap(),
        Decision::Allowed
    );
    assert!(matches!(
        store.rate_limit("rl:g", b, true, now()).await.unwrap(),
        Decision::Denied { .. }
    ));
}

/// The same sequence of checks (several rates, dividing the period or not, up to a million per
/// period; several keys; takes and checks; gaps from none to minutes) gets the same decisions,
/// waits included, from the memory store and from Redis: the Lua script is `gcra`.
#[tokio::test]
async fn memory_and_redis_decide_alike() {
    let server = RedisServer::start();
    let redis: Arc<dyn Store> = Arc::new(RedisStore::new(&server.url(), 2, "test:").unwrap());
    let memory: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let rates = [
        Rate::new(5, Duration::from_secs(600)),
        Rate::new(200, Duration::from_secs(3600)),
        Rate::new(2000, Duration::from_secs(1)),
        Rate::new(3000, Duration::from_secs(1)),
        Rate::new(7, Duration::from_secs(1)),
        Rate::new(1_000_000, Duration::from_millis(1500)),
        Rate::new(3, Duration::from_millis(10)),
    ];
    // A fixed xorshift sequence: reproducible, no seed to keep.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    // A minute ahead of the real time, and moving faster than it: a key Redis dropped by its
    // own clock has passed by this one too.
    let mut t = now() + 60_000;
    let (mut allowed, mut denied) = (0, 0);
    let mut bucket = (0, 0);
    for i in 0..3000 {
        // Mostly no time or a few ms between checks, sometimes up to a second, rarely minutes.
        let gap = next(8);
        t += match gap {
            0..5 => 0,
            5..7 => next(3),
            _ if next(10) == 0 => next(300_000),
            _ => next(1000),
        };
        // Runs of checks on one bucket (so buckets run dry), now and then another one.
        if i == 0 || next(8) == 0 {
            bucket = (next(rates.len() as u64) as usize, next(2));
        }
        let (r, k) = bucket;
        let b = Bucket::of(rates[r]).unwrap();
        let key = format!("rl:{r}:{k}");
        let consume = next(5) != 0;
        let m = memory.rate_limit(&key, b, consume, t).await.unwrap();
        let d = redis.rate_limit(&key, b, consume, t).await.unwrap();
        assert_eq!(m, d, "step {i}: {key} at {t} consume {consume}");
        match m {
            Decision::Allowed => allowed += 1,
            Decision::Denied { .. } => denied += 1,
        }
    }
    assert!(
        allowed > 500 && denied > 500,
        "{allowed} allowed, {denied} denied"
    );
}
