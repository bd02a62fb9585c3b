//! Callback delivery against a loopback portal: wire format, retries, timeouts, metrics.
//! Real time with 10 ms backoffs: the fake is a real socket, which paused time does not mix with.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tessera_config::{CallbackConfig, Config};
use tokio::sync::broadcast;

use super::*;
use crate::model::Event;
use crate::store::MemoryStore;
use tessera_testkit::http::{LoopbackServer, Reply};

const SECRET: &str = "whsec-test";

pub(super) struct Harness {
    pub dispatcher: CallbackDispatcher,
    pub store: Arc<MemoryStore>,
    events: broadcast::Receiver<Arc<Event>>,
}

pub(super) fn config(portal: &LoopbackServer, max_tries: u32) -> Config {
    let mut cfg = Config::default();
    cfg.callbacks.initial_backoff = Duration::from_millis(10);
    cfg.callbacks.max_tries = max_tries;
    cfg.callbacks.timeout = Duration::from_millis(300);
    cfg.callback_configs = vec![CallbackConfig {
        url: portal.url("/cb"),
        username: "portal".into(),
        password: "portal-pass".into(),
        signing_secret: SECRET.into(),
        ..CallbackConfig::default()
    }];
    cfg
}

pub(super) fn harness(cfg: &Config, capacity: usize) -> Harness {
    let store = Arc::new(MemoryStore::new());
    let sink = EventSink::new(store.clone());
    let events = sink.subscribe();
    let http = crate::outbound::http::client(&cfg.proxy, Duration::from_secs(5)).unwrap();
    let dispatcher =
        CallbackDispatcher::with_capacity(cfg, http, store.clone(), sink, Clock::new(), capacity);
    Harness {
        dispatcher,
        store,
        events,
    }
}

pub(super) fn job(uri: String) -> CallbackJob {
    CallbackJob {
        transaction_id: TxnId::random(),
        callback_uri: uri,
        user_id: Some("alice".into()),
        client_id: Some("portal".into()),
    }
}

impl Harness {
    /// The next `n` events (waits up to 10 s for each).
    pub async fn next_events(&mut self, n: usize) -> Vec<Arc<Event>> {
        let mut out = Vec::new();
        for _ in 0..n {
            let e = tokio::time::timeout(Duration::from_secs(10), self.events.recv()).await;
            out.push(e.expect("event in time").expect("event"));
        }
        out
    }

    pub async fn next_names(&mut self, n: usize) -> Vec<EventName> {
        let events = self.next_events(n).await;
        events
            .iter()
            .filter_map(|e| EventName::parse(&e.event_name))
            .collect()
    }
}

#[tokio::test]
async fn posts_the_body_with_basic_auth_idempotency_key_and_signature() {
    let portal = LoopbackServer::start(|_, _| Reply::status(200)).await;
    let mut h = harness(&config(&portal, 6), 10);
    let job = job(portal.url("/cb"));
    h.dispatcher.dispatch(job.clone());
    let sent = h.next_events(1).await;
    assert_eq!(sent[0].event_name, EventName::PushAuthCallbackSent.as_str());
    assert_eq!(sent[0].transaction_id, Some(job.transaction_id));
    assert_eq!(sent[0].user_id.as_deref(), Some("alice"));
    assert_eq!(sent[0].client_id.as_deref(), Some("portal"));

    let req = &portal.requests()[0];
    let txn = job.transaction_id.to_string();
    assert_eq!((req.method.as_str(), req.uri.as_str()), ("POST", "/cb"));
    let expected = format!(
        r#"{{"callback_uri":"{}","transaction_id":"{txn}"}}"#,
        job.callback_uri
    );
    assert_eq!(req.body, expected.as_bytes());
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(
        req.basic_auth(),
        Some(("portal".into(), "portal-pass".into()))
    );
    assert_eq!(req.header("idempotency-key"), Some(txn.as_str()));

    // Verify the signature the way a portal would.
    let header = req.header("tessera-signature").expect("signed");
    let (t, v1) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .expect("t=..,v1=..");
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&req.body);
    mac.verify_slice(&hex::decode(v1).unwrap())
        .expect("signature verifies");
    let now_s = Clock::new().now() / 1000;
    assert!(now_s.abs_diff(t.parse().unwrap()) <= 5, "timestamp is now");
}

