//! The router's rules with in-process fakes: cool-down timing (paused time), last-resort tries,
//! metrics, the default sender id.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use super::tests::msg;
use super::*;

/// Records the order in which gateways were asked; fails while `failing` is set.
struct Fake {
    name: &'static str,
    failing: AtomicBool,
    log: CallLog,
}

#[async_trait]
impl SmsGateway for Fake {
    fn name(&self) -> &str {
        self.name
    }
    async fn send(&self, _: &SmsMessage) -> Result<(), String> {
        self.log.lock().push(self.name);
        if self.failing.load(Ordering::SeqCst) {
            Err("down".into())
        } else {
            Ok(())
        }
    }
}

/// Which gateway was asked, in order.
type CallLog = Arc<Mutex<Vec<&'static str>>>;

fn fakes(failing: [bool; 2]) -> (SmsRouter, [Arc<Fake>; 2], CallLog) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let make = |name, fail| {
        Arc::new(Fake {
            name,
            failing: AtomicBool::new(fail),
            log: log.clone(),
        })
    };
    let (a, b) = (make("a", failing[0]), make("b", failing[1]));
    let r = SmsRouter::new(
        vec![a.clone(), b.clone()],
        Duration::from_secs(30),
        Clock::new(),
    );
    (r, [a, b], log)
}

#[tokio::test(start_paused = true)]
async fn cooled_down_gateway_is_used_again_after_the_cooldown() {
    let (r, [a, _], log) = fakes([true, false]);
    assert_eq!(r.send(&msg()).await.unwrap().gateway, "b");
    a.failing.store(false, Ordering::SeqCst);

    tokio::time::advance(Duration::from_secs(29)).await;
    assert_eq!(
        r.send(&msg()).await.unwrap().gateway,
        "b",
        "still cooling down"
    );
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(r.send(&msg()).await.unwrap().gateway, "a", "cool-down over");
    assert_eq!(*log.lock(), ["a", "b", "b", "a"]);
}

#[tokio::test(start_paused = true)]
async fn cooling_gateways_are_still_tried_when_nothing_else_works() {
    let (r, [a, b], log) = fakes([true, true]);
    assert!(r.send(&msg()).await.is_err());
    // Both cooling: still asked, in order, instead of refusing without trying.
    assert!(r.send(&msg()).await.is_err());
    a.failing.store(false, Ordering::SeqCst);
    assert_eq!(r.send(&msg()).await.unwrap().gateway, "a");
    assert!(!r.is_cooling_down(0) && r.is_cooling_down(1));
    // b cooling, a healthy; a fails now, so b is the last resort.
    a.failing.store(true, Ordering::SeqCst);
    b.failing.store(false, Ordering::SeqCst);
    assert_eq!(r.send(&msg()).await.unwrap().gateway, "b");
    assert_eq!(*log.lock(), ["a", "b", "a", "b", "a", "a", "b"]);
}

#[tokio::test]
async fn counts_and_times_sent_and_failed_per_gateway() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _guard = metrics::set_default_local_recorder(&recorder);
    let (r, _, _) = fakes([true, false]);
    r.send(&msg()).await.unwrap();
    let text = handle.render();
    assert!(
        text.contains(r#"tessera_sms_sent_total{gateway="a",result="failed"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"tessera_sms_sent_total{gateway="b",result="sent"} 1"#),
        "{text}"
    );
    // Each gateway request is timed, the failed one too.
    for gateway in ["a", "b"] {
        let line = format!(r#"tessera_sms_send_duration_seconds_count{{gateway="{gateway}"}} 1"#);
        assert!(text.contains(&line), "{line} in\n{text}");
    }
}

#[tokio::test]
async fn no_gateways_is_all_failed() {
    let r = SmsRouter::new(Vec::new(), Duration::from_secs(30), Clock::new());
    assert!(matches!(r.send(&msg()).await, Err(SmsError::AllFailed(_))));
}

#[tokio::test]
async fn console_counts_and_default_sender_id_applies() {
    let console = Arc::new(ConsoleGateway::new("console"));
    let mut r = SmsRouter::new(vec![console.clone()], Duration::from_secs(30), Clock::new());
    r.default_sender_id = Some("ACME".into());
    r.send(&msg()).await.unwrap();
    assert_eq!(console.sent(), 1);
}
