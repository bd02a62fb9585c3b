//! `/metrics` after real flows over a real socket: an SMS login whose first gateway fails and
//! whose portal callback fails once, a push login with a wrong PIN first, enrollments, a
//! revocation and a long-poll. Each expected series is asserted with its labels and value, and
//! the whole text is checked against the catalogue (names, labels, allowed values, `# HELP`,
//! `# TYPE`). The label-cardinality check is in `cardinality.rs`.

use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use tessera_engine::telemetry::exposition;
use tessera_engine::{Engine, EngineOptions};
use tessera_testkit::callback::CallbackFake;
use tessera_testkit::conf::array;
use tessera_testkit::sms::SmsHookFake;
use tessera_testkit::{DEADLINE, eventually};

use crate::device_client::{DeviceClient, EnrollParams, Platform};
use crate::test_util::*;
use crate::wire::StartParams;
use crate::{ManagementClient, PortalClient};

mod cardinality;

struct World {
    base: String,
    portal: PortalClient,
    helpdesk: ManagementClient,
    metrics: PrometheusHandle,
    /// The first SMS gateway: always answers 500.
    down: SmsHookFake,
    /// The second: takes every message.
    hook: SmsHookFake,
    callback: CallbackFake,
    _engine: Engine,
}

impl World {
    async fn launch(metrics: PrometheusHandle) -> Self {
        let (down, hook, callback) = (
            SmsHookFake::start().await,
            SmsHookFake::start().await,
            CallbackFake::start().await,
        );
        down.fail_always(500);
        let mut extra = devices();
        extra += &array(
            "sms_gateways",
            &[down.gateway("down"), hook.gateway("hook")],
        );
        extra += "[sms]\ngateways = [\"down\", \"hook\"]\n";
        extra += &array("callback_configs", &[callback.config()]);
        extra += "[callbacks]\ntimeout = \"5s\"\nmax_tries = 3\ninitial_backoff = \"10ms\"\n";
        let engine = Engine::launch(
            config("", &extra),
            EngineOptions {
                shards: 1,
                in_place: true,
            },
        )
        .unwrap();
        let info = crate::start(engine.clone(), Some(metrics.clone()))
            .unwrap()
            .info;
        let base = format!("http://{}", info.addr);
        World {
            portal: PortalClient::new(&base, "portal", "portal-secret-0123456789abcdef"),
            helpdesk: ManagementClient::new(&base, "helpdesk", "helpdesk-secret-0123456789abcdef"),
            base,
            metrics,
            down,
            hook,
            callback,
            _engine: engine,
        }
    }

    /// A phone of `acme` for `user`, push-enrolled, with PIN `1234`.
    async fn phone(&self, user: &str) -> DeviceClient {
        let code = self.helpdesk.enrollment_code(user).await.unwrap();
        let params = EnrollParams::new(code.enrollment_code, "acme", "1.0", Platform::Ios, "Phone");
        let mut phone = DeviceClient::enroll(&self.base, &params).await.unwrap();
        phone.push_enroll("apns-token-0001").await.unwrap();
        phone.register_pin("1234").await.unwrap();
        phone
    }

    /// Waits until the rendered text has `line` exactly.
    async fn until_line(&self, line: &str) {
        eventually(DEADLINE, line, || {
            let found = self.metrics.render().lines().any(|l| l == line);
            async move { found.then_some(()) }
        })
        .await;
    }

    /// `GET /metrics` over the socket, as Prometheus scrapes it.
    async fn scrape(&self) -> String {
        let resp = reqwest::get(format!("{}/metrics", self.base))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.text().await.unwrap()
    }
}

#[track_caller]
fn assert_lines(text: &str, lines: &[&str]) {
    let missing: Vec<&&str> = lines
        .iter()
        .filter(|line| !text.lines().any(|l| l == **line))
        .collect();
    assert!(missing.is_empty(), "missing {missing:#?} in\n{text}");
}

