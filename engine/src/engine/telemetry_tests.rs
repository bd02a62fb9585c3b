//! What the engine's background loops and routing record: a full shard mailbox (refused and
//! counted), the dead-letter gauge refreshed from the store, the store's health and the build.

use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tessera_config::{Config, StoreKind};
use tessera_testkit::callback::CallbackFake;
use tessera_testkit::{DEADLINE, eventually};

use super::*;
use crate::test_util::{outbox, sms_request, sms_type};
use crate::txn::shard::Lookup;

fn config() -> Config {
    let mut cfg = Config {
        mobile_auth_types: vec![sms_type("sms")],
        ..Config::default()
    };
    cfg.callbacks.max_tries = 1;
    cfg
}

fn engine(cfg: Config) -> Engine {
    let opts = EngineOptions {
        shards: 1,
        in_place: true,
    };
    Engine::launch_with_sms(cfg, opts, Vec::new(), outbox()).expect("engine")
}

/// Waits until the rendered text has `line` exactly.
async fn until_line(handle: &PrometheusHandle, line: &str) {
    eventually(DEADLINE, line, || {
        let found = handle.render().lines().any(|l| l == line);
        async move { found.then_some(()) }
    })
    .await;
}

/// The shard's address is shared by every request; once its mailbox is full, the next request
/// is refused at once (`Overloaded`, a `503`) and counted.
#[actix_rt::test]
async fn a_full_shard_mailbox_refuses_the_request_and_counts_it() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _guard = metrics::set_default_local_recorder(&recorder);
    let engine = engine(config());
    let id = engine.start(sms_request()).await.unwrap().txn.id;
    // Nothing yields until the request below: the shard reads none of these meanwhile.
    let mut queued = 0;
    loop {
        let (tx, _rx) = oneshot::channel();
        match engine.shard(id).try_send(Lookup { id, reply: tx }) {
            Ok(()) => queued += 1,
            Err(SendError::Full(_)) => break,
            Err(SendError::Closed(_)) => panic!("the shard stopped"),
        }
        assert!(queued <= crate::txn::shard::SHARD_MAILBOX, "bounded");
    }
    assert!(matches!(
        engine.result(id, Some(Duration::from_secs(1))).await,
        Err(Error::Overloaded)
    ));
    assert!(
        handle
            .render()
            .lines()
            .any(|l| l == "tessera_mailbox_rejections_total 1"),
        "{}",
        handle.render()
    );
    // The shard catches up and serves again.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(engine.result(id, None).await.unwrap().id, id);
}

/// A request the shard hands on ([`crate::txn::shard::Forward`]) to an actor whose own mailbox
/// is full comes back refused (`Overloaded`) and counted — not lost, not queued without bound.
/// Once the actor catches up the refused request is served when sent again.
#[actix_rt::test]
async fn a_full_transaction_mailbox_refuses_a_forwarded_request_and_counts_it() {
    use crate::txn::shard::{Bounce, Forward};
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _guard = metrics::set_default_local_recorder(&recorder);
    let engine = engine(config());
    let id = engine.start(sms_request()).await.unwrap().txn.id;
    // Requests for the actor, queued at the shard; nothing yields until the verify below, so
    // the shard hands them all on before the actor reads any.
    let mut bounces = Vec::new();
    for _ in 0..100 {
        let (reply, _) = oneshot::channel();
        let (bounce, bounced) = oneshot::channel();
        let make: crate::txn::shard::MakeRequest<_, _> =
            Box::new(|reply| crate::txn::actor::Peek { reply });
        engine
            .shard(id)
            .try_send(Forward {
                id,
                make,
                reply,
                bounce,
            })
            .unwrap_or_else(|_| panic!("the shard's mailbox has room"));
        bounces.push(bounced);
    }
    let code = crate::test_util::sent_code(id);
    let refused = engine.verify_sms("alice", id, &code).await;
    assert!(matches!(refused, Err(Error::Overloaded)), "{refused:?}");
    let full = bounces
        .iter_mut()
        .map(|b| b.try_recv())
        .filter(|b| matches!(b, Ok(Bounce::Full)))
        .count();
    // The actor's mailbox holds exactly its capacity; the rest came back, not queued.
    assert_eq!(
        full,
        100 - crate::txn::manager::TXN_MAILBOX,
        "refused of 100"
    );
    // Counted where a request is refused: the verify (the bare forwards have no caller).
    until_line(&handle, "tessera_mailbox_rejections_total 1").await;
    engine.verify_sms("alice", id, &code).await.unwrap();
    assert_eq!(
        engine.result(id, None).await.unwrap().status,
        crate::model::Status::Accepted
    );
}

#[actix_rt::test]
async fn the_dead_letter_gauge_follows_the_store() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _guard = metrics::set_default_local_recorder(&recorder);
    let portal = CallbackFake::start().await;
    portal.fail_always(500);
    let engine = engine(config());
    let mut req = sms_request();
    req.callback_uri = Some(portal.url());
    let id = engine.start(req).await.unwrap().txn.id;
    engine.cancel(id).await.unwrap();

    // Refreshed by the once-a-second stats loop.
    until_line(&handle, "tessera_dead_letters 1").await;
    until_line(
        &handle,
        r#"tessera_callbacks_total{result="dead_lettered"} 1"#,
    )
    .await;
    let letter = engine.dead_letters(10).await.unwrap().remove(0);
    portal.fail_first(0, 500);
    let replayed = engine
        .replay_dead_letter(letter.id.parse().unwrap())
        .await
        .unwrap();
    assert!(replayed.delivered);
    until_line(&handle, "tessera_dead_letters 0").await;
}

#[actix_rt::test]
async fn a_store_that_does_not_answer_shows_down_with_its_failed_pings() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _guard = metrics::set_default_local_recorder(&recorder);
    // Nothing listens on the port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = config();
    cfg.store.kind = StoreKind::Redis;
    cfg.store.redis_url = format!("redis://127.0.0.1:{port}");
    let engine = engine(cfg);
    let build = format!(
        r#"tessera_build_info{{version="{}",store="redis"}} 1"#,
        env!("CARGO_PKG_VERSION")
    );
    assert!(handle.render().lines().any(|l| l == build), "set at launch");
    until_line(&handle, "tessera_store_up 0").await;
    assert!(!engine.store_available());
    let pings = eventually(DEADLINE, "a failed ping counted", || {
        let text = handle.render();
        async move {
            crate::telemetry::exposition::samples(&text)
                .into_iter()
                .find(|s| s.name == "tessera_store_errors_total" && s.label("op") == Some("ping"))
                .filter(|s| s.value >= 1.0)
        }
    })
    .await;
    assert!(pings.value >= 1.0);
}
