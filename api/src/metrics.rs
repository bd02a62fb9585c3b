//! Prometheus: the process-wide recorder behind the `metrics` facade, rendered at `/metrics`.
//! Every metric is the engine's `telemetry` catalogue's: the engine records transactions,
//! outbound services, devices and the store; this crate records HTTP requests and connections
//! through the same helpers.

use std::time::Duration;

use http::StatusCode;
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use tessera_engine::telemetry;

/// How often histograms are drained so memory stays bounded between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Builds our recorder without installing it, every metric described (tests install it
/// thread-locally with `metrics::set_default_local_recorder`).
pub fn recorder() -> Result<PrometheusRecorder, String> {
    let recorder = builder()?.build_recorder();
    metrics::with_local_recorder(&recorder, telemetry::describe);
    Ok(recorder)
}

/// Installs the process-wide recorder, describes every metric and starts its upkeep thread.
/// Call once, before the engine launches, and hand the returned handle to [`crate::start`].
pub fn install() -> Result<PrometheusHandle, String> {
    let handle = builder()?.install_recorder().map_err(|e| e.to_string())?;
    telemetry::describe();
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

/// Every histogram gets the buckets the catalogue chose for it.
fn builder() -> Result<PrometheusBuilder, String> {
    telemetry::BUCKETS
        .iter()
        .try_fold(PrometheusBuilder::new(), |builder, (name, buckets)| {
            builder.set_buckets_for_metric(Matcher::Full((*name).to_owned()), buckets)
        })
        .map_err(|e| e.to_string())
}

/// Counts one answered request. `route` is a template, never a concrete path, to keep the
/// label set small.
pub(crate) fn record_request(route: &'static str, status: StatusCode, elapsed: Duration) {
    telemetry::http_request(route, status.as_u16(), elapsed);
}
