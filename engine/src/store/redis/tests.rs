//! The store contract over a Redis store, each test on its own `redis-server`.

use std::sync::Arc;

use tessera_testkit::redis::RedisServer;

use super::RedisStore;
use crate::store::Store;
use crate::store::conformance::store_conformance;

fn redis() -> (RedisServer, Arc<dyn Store>) {
    let server = RedisServer::start();
    let store = RedisStore::new(&server.url(), 4, "test:").unwrap();
    (server, Arc::new(store))
}

store_conformance!(redis());

mod limits;

/// The same contract on a three-node Redis Cluster: every script touches one slot, and the
/// indexes kept beside them (pending set, token index, owner pointers) hold up.
mod cluster {
    use std::sync::Arc;

    use tessera_testkit::redis::RedisCluster;

    use super::RedisStore;
    use crate::store::Store;
    use crate::store::conformance::store_conformance;

    fn cluster() -> (RedisCluster, Arc<dyn Store>) {
        let cluster = RedisCluster::start();
        let urls = cluster.urls();
        let seeds: Vec<&str> = urls.iter().map(String::as_str).collect();
        let store = RedisStore::cluster(&seeds, 2, "test:").unwrap();
        (cluster, Arc::new(store))
    }

    store_conformance!(cluster());

    /// A write lands on whichever node holds its slot; the notice reaches a subscriber
    /// connected to another seed (a cluster `PUBLISH` goes to every node).
    #[tokio::test]
    async fn a_write_is_heard_through_any_seed() {
        let cluster = RedisCluster::start();
        let urls = cluster.urls();
        let writer = RedisStore::cluster(&[urls[0].as_str()], 2, "test:").unwrap();
        let reader = RedisStore::cluster(&[urls[2].as_str()], 2, "test:").unwrap();
        let mut rx = reader.subscribe().expect("Redis shares its changes");
        let within = std::time::Duration::from_secs(5);
        let first = crate::model::TxnId::random();
        let mut version = 1;
        super::write_until_heard(&writer, &mut rx, first, &mut version, within).await;
        // Subscribed now: each new transaction (on slots all over the cluster) is heard.
        for _ in 0..10 {
            let id = crate::model::TxnId::random();
            let purge = crate::store::conformance::later();
            writer.save(&super::txn_at(id, 1), purge).await.unwrap();
            loop {
                let change = tokio::time::timeout(within, rx.recv())
                    .await
                    .unwrap()
                    .unwrap();
                if change.id == id {
                    assert_eq!(change.version, 1);
                    break;
                }
                assert_eq!(
                    change.id, first,
                    "only the first transaction's late notices"
                );
            }
        }
    }

    /// Keys of one user, device, token and transaction spread over the nodes, and a user id
    /// with braces stays one user.
    #[tokio::test]
    async fn a_user_id_with_braces_is_one_user_on_one_slot() {
        let (_cluster, store) = cluster();
        let mut d =
            crate::store::conformance::device_for_tests("D{1}", "al}{ice", "acme", Some("t{"));
        store.save_device(&d).await.unwrap();
        d.version = 2;
        d.push_token = Some("t}".into());
        store.save_device_sole_push(&d).await.unwrap();
        assert_eq!(
            store.user_devices("al}{ice").await.unwrap(),
            vec![d.clone()]
        );
        assert!(store.user_devices("al").await.unwrap().is_empty());
        assert_eq!(store.get_device("D{1}").await.unwrap(), Some(d.clone()));
        assert_eq!(store.delete_device("D{1}").await.unwrap(), Some(d));
    }
}

