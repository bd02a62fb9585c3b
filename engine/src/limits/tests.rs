//! The GCRA rule (unit and property tests), `sms_prefix`, and the `Limiter` on both stores: the
//! memory bound under 10,000 phone numbers, two nodes sharing a limit through one Redis, and
//! the fraud mute.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use proptest::prelude::*;
use redis::AsyncCommands as _;
use tessera_testkit::redis::RedisServer;

use super::*;
use crate::store::{MemoryStore, RedisStore};

const T0: Millis = 1_767_225_600_000;
const MINUTE: Duration = Duration::from_secs(60);

fn bucket(count: u32, period: Duration) -> Bucket {
    Bucket::of(Rate::new(count, period)).expect("a rate that is on")
}

/// `consume` events at `now` on `tat`, as a store keeps it: the new state and the decision.
fn step(tat: &mut Option<u64>, now: Millis, b: Bucket, consume: bool) -> Decision {
    // A store drops a passed arrival time; `gcra` treats it as absent anyway.
    let live = tat.filter(|&t| t > now * 1000);
    let (decision, store) = gcra(live, now, b, consume);
    if let Some(new_tat) = store {
        *tat = Some(new_tat);
    }
    decision
}

#[test]
fn buckets_in_microseconds() {
    assert_eq!(
        Bucket::of(Rate::new(5, 10 * MINUTE)),
        Some(Bucket {
            interval_us: 120_000_000,
            period_us: 600_000_000
        })
    );
    assert_eq!(
        Bucket::of(Rate::new(2000, Duration::from_secs(1))),
        Some(Bucket {
            interval_us: 500,
            period_us: 1_000_000
        })
    );
    // Not a divisor: the interval rounds up (never above the rate), the window follows.
    assert_eq!(
        Bucket::of(Rate::new(3000, Duration::from_secs(1))),
        Some(Bucket {
            interval_us: 334,
            period_us: 1_002_000
        })
    );
    assert_eq!(Bucket::of(Rate::OFF), None);
    assert_eq!(Bucket::of(Rate::new(0, MINUTE)), None);
    assert_eq!(Bucket::of(Rate::new(5, Duration::ZERO)), None);
    // Below a microsecond per event (refused by validation): still at least 1 µs each.
    let tiny = bucket(5, Duration::from_nanos(100));
    assert_eq!((tiny.interval_us, tiny.period_us), (1, 5));
}

#[test]
fn a_burst_of_count_then_one_every_interval() {
    let b = bucket(5, 10 * MINUTE);
    let mut tat = None;
    for _ in 0..5 {
        assert_eq!(step(&mut tat, T0, b, true), Decision::Allowed);
    }
    assert_eq!(
        step(&mut tat, T0, b, true),
        Decision::Denied {
            retry_after_ms: 120_000
        }
    );
    assert_eq!(
        step(&mut tat, T0 + 119_999, b, true),
        Decision::Denied { retry_after_ms: 1 }
    );
    assert_eq!(step(&mut tat, T0 + 120_000, b, true), Decision::Allowed);
    assert_eq!(
        step(&mut tat, T0 + 120_000, b, true),
        Decision::Denied {
            retry_after_ms: 120_000
        }
    );
    // Idle for the whole period: a full burst again.
    let later = T0 + 120_000 + 600_000;
    for _ in 0..5 {
        assert_eq!(step(&mut tat, later, b, true), Decision::Allowed);
    }
    assert!(matches!(
        step(&mut tat, later, b, true),
        Decision::Denied { .. }
    ));
}

#[test]
fn a_check_counts_nothing() {
    let b = bucket(2, MINUTE);
    let mut tat = None;
    for _ in 0..100 {
        assert_eq!(step(&mut tat, T0, b, false), Decision::Allowed);
    }
    assert_eq!(tat, None);
    assert_eq!(step(&mut tat, T0, b, true), Decision::Allowed);
    assert_eq!(step(&mut tat, T0, b, true), Decision::Allowed);
    let held = tat;
    let refused = Decision::Denied {
        retry_after_ms: 30_000,
    };
    assert_eq!(step(&mut tat, T0, b, false), refused);
    assert_eq!(step(&mut tat, T0, b, true), refused);
    assert_eq!(tat, held, "a refused event moves nothing");
}

