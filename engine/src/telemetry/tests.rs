use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};

use super::exposition::{metric_of, problems, samples};
use super::server::status_label;
use super::*;
use crate::model::{FineState, Method, Status};

/// A recorder built like the API's: every histogram with its buckets, every metric described.
fn recorder() -> PrometheusRecorder {
    let builder = BUCKETS
        .iter()
        .try_fold(PrometheusBuilder::new(), |b, (name, buckets)| {
            b.set_buckets_for_metric(Matcher::Full((*name).to_owned()), buckets)
        })
        .unwrap();
    let recorder = builder.build_recorder();
    metrics::with_local_recorder(&recorder, describe);
    recorder
}

#[test]
fn every_histogram_has_increasing_buckets_and_only_histograms_do() {
    for m in CATALOGUE {
        let tables: Vec<_> = BUCKETS.iter().filter(|(n, _)| *n == m.name).collect();
        match m.kind {
            Kind::Histogram => assert_eq!(tables.len(), 1, "{}: one bucket table", m.name),
            _ => assert!(tables.is_empty(), "{}: not a histogram", m.name),
        }
    }
    for (name, buckets) in BUCKETS {
        assert!(buckets[0] > 0.0, "{name}");
        assert!(
            buckets.windows(2).all(|w| w[0] < w[1]),
            "{name}: increasing"
        );
    }
    // The families' ranges (see the tables): sub-millisecond to seconds, ms to the providers'
    // timeouts, 100 ms to 10 minutes.
    for (table, low, high) in [
        (HTTP_BUCKETS, 0.001, 60.0),
        (STORE_BUCKETS, 0.0001, 1.0),
        (OUTBOUND_BUCKETS, 0.01, 10.0),
        (TRANSACTION_BUCKETS, 0.1, 600.0),
    ] {
        assert!(
            table[0] <= low && *table.last().unwrap() >= high,
            "{table:?}"
        );
    }
}

#[test]
fn the_surface_follows_the_route_template() {
    for (route, surface) in [
        ("/oauth/api/v4/authenticate/user", "portal"),
        ("/oauth/api/v2/authenticate/transaction/{id}", "portal"),
        ("/oauth/api/v1/events", "portal"),
        ("/oauth/api/v3/users/{user_id}/devices", "users"),
        ("/device/v1/transactions/{id}/answer", "device"),
        ("/admin/v1/stats", "admin"),
        ("/admin/v1/api-clients/{id}", "admin"),
        ("/health/ready", "ops"),
        ("/metrics", "ops"),
        ("/openapi.yaml", "ops"),
        ("unmatched", "none"),
    ] {
        assert_eq!(super::surface(route), surface, "{route}");
    }
}

#[test]
fn status_labels_name_the_code() {
    assert_eq!(&*status_label(404), "404");
    assert_eq!(&*status_label(418), "418", "codes Tessera does not use too");
}

