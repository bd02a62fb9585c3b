//! `tessera loadtest --embedded`: the binary, not the harness, starts the engine in-process —
//! the harness speaks HTTP only and does not link the engine. A complete engine and its API on
//! 127.0.0.1:0, configured by the text `tessera_loadtest::engine_config` generates (wired to
//! the harness's sinks), in its own actix `System` on a thread named
//! [`tessera_loadtest::target::ENGINE_THREAD`], so the harness can tell its threads' CPU time
//! from the engine's.

use std::sync::OnceLock;
use std::thread::JoinHandle;

use metrics_exporter_prometheus::PrometheusHandle;
use tessera_engine::{Engine, EngineOptions};
use tessera_loadtest::target::ENGINE_THREAD;
use tessera_loadtest::{Embedded, EngineConfig, engine_config};

/// Starts the engine for `c` (a [`tessera_loadtest::StartEngine`]); it runs until the returned
/// [`Embedded`] is dropped.
pub fn start(c: &EngineConfig) -> Result<Embedded, String> {
    let config = tessera_config::load_str(&engine_config(c), &|_| None)
        .map_err(|e| format!("generated config refused:\n{e}"))?;
    let options = EngineOptions {
        shards: c.workers,
        in_place: false,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(ENGINE_THREAD.into())
        .spawn(move || {
            let runner = actix_rt::System::new();
            let started = runner.block_on(async move {
                // The recorder first: the engine records from its launch on.
                let metrics = metrics();
                let engine = Engine::launch(config, options).map_err(|e| e.to_string())?;
                tessera_api::start(engine, metrics)
                    .map(|running| running.info.addr)
                    .map_err(|e| format!("binding the API: {e}"))
            });
            let running = started.is_ok();
            let _ = tx.send(started.map(|addr| (addr, actix_rt::System::current())));
            if running {
                let _ = runner.run();
            }
        })
        .map_err(|e| format!("cannot spawn the engine thread: {e}"))?;
    let (addr, system) = rx
        .recv()
        .map_err(|_| "the engine thread died while starting".to_owned())??;
    Ok(Embedded {
        url: format!("http://{addr}"),
        guard: Box::new(EngineThread {
            system,
            thread: Some(thread),
        }),
    })
}

/// The engine's `System` and thread: dropping it stops the one and joins the other.
struct EngineThread {
    system: actix_rt::System,
    thread: Option<JoinHandle<()>>,
}

impl Drop for EngineThread {
    fn drop(&mut self) {
        self.system.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The Prometheus recorder is process-wide: installed by the first embedded engine, shared by
/// the next (as `tessera serve` records metrics, so does the engine measured here).
fn metrics() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| tessera_api::metrics::install().ok())
        .clone()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_generated_config_loads() {
        let c = EngineConfig {
            client_id: "loadtest".into(),
            client_secret: "0123456789abcdef0123456789abcdef".into(),
            app_id: "loadtest".into(),
            sms_url: "http://127.0.0.1:9/sms".into(),
            fcm_url: "http://127.0.0.1:9/fcm".into(),
            hold_ttl: Duration::from_secs(90),
            workers: 2,
            listen: "127.0.0.1:0".into(),
            push_starts_per_user: "12/1s".into(),
            limits_checked: false,
            context_mmdb: None,
        };
        let config = tessera_config::load_str(&engine_config(&c), &|_| None).unwrap();
        for name in ["sms", "push", "push_with_pin", "otp", "hold"] {
            assert!(config.mobile_auth_type(name).is_some(), "{name}");
        }
        assert_eq!(
            config.mobile_auth_type("hold").unwrap().time_to_live,
            Duration::from_secs(90)
        );
        // One address, one client, one number prefix: every limit off but the push cap given.
        let limits = &config.rate_limits;
        assert_eq!(
            limits.push_starts_per_user,
            tessera_config::Rate::new(12, Duration::from_secs(1))
        );
        for off in [
            limits.per_client,
            limits.sms_per_phone,
            limits.sms_per_prefix,
            limits.device_per_ip,
            limits.credential_failures_per_ip,
        ] {
            assert!(off.is_off(), "{off}");
        }
        assert!(limits.fraud_mute.is_zero());

        assert!(!config.geolocation.enabled);

        // `--context`: geolocation on, the mmdb provider on the given database.
        let context = EngineConfig {
            context_mmdb: Some(tessera_loadtest::context::GEOLITE2_TEST_DB.into()),
            ..c.clone()
        };
        let config = tessera_config::load_str(&engine_config(&context), &|_| None).unwrap();
        assert!(config.geolocation.enabled);
        assert_eq!(
            config.geolocation.provider,
            tessera_config::GeoProvider::Mmdb
        );
        assert_eq!(
            config.geolocation.mmdb_path,
            tessera_loadtest::context::GEOLITE2_TEST_DB
        );

        // `--limits-checked`: every limit on, at a ceiling no run reaches.
        let checked = EngineConfig {
            limits_checked: true,
            ..c
        };
        let config = tessera_config::load_str(&engine_config(&checked), &|_| None).unwrap();
        let ceiling = tessera_config::Rate::new(1_000_000, Duration::from_secs(1));
        let limits = &config.rate_limits;
        for on in [
            limits.per_client,
            limits.sms_per_phone,
            limits.sms_per_prefix,
            limits.device_per_ip,
            limits.credential_failures_per_ip,
        ] {
            assert_eq!(on, ceiling);
        }
    }
}
