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
