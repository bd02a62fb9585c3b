//! One invocation: set up the simulated world against an engine, run each scenario in turn
//! (fixed rate, `--find-max`, or `hold`), print and save the reports.

use std::sync::Arc;
use std::time::Duration;

use tessera_api::{ManagementClient, PortalClient};

use crate::args::{Args, Scenario};
use crate::context::Requesters;
use crate::error::{Error, Result};
use crate::find_max::{self, Bounds};
use crate::flows::{FlowKind, Layout, World, enroll_devices};
use crate::hold::{self, Hold};
use crate::procfs::EngineProcess;
use crate::report::{self, Machine, Report, SinkCounts};
use crate::schedule::{Load, drive};
use crate::sinks::Sinks;
use crate::target::Target;
use crate::{bomber, compare, stats};

/// Longer than the longest long-poll the flows make (30 s), so `wait` never races the client.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(75);

pub async fn run(args: Args, target: Target, sinks: Arc<Sinks>) -> Result<Vec<Report>> {
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
        .map_err(|e| Error::Setup(format!("HTTP client: {e}")))?;
    let mut portals = Vec::with_capacity(target.nodes.len());
    for url in &target.nodes {
        let portal =
            PortalClient::with_http(http.clone(), url, &target.client_id, &target.client_secret);
        portal
            .live()
            .await
            .map_err(|e| Error::Setup(format!("{url} is not answering: {e}")))?;
        portals.push(portal);
    }
    let run_id = hex::encode(rand::random::<[u8; 3]>());

    // push_bomb's victim: a user whose phone is enrolled (so the attacker's starts are valid
    // pushes), apart from the devices the normal flows take turns on.
    let victim = if args.scenario.contains(&Scenario::PushBomb) {
        let management = ManagementClient::with_http(
            http.clone(),
            &target.url,
            &target.client_id,
            &target.client_secret,
        );
        let mut enrolled = enroll_devices(
            http.clone(),
            &target.nodes,
            &management,
            &format!("{run_id}-victim"),
            &target.app_id,
            1,
        )
        .await?;
        enrolled.pop().map(|d| d.user)
    } else {
        None
    };
    let devices = if needs_devices(&args) {
        if !args.quiet {
            eprintln!(
                "enrolling {} devices (OpenPGP keys, push, PIN)...",
                args.devices
            );
        }
        let management = ManagementClient::with_http(
            http.clone(),
            &target.url,
            &target.client_id,
            &target.client_secret,
        );
        enroll_devices(
            http.clone(),
            &target.nodes,
            &management,
            &run_id,
            &target.app_id,
            args.devices,
        )
        .await?
    } else {
        Vec::new()
    };
    let mut world = World::new(
        portals,
        sinks,
        devices,
        args.push_notify,
        args.flow_timeout,
        run_id,
    );
    world.unlock_per_answer = args.unlock_per_answer;
    world.victim = victim;
    world.context = args.context.then(Requesters::default);
    let world = Arc::new(world);

    let machine = Machine::this();
    let several = args.scenario.len() > 1;
    let mut reports: Vec<Report> = Vec::new();
    let mut bare_rate = None;
    for &scenario in &args.scenario {
        let sinks_before = world.sinks.counts();
        let mut r = match scenario {
            Scenario::Hold => run_hold(&world, &args, &target).await,
            _ => {
                let layout = Arc::new(layout_for(scenario, &args));
                if args.find_max {
                    let bounds = bounds(&args);
                    let (world, layout, args, target) = (&world, &layout, &args, &target);
                    let measure =
                        move |rate: f64| measure(world, layout, args, target, scenario, rate);
                    find_max::search(&bounds, args.rate, measure).await
                } else {
                    measure(&world, &layout, &args, &target, scenario, args.rate).await
                }
            }
        };
        r.machine = machine.clone();
        let sinks_now = world.sinks.counts();
        r.sinks = SinkCounts {
            sms: sinks_now.sms - sinks_before.sms,
            push: sinks_now.push - sinks_before.push,
            unclaimed: sinks_now.unclaimed - sinks_before.unclaimed,
        };
        match (scenario, bare_rate) {
            (Scenario::Bare, _) => bare_rate = Some(r.flows_per_s),
            (_, Some(bare)) if bare > 0.0 => r.bare_ratio = Some(r.flows_per_s / bare),
            _ => {}
        }
        println!("{}", r.table());
        if let Some(file) = &args.json {
            r.write_json(&report::path_for(file, scenario.name(), several))?;
        }
        if let Some(file) = &args.compare {
            match compare::against_file(&report::path_for(file, scenario.name(), several), &r) {
                Ok(text) => println!("{text}"),
                Err(e) => eprintln!("compare: {e}"),
            }
        }
        reports.push(r);
    }
    if several {
        println!("{}", report::summary(&reports));
    }
    Ok(reports)
}

