//! Tessera's load harness (`tessera loadtest`): simulated portals and devices drive an engine —
//! started in this process by the caller (`--embedded`) or running elsewhere (`--target`) —
//! through its public HTTP API only, the way real ones would: devices enroll with real OpenPGP
//! keys and a PIN, decrypt and verify what they fetch, sign and encrypt their answers; portals
//! start transactions, verify the SMS codes the harness's gateway sinks captured, and long-poll
//! for outcomes.
//!
//! Arrivals are open-loop on a fixed schedule and every flow is timed from its *intended* start,
//! so an engine that falls behind cannot hide its latency (coordinated omission); a concurrency
//! cap turns excess arrivals into counted `dropped` errors instead of a silent queue. Latencies
//! go into HDR histograms per named step; the report is a table, optionally JSON (`--json`) and
//! a comparison with an earlier run (`--compare`). `bare` measures the machine's HTTP ceiling
//! (`GET /health/live`) the same way, so flows can be quoted as ratios of it; `--find-max` looks
//! for the highest sustainable rate; `hold` measures memory per pending transaction and how
//! punctually they expire.
//!
//! # Layout
//! - [`args`]: the command line.
//! - `session`: one invocation — world set-up, scenarios in turn, reports.
//! - [`context`]: `--context`, the requester context push starts carry.
//! - [`flows`]: the flows (`bare`, `sms`, `push`, `push_with_pin`, `otp`) and what they share.
//! - `schedule`: open-loop arrivals, the concurrency cap, warm-up; `progress`: the live line.
//! - [`find_max`], [`hold`]: the two scenarios that are more than one fixed-rate drive;
//!   [`bomber`]: the attacker beside the `push` flows of `push_bomb`.
//! - [`sinks`] and `mailbox`: the REST SMS and FCM endpoints the engine sends to.
//! - [`target`]: the engine under test as the harness reaches it (URL, credentials), and the
//!   config that wires an engine to the sinks; `--embedded` gets its engine from the caller.
//! - [`stats`], [`report`], [`compare`]: histograms, the report, comparisons.
//! - [`procfs`]: the engine's memory and CPU time.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

pub mod args;
pub mod bomber;
pub mod compare;
pub mod context;
pub mod error;
pub mod find_max;
pub mod flows;
pub mod hold;
mod mailbox;
pub mod procfs;
mod progress;
pub mod report;
mod schedule;
mod session;
pub mod sinks;
pub mod stats;
pub mod target;

use std::time::Duration;

pub use args::{Args, Scenario};
pub use error::{Error, Result};
pub use report::Report;
pub use target::{Embedded, EngineConfig, StartEngine, Target, engine_config};

use crate::procfs::EngineProcess;
use crate::sinks::Sinks;

/// Runs what `args` asks for and returns one report per scenario (none for `--print-config`).
/// `--embedded` asks `start_engine` for an engine wired to the sinks (the harness does not link
/// one). Blocks: the harness runs on its own tokio runtime (threads `lt-worker`).
pub fn run(args: Args, start_engine: StartEngine<'_>) -> Result<Vec<Report>> {
    check(&args)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.harness_threads())
        .thread_name("lt-worker")
        .enable_all()
        .build()?;
    let sinks = rt.block_on(Sinks::start(args.sink_listen))?;
    let mut config = EngineConfig::for_sinks(&sinks, args.client_secret.as_deref(), &args.app_id);
    config.client_id = args.client_id.clone();
    config.hold_ttl = args.hold_ttl;
    config.workers = args.engine_workers;
    config.push_starts_per_user = match &args.push_starts_per_user {
        Some(rate) => rate.clone(),
        None if args.scenario.contains(&Scenario::PushBomb) => {
            bomber::cap_for(args.rate, args.devices)
        }
        None => "0".into(),
    };
    config.limits_checked = args.limits_checked;
    config.context_mmdb = args
        .context
        .then(|| args.context_mmdb.display().to_string());

    if args.print_config {
        config.listen = "127.0.0.1:8080".into();
        print!("{}", engine_config(&config));
        return Ok(Vec::new());
    }
    let (embedded, target) = if args.embedded {
        let engine = start_engine(&config).map_err(Error::Engine)?;
        let target = Target {
            nodes: vec![engine.url.clone()],
            url: engine.url.clone(),
            client_id: config.client_id,
            client_secret: config.client_secret,
            app_id: config.app_id,
            process: EngineProcess::Embedded,
            label: "embedded".into(),
        };
        (Some(engine), target)
    } else {
        let nodes: Vec<String> = args
            .target
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty())
            .collect();
        let Some(url) = nodes.first().cloned() else {
            return Err(Error::Args("--target needs a URL".into()));
        };
        let client_secret = args
            .client_secret
            .clone()
            .ok_or_else(|| Error::Args("--target needs --client-secret".into()))?;
        eprintln!(
            "sinks: REST SMS hook {} and FCM legacy endpoint {} (server key `{}`); \
             `--print-config --sink-listen {}` prints an engine config using them",
            sinks.sms_url(),
            sinks.fcm_url(),
            sinks::FCM_SERVER_KEY,
            sinks.addr
        );
        let process = args
            .engine_pid
            .map_or(EngineProcess::Remote, EngineProcess::Pid);
        let target = Target {
            label: nodes.join(","),
            url,
            nodes,
            client_id: config.client_id,
            client_secret,
            app_id: config.app_id,
            process,
        };
        (None, target)
    };
    let result = rt.block_on(async move { tokio::spawn(session::run(args, target, sinks)).await });
    drop(embedded);
    rt.shutdown_timeout(Duration::from_secs(1));
    result.map_err(|e| Error::Setup(format!("the harness task failed: {e}")))?
}

fn check(args: &Args) -> Result<()> {
    let bad = |m: &str| Err(Error::Args(m.into()));
    if !(args.rate.is_finite() && args.rate > 0.0) {
        return bad("--rate must be above 0");
    }
    if args.duration.is_zero() {
        return bad("--duration must be above 0");
    }
    if args.concurrency == 0 {
        return bad("--concurrency must be at least 1");
    }
    if args.scenario.contains(&Scenario::PushBomb)
        && !(args.bomb_rate.is_finite() && args.bomb_rate > 0.0)
    {
        return bad("--bomb-rate must be above 0");
    }
    if args.find_max && args.step_factor <= 1.0 {
        return bad("--step-factor must be above 1");
    }
    if args.scenario.contains(&Scenario::Hold) && (args.count == 0 || args.sample > args.count) {
        return bad("hold needs --count above 0 and --sample at most --count");
    }
    if args.devices == 0 {
        return bad("--devices must be at least 1");
    }
    Ok(())
}
