//! Live settings on real engines: one on a memory store, and two sharing one store as nodes
//! share a Redis (the e2e suite runs the same over Redis with two processes).

use std::sync::Arc;
use std::time::Duration;

use tessera_config::{CallbackConfig, Config};

use super::*;
use crate::model::EventQuery;
use crate::store::{MemoryStore, Store};
use crate::test_util::{outbox, sms_request, sms_type};
use crate::{Clock, EngineOptions};

fn config() -> Config {
    let mut cfg = Config {
        mobile_auth_types: vec![sms_type("sms")],
        ..Config::default()
    };
    cfg.general.supported_locales = vec!["en".into(), "nl".into()];
    cfg.store.hash_key = "settings-tests-hash-key-0123456789abcdef".into();
    cfg.server.listen = "127.0.0.1:0".parse().unwrap();
    tessera_config::validate(&cfg).expect("the test config is valid");
    cfg
}

fn engine_on(store: Arc<dyn Store>) -> Engine {
    Engine::launch_on(
        config(),
        EngineOptions {
            shards: 1,
            in_place: false,
        },
        Some(store),
        Vec::new(),
        outbox(),
    )
    .expect("engine")
}

fn callback(url: &str) -> CallbackConfig {
    CallbackConfig {
        url: url.into(),
        username: "portal".into(),
        password: "callback-password-0123".into(),
        ..Default::default()
    }
}

fn set_ttl(secs: u64) -> impl FnMut(&mut Config) -> Result<(), ()> {
    move |cfg: &mut Config| {
        cfg.mobile_auth_types[0].time_to_live = Duration::from_secs(secs);
        Ok(())
    }
}

#[actix_rt::test]
async fn a_change_is_stored_with_sealed_secrets_and_used_by_the_next_start() {
    let store = Arc::new(MemoryStore::new());
    let engine = engine_on(store.clone());
    let before = engine.start(sms_request()).await.unwrap().txn;
    engine
        .change_config(|cfg: &mut Config| {
            cfg.mobile_auth_types[0].time_to_live = Duration::from_secs(42);
            cfg.callback_configs
                .push(callback("https://portal.example/cb"));
            Ok::<_, ()>(())
        })
        .await
        .unwrap();
    let after = engine.start(sms_request()).await.unwrap().txn;
    assert_eq!(after.deadline - after.created_at, 42_000);
    // The running one keeps the settings it started with.
    let running = engine.result(before.id, None).await.unwrap();
    assert_eq!(running.deadline - running.created_at, 300_000);
    let doc = store.config_doc().await.unwrap().expect("stored");
    assert_eq!(doc.version, 1);
    let text = String::from_utf8(doc.bytes).unwrap();
    assert!(text.contains("https://portal.example/cb"));
    assert!(!text.contains("callback-password-0123"), "sealed at rest");
}

#[actix_rt::test]
async fn a_change_breaking_a_rule_changes_nothing() {
    let store = Arc::new(MemoryStore::new());
    let engine = engine_on(store.clone());
    let refused = engine
        .change_config(|cfg: &mut Config| {
            cfg.mobile_auth_types[0].fallback = "nope".into();
            cfg.general.max_message_length = 0;
            Ok::<_, ()>(())
        })
        .await;
    let Err(ChangeError::Invalid(problems)) = refused else {
        panic!("expected the config file's validation to refuse it: {refused:?}");
    };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert!(
        paths.contains(&"mobile_auth_types[0].fallback"),
        "{paths:?}"
    );
    assert!(paths.contains(&"general.max_message_length"), "{paths:?}");
    assert_eq!(store.config_doc().await.unwrap(), None);
    assert_eq!(engine.config().general.max_message_length, 155);
    // The caller's own refusal passes through untouched.
    let mine = engine
        .change_config(|_: &mut Config| Err::<(), _>("not found"))
        .await;
    assert!(matches!(mine, Err(ChangeError::Refused("not found"))));
}

#[actix_rt::test]
async fn a_push_config_whose_key_cannot_be_read_is_a_problem_at_its_path() {
    let engine = engine_on(Arc::new(MemoryStore::new()));
    let refused = engine
        .change_config(|cfg: &mut Config| {
            cfg.push_configs.push(tessera_config::PushConfig {
                id: "apns".into(),
                platform: tessera_config::Platform::Ios,
                kind: tessera_config::PushKind::Apns,
                team_id: "T".into(),
                key_id: "K".into(),
                key_file: "/nonexistent/key.p8".into(),
                ..Default::default()
            });
            Ok::<_, ()>(())
        })
        .await;
    let Err(ChangeError::Invalid(problems)) = refused else {
        panic!("expected a problem: {refused:?}");
    };
    assert_eq!(problems[0].path, "push_configs[0].key_file");
    assert!(engine.config().push_configs.is_empty());
}

