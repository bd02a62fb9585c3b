//! `tessera loadtest` arguments. The binary flattens [`Args`] into its subcommand; tests build
//! them with [`Args::parse_from`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Parser, ValueEnum};

use crate::flows::FlowKind;

/// What one run drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum Scenario {
    /// `GET /health/live`: the machine's HTTP ceiling, measured the same way as the flows.
    Bare,
    /// Start, code captured at the REST SMS sink, verify.
    Sms,
    /// Start, push at the FCM sink, fetch (decrypt + verify), answer (sign + encrypt), result.
    Push,
    /// As `push`, answering with the PIN token.
    #[value(name = "push_with_pin")]
    PushWithPin,
    /// `push` flows while one attacker hammers push starts at another user (`--bomb-rate`):
    /// the push-bombing cap must refuse the attacker, not the others.
    #[value(name = "push_bomb")]
    PushBomb,
    /// Start an OTP, redeem it on a device, answer, result.
    Otp,
    /// A weighted mix of the flows (`--mix`).
    Mixed,
    /// Fill `--count` pending transactions, report RSS, then watch a sample expire.
    Hold,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Bare => "bare",
            Scenario::Sms => "sms",
            Scenario::Push => "push",
            Scenario::PushWithPin => "push_with_pin",
            Scenario::PushBomb => "push_bomb",
            Scenario::Otp => "otp",
            Scenario::Mixed => "mixed",
            Scenario::Hold => "hold",
        }
    }
}

/// How a push reaches the simulated device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PushNotify {
    /// Through the harness's FCM (legacy API) sink, which hands the transaction id to the device.
    Fcm,
    /// The device polls `GET /device/v1/transactions/pending` (works with the `log` provider).
    Pending,
}

/// Drive a Tessera engine with simulated portals and devices; report throughput and latency.
#[derive(Debug, Clone, clap::Args)]
#[command(group(ArgGroup::new("engine").required(true).args(["embedded", "target", "print_config"])))]
pub struct Args {
    /// Scenarios to run one after the other against the same engine (comma list):
    /// bare, sms, push, push_with_pin, push_bomb, otp, mixed, hold.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "sms")]
    pub scenario: Vec<Scenario>,
    /// Weights of the flows in `mixed`, e.g. `sms=5,push_with_pin=3,otp=2`.
    #[arg(long, value_parser = parse_mix, default_value = "sms=5,push=2,push_with_pin=2,otp=1")]
    pub mix: Mix,
    /// Arrivals per second, on a fixed schedule (open loop). With --find-max: the first step.
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// Measured time per scenario (per step with --find-max).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    pub duration: Duration,
    /// Load before measuring, not counted.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "2s")]
    pub warmup: Duration,
    /// Most flows in flight; arrivals beyond it are counted as `dropped` errors, never delayed.
    #[arg(long, default_value_t = 1000)]
    pub concurrency: usize,
    /// A flow not finished after this long counts as a `timeout` error.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "30s")]
    pub flow_timeout: Duration,

    /// Start an engine and its API in this process on 127.0.0.1:0, wired to the harness's sinks.
    #[arg(long)]
    pub embedded: bool,
    /// Base URL of an engine configured by the operator (see --print-config). Several nodes of
    /// one deployment, comma-separated: each flow's requests are spread over them (start on
    /// one, verify or long-poll on the next), as behind a load balancer without affinity.
    #[arg(long, value_name = "URL[,URL...]")]
    pub target: Option<String>,
    /// Print the engine config the harness expects (sinks at --sink-listen) and exit.
    #[arg(long)]
    pub print_config: bool,
    /// API client with scopes mobile_authentication and end_user (--target).
    #[arg(long, env = "TESSERA_LOADTEST_CLIENT_ID", default_value = "loadtest")]
    pub client_id: String,
    #[arg(long, env = "TESSERA_LOADTEST_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// Where the SMS and FCM sinks listen; give a fixed, reachable address for --target.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub sink_listen: SocketAddr,
    /// Embedded engine: shards (arbiter threads); 0 = one per core.
    #[arg(long, default_value_t = 0)]
    pub engine_workers: usize,
    /// --target on this machine: the engine's pid, to report its RSS and CPU.
    #[arg(long)]
    pub engine_pid: Option<u32>,
    /// The harness's own worker threads; 0 = one per core.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,

    /// Simulated devices enrolled up front (real key pairs, push enrollment, PIN).
    #[arg(long, default_value_t = 64)]
    pub devices: usize,
    /// How devices learn about a push.
    #[arg(long, value_enum, default_value = "fcm")]
    pub push_notify: PushNotify,
    /// Unlock the PIN token (PBKDF2, as the phone does) for every answer instead of once per
    /// device: adds the phone's CPU cost to the harness's.
    #[arg(long)]
    pub unlock_per_answer: bool,
    /// Application the devices enroll with (must use the harness's FCM sink for android 1.0).
    #[arg(long, default_value = "loadtest")]
    pub app_id: String,