#[actix_rt::test]
async fn a_mixed_run_renders_every_series_it_touched_as_the_catalogue_says() {
    let recorder = crate::metrics::recorder().unwrap();
    let _guard = ::metrics::set_default_local_recorder(&recorder);
    let w = World::launch(recorder.handle()).await;

    // SMS: the first gateway fails, the second takes the code; the portal long-polls while
    // the user types it; the callback fails once, then goes through.
    w.callback.fail_first(1, 500);
    let params = StartParams {
        user_id: Some("alice".into()),
        phone_number: Some(PHONE.into()),
        callback_uri: Some(w.callback.url()),
        ..StartParams::new("sms")
    };
    let id = w.portal.start(&params).await.unwrap().transaction_id;
    let code = w.hook.wait_for_messages(1).await[0]
        .verification_code
        .clone();
    assert_eq!(w.down.requests().len(), 1);
    w.until_line(r#"tessera_transactions_active{type="sms",state="code_sent"} 1"#)
        .await;
    let poll = {
        let (portal, id) = (w.portal.clone(), id.clone());
        actix_rt::spawn(async move { portal.result(&id, Some(Duration::from_secs(30))).await })
    };
    w.until_line("tessera_long_poll_waiters 1").await;
    w.portal.verify_sms("alice", &id, &code).await.unwrap();
    assert_eq!(poll.await.unwrap().unwrap().status, "accepted");
    w.until_line("tessera_long_poll_waiters 0").await;
    w.callback.wait_for(2).await;
    w.until_line(r#"tessera_callbacks_total{result="sent"} 1"#)
        .await;

    // Push with PIN: a wrong PIN first (counted), then the right one.
    let phone = w.phone("bob").await;
    let started = w
        .portal
        .start(&StartParams {
            user_id: Some("bob".into()),
            ..StartParams::new("push_pin")
        })
        .await
        .unwrap();
    let push_id = started.transaction_id;
    let wrong = phone.answer_with_pin(&push_id, "9999", true).await;
    assert_eq!(wrong.unwrap_err().status(), Some(403));
    phone.answer_with_pin(&push_id, "1234", true).await.unwrap();

    // An enrollment with a spent code fails; the helpdesk deletes Bob's phone.
    let params = EnrollParams::new("AAAA-BBBB-CCCC", "acme", "1.0", Platform::Ios, "Nope");
    assert!(DeviceClient::enroll(&w.base, &params).await.is_err());
    w.helpdesk
        .delete_device("bob", phone.device_id())
        .await
        .unwrap();

    let text = w.scrape().await;
    assert_eq!(
        exposition::problems(&text),
        Vec::<String>::new(),
        "\n{text}"
    );
    assert_lines(
        &text,
        &[
            // transactions
            r#"tessera_transactions_started_total{type="sms",method="sms"} 1"#,
            r#"tessera_transactions_started_total{type="push_pin",method="push_with_pin"} 1"#,
            r#"tessera_transactions_finished_total{type="sms",method="sms",outcome="accepted"} 1"#,
            r#"tessera_transactions_finished_total{type="push_pin",method="push_with_pin",outcome="accepted"} 1"#,
            r#"tessera_transaction_duration_seconds_count{type="sms",outcome="accepted"} 1"#,
            r#"tessera_transaction_duration_seconds_bucket{type="sms",outcome="accepted",le="600"} 1"#,
            r#"tessera_transactions_active{type="sms",state="code_sent"} 0"#,
            // outbound
            r#"tessera_sms_sent_total{gateway="down",result="failed"} 1"#,
            r#"tessera_sms_sent_total{gateway="hook",result="sent"} 1"#,
            r#"tessera_sms_send_duration_seconds_count{gateway="down"} 1"#,
            r#"tessera_sms_send_duration_seconds_count{gateway="hook"} 1"#,
            r#"tessera_push_sent_total{provider="log-ios",result="accepted"} 1"#,
            r#"tessera_push_send_duration_seconds_count{provider="log-ios"} 1"#,
            r#"tessera_callbacks_total{result="failed"} 1"#,
            r#"tessera_callbacks_total{result="retried"} 1"#,
            r#"tessera_callbacks_total{result="sent"} 1"#,
            "tessera_callback_duration_seconds_count 2",
            // devices
            r#"tessera_enrollments_total{result="ok"} 1"#,
            r#"tessera_enrollments_total{result="failed"} 1"#,
            r#"tessera_push_enrollments_total{result="ok"} 1"#,
            r#"tessera_authenticator_failures_total{method="pin"} 1"#,
            r#"tessera_revocations_total{what="device"} 1"#,
            // HTTP, by surface and route template
            r#"tessera_http_requests_total{surface="portal",route="/oauth/api/v4/authenticate/user",status="200"} 2"#,
            r#"tessera_http_requests_total{surface="portal",route="/oauth/api/v4/authenticate/transaction/{id}",status="200"} 1"#,
            r#"tessera_http_requests_total{surface="users",route="/oauth/api/v4/users/{user_id}/enrollment-codes",status="201"} 1"#,
            r#"tessera_http_requests_total{surface="users",route="/oauth/api/v4/users/{user_id}/devices/{device_id}",status="204"} 1"#,
            r#"tessera_http_requests_total{surface="device",route="/device/v1/transactions/{id}/answer",status="403"} 1"#,
            r#"tessera_http_requests_total{surface="device",route="/device/v1/transactions/{id}/answer",status="200"} 1"#,
            r#"tessera_http_request_duration_seconds_count{surface="device",route="/device/v1/enrollments"} 2"#,
            "tessera_long_poll_waiters 0",
            // store and process
            "tessera_store_up 1",
            r#"tessera_store_errors_total{op="save"} 0"#,
            &format!(
                r#"tessera_build_info{{version="{}",store="memory"}} 1"#,
                env!("CARGO_PKG_VERSION")
            ),
            r#"tessera_events_total{event="SMS AUTH AUTHENTICATED"} 1"#,
            r#"tessera_events_total{event="PUSH AUTH AUTHENTICATED"} 1"#,
        ],
    );
    // The scrape's own connection is open while it is answered.
    let open = exposition::samples(&text)
        .into_iter()
        .find(|s| s.name == "tessera_connections_open")
        .expect("the connection gauge");
    assert!(open.value >= 1.0, "{open:?}");
    for s in exposition::samples(&text) {
        if s.name == "tessera_store_operation_duration_seconds_count" {
            assert!(s.value >= 1.0, "{s:?}");
        }
    }
}