#[test]
fn a_corrupt_arrival_time_does_not_overflow() {
    let b = bucket(5, MINUTE);
    let (decision, store) = gcra(Some(u64::MAX - 1), T0, b, true);
    assert!(matches!(decision, Decision::Denied { .. }));
    assert_eq!(store, None);
    let (decision, _) = gcra(None, u64::MAX, b, true);
    assert_eq!(decision, Decision::Allowed);
}

#[test]
fn retry_after_in_whole_seconds_at_least_one() {
    let refused = |ms| Refused::Limited {
        limit: Limit::SmsPerPhone,
        retry_after: Duration::from_millis(ms),
    };
    assert_eq!(refused(1).retry_after_secs(), 1);
    assert_eq!(refused(1000).retry_after_secs(), 1);
    assert_eq!(refused(1001).retry_after_secs(), 2);
    assert_eq!(refused(120_000).retry_after_secs(), 120);
    assert_eq!(
        refused(119_500).to_string(),
        "rate limited: too many SMS sent to this phone number (rate_limits.sms_per_phone); \
         retry in 120 s"
    );
    let muted = Refused::FraudMuted {
        retry_after: Duration::from_secs(3600),
    };
    assert_eq!(muted.retry_after_secs(), 3600);
    assert!(muted.to_string().contains("fraud report"), "{muted}");
}

#[test]
fn sms_prefixes_follow_the_itu_country_code_lengths() {
    for (phone, prefix) in [
        ("+14155550100", "+1415"),     // NANP: one digit
        ("+18765550100", "+1876"),     // NANP (Jamaica): area code
        ("+79161234567", "+7916"),     // Russia: one digit
        ("+77011234567", "+7701"),     // Kazakhstan shares 7
        ("+201001234567", "+20100"),   // Egypt: two
        ("+27821234567", "+27821"),    // South Africa: two
        ("+31612345678", "+31612"),    // Netherlands: two
        ("+447911123456", "+44791"),   // United Kingdom: two
        ("+4915112345678", "+49151"),  // Germany: two
        ("+5511912345678", "+55119"),  // Brazil: two
        ("+61412345678", "+61412"),    // Australia: two
        ("+819012345678", "+81901"),   // Japan: two
        ("+8613812345678", "+86138"),  // China: two
        ("+919812345678", "+91981"),   // India: two
        ("+989121234567", "+98912"),   // Iran: two
        ("+353871234567", "+353871"),  // Ireland: three
        ("+3584012345678", "+358401"), // Finland: three
        ("+420601123456", "+420601"),  // Czechia: three (42x)
        ("+8801712345678", "+880171"), // Bangladesh: three
        ("+85291234567", "+852912"),   // Hong Kong: three
        ("+971501234567", "+971501"),  // UAE: three
        ("+2348031234567", "+234803"), // Nigeria: three
        ("+5978123456", "+597812"),    // Suriname: three (59x)
        ("+6798123456", "+679812"),    // Fiji: three (67x-69x)
        ("+2991234567", "+299123"),    // Greenland: three (29x)
        ("+12", "+12"),                // shorter than a prefix: all of it
        ("31612345678", "31612"),      // no plus: the same digits
        ("", ""),
        ("+", "+"),
    ] {
        assert_eq!(sms_prefix(phone), prefix, "{phone}");
    }
}

/// The memory store's bucket and mute entries, for the bound.
struct Memory {
    store: Arc<MemoryStore>,
}

impl Memory {
    fn limiter(limits: RateLimits, clock: Clock) -> (Self, Limiter) {
        let store = Arc::new(MemoryStore::with_clock(clock));
        let limiter = Limiter::new(store.clone(), limits, CodeKey::from_config("k"), clock);
        (Self { store }, limiter)
    }
}

