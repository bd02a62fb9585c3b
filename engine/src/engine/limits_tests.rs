//! The abuse limits where the engine enforces them: push starts per user and the fraud mute at
//! the start, the SMS limits and policy at every send — including a fallback later in the
//! transaction, which cannot answer anyone and fails the transaction, saying why — with their
//! metrics.

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusBuilder;
use tessera_config::{Config, PushEnrollmentMode, Rate, RateLimits};

use super::device_tests::{self, answer, phone, start_req, status};
use super::*;
use crate::limits::{Limit, Refused};
use crate::model::{EventName, EventQuery, Method, Reason, Status};
use crate::{AnswerBody, StartRequest};

/// Every limit off but what `set` turns on.
fn limits(set: impl FnOnce(&mut RateLimits)) -> RateLimits {
    let mut l = crate::test_util::no_limits();
    set(&mut l);
    l
}

/// The device tests' world (types `push` → `sms` at start, `late` → `sms` after 20 s) with
/// `limits`.
fn engine(limits: RateLimits) -> Engine {
    let mut cfg: Config = device_tests::config(PushEnrollmentMode::SingleDevice);
    cfg.rate_limits = limits;
    Engine::launch_with_sms(
        cfg,
        EngineOptions {
            shards: 1,
            in_place: true,
        },
        Vec::new(),
        crate::test_util::outbox(),
    )
    .expect("engine")
}

fn to(phone: &str, mut req: StartRequest) -> StartRequest {
    req.phone_number = Some(phone.into());
    req
}

async fn events_of(engine: &Engine, id: TxnId) -> Vec<crate::model::Event> {
    let query = EventQuery {
        transaction_id: Some(id),
        limit: 50,
        ..Default::default()
    };
    engine.query_events(&query).await.unwrap()
}

#[actix_rt::test]
async fn push_starts_are_capped_per_user_and_counted() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _guard = metrics::set_default_local_recorder(&recorder);
    tokio::time::pause();
    let engine = engine(limits(|l| {
        l.push_starts_per_user = Rate::new(2, Duration::from_secs(60));
    }));
    let _p = phone(&engine, "alice").await;
    for _ in 0..2 {
        engine.start(start_req("pin", "alice")).await.unwrap();
    }
    let refused = engine.start(start_req("pin", "alice")).await;
    match refused {
        Err(Error::Limited(Refused::Limited { limit, retry_after })) => {
            assert_eq!(limit, Limit::PushStartsPerUser);
            // One start comes back every 30 s.
            assert!(retry_after <= Duration::from_secs(30), "{retry_after:?}");
        }
        other => panic!("{other:?}"),
    }
    // Refused before anything existed: no transaction is pending beyond the two.
    assert_eq!(engine.active().await, 2);
    // A start that falls back to SMS at start (bob has no device) counts for bob.
    for _ in 0..2 {
        let started = engine.start(start_req("push", "bob")).await.unwrap();
        assert_eq!(started.txn.method, Method::Sms);
    }
    assert!(matches!(
        engine.start(start_req("push", "bob")).await,
        Err(Error::Limited(_))
    ));
    // The bucket refills: one more start 30 s later.
    tokio::time::sleep(Duration::from_secs(30)).await;
    engine.start(start_req("pin", "alice")).await.unwrap();
    let text = handle.render();
    assert!(
        text.lines()
            .any(|l| l == r#"tessera_rate_limited_total{limit="push_starts_per_user"} 2"#),
        "{text}"
    );
}

#[actix_rt::test]
async fn a_fraud_report_mutes_the_users_push_starts_and_is_counted() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _guard = metrics::set_default_local_recorder(&recorder);
    tokio::time::pause();
    let engine = engine(limits(|l| l.fraud_mute = Duration::from_secs(600)));
    let p = phone(&engine, "alice").await;
    let id = engine
        .start(start_req("push", "alice"))
        .await
        .unwrap()
        .txn
        .id;
    let fraud = AnswerBody {
        accepted: false,
        reject_reason: Some("fraud".into()),
        ..Default::default()
    };
    assert_eq!(answer(&engine, &p, id, &fraud).await, Ok(false));
    assert_eq!(
        status(&engine, id).await,
        (Status::Rejected, Some(Reason::FraudReported), Method::Push)
    );
    // Muted: even the push type that would fall back to SMS is refused, for the mute's length.
    for ty in ["push", "pin"] {
        match engine.start(start_req(ty, "alice")).await {
            Err(Error::Limited(Refused::FraudMuted { retry_after })) => {
                assert_eq!(retry_after, Duration::from_secs(600));
            }
            other => panic!("{ty}: {other:?}"),
        }
    }
    // SMS starts and other users are not muted.
    engine.start(start_req("sms", "alice")).await.unwrap();
    engine.start(start_req("push", "bob")).await.unwrap();
    // A late replay of the answer on the finished transaction is refused and mutes nothing
    // anew (the mute keeps its end).
    tokio::time::sleep(Duration::from_secs(300)).await;
    assert!(answer(&engine, &p, id, &fraud).await.is_err());
    tokio::time::sleep(Duration::from_secs(301)).await;
    engine.start(start_req("pin", "alice")).await.unwrap();

    tokio::time::sleep(Duration::from_millis(10)).await;
    let names: Vec<String> = events_of(&engine, id)
        .await
        .into_iter()
        .map(|e| e.event_name)
        .collect();
    assert!(
        names.contains(&EventName::PushAuthFraudReported.as_str().to_owned()),
        "{names:?}"
    );
    let text = handle.render();
    for line in [
        "tessera_fraud_reports_total 1",
        r#"tessera_rate_limited_total{limit="fraud_mute"} 2"#,
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
    }
}

