//! The whole HTTP surface against its contract, with Schemathesis (PyPI; `st`): a running
//! `tessera serve` is fuzzed from `api/openapi.yaml` as it serves it, with every check
//! (`--checks all`: no server errors, documented status codes, content types, headers and
//! response schemas, schema-violating requests refused, schema-valid ones accepted, `405` with
//! `Allow` for undeclared methods, authentication not ignored, ...), a fixed seed and a bounded
//! number of examples per operation. Any failure fails the test with Schemathesis' report.
//!
//! Two runs on one node: first the device API alone, then every other operation (portal,
//! management, events, admin, ops) — the admin API's writes (turning mobile authentication or
//! an authenticator off, deleting the application) would otherwise leave the device operations
//! only refusals to answer. Settings shared with a developer's own run are in
//! `tests/e2e/schemathesis.toml` (README, "Testing"); this test adds the data it prepared:
//!
//! - an API client with every scope (`mobile_authentication`, `end_user`, `events`, `admin`);
//! - a device enrolled through the API (management enrollment code, OpenPGP key, push
//!   enrollment, PIN), whose credentials sign every device call (`deviceBasic`);
//! - push transactions pending for that device and OTP transactions, whose ids and OTPs
//!   Schemathesis draws half of the time for `GET /device/v1/transactions/{id}`, the answer's
//!   path and `POST /device/v1/otp` — so the encrypted document is really fetched (`200`, then
//!   `409 already_fetched`) and an OTP really redeemed;
//! - live enrollment codes, the application's id and version and a real public key, drawn the
//!   same way for `POST /device/v1/enrollments`, so enrollments really succeed (`201`).
//!
//! Left to negative testing: the answer (`POST /device/v1/transactions/{id}/answer`). Its body
//! is an OpenPGP message over the answer's JSON, signed by the device key and encrypted to the
//! server key; Schemathesis generates strings for it, and its dictionaries bind fields of
//! object bodies only, so every answer it sends is refused (`400 invalid_message`, or `404` /
//! `401` first) — checked against the contract like any refusal, never accepted. The positive
//! answer is covered by the device tests (`push_methods`, `gpg_device`).
//!
//! The types' time to live is 3 s, so a long-poll (`?wait=`) on a transaction Schemathesis
//! started ends within seconds; the prepared transactions use types of their own with ten
//! minutes. Rate limits are off (a fuzzer's failed logins would otherwise lock its address out
//! for ten minutes); their `429` is documented on every operation all the same.
//!
//! Needs `st` (`pip install schemathesis==4.32.5`; `.ci/run` installs it): a missing tool fails
//! the test with that advice.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use tessera_api::device_client::Platform;
use tessera_api::wire::StartParams;
use tessera_api::{DeviceClient, EnrollParams, ManagementClient, PortalClient};
use tokio::time::Instant;

use crate::support::Tessera;
use crate::support::binary::TempDir;

/// The Schemathesis version `.ci/run` installs and this run was tuned with.
const VERSION: &str = "4.32.5";
/// Examples per operation and phase; with the seed, the same requests every run.
const MAX_EXAMPLES: u32 = 15;
const SEED: u64 = 20_261_204;
/// One `st run`, at most (each takes well under a minute on a loaded 2-core machine).
const RUN_WITHIN: Duration = Duration::from_secs(240);

const CLIENT_ID: &str = "schemathesis";
const CLIENT_SECRET: &str = "schemathesis-secret-0123456789abcdef";
const USER: &str = "st-user";
/// Prepared push transactions, OTPs and enrollment codes, each.
const PREPARED: usize = 5;