async fn allowed(limiter: &Limiter, limit: Limit, subject: &str) -> bool {
    match limiter
        .take(limit, subject)
        .await
        .expect("the store answers")
    {
        Ok(()) => true,
        Err(Refused::Limited { limit: l, .. }) => {
            assert_eq!(l, limit);
            false
        }
        Err(other) => panic!("{other:?}"),
    }
}

#[test]
fn bucket_keys_are_keyed_hashes_of_the_subject() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let limiter = |key| {
        Limiter::new(
            store.clone(),
            RateLimits::default(),
            CodeKey::from_config(key),
            Clock::new(),
        )
    };
    let (a, b) = (limiter("key a"), limiter("key b"));
    let key = a.bucket(Limit::SmsPerPhone, "+31612345678");
    let hex = key
        .strip_prefix("rl:sms_per_phone:")
        .expect("named by its limit");
    assert_eq!(hex.len(), 32);
    assert!(hex.bytes().all(|c| c.is_ascii_hexdigit()));
    assert!(!key.contains("31612345678"));
    assert_eq!(key, a.bucket(Limit::SmsPerPhone, "+31612345678"));
    // As documented: the first 16 bytes of HMAC-SHA256(hash_key, limit ‖ 0 ‖ subject).
    let mut mac = Hmac::<Sha256>::new_from_slice(b"key a").unwrap();
    mac.update(b"sms_per_phone\0+31612345678");
    assert_eq!(hex, hex::encode(&mac.finalize().into_bytes()[..16]));
    assert_ne!(key, a.bucket(Limit::SmsPerPhone, "+31612345679"));
    assert_ne!(key, a.bucket(Limit::SmsPerPrefix, "+31612345678"));
    assert_ne!(key, b.bucket(Limit::SmsPerPhone, "+31612345678"));
    assert!(a.mute_key("alice").starts_with("mute:"));
    assert_ne!(a.mute_key("alice"), a.mute_key("bob"));
    assert!(!a.mute_key("alice").contains("alice"));
}

#[tokio::test(start_paused = true)]
async fn a_limit_that_is_off_passes_without_state() {
    let limits = RateLimits {
        sms_per_phone: Rate::OFF,
        ..RateLimits::default()
    };
    let (memory, limiter) = Memory::limiter(limits, Clock::starting_at(T0));
    for _ in 0..100 {
        assert!(allowed(&limiter, Limit::SmsPerPhone, "+31612345678").await);
    }
    assert_eq!(memory.store.limit_entries(), 0);
}

#[tokio::test(start_paused = true)]
async fn sms_per_prefix_counts_every_number_of_one_prefix() {
    let limits = RateLimits {
        sms_per_prefix: Rate::new(3, 60 * MINUTE),
        ..RateLimits::default()
    };
    let (_memory, limiter) = Memory::limiter(limits, Clock::starting_at(T0));
    for phone in ["+31612000001", "+31612000002", "+31612000003"] {
        assert!(allowed(&limiter, Limit::SmsPerPrefix, sms_prefix(phone)).await);
    }
    assert!(!allowed(&limiter, Limit::SmsPerPrefix, sms_prefix("+31612999999")).await);
    assert!(allowed(&limiter, Limit::SmsPerPrefix, sms_prefix("+31613000001")).await);
}