#[actix_rt::test]
async fn sms_starts_are_capped_per_number_and_prefix_before_anything_exists() {
    tokio::time::pause();
    let engine = engine(limits(|l| {
        l.sms_per_phone = Rate::new(1, Duration::from_secs(600));
        l.sms_per_prefix = Rate::new(2, Duration::from_secs(3600));
    }));
    let first = engine
        .start(to("+31612000001", start_req("sms", "alice")))
        .await
        .unwrap();
    assert!(crate::test_util::was_sent(first.txn.id));
    match engine
        .start(to("+31612000001", start_req("sms", "bob")))
        .await
    {
        Err(Error::Limited(Refused::Limited { limit, .. })) => {
            assert_eq!(limit, Limit::SmsPerPhone)
        }
        other => panic!("{other:?}"),
    }
    // The number's refusal took nothing from its prefix: one more number of +31612 fits.
    engine
        .start(to("+31612000002", start_req("sms", "bob")))
        .await
        .unwrap();
    match engine
        .start(to("+31612000003", start_req("sms", "carol")))
        .await
    {
        Err(Error::Limited(Refused::Limited { limit, .. })) => {
            assert_eq!(limit, Limit::SmsPerPrefix)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        engine.active().await,
        2,
        "refused starts leave nothing behind"
    );
}

#[actix_rt::test]
async fn a_later_fallback_over_the_numbers_limit_fails_and_says_why() {
    tokio::time::pause();
    let engine = engine(limits(|l| {
        l.sms_per_phone = Rate::new(1, Duration::from_secs(600));
    }));
    let _p = phone(&engine, "alice").await;
    // `late` pushes first; its SMS fallback is due after 20 s. Meanwhile an SMS start uses up
    // the number's budget.
    let id = engine
        .start(start_req("late", "alice"))
        .await
        .unwrap()
        .txn
        .id;
    let sms = engine.start(start_req("sms", "bob")).await.unwrap().txn.id;
    assert!(crate::test_util::was_sent(sms));
    tokio::time::sleep(Duration::from_secs(21)).await;
    assert_eq!(
        status(&engine, id).await,
        (Status::Failed, Some(Reason::FailedToSend), Method::Sms)
    );
    assert!(!crate::test_util::was_sent(id), "nothing was sent");
    let events = events_of(&engine, id).await;
    let failure = events
        .iter()
        .find(|e| e.event_name == EventName::SmsAuthInitFailure.as_str())
        .unwrap_or_else(|| panic!("no SMS AUTH INIT FAILURE in {events:?}"));
    let detail = failure.detail.as_deref().unwrap_or_default();
    assert!(detail.contains("rate_limits.sms_per_phone"), "{detail}");
    assert!(!detail.contains("+31"), "no number in events: {detail}");
}

#[actix_rt::test]
async fn a_later_fallback_outside_the_sms_policy_fails_and_says_why() {
    tokio::time::pause();
    let engine = engine(limits(|_| {}));
    let _p = phone(&engine, "alice").await;
    let id = engine
        .start(start_req("late", "alice"))
        .await
        .unwrap()
        .txn
        .id;
    // The policy changes while the push waits (a node restarted with another file takes the
    // transaction over): the fallback is checked against the policy in force when it is sent.
    let mut cfg = (*engine.config()).clone();
    cfg.sms_policy.denied_prefixes = vec!["+316".into()];
    *engine.inner.svc.config.write() = Arc::new(cfg);
    tokio::time::sleep(Duration::from_secs(21)).await;
    assert_eq!(
        status(&engine, id).await,
        (Status::Failed, Some(Reason::FailedToSend), Method::Sms)
    );
    assert!(!crate::test_util::was_sent(id), "nothing was sent");
    let events = events_of(&engine, id).await;
    let failure = events
        .iter()
        .find(|e| e.event_name == EventName::SmsAuthInitFailure.as_str())
        .unwrap_or_else(|| panic!("no SMS AUTH INIT FAILURE in {events:?}"));
    let detail = failure.detail.as_deref().unwrap_or_default();
    assert!(detail.contains("[sms_policy]"), "{detail}");
    assert!(!detail.contains("+316"), "not even the prefix: {detail}");
    // A start to such a number is refused up front now.
    assert!(matches!(
        engine.start(start_req("sms", "alice")).await,
        Err(Error::PhoneNotAllowed(_))
    ));
}

#[actix_rt::test]
async fn a_later_fallback_within_the_limits_is_sent_once_and_counted() {
    tokio::time::pause();
    let engine = engine(limits(|l| {
        l.sms_per_phone = Rate::new(2, Duration::from_secs(600));
    }));
    let _p = phone(&engine, "alice").await;
    let id = engine
        .start(start_req("late", "alice"))
        .await
        .unwrap()
        .txn
        .id;
    tokio::time::sleep(Duration::from_secs(21)).await;
    assert_eq!(
        status(&engine, id).await,
        (Status::Pending, None, Method::Sms)
    );
    let code = crate::test_util::sent_code(id);
    // The fallback took one of the number's two: one start fits, the next does not.
    engine.start(start_req("sms", "bob")).await.unwrap();
    assert!(matches!(
        engine.start(start_req("sms", "carol")).await,
        Err(Error::Limited(_))
    ));
    engine.verify_sms("alice", id, &code).await.unwrap();
}