#[tokio::test]
async fn an_unreachable_redis_is_unavailable_not_a_panic() {
    let mut server = RedisServer::start();
    let url = server.url();
    server.stop();
    let store = RedisStore::new(&url, 2, "test:").unwrap();
    assert!(matches!(
        store.ping().await,
        Err(crate::store::StoreError::Unavailable(_))
    ));
    assert!(matches!(
        store.get_device("D1").await,
        Err(crate::store::StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn keys_live_under_the_prefix() {
    let (server, store) = redis();
    store.put_server_key_if_absent("shared", "k").await.unwrap();
    let other = RedisStore::new(&server.url(), 2, "other:").unwrap();
    assert!(other.get_server_key("shared").await.unwrap().is_none());
}

#[tokio::test]
async fn a_redis_that_accepts_but_never_answers_is_unavailable_within_a_second_or_so() {
    // The kernel completes the connection; nothing ever reads or answers on it.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}", silent.local_addr().unwrap());
    let store = RedisStore::new(&url, 2, "test:").unwrap();
    for _ in 0..2 {
        let began = tokio::time::Instant::now();
        assert!(matches!(
            store.get_device("D1").await,
            Err(crate::store::StoreError::Unavailable(_))
        ));
        let took = began.elapsed();
        assert!(took < std::time::Duration::from_millis(1_500), "{took:?}");
    }
    assert!(store.ping().await.is_err());
}

/// Redis going away and coming back on the same address: calls fail as `Unavailable` meanwhile;
/// afterwards the health check's `ping` (the engine's, once a second) answers within a few tries
/// and then every connection of the store serves again, with no new store.
#[tokio::test]
async fn the_store_serves_again_when_redis_comes_back() {
    const POOL: u32 = 8;
    let mut server = RedisServer::start();
    let store = RedisStore::new(&server.url(), POOL, "test:").unwrap();
    store.ping().await.unwrap();
    server.stop();
    for _ in 0..POOL {
        assert!(matches!(
            store.get_server_key("k").await,
            Err(crate::store::StoreError::Unavailable(_))
        ));
    }
    assert!(store.ping().await.is_err());
    server.restart();
    let mut pings = 0;
    while store.ping().await.is_err() {
        pings += 1;
        assert!(pings < 6, "Redis is back, the store's ping is not");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    // Every connection, round-robin, without a retry.
    for _ in 0..2 * POOL {
        store.put_server_key_if_absent("k", "v").await.unwrap();
    }
    assert_eq!(
        store.get_server_key("k").await.unwrap().as_deref(),
        Some("v")
    );
}

/// A transaction at `version`, as the engine writes it.
fn txn_at(id: crate::model::TxnId, version: u64) -> Arc<crate::model::Transaction> {
    let mut t = crate::test_util::txn(crate::model::Method::Sms);
    t.id = id;
    t.version = version;
    Arc::new(t)
}

/// Writes versions of `id` through `store` (from `*version` on) until `rx` hears one, within
/// `within`: after an outage the subscription comes back a moment after the store does, and a
/// write in between is not replayed (best effort, by contract).
async fn write_until_heard(
    store: &RedisStore,
    rx: &mut tokio::sync::mpsc::Receiver<crate::store::Change>,
    id: crate::model::TxnId,
    version: &mut u64,
    within: std::time::Duration,
) -> crate::store::Change {
    let purge = crate::store::conformance::later();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "no change heard");
        if store.save(&txn_at(id, *version), purge).await.is_ok() {
            *version += 1;
        }
        match tokio::time::timeout(std::time::Duration::from_millis(200), rx.recv()).await {
            Ok(Some(change)) => return change,
            Ok(None) => panic!("the subscription ended"),
            Err(_) => {}
        }
    }
}

#[tokio::test]
async fn a_write_through_one_store_is_heard_by_another_and_again_after_a_redis_restart() {
    let mut server = RedisServer::start();
    let writer = RedisStore::new(&server.url(), 2, "test:").unwrap();
    let reader = RedisStore::new(&server.url(), 2, "test:").unwrap();
    let mut rx = reader.subscribe().expect("Redis shares its changes");
    // The subscription is made in the background: the first write may come before it.
    let id = crate::model::TxnId::random();
    let mut version = 1;
    let within = std::time::Duration::from_secs(5);
    let heard = write_until_heard(&writer, &mut rx, id, &mut version, within).await;
    assert_eq!(heard.id, id);
    assert!(heard.version >= 1 && heard.version < version);

    // Once subscribed, the next write is heard with its version.
    let next = version;
    writer
        .save(&txn_at(id, next), crate::store::conformance::later())
        .await
        .unwrap();
    loop {
        let change = tokio::time::timeout(within, rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(change.id, id);
        if change.version == next {
            break;
        }
        // A late notice of a write made while subscribing.
        assert!(change.version < next, "{change:?}");
    }

    // A refused write announces nothing.
    assert!(
        writer
            .save(&txn_at(id, next), crate::store::conformance::later())
            .await
            .is_err()
    );
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(300), rx.recv())
            .await
            .is_err()
    );

    server.restart(); // empty again: the transaction starts over at version 1
    let other = crate::model::TxnId::random();
    let mut v = 1;
    let heard = write_until_heard(&writer, &mut rx, other, &mut v, within).await;
    assert_eq!(heard.id, other);
}

#[tokio::test]
async fn the_subscription_ends_when_its_receiver_is_dropped() {
    let server = RedisServer::start();
    let store = RedisStore::new(&server.url(), 1, "test:").unwrap();
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let subscribers = |conn: &mut redis::aio::MultiplexedConnection| {
        let mut conn = conn.clone();
        async move {
            let (_, n): (String, i64) = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg("test:changes")
                .query_async(&mut conn)
                .await
                .unwrap();
            n
        }
    };
    let rx = store.subscribe().unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while subscribers(&mut conn).await != 1 {
        assert!(tokio::time::Instant::now() < deadline, "never subscribed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    drop(rx);
    while subscribers(&mut conn).await != 0 {
        assert!(tokio::time::Instant::now() < deadline, "still subscribed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The token index entry is claimed apart from the device write (they live on different
/// slots): an entry left by a writer that died is taken over, one whose claim still runs is not.
#[tokio::test]
async fn a_token_left_by_a_dead_writer_is_taken_over_and_a_running_claim_is_respected() {
    let server = RedisServer::start();
    let store = RedisStore::new(&server.url(), 1, "test:").unwrap();
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let device = crate::store::conformance::device_for_tests;

    // A permanent entry naming a device that does not exist: the writer died after its claim
    // was confirmed and the device went, or the like.
    let () = redis::cmd("SET")
        .arg("test:{tok:left}")
        .arg("ghost")
        .query_async(&mut conn)
        .await
        .unwrap();
    store
        .save_device(&device("D1", "alice", "acme", Some("left")))
        .await
        .unwrap();
    let holder: String = redis::cmd("GET")
        .arg("test:{tok:left}")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(holder, "D1");
    let ttl: i64 = redis::cmd("PTTL")
        .arg("test:{tok:left}")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(ttl, -1, "a written device's claim is permanent");

    // Another writer's claim in flight (it expires if that writer dies).
    let () = redis::cmd("SET")
        .arg("test:{tok:busy}")
        .arg("other")
        .arg("PX")
        .arg(10_000)
        .query_async(&mut conn)
        .await
        .unwrap();
    let taken = store
        .save_device(&device("D2", "bob", "acme", Some("busy")))
        .await;
    assert!(
        matches!(taken, Err(crate::store::StoreError::PushTokenTaken)),
        "{taken:?}"
    );
    assert!(store.get_device("D2").await.unwrap().is_none());

    // A refused write gives back the claim it made.
    let mut stale = device("D1", "alice", "acme", Some("fresh"));
    stale.version = 5;
    assert!(store.save_device(&stale).await.is_err());
    let fresh: Option<String> = redis::cmd("GET")
        .arg("test:{tok:fresh}")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(fresh, None);
}

/// `LPUSH` calls so far, from `INFO commandstats`.
async fn lpush_calls(conn: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("cmdstat_lpush:calls="))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

/// Events emitted close together are written a batch at a time, in order (the list newest
/// first), and `flush` — what shutdown calls — returns only once every queued one is in Redis.
#[tokio::test]
async fn audit_events_are_written_in_batches_and_flush_leaves_none_queued() {
    let server = RedisServer::start();
    let store = RedisStore::new(&server.url(), 2, "test:").unwrap();
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let before = lpush_calls(&mut conn).await;
    const N: usize = 300;
    for i in 0..N {
        let mut e =
            crate::model::Event::new(crate::model::EventName::PushAuthCallbackSent, i as u64);
        e.user_id = Some(format!("u{i}"));
        store.append_event(&e).await.unwrap();
    }
    store.flush().await.unwrap();
    // Read straight from Redis, not through `events` (which flushes by itself).
    let stored: Vec<String> = redis::cmd("LRANGE")
        .arg("test:{ev}")
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(stored.len(), N);
    let newest: crate::model::Event = serde_json::from_str(&stored[0]).unwrap();
    let oldest: crate::model::Event = serde_json::from_str(&stored[N - 1]).unwrap();
    assert_eq!(newest.user_id.as_deref(), Some("u299"));
    assert_eq!(oldest.user_id.as_deref(), Some("u0"));
    let writes = lpush_calls(&mut conn).await - before;
    assert!(writes <= 10, "{N} events took {writes} writes");

    // A query sees an event appended just before it, without a flush of the caller's.
    let mut last = crate::model::Event::new(crate::model::EventName::PushAuthCallbackSent, 1_000);
    last.user_id = Some("latest".into());
    store.append_event(&last).await.unwrap();
    let query = crate::model::EventQuery {
        limit: 1,
        ..Default::default()
    };
    let got = store.events(&query).await.unwrap();
    assert_eq!(got[0].user_id.as_deref(), Some("latest"));
}