/// Ten rounds of 10,000 new phone numbers (over 1,000 prefixes), ten minutes apart, each sent
/// one SMS through `sms_per_phone` and `sms_per_prefix`: what the memory store holds stays
/// bounded by the sweep (not by the 110,000 keys ever seen), nothing is refused wrongly, and a
/// number still limited keeps its state through the sweeps.
#[tokio::test(start_paused = true)]
async fn memory_stays_bounded_under_10000_phone_numbers() {
    let (memory, limiter) = Memory::limiter(RateLimits::default(), Clock::starting_at(T0));
    let heavy = "+31600000000";
    let mut most = 0;
    for round in 0..10u32 {
        for i in 0..10_000u32 {
            let phone = format!("+1{:03}{round:02}{i:05}", i % 1000);
            assert!(
                allowed(&limiter, Limit::SmsPerPhone, &phone).await,
                "{phone}"
            );
            assert!(allowed(&limiter, Limit::SmsPerPrefix, sms_prefix(&phone)).await);
        }
        most = most.max(memory.store.limit_entries());
        tokio::time::advance(10 * MINUTE).await;
    }
    // Live at once: one round's 11,000 keys; the sweep lets each of 16 stripes reach 4,096.
    assert!(most <= 16 * 4096, "{most} entries held");

    // A number at its limit stays refused while 10,000 others come and go.
    for _ in 0..5 {
        assert!(allowed(&limiter, Limit::SmsPerPhone, heavy).await);
    }
    for i in 0..10_000u32 {
        let phone = format!("+44{i:09}");
        assert!(allowed(&limiter, Limit::SmsPerPhone, &phone).await);
    }
    assert!(!allowed(&limiter, Limit::SmsPerPhone, heavy).await);

    // Two hours on, one more round: the old entries are swept, not kept.
    tokio::time::advance(120 * MINUTE).await;
    for i in 0..10_000u32 {
        let phone = format!("+33{i:09}");
        assert!(allowed(&limiter, Limit::SmsPerPhone, &phone).await);
    }
    let held = memory.store.limit_entries();
    assert!(held <= 16 * 4096, "{held} entries held");
}

#[tokio::test(start_paused = true)]
async fn a_fraud_mute_on_the_memory_store() {
    let (memory, limiter) = Memory::limiter(RateLimits::default(), Clock::starting_at(T0));
    assert_eq!(limiter.muted("alice").await.unwrap(), Ok(()));
    limiter.mute("alice").await.unwrap();
    assert_eq!(
        limiter.muted("alice").await.unwrap(),
        Err(Refused::FraudMuted {
            retry_after: Duration::from_secs(3600)
        })
    );
    assert_eq!(limiter.muted("bob").await.unwrap(), Ok(()), "one user only");
    tokio::time::advance(30 * MINUTE).await;
    assert_eq!(
        limiter.muted("alice").await.unwrap(),
        Err(Refused::FraudMuted {
            retry_after: Duration::from_secs(1800)
        })
    );
    // A second report restarts the full mute.
    limiter.mute("alice").await.unwrap();
    tokio::time::advance(45 * MINUTE).await;
    assert!(limiter.muted("alice").await.unwrap().is_err());
    tokio::time::advance(15 * MINUTE).await;
    assert_eq!(limiter.muted("alice").await.unwrap(), Ok(()));
    assert_eq!(memory.store.limit_entries(), 1, "one mute, one user");
}

#[tokio::test(start_paused = true)]
async fn fraud_mute_zero_mutes_nothing() {
    let limits = RateLimits {
        fraud_mute: Duration::ZERO,
        ..RateLimits::default()
    };
    let (memory, limiter) = Memory::limiter(limits, Clock::starting_at(T0));
    limiter.mute("alice").await.unwrap();
    assert_eq!(limiter.muted("alice").await.unwrap(), Ok(()));
    assert_eq!(memory.store.limit_entries(), 0);
}

/// Two nodes on one Redis: two stores (each its own connections), two limiters, one hash key.
/// Two limiters on one Redis, reading one clock: two `Clock::new()`s are anchored a millisecond
/// or so apart, and GCRA on skewed clocks may refuse one event early (a documented property,
/// not what these tests are about: atomicity and sharing).
fn two_nodes(server: &RedisServer, limits: RateLimits) -> [Limiter; 2] {
    let clock = Clock::new();
    let node = || {
        let store = RedisStore::new(&server.url(), 2, "tessera:").expect("a Redis store");
        Limiter::new(
            Arc::new(store),
            limits.clone(),
            CodeKey::from_config("shared hash key"),
            clock,
        )
    };
    [node(), node()]
}