    /// push_bomb: the attacker's push starts per second at its one victim.
    #[arg(long, default_value_t = 50.0)]
    pub bomb_rate: f64,
    /// The generated engine config's `rate_limits.push_starts_per_user` ("N/period", "0" =
    /// off). Default: off, or with push_bomb a cap the normal users stay well under (four times
    /// their share of --rate, per second).
    #[arg(long, value_name = "RATE")]
    pub push_starts_per_user: Option<String>,
    /// Turn every other rate limit of the generated config on, at a ceiling no run reaches
    /// ("1000000/1s"): each request pays for its checks and none is refused — what the limits
    /// cost, measured against a run without this flag.
    #[arg(long)]
    pub limits_checked: bool,
    /// Push starts carry the requester context (`ip_address`, `user_agent`: a handful of public
    /// test addresses and real browsers, round robin) and each flow checks that its document's
    /// `secure_message` was rendered. Embedded (and --print-config): `[geolocation]` on with
    /// the `mmdb` provider on --context-mmdb, so after the first flows the cache is warm.
    #[arg(long)]
    pub context: bool,
    /// --context, embedded: the MaxMind database the engine looks addresses up in (default:
    /// the GeoLite2 test database of this source tree, `testkit/data/geo/`).
    #[arg(long, value_name = "FILE", default_value = crate::context::GEOLITE2_TEST_DB)]
    pub context_mmdb: PathBuf,

    /// Raise the rate step by step until --max-p99-ms or --max-error-rate is crossed; report the
    /// highest sustainable rate, then run at half of it.
    #[arg(long)]
    pub find_max: bool,
    #[arg(long, default_value_t = 50.0)]
    pub max_p99_ms: f64,
    #[arg(long, default_value_t = 0.01)]
    pub max_error_rate: f64,
    /// The step whose p99 --max-p99-ms bounds (`flow` = the whole flow).
    #[arg(long, default_value = "start")]
    pub p99_step: String,
    /// Rate multiplier between --find-max steps, until the first failure.
    #[arg(long, default_value_t = 1.5)]
    pub step_factor: f64,
    /// Bisections between the last good and the first failing rate.
    #[arg(long, default_value_t = 3)]
    pub refine: u32,
    /// Never offer more than this.
    #[arg(long, default_value_t = 1_000_000.0)]
    pub max_rate: f64,

    /// hold: transactions to keep pending.
    #[arg(long, default_value_t = 10_000)]
    pub count: u64,
    /// hold: of those, how many are watched until they expire.
    #[arg(long, default_value_t = 500)]
    pub sample: u64,
    /// hold: time to live of the held transactions (embedded); longer than the fill takes.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "30s")]
    pub hold_ttl: Duration,

    /// Write the report as JSON (several scenarios: FILE-<scenario>.json each).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Print the change against an earlier --json report (same naming).
    #[arg(long, value_name = "FILE")]
    pub compare: Option<PathBuf>,
    /// No progress line.
    #[arg(long)]
    pub quiet: bool,
}

/// Standalone parser, for tests and embedding.
#[derive(Parser)]
#[command(name = "loadtest")]
struct Standalone {
    #[command(flatten)]
    args: Args,
}

impl Args {
    /// Parses `iter` as the binary would (`iter[0]` is the program name).
    pub fn parse_from<I, T>(iter: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Standalone::try_parse_from(iter).map(|s| s.args)
    }

    /// Harness threads: `--threads`, or one per core.
    pub fn harness_threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            cores()
        }
    }
}

/// Cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `--mix` weights, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix(pub Vec<(FlowKind, u32)>);

fn parse_mix(s: &str) -> Result<Mix, String> {
    let mut out: Vec<(FlowKind, u32)> = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, weight) = part
            .split_once('=')
            .ok_or_else(|| format!("`{part}`: expected flow=weight"))?;
        let kind = FlowKind::from_name(name.trim())
            .ok_or_else(|| format!("`{name}`: not a flow (sms, push, push_with_pin, otp, bare)"))?;
        let weight: u32 = weight
            .trim()
            .parse()
            .map_err(|_| format!("`{weight}`: weight must be a whole number"))?;
        if out.iter().any(|(k, _)| *k == kind) {
            return Err(format!("`{name}` given twice"));
        }
        if weight > 0 {
            out.push((kind, weight));
        }
    }
    if out.is_empty() {
        return Err("the mix has no flow with a weight above 0".into());
    }
    Ok(Mix(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_parses_weights_in_order() {
        let mix = parse_mix("sms=5, push_with_pin=3,otp=2,push=0").unwrap();
        assert_eq!(
            mix.0,
            vec![
                (FlowKind::Sms, 5),
                (FlowKind::PushWithPin, 3),
                (FlowKind::Otp, 2)
            ]
        );
        assert!(parse_mix("sms").is_err());
        assert!(parse_mix("sms=1,sms=2").is_err());
        assert!(parse_mix("fax=1").is_err());
        assert!(parse_mix("sms=0").is_err());
    }

    #[test]
    fn parses_like_the_binary() {
        let a = Args::parse_from([
            "loadtest",
            "--embedded",
            "--scenario",
            "bare,push_with_pin",
            "--duration",
            "1500ms",
        ])
        .unwrap();
        assert_eq!(a.scenario, vec![Scenario::Bare, Scenario::PushWithPin]);
        assert_eq!(a.duration, Duration::from_millis(1500));
        assert!(
            Args::parse_from(["loadtest"]).is_err(),
            "an engine is required"
        );
        assert!(
            Args::parse_from(["loadtest", "--embedded", "--target", "http://x"]).is_err(),
            "one engine only"
        );
    }
}
