//! The `tessera` binary: argument parsing and wiring only. Behaviour lives in the crates.

mod embedded;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tessera_config::Config;
use tessera_engine::{Engine, EngineOptions, StartupError};

/// Hundreds of thousands of small, long-lived allocations per pending-transaction wave:
/// mimalloc's size classes carry no per-object header, which glibc's malloc does (measured in
/// BENCHMARKS.md, `hold`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code for configuration problems (sysexits EX_USAGE), as linkerd and friends do: the
/// file fails validation, or a file it names (a key, a service account) cannot be used.
const EXIT_CONFIG: u8 = 64;
/// Exit code when the store does not answer at start (sysexits EX_UNAVAILABLE).
const EXIT_STORE_UNAVAILABLE: u8 = 69;
/// How long `serve` waits for a store that does not answer yet (Redis starting alongside).
const STORE_WAIT: Duration = Duration::from_secs(10);

/// The store did not answer within [`STORE_WAIT`] at start: serving without the state it holds
/// (pending transactions, devices) would answer wrongly, so the process exits instead.
#[derive(Debug, thiserror::Error)]
#[error(
    "the store does not answer (store.redis_url): {0}; not serving without its state — start \
     Redis or fix the URL"
)]
struct StoreUnreachable(String);

#[derive(Parser)]
#[command(
    name = "tessera",
    version,
    about = "Mobile second-factor authentication engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the engine (the default). Without --config it runs the embedded defaults.
    Serve(ServeArgs),
    /// Drive an engine (embedded or --target) with simulated portals and devices; report
    /// throughput and latency per step.
    Loadtest(Box<tessera_loadtest::Args>),
    /// The operator dashboard: a terminal client of a running engine's admin API.
    Tui(Box<tessera_tui::Args>),
    /// GET a health endpoint once, for container health checks: exit 0 on a 2xx answer, 1
    /// otherwise (the runtime image has no curl).
    Health(HealthArgs),
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(clap::Args, Default)]
struct ServeArgs {
    /// Configuration file (tessera.toml); the embedded defaults when absent.
    #[arg(long, short, env = "TESSERA_CONFIG")]
    config: Option<PathBuf>,
    /// Log as JSON lines.
    #[arg(long)]
    log_json: bool,
}

#[derive(clap::Args)]
struct HealthArgs {
    /// The endpoint to probe (with `server.ops_listen` set, health lives on the ops port).
    #[arg(long, default_value = "http://127.0.0.1:8080/health/live")]
    url: String,
    /// Give up after this long (`3s`, `500ms`).
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Load and validate a file, print every problem with its path; exit 64 when there are any.
    Check { file: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Config {
            command: ConfigCommand::Check { file },
        } => match tessera_config::check(&file) {
            Ok(config) => {
                for warning in tessera_config::warnings(&config) {
                    println!("warning: {warning}");
                }
                println!("{}: ok", file.display());
                ExitCode::SUCCESS
            }
            Err(e) => config_failure(Some(&file), &e),
        },
        Command::Health(args) => health(&args),
        Command::Tui(args) => match tessera_tui::run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e @ tessera_tui::RunError::Client(tessera_tui::Error::Url(_))) => {
                eprintln!("tessera tui: {e}");
                ExitCode::from(EXIT_CONFIG)
            }
            Err(e) => {
                eprintln!("tessera tui: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Loadtest(args) => {
            // The engine's own notices only when something is wrong: the report is the output.
            init_logging(false, "warn");
            match tessera_loadtest::run(*args, &embedded::start) {
                Ok(_) => ExitCode::SUCCESS,
                Err(e @ tessera_loadtest::Error::Args(_)) => {
                    eprintln!("tessera loadtest: {e}");
                    ExitCode::from(EXIT_CONFIG)
                }
                Err(e) => {
                    eprintln!("tessera loadtest: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Serve(args) => {
            init_logging(args.log_json, "info");
            let config = match tessera_config::load(args.config.as_deref()) {
                Ok(c) => c,
                Err(e) => return config_failure(args.config.as_deref(), &e),
            };
            // The embedded defaults are a demo by design; a file is meant for real use.
            if args.config.is_some() {
                for w in tessera_config::warnings(&config) {
                    tracing::warn!(path = %w.path, "{}", w.message);
                }
            }
            match serve(config) {
                Ok(()) => ExitCode::SUCCESS,
                // The engine could not be built from the file: a configuration problem too.
                Err(e) if e.downcast_ref::<StoreUnreachable>().is_some() => {
                    eprintln!("tessera: {e}");
                    ExitCode::from(EXIT_STORE_UNAVAILABLE)
                }
                Err(e) => match e.downcast_ref::<StartupError>() {
                    Some(startup) => config_failure(args.config.as_deref(), startup),
                    // Runtime failures (a port in use, signals) are not the file's fault.
                    None => {
                        eprintln!("tessera: {e:#}");
                        ExitCode::FAILURE
                    }
                },
            }
        }
    }
}

/// Reports problems with the configuration at `file` (the embedded defaults when `None`), one
/// `key: message` per line, and gives the exit code for them.
fn config_failure(file: Option<&Path>, e: &dyn std::fmt::Display) -> ExitCode {
    let source = file.map_or_else(
        || "the embedded default config".to_owned(),
        |f| f.display().to_string(),
    );
    eprintln!("configuration problems in {source}:\n{e}");
    ExitCode::from(EXIT_CONFIG)
}

/// `tessera health`: Docker's HEALTHCHECK convention, 0 healthy and 1 unhealthy.
fn health(args: &HealthArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tessera health: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(tessera_api::probe::probe(&args.url, args.timeout)) {
        Ok(status) => {
            println!("{}: HTTP {status}", args.url);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tessera health: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(json: bool, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn serve(mut config: Config) -> anyhow::Result<()> {
    let demo = tessera_config::needs_demo_client(&config).then(|| {
        let (client, secret) = tessera_api::auth::demo_client();
        config.api_clients.push(client);
        secret
    });
    let system = actix_rt::System::new();
    system.block_on(async move {
        let metrics = tessera_api::metrics::install().map_err(anyhow::Error::msg)?;
        let options = EngineOptions::from_config(&config);
        // A StartupError stays one (downcast in `main`) so it exits like a validation problem.
        let engine = Engine::launch(config, options)?;
        // A persistent store: pending transactions come back with their timers before the
        // first request is taken.
        let recovered = engine
            .recover_at_start(STORE_WAIT)
            .await
            .map_err(|e| StoreUnreachable(e.to_string()))?;
        if recovered > 0 {
            tracing::info!(recovered, "pending transactions recovered from the store");
        }
        let server =
            tessera_api::server::start(engine, Some(metrics)).context("binding listeners")?;
        println!("tessera listening on http://{}", server.info.addr);
        if let Some(ops) = server.info.ops_addr {
            println!("tessera ops (metrics, health) on http://{ops}");
        }
        if let Some(secret) = demo {
            println!("demo API client (shown once): client_id=demo client_secret={secret}");
        }
        shutdown_signal().await?;
        println!("tessera shutting down");
        // Whatever could not finish within the grace is logged; the stop itself succeeded.
        if !server.shutdown().await {
            tracing::warn!("shutdown grace ran out before everything finished");
        }
        println!("tessera stopped");
        actix_rt::System::current().stop();
        Ok(())
    })
}

/// Ctrl-C, or SIGTERM from an orchestrator.
async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("waiting for ctrl-c")?,
            _ = term.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.context("waiting for ctrl-c")
    }
}