#[tokio::test]
async fn unlisted_uri_gets_no_credentials_or_signature() {
    let portal = LoopbackServer::start(|_, _| Reply::status(204)).await;
    let mut h = harness(&config(&portal, 6), 10);
    // Exact match only: a different path is another callback config.
    h.dispatcher.dispatch(job(portal.url("/cb/other")));
    assert_eq!(h.next_names(1).await, [EventName::PushAuthCallbackSent]);
    let req = &portal.requests()[0];
    assert_eq!(req.header("authorization"), None);
    assert_eq!(req.header("tessera-signature"), None);
}

#[tokio::test]
async fn retries_with_the_same_idempotency_key_until_success() {
    let portal = LoopbackServer::start(|_, n| {
        if n < 2 {
            Reply::status(500)
        } else {
            Reply::status(200)
        }
    })
    .await;
    let mut h = harness(&config(&portal, 6), 10);
    h.dispatcher.dispatch(job(portal.url("/cb")));
    use EventName::*;
    assert_eq!(
        h.next_names(3).await,
        [
            PushAuthCallbackFailed,
            PushAuthCallbackFailed,
            PushAuthCallbackSent
        ]
    );
    let seen = portal.wait_for(3).await;
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter()
            .all(|r| r.header("idempotency-key") == seen[0].header("idempotency-key"))
    );
}

#[tokio::test]
async fn a_timeout_is_a_failed_try() {
    let portal = LoopbackServer::start(|_, n| {
        let reply = Reply::status(200);
        if n == 0 {
            reply.after(Duration::from_secs(2))
        } else {
            reply
        }
    })
    .await;
    let mut h = harness(&config(&portal, 6), 10);
    h.dispatcher.dispatch(job(portal.url("/cb")));
    use EventName::*;
    assert_eq!(
        h.next_names(2).await,
        [PushAuthCallbackFailed, PushAuthCallbackSent]
    );
}

#[tokio::test]
async fn counts_results() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _guard = metrics::set_default_local_recorder(&recorder);
    let portal = LoopbackServer::start(|_, n| {
        if n < 1 {
            Reply::status(500)
        } else {
            Reply::status(200)
        }
    })
    .await;
    let mut h = harness(&config(&portal, 6), 10);
    h.dispatcher.dispatch(job(portal.url("/cb")));
    h.next_events(2).await;
    let text = handle.render();
    assert!(
        text.contains(r#"tessera_callbacks_total{result="failed"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"tessera_callbacks_total{result="sent"} 1"#),
        "{text}"
    );
    // The second try was a retry; both requests were timed.
    assert!(
        text.contains(r#"tessera_callbacks_total{result="retried"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("tessera_callback_duration_seconds_count 2"),
        "{text}"
    );
}

#[tokio::test]
async fn the_signature_time_is_the_wall_clock_not_the_engine_clock() {
    // An engine clock anchored long ago (think months of uptime and a stepped host clock).
    let portal = LoopbackServer::start(|_, _| Reply::status(200)).await;
    let cfg = config(&portal, 6);
    let store = Arc::new(MemoryStore::new());
    let sink = EventSink::new(store.clone());
    let mut events = sink.subscribe();
    let http = crate::outbound::http::client(&cfg.proxy, Duration::from_secs(5)).unwrap();
    let skewed = Clock::starting_at(1_000_000_000_000);
    let dispatcher = CallbackDispatcher::with_capacity(&cfg, http, store, sink, skewed, 10);
    dispatcher.dispatch(job(portal.url("/cb")));
    tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("sent in time")
        .expect("event");
    let header = portal.requests()[0]
        .header("tessera-signature")
        .expect("signed")
        .to_owned();
    let t: u64 = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(','))
        .and_then(|(t, _)| t.parse().ok())
        .expect("t=<seconds>");
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(wall.abs_diff(t) <= 5, "t={t}, wall clock {wall}");
}