async fn redis_keys(server: &RedisServer) -> Vec<String> {
    let client = redis::Client::open(server.url()).expect("a client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connected");
    conn.keys("*").await.expect("KEYS")
}

#[tokio::test]
async fn two_nodes_share_a_limit_through_redis() {
    let server = RedisServer::start();
    let [a, b] = two_nodes(&server, RateLimits::default());
    // 5/10m, taken in turn on either node: 5 in all.
    let mut allowed_total = 0;
    for i in 0..12 {
        let node = if i % 2 == 0 { &a } else { &b };
        if allowed(node, Limit::SmsPerPhone, "+31612345678").await {
            allowed_total += 1;
        }
    }
    assert_eq!(allowed_total, 5);
    // Either node sees the other's count and the same wait.
    let (ra, rb) = (
        a.check(Limit::SmsPerPhone, "+31612345678").await.unwrap(),
        b.check(Limit::SmsPerPhone, "+31612345678").await.unwrap(),
    );
    let wait = |r: Result<(), Refused>| r.expect_err("refused").retry_after_secs();
    let (wa, wb) = (wait(ra), wait(rb));
    assert!(
        (119..=120).contains(&wa) && (119..=120).contains(&wb),
        "{wa} {wb}"
    );
    // Another number is its own bucket.
    assert!(allowed(&b, Limit::SmsPerPhone, "+31612345679").await);
}

/// 50 takes at once, 25 through each node, of a bucket of 20: exactly 20 pass (each check is
/// one atomic script).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_takes_on_two_nodes_allow_exactly_count() {
    let server = RedisServer::start();
    let limits = RateLimits {
        push_starts_per_user: Rate::new(20, 10 * MINUTE),
        ..RateLimits::default()
    };
    let [a, b] = two_nodes(&server, limits);
    for round in 0..3 {
        let user = format!("user{round}");
        let takes = (0..50).map(|i| {
            let node = if i % 2 == 0 { a.clone() } else { b.clone() };
            let user = user.clone();
            tokio::spawn(async move { node.take(Limit::PushStartsPerUser, &user).await })
        });
        let mut passed = 0;
        for take in futures::future::join_all(takes).await {
            if take.expect("joined").expect("the store answers").is_ok() {
                passed += 1;
            }
        }
        assert_eq!(passed, 20, "round {round}");
    }
}

/// 10,000 phone numbers through a Redis store: every key carries a time to live no longer than
/// its bucket's window, and once the window has passed the store holds none of them.
#[tokio::test]
async fn redis_keys_of_10000_phone_numbers_run_out() {
    let server = RedisServer::start();
    let period = Duration::from_secs(3);
    let limits = RateLimits {
        sms_per_phone: Rate::new(5, period),
        sms_per_prefix: Rate::new(10, period),
        ..RateLimits::default()
    };
    let [a, b] = two_nodes(&server, limits);
    let client = redis::Client::open(server.url()).unwrap();
    let conn = client.get_multiplexed_async_connection().await.unwrap();
    // The Redis key of a bucket: the store's prefix, the bucket key as the hash tag.
    let ttl = |limiter: &Limiter, limit, subject: &str| {
        let key = format!("tessera:{{{}}}", limiter.bucket(limit, subject));
        let mut conn = conn.clone();
        async move { conn.pttl::<_, i64>(key).await.unwrap() }
    };
    let takes = (0..10_000u32).map(|i| {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        let ttl = &ttl;
        async move {
            // 1,000 prefixes, 10 numbers each.
            let phone = format!("+1{:03}{i:07}", i % 1000);
            let prefix = sms_prefix(&phone);
            assert_eq!(node.take(Limit::SmsPerPhone, &phone).await.unwrap(), Ok(()));
            assert_eq!(
                node.take(Limit::SmsPerPrefix, prefix).await.unwrap(),
                Ok(())
            );
            if i % 100 == 0 {
                // One send holds a number's bucket 600 ms, a prefix's 300 ms; never over 3 s.
                let phone_ttl = ttl(&node, Limit::SmsPerPhone, &phone).await;
                assert!(phone_ttl > 0 && phone_ttl <= 600, "PTTL {phone_ttl}");
                let prefix_ttl = ttl(&node, Limit::SmsPerPrefix, prefix).await;
                assert!(prefix_ttl > 0 && prefix_ttl <= 3000, "PTTL {prefix_ttl}");
            }
        }
    });
    futures::stream::iter(takes)
        .buffer_unordered(64)
        .collect::<Vec<()>>()
        .await;

    tokio::time::sleep(period).await;
    // Expired keys are gone to every read at once; Redis reclaims their memory within moments.
    let mut conn = conn.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let dbsize: u64 = redis::cmd("DBSIZE").query_async(&mut conn).await.unwrap();
        if dbsize == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{dbsize} keys left");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(redis_keys(&server).await.is_empty());
}

