//! The collector's windows against explicit times (the injected clock): what falls inside the
//! last minute counts, what falls out of it does not.

use std::sync::Arc;
use std::time::Duration;

use super::ring::SecondRing;
use super::window::LatencyWindow;
use super::*;
use crate::model::FineState;

const T: u64 = 1_800_000_000_000; // epoch ms, a whole second

#[test]
fn the_ring_counts_per_second_and_forgets_after_a_minute() {
    let ring = SecondRing::default();
    let s = T / 1000;
    for _ in 0..3 {
        ring.record(s);
    }
    ring.record(s + 1);
    ring.record(s + 59);
    let view = ring.read(s + 59);
    assert_eq!(view.len(), 60);
    assert_eq!((view[0], view[1], view[59]), (3, 1, 1));
    assert_eq!(view.iter().sum::<u32>(), 5);
    // One second later the oldest second left the window.
    let view = ring.read(s + 60);
    assert_eq!((view[0], view[58]), (1, 1));
    assert_eq!(view.iter().sum::<u32>(), 2);
    // A new start in a reused slot starts its count over.
    ring.record(s + 60);
    assert_eq!(ring.read(s + 60)[59], 1);
    assert_eq!(ring.read(s + 200).iter().sum::<u32>(), 0);
}

#[test]
fn quantiles_cover_the_last_minute_only() {
    let w = LatencyWindow::default();
    assert_eq!(w.quantiles(T).count, 0);
    // 90 samples of 10 ms, 9 of 100 ms, 1 of 1 s.
    for i in 0..100u64 {
        let us = match i {
            0..90 => 10_000,
            90..99 => 100_000,
            _ => 1_000_000,
        };
        w.record(T + i * 100, us);
    }
    let q = w.quantiles(T + 10_000);
    assert_eq!(q.count, 100);
    let near = |got: f64, want: f64| (got - want).abs() / want < 0.07;
    assert!(near(q.p50_ms, 10.0), "{q:?}");
    assert!(near(q.p90_ms, 10.0), "{q:?}");
    assert!(near(q.p99_ms, 100.0), "{q:?}");
    // 70 s later every sample is out of the window; a new one stands alone.
    w.record(T + 70_000, 2_000);
    let q = w.quantiles(T + 70_000);
    assert_eq!(q.count, 1);
    assert!(near(q.p99_ms, 2.0), "{q:?}");
}

/// `/stats` and `/metrics` read the same recording: each assertion on the snapshot has its
/// Prometheus twin.
#[test]
fn the_collector_counts_starts_finishes_and_states() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _guard = metrics::set_default_local_recorder(&recorder);
    let c = Collector::new(T);
    let ty = c.type_counters("sms", "sms");
    assert!(Arc::ptr_eq(&ty, &c.type_counters("sms", "sms")));
    c.started(&ty, Method::Sms, T);
    c.started(&ty, Method::Sms, T + 1_000);
    let mut tracked = c.track(None, Some((FineState::Sending, ty.clone())));
    tracked = c.track(tracked, Some((FineState::CodeSent, ty.clone())));
    let other = c.track(None, Some((FineState::CodeSent, ty.clone())));
    c.start_latency(T, Duration::from_millis(3));

    let cfg = tessera_config::Config::default();
    let snap = c.snapshot("n1", &cfg, T + 1_500);
    let sms = snap.types.iter().find(|t| t.name == "sms").unwrap();
    assert_eq!((sms.started, sms.active), (2, 2));
    assert_eq!(sms.starts_per_second[58..], [1, 1]);
    assert_eq!(snap.active_by_state["code_sent"], 2);
    assert_eq!(snap.active_by_state["sending"], 0);
    assert_eq!(snap.start_latency.count, 1);
    assert_rendered(
        &handle.render(),
        &[
            r#"tessera_transactions_started_total{type="sms",method="sms"} 2"#,
            r#"tessera_transactions_active{type="sms",state="code_sent"} 2"#,
            r#"tessera_transactions_active{type="sms",state="sending"} 0"#,
        ],
    );

    c.finished(&ty, Method::Sms, Status::Accepted, 2_000, T + 2_000);
    assert!(c.track(tracked, None).is_none());
    c.finished(&ty, Method::Sms, Status::Expired, 60_000, T + 2_000);
    assert!(c.track(other, None).is_none());
    let snap = c.snapshot("n1", &cfg, T + 2_000);
    let sms = snap.types.iter().find(|t| t.name == "sms").unwrap();
    assert_eq!(sms.active, 0);
    assert_eq!((sms.finished["accepted"], sms.finished["expired"]), (1, 1));
    assert_eq!(snap.outcomes["accepted"], 1);
    assert_eq!(snap.active_by_state["code_sent"], 0);
    assert_eq!(snap.flow_latency.count, 2);
    assert_rendered(
        &handle.render(),
        &[
            r#"tessera_transactions_active{type="sms",state="code_sent"} 0"#,
            r#"tessera_transactions_finished_total{type="sms",method="sms",outcome="accepted"} 1"#,
            r#"tessera_transactions_finished_total{type="sms",method="sms",outcome="expired"} 1"#,
            r#"tessera_transaction_duration_seconds_sum{type="sms",outcome="accepted"} 2"#,
            r#"tessera_transaction_duration_seconds_sum{type="sms",outcome="expired"} 60"#,
        ],
    );
}

#[track_caller]
fn assert_rendered(text: &str, lines: &[&str]) {
    for line in lines {
        assert!(
            text.lines().any(|l| l == *line),
            "{line} missing in\n{text}"
        );
    }
}

#[test]
fn outbound_health_follows_the_last_try() {
    let c = Collector::new(T);
    c.sms.sent("twilio");
    c.sms.failed("twilio", "portal answered 500", T);
    let cfg = tessera_config::Config::default();
    let h = c.sms.health(&[("twilio".into(), "twilio".into())]);
    assert_eq!((h[0].sent, h[0].failed, h[0].healthy), (1, 1, false));
    assert_eq!(h[0].last_error.as_deref(), Some("portal answered 500"));
    c.sms.sent("twilio");
    assert!(
        c.snapshot("n", &cfg, T)
            .sms_gateways
            .iter()
            .any(|g| g.name == "twilio" && g.healthy)
    );
}