/// The node: one application (Android 1.0, PIN, fingerprint and a custom authenticator), a
/// `log` push provider, a type per method with a 3 s time to live and two held types for the
/// prepared transactions.
fn config() -> String {
    let mut types = String::new();
    for (name, method, ttl) in [
        ("push", "push", "3s"),
        ("push_pin", "push_with_pin", "3s"),
        ("push_fingerprint", "push_with_fingerprint", "3s"),
        ("push_custom", "push_with_custom_authenticator", "3s"),
        ("otp", "otp", "3s"),
        ("sms", "sms", "3s"),
        ("held-push", "push_with_pin", "10m"),
        ("held-otp", "otp", "10m"),
    ] {
        types.push_str(&format!(
            "\n[[mobile_auth_types]]\nname = \"{name}\"\nmethod = \"{method}\"\n\
             time_to_live = \"{ttl}\"\nmax_resends = 2\n\
             [mobile_auth_types.default_messages]\nen = \"Log in? {{code}}\"\n"
        ));
    }
    format!(
        r#"
[server]
listen = "127.0.0.1:0"

[rate_limits]
per_client = "0"
push_starts_per_user = "0"
sms_per_phone = "0"
sms_per_prefix = "0"
device_per_ip = "0"
credential_failures_per_ip = "0"

[[api_clients]]
id = "{CLIENT_ID}"
secret = "{CLIENT_SECRET}"
scopes = ["mobile_authentication", "end_user", "events", "admin"]

[[applications]]
id = "acme"
name = "ACME"
max_pin_attempts = 1000000
fingerprint_enabled = true
max_fingerprint_attempts = 1000000
custom_authenticators = ["face"]
max_custom_attempts = 1000000
[[applications.versions]]
platform = "android"
version = "1.0"
push_config = "log-android"

[[push_configs]]
id = "log-android"
platform = "android"
kind = "log"
{types}"#
    )
}

/// What the test prepared for Schemathesis to draw from.
struct Prepared {
    device: DeviceClient,
    transactions: Vec<String>,
    otps: Vec<String>,
    codes: Vec<String>,
}

async fn prepare(t: &Tessera) -> Prepared {
    let portal = PortalClient::with_http(t.http.clone(), &t.base, CLIENT_ID, CLIENT_SECRET);
    let mgmt = ManagementClient::with_http(t.http.clone(), &t.base, CLIENT_ID, CLIENT_SECRET);
    let params = EnrollParams::new(code(&mgmt).await, "acme", "1.0", Platform::Android, "phone");
    let mut device = DeviceClient::enroll_with(t.http.clone(), &t.base, &params)
        .await
        .unwrap_or_else(|e| panic!("enroll: {e}\n{}", t.logs()));
    device.push_enroll("st-push-token").await.expect("push");
    device.register_pin("1234").await.expect("a PIN");
    let mut transactions = Vec::new();
    let mut otps = Vec::new();
    let mut codes = Vec::new();
    for _ in 0..PREPARED {
        let push = portal
            .start(&StartParams {
                user_id: Some(USER.into()),
                ..StartParams::new("held-push")
            })
            .await
            .expect("a push start");
        transactions.push(push.transaction_id);
        let otp = portal
            .start(&StartParams::new("held-otp"))
            .await
            .expect("an OTP start");
        otps.push(otp.otp.expect("an OTP"));
        codes.push(code(&mgmt).await);
    }
    Prepared {
        device,
        transactions,
        otps,
        codes,
    }
}

/// A fresh enrollment code for [`USER`].
async fn code(mgmt: &ManagementClient) -> String {
    mgmt.enrollment_code(USER)
        .await
        .expect("an enrollment code")
        .enrollment_code
}