/// Every metric of the catalogue has a helper, and what the helpers record renders with
/// exactly the catalogue's names, labels, `# HELP` and `# TYPE`.
#[test]
fn every_catalogue_metric_is_recorded_by_its_helper_as_the_catalogue_says() {
    let recorder = recorder();
    let handle = recorder.handle();
    let _guard = metrics::set_default_local_recorder(&recorder);

    let ty = TypeMetrics::new("sms");
    ty.started(Method::Sms);
    ty.active(FineState::CodeSent, 1.0);
    ty.finished(Method::Sms, Status::Accepted, Duration::from_secs(3));
    fallback("delivery_failure");
    SmsGatewayMetrics::new("twilio").send(false, Duration::from_millis(40));
    let push = PushMetrics::new("fcm");
    push.request(Duration::from_millis(30));
    push.retry();
    push.result(PushResult::Accepted);
    provider_token_refresh("fcm", true);
    callback(CallbackResult::Retried);
    callback_request(Duration::from_millis(20));
    dead_letters(2);
    enrollment(true);
    push_enrollment(false);
    revocation(Revoked::Authenticator);
    authenticator_failure("pin");
    http_request("/device/v1/otp", 400, Duration::from_micros(300));
    let open = connection_open();
    connection_closed("idle");
    let waiting = long_poll_waiting();
    mailbox_rejected();
    rate_limited("start_per_client");
    fraud_report();
    geolocation_lookup("http", "timeout");
    StoreOp::new("get").record(Duration::from_micros(40), true);
    store_up(false);
    build_info("memory");
    event(crate::model::EventName::SmsAuthAuthenticated.as_str());

    let text = handle.render();
    assert_eq!(problems(&text), Vec::<String>::new(), "\n{text}");
    let mut missing: Vec<&str> = CATALOGUE.iter().map(|m| m.name).collect();
    for s in samples(&text) {
        let name = metric_of(&s.name).map(|m| m.name);
        missing.retain(|m| Some(*m) != name);
    }
    assert_eq!(missing, Vec::<&str>::new(), "\n{text}");

    let lines = [
        r#"tessera_connections_open 1"#,
        r#"tessera_long_poll_waiters 1"#,
        r#"tessera_store_up 0"#,
        r#"tessera_dead_letters 2"#,
        r#"tessera_store_errors_total{op="get"} 1"#,
        r#"tessera_http_requests_total{surface="device",route="/device/v1/otp",status="400"} 1"#,
        r#"tessera_transaction_duration_seconds_bucket{type="sms",outcome="accepted",le="2.5"} 0"#,
        r#"tessera_transaction_duration_seconds_bucket{type="sms",outcome="accepted",le="5"} 1"#,
    ];
    for line in lines {
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
    drop((open, waiting));
    let text = handle.render();
    for line in ["tessera_connections_open 0", "tessera_long_poll_waiters 0"] {
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
}

#[test]
fn the_checker_finds_what_breaks_the_contract() {
    let text = "\
# HELP tessera_sms_sent_total SMS send attempts, by gateway and result.
# TYPE tessera_sms_sent_total counter
tessera_sms_sent_total{gateway=\"a\",result=\"maybe\"} 1
tessera_sms_sent_total{result=\"sent\"} 1
tessera_http_requests_total{surface=\"portal\",route=\"/oauth/api/v4/authenticate/transaction/0b9a1f3e-5c1d-4a7e-9a57-3f5d1e2c4b6a\",status=\"200\"} 1
tessera_unknown_total 1
";
    let found = problems(text);
    for expected in [
        "tessera_sms_sent_total: result=\"maybe\" is not an allowed value",
        "tessera_sms_sent_total: labels [\"result\"], not [\"gateway\", \"result\"]",
        "tessera_unknown_total: not in the catalogue",
        "tessera_http_requests_total: no # HELP",
        "tessera_http_requests_total: no # TYPE counter",
    ] {
        assert!(
            found.iter().any(|p| p == expected),
            "{expected} in {found:#?}"
        );
    }
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("tessera_http_requests_total: route=")),
        "an id in a route: {found:#?}"
    );
}

#[test]
fn failure_series_start_at_zero_so_ratios_and_alerts_read_zero_before_the_first_failure() {
    let recorder = recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        zero_init();
        let _sms = SmsGatewayMetrics::new("twilio");
        let _push = PushMetrics::new("fcm");
    });
    let text = handle.render();
    for line in [
        r#"tessera_sms_sent_total{gateway="twilio",result="failed"} 0"#,
        r#"tessera_push_sent_total{provider="fcm",result="failed"} 0"#,
        r#"tessera_push_retries_total{provider="fcm"} 0"#,
        r#"tessera_provider_token_refreshes_total{provider="fcm",result="failed"} 0"#,
        r#"tessera_callbacks_total{result="dead_lettered"} 0"#,
        r#"tessera_fallbacks_total{trigger="delivery_failure"} 0"#,
        r#"tessera_authenticator_failures_total{method="pin"} 0"#,
        r#"tessera_revocations_total{what="device"} 0"#,
        r#"tessera_connections_closed_total{reason="idle"} 0"#,
        r#"tessera_mailbox_rejections_total 0"#,
        r#"tessera_rate_limited_total{limit="push_starts_per_user"} 0"#,
        r#"tessera_fraud_reports_total 0"#,
        r#"tessera_callback_duration_seconds_count 0"#,
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in:\n{text}"
        );
    }
    assert_eq!(problems(&text), Vec::<String>::new());
}