fn needs_devices(args: &Args) -> bool {
    args.scenario.iter().any(|&s| match s {
        Scenario::Push | Scenario::PushWithPin | Scenario::PushBomb | Scenario::Otp => true,
        Scenario::Mixed => args.mix.0.iter().any(|(k, _)| k.needs_devices()),
        _ => false,
    })
}

fn layout_for(s: Scenario, args: &Args) -> Layout {
    match s {
        Scenario::Bare => Layout::single(FlowKind::Bare),
        Scenario::Sms => Layout::single(FlowKind::Sms),
        Scenario::Push | Scenario::PushBomb => Layout::single(FlowKind::Push),
        Scenario::PushWithPin => Layout::single(FlowKind::PushWithPin),
        Scenario::Otp => Layout::single(FlowKind::Otp),
        Scenario::Mixed | Scenario::Hold => Layout::mixed(&args.mix),
    }
}

fn bounds(args: &Args) -> Bounds {
    Bounds {
        max_p99_ms: args.max_p99_ms,
        max_error_rate: args.max_error_rate,
        p99_step: args.p99_step.clone(),
        factor: args.step_factor,
        refine: args.refine,
        max_rate: args.max_rate,
    }
}

/// One fixed-rate run of `scenario` at `rate`.
async fn measure(
    world: &Arc<World>,
    layout: &Arc<Layout>,
    args: &Args,
    target: &Target,
    scenario: Scenario,
    rate: f64,
) -> Report {
    let load = Load {
        rate,
        warmup: args.warmup,
        duration: args.duration,
        concurrency: args.concurrency,
        flow_timeout: args.flow_timeout,
    };
    let label = (!args.quiet).then(|| format!("{} @{rate:.0}/s", scenario.name()));
    // push_bomb: the attacker runs beside the flows, from their start to their end.
    let bomber = match (scenario, &world.victim) {
        (Scenario::PushBomb, Some(victim)) => Some(tokio::spawn(bomber::run(
            world.portals().to_vec(),
            victim.clone(),
            args.bomb_rate,
            tokio::time::Instant::now() + args.warmup + args.duration,
        ))),
        _ => None,
    };
    let driven = drive(world, layout, load, target.process, label).await;
    let mut r = base_report(&driven.rec, scenario, args, target);
    if let Some(task) = bomber {
        r.bomber = task.await.ok();
    }
    r.rate = rate;
    r.duration_s = args.duration.as_secs_f64();
    r.flows_per_s = r.flows as f64 / r.duration_s;
    r.step_order = layout.names();
    r.engine_cpu_s = driven.engine_cpu.map(|d| d.as_secs_f64());
    r.engine_cpu_us_per_flow = driven
        .engine_cpu
        .filter(|_| r.flows > 0)
        .map(|d| d.as_secs_f64() * 1e6 / r.flows as f64);
    if target.process == EngineProcess::Embedded {
        r.harness_cpu_s = Some(driven.harness_cpu.as_secs_f64());
    }
    r
}

async fn run_hold(world: &Arc<World>, args: &Args, target: &Target) -> Report {
    let hold = Hold {
        count: args.count,
        sample: args.sample,
        concurrency: args.concurrency,
        quiet: args.quiet,
    };
    let (rec, h) = hold::run(world, hold, target.process).await;
    let mut r = base_report(&rec, Scenario::Hold, args, target);
    r.rate = h.fill_rate;
    r.duration_s = h.fill_s;
    r.flows_per_s = h.fill_rate;
    r.step_order = rec.names().to_vec();
    r.warmup_s = 0.0;
    r.hold = Some(h);
    r
}

fn base_report(rec: &stats::Recorder, s: Scenario, args: &Args, target: &Target) -> Report {
    let memory = target.process.memory();
    let offered = rec.offered();
    Report {
        scenario: s.name().to_owned(),
        flows: rec.ok(),
        errors: rec.failed(),
        errors_by_code: rec.errors_by_code(),
        steps: rec.step_stats(),
        rss_peak_bytes: memory.map(|m| m.peak),
        rss_bytes: memory.map(|m| m.rss),
        offered,
        error_rate: if offered == 0 {
            0.0
        } else {
            rec.failed() as f64 / offered as f64
        },
        warmup_s: args.warmup.as_secs_f64(),
        concurrency: args.concurrency,
        engine: target.label.clone(),
        ..Report::default()
    }
}