/// `values` as a TOML array of strings.
fn list(values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

/// The shared settings plus the device's credentials and the prepared values.
fn settings(p: &Prepared) -> String {
    let shared = std::fs::read_to_string(repo("tests/e2e/schemathesis.toml"))
        .expect("tests/e2e/schemathesis.toml");
    let draw = |dictionary: &str| format!("{{ dictionary = \"{dictionary}\", probability = 0.5 }}");
    format!(
        r#"{shared}
[auth.openapi.deviceBasic]
username = "{id}"
password = "{secret}"

[dictionaries.transactions]
values = {transactions}

[dictionaries.otps]
values = {otps}

[dictionaries.codes]
values = {codes}

[dictionaries.keys]
values = [{key:?}]

[dictionaries.apps]
values = ["acme"]

[dictionaries.versions]
values = ["1.0"]

[[operations]]
include-path-regex = '^/device/v1/transactions/\{{transaction_id\}}'
parameters = {{ "path.transaction_id" = {txn} }}

[[operations]]
include-path = "/device/v1/otp"
parameters = {{ "body.otp" = {otp} }}

[[operations]]
include-path = "/device/v1/enrollments"
parameters = {{ "body.enrollment_code" = {code}, "body.public_key" = {keys}, "body.app_id" = {app}, "body.app_version" = {version} }}
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 403, 404, 409, 429, "5xx"]
"#,
        id = p.device.device_id(),
        secret = p.device.device_secret(),
        transactions = list(&p.transactions),
        otps = list(&p.otps),
        codes = list(&p.codes),
        key = p.device.public_key_armored(),
        txn = draw("transactions"),
        otp = draw("otps"),
        code = draw("codes"),
        keys = draw("keys"),
        app = draw("apps"),
        version = draw("versions"),
    )
}

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Panics unless `st` runs and is the version the settings were written for.
fn require_st() {
    let out = Command::new("st").arg("--version").output();
    let version = out
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    let Some(version) = version else {
        panic!(
            "`st` (Schemathesis) is not installed: `pip install schemathesis=={VERSION}` \
             (`.ci/run` installs it)"
        );
    };
    assert!(
        version.contains(VERSION),
        "`st --version` says {version:?}; the run is tuned for Schemathesis {VERSION} \
         (`pip install schemathesis=={VERSION}`)"
    );
}

/// One `st run` of the operations `filter` selects: panics with its report unless it passed.
fn st_run(t: &Tessera, dir: &TempDir, settings: &Path, filter: &[&str]) -> Duration {
    let mut cmd = Command::new("st");
    cmd.arg("--config-file")
        .arg(settings)
        .arg("run")
        .arg(t.url("/openapi.yaml"))
        .args(["--url", &t.base])
        .args(["--checks", "all"])
        .args(["--max-examples", &MAX_EXAMPLES.to_string()])
        .args(["--seed", &SEED.to_string()])
        // One worker: two threads of Hypothesis race in Python 3.11's AST checks ("AST constructor
        // recursion depth mismatch"), an error of the tool, not of the API.
        .args(["--workers", "1"])
        .args(["--generation-database", "none"])
        .args(["--no-color", "--output-truncate", "false"])
        .args(filter)
        .current_dir(dir.path())
        .env("TESSERA_ST_CLIENT_ID", CLIENT_ID)
        .env("TESSERA_ST_CLIENT_SECRET", CLIENT_SECRET)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("start st");
    let mut stdout = child.stdout.take().expect("st's stdout");
    let mut stderr = child.stderr.take().expect("st's stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for st") {
            break status;
        }
        if started.elapsed() > RUN_WITHIN {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "st run {filter:?} did not finish within {RUN_WITHIN:?}\n{}\n{}",
                out.join().unwrap_or_default(),
                err.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = started.elapsed();
    let (out, err) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    assert!(
        status.success(),
        "Schemathesis found failures ({filter:?}, exit {status}):\n{out}\n{err}\n--- tessera ---\n{}",
        t.logs()
    );
    // A run that tested nothing would pass too.
    assert!(
        out.contains(" passed") && !out.contains("No operations"),
        "st run {filter:?} tested nothing:\n{out}\n{err}"
    );
    took
}

#[tokio::test]
async fn the_api_meets_its_openapi_document() {
    require_st();
    let mut t = Tessera::start(&config()).await;
    let prepared = prepare(&t).await;
    let dir = TempDir::new();
    let path = dir.write("schemathesis.toml", &settings(&prepared));

    // The node is another process: blocking here while `st` runs is fine.
    let device = st_run(&t, &dir, &path, &["--include-tag", "device"]);
    let rest = st_run(&t, &dir, &path, &["--exclude-tag", "device"]);
    eprintln!("schemathesis: device API {device:?}, the rest {rest:?}");
    assert!(t.is_running(), "tessera died under the run:\n{}", t.logs());
}