#[tokio::test]
async fn a_fraud_mute_on_redis_is_shared_and_runs_out() {
    let server = RedisServer::start();
    let limits = RateLimits {
        fraud_mute: Duration::from_millis(400),
        ..RateLimits::default()
    };
    let [a, b] = two_nodes(&server, limits.clone());
    a.mute("alice").await.unwrap();
    match b.muted("alice").await.unwrap() {
        Err(Refused::FraudMuted { retry_after }) => {
            assert!(retry_after <= Duration::from_millis(400), "{retry_after:?}");
        }
        other => panic!("muted on the other node too, got {other:?}"),
    }
    assert_eq!(b.muted("bob").await.unwrap(), Ok(()));
    assert_eq!(redis_keys(&server).await.len(), 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(a.muted("alice").await.unwrap(), Ok(()));
    assert_eq!(b.muted("alice").await.unwrap(), Ok(()));
    assert!(
        redis_keys(&server).await.is_empty(),
        "the mute's key is gone"
    );

    let off = RateLimits {
        fraud_mute: Duration::ZERO,
        ..limits
    };
    let [c, _] = two_nodes(&server, off);
    c.mute("alice").await.unwrap();
    assert_eq!(c.muted("alice").await.unwrap(), Ok(()));
    assert!(
        redis_keys(&server).await.is_empty(),
        "fraud_mute = 0 stores nothing"
    );
}

/// One event of a random sequence: how long after the previous one, and whether it counts.
#[derive(Debug, Clone)]
struct Event {
    gap_ms: u64,
    consume: bool,
}

fn events() -> impl Strategy<Value = Vec<Event>> {
    let gap = prop_oneof![
        3 => Just(0u64),
        3 => 0u64..50,
        2 => 0u64..2_000,
        1 => 0u64..120_000,
    ];
    prop::collection::vec(
        (gap, prop::bool::weighted(0.8)).prop_map(|(gap_ms, consume)| Event { gap_ms, consume }),
        1..300,
    )
}

/// A rate with a period of whole milliseconds (what a config gives), 1 ms to 10 minutes, and a
/// count up to the period in µs.
fn rates() -> impl Strategy<Value = Rate> {
    (1u64..=600_000, 1u32..=40).prop_flat_map(|(period_ms, small)| {
        let max = u32::try_from(period_ms * 1000)
            .unwrap_or(u32::MAX)
            .min(5000);
        prop_oneof![Just(small.min(max)), 1..=max]
            .prop_map(move |count| Rate::new(count, Duration::from_millis(period_ms)))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// For any rate and any sequence of events: the first `count` at one instant pass and no
    /// more; between any two allowed events `e_i ≤ e_j`, `(j − i + 1) × T ≤ W + (e_j − e_i)`
    /// (a burst of `count`, then one per interval: so never over the rate, and at most
    /// `2 × count − 1` in any window of one period); a refused event or a check changes nothing
    /// and answers what a take would; `retry_after_ms` is exact to the millisecond; and after
    /// the window has passed since the last allowed event a full burst passes again.
    #[test]
    fn gcra_keeps_to_its_rate(rate in rates(), events in events()) {
        let b = Bucket::of(rate).expect("on");
        let count = u64::from(rate.count);
        let period_ms = rate.period.as_millis() as u64;
        let window_ms = b.period_us.div_ceil(1000);
        prop_assert!(b.interval_us * count >= rate.period.as_micros() as u64, "never over the rate");
        prop_assert!(b.period_us - (rate.period.as_micros() as u64) < count);

        let mut tat = None;
        let mut now = T0;
        let mut passed: Vec<Millis> = Vec::new();
        for e in &events {
            now += e.gap_ms;
            let before = tat;
            let check = step(&mut tat.clone(), now, b, false);
            let decision = step(&mut tat, now, b, e.consume);
            prop_assert_eq!(check, decision, "a check answers what a take would");
            match decision {
                Decision::Allowed if e.consume => passed.push(now),
                Decision::Allowed => prop_assert_eq!(tat, before, "a check counts nothing"),
                Decision::Denied { retry_after_ms } => {
                    prop_assert_eq!(tat, before, "a refused event counts nothing");
                    prop_assert!(retry_after_ms >= 1);
                    let (at, _) = gcra(tat, now + retry_after_ms, b, true);
                    prop_assert_eq!(at, Decision::Allowed, "fits after retry_after_ms");
                    let (early, _) = gcra(tat, now + retry_after_ms - 1, b, true);
                    prop_assert!(early != Decision::Allowed, "not 1 ms sooner");
                }
            }
        }

        for (i, &first) in passed.iter().enumerate() {
            for (j, &last) in passed.iter().enumerate().skip(i) {
                let n = (j - i + 1) as u64;
                prop_assert!(
                    n * b.interval_us <= b.period_us + (last - first) * 1000,
                    "{n} events in {} ms", last - first
                );
            }
            let in_window = passed[i..].iter().take_while(|&&t| t < first + period_ms).count();
            prop_assert!((in_window as u64) < 2 * count, "{} in one period", in_window);
        }

        // Idle for the window since the last allowed event: a full burst of `count`, no more.
        let idle = passed.last().map_or(now, |&t| now.max(t + window_ms));
        for k in 0..count {
            prop_assert_eq!(step(&mut tat, idle, b, true), Decision::Allowed, "burst event {}", k);
        }
        let over = step(&mut tat, idle, b, true);
        prop_assert!(over != Decision::Allowed, "one more than the burst");
    }

    /// When the count divides the period (every rate in CONFIG.md), the window is the period:
    /// a burst refills one period after it (to the millisecond), not a millisecond sooner.
    #[test]
    fn a_dividing_rate_refills_in_its_period(count in 1u32..100, per_us in 1u64..1_000_000) {
        let period_us = u64::from(count) * per_us;
        let b = bucket(count, Duration::from_micros(period_us));
        prop_assert_eq!(b, Bucket { interval_us: per_us, period_us });
        let mut tat = None;
        for _ in 0..count {
            prop_assert_eq!(step(&mut tat, T0, b, true), Decision::Allowed);
        }
        let period_ms = period_us.div_ceil(1000);
        let mut early = tat;
        let early_burst = (0..count)
            .map(|_| step(&mut early, T0 + period_ms - 1, b, true))
            .filter(|d| *d == Decision::Allowed)
            .count();
        prop_assert!(early_burst < count as usize);
        for _ in 0..count {
            prop_assert_eq!(step(&mut tat, T0 + period_ms, b, true), Decision::Allowed);
        }
    }

    /// Any text: the prefix is a prefix of it, never a panic.
    #[test]
    fn sms_prefix_of_any_text(text in ".{0,24}") {
        prop_assert!(text.starts_with(sms_prefix(&text)));
    }
}
