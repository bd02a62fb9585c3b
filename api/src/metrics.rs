//! Prometheus: the process-wide recorder behind the `metrics` facade (the engine records
//! transactions, SMS, callbacks; this crate records HTTP requests), rendered at `/metrics`.

use std::time::Duration;

use http::StatusCode;
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

/// Metric names live in one place, the engine's `telemetry`.
pub use tessera_engine::telemetry::{HTTP_DURATION, HTTP_REQUESTS};

/// Histogram buckets for every `*_seconds` metric: sub-millisecond HTTP answers up to
/// transactions that live for minutes (long-polls run to 60 s).
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 120.0, 300.0, 600.0,
];

/// How often histograms are drained so memory stays bounded between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Builds our recorder without installing it (tests install it thread-locally with
/// `metrics::set_default_local_recorder`).
pub fn recorder() -> Result<PrometheusRecorder, String> {
    Ok(builder()?.build_recorder())
}

/// Installs the process-wide recorder and starts its upkeep thread. Call once, before the
/// engine launches, and hand the returned handle to [`crate::start`].
pub fn install() -> Result<PrometheusHandle, String> {
    let handle = builder()?.install_recorder().map_err(|e| e.to_string())?;
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            }
        })
        .map_err(|e| format!("cannot start the metrics upkeep thread: {e}"))?;
    Ok(handle)
}

fn builder() -> Result<PrometheusBuilder, String> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
        .map_err(|e| e.to_string())
}

/// Counts one answered request. `route` is a template, never a concrete path, to keep the
/// label set small.
pub(crate) fn record_request(route: &'static str, status: StatusCode, elapsed: Duration) {
    ::metrics::counter!(HTTP_REQUESTS, "route" => route, "status" => status_label(status))
        .increment(1);
    ::metrics::histogram!(HTTP_DURATION, "route" => route).record(elapsed.as_secs_f64());
}

/// The status as a label without an allocation for the codes Tessera answers.
fn status_label(status: StatusCode) -> ::metrics::SharedString {
    let known: &'static str = match status.as_u16() {
        200 => "200",
        201 => "201",
        204 => "204",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        409 => "409",
        410 => "410",
        413 => "413",
        415 => "415",
        429 => "429",
        500 => "500",
        503 => "503",
        other => return other.to_string().into(),
    };
    known.into()
}