#[actix_rt::test]
async fn the_other_node_polls_the_change_and_concurrent_changes_are_all_kept() {
    let store = Arc::new(MemoryStore::shared(Clock::new()));
    let (a, b) = (engine_on(store.clone()), engine_on(store.clone()));
    a.change_config(set_ttl(77)).await.unwrap();
    let until = tokio::time::Instant::now() + Duration::from_secs(3);
    while b.config().mobile_auth_types[0].time_to_live != Duration::from_secs(77) {
        assert!(
            tokio::time::Instant::now() < until,
            "b never saw a's change"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let txn = b.start(sms_request()).await.unwrap().txn;
    assert_eq!(txn.deadline - txn.created_at, 77_000);
    // Both nodes write at once: versioned writes re-apply the loser's change, none is lost.
    let writes = (0..6).map(|i| {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        tokio::spawn(async move {
            node.change_config(move |cfg: &mut Config| {
                cfg.callback_configs
                    .push(callback(&format!("https://portal.example/{i}")));
                Ok::<_, ()>(())
            })
            .await
        })
    });
    for w in futures::future::join_all(writes).await {
        w.unwrap().unwrap();
    }
    let doc = store.config_doc().await.unwrap().unwrap();
    assert_eq!(doc.version, 7);
    let key = a.settings().svc.code_key.clone();
    let stored = Managed::decode(&doc.bytes, &key)
        .unwrap()
        .apply_to(&config());
    assert_eq!(stored.callback_configs.len(), 6);
    assert_eq!(
        stored.mobile_auth_types[0].time_to_live,
        Duration::from_secs(77)
    );
    assert_eq!(
        stored.callback_configs[0].password,
        "callback-password-0123"
    );
}

#[actix_rt::test]
async fn a_node_starting_on_a_store_with_a_document_adopts_it() {
    let store = Arc::new(MemoryStore::new());
    let a = engine_on(store.clone());
    a.change_config(set_ttl(33)).await.unwrap();
    a.admin_event(
        EventName::AdminConfigurationChanged,
        "ops",
        "mobile-auth-types/sms updated".into(),
    )
    .await;
    // A later process with the same file: the store's document wins.
    let b = engine_on(store.clone());
    assert_eq!(
        b.config().mobile_auth_types[0].time_to_live,
        Duration::from_secs(300)
    );
    b.recover().await.unwrap();
    assert_eq!(
        b.config().mobile_auth_types[0].time_to_live,
        Duration::from_secs(33)
    );
    let events = store
        .events(&EventQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let e = &events[0];
    assert_eq!(e.event_name, "ADMIN CONFIGURATION CHANGED");
    assert_eq!(e.event_type, "ADMINISTRATION");
    assert_eq!(e.client_id.as_deref(), Some("ops"));
    assert_eq!(e.detail.as_deref(), Some("mobile-auth-types/sms updated"));
}

#[actix_rt::test]
async fn a_node_with_another_hash_key_keeps_its_settings_and_refuses_to_change_them() {
    let store = Arc::new(MemoryStore::new());
    let a = engine_on(store.clone());
    a.change_config(|cfg: &mut Config| {
        cfg.callback_configs
            .push(callback("https://portal.example/cb"));
        Ok::<_, ()>(())
    })
    .await
    .unwrap();
    let mut other = config();
    other.store.hash_key = "another-hash-key-0123456789abcdef0123".into();
    let b = Engine::launch_on(
        other,
        EngineOptions {
            shards: 1,
            in_place: false,
        },
        Some(store.clone() as Arc<dyn Store>),
        Vec::new(),
        outbox(),
    )
    .unwrap();
    // The document does not unseal here: b runs its file and says why in its log.
    assert!(!b.sync_config().await.unwrap());
    assert_eq!(
        b.config().mobile_auth_types[0].time_to_live,
        Duration::from_secs(300)
    );
    let refused = b.change_config(set_ttl(66)).await;
    let Err(ChangeError::Invalid(problems)) = refused else {
        panic!("expected a refusal: {refused:?}");
    };
    assert_eq!(problems[0].path, "config document");
    assert_eq!(
        store.config_doc_version().await.unwrap(),
        1,
        "nothing written"
    );
}
