//! Crash under load (issue 10, done means): a `tessera serve` on a Redis store, driven by
//! `tessera loadtest --target` and by this test's own tracked transactions at the same time, is
//! killed with `kill -9` while requests are in flight and restarted on the same port and Redis.
//! Every transaction whose start was acknowledged (`200`) before the kill then finishes
//! correctly: those the test verifies or answers after the restart are `accepted`, the others
//! `expired`; each calls back exactly once, none is lost (`404`) or finished twice, and the
//! enrolled phone still answers.
//!
//! Nothing here asserts timing: the short time to live (3 s) only makes expiries come soon, and
//! every wait is generous, so a loaded machine is slower but not flaky.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tessera_api::wire::{AnswerOutcome, StartParams};
use tessera_api::{DeviceClient, ManagementClient, PortalClient};
use tessera_loadtest::sinks::{FCM_PATH, SMS_PATH};
use tessera_loadtest::{EngineConfig, Report, engine_config};
use tessera_testkit::callback::CallbackFake;
use tessera_testkit::conf::{Method, MobileAuthType, Scope, api_client, array, auth_type};
use tessera_testkit::redis::RedisServer;
use tessera_testkit::sms::SmsHookFake;

use crate::redis_store::store;
use crate::support::binary::{TempDir, Tessera};
use crate::support::conf::{self, CLIENT_ID, CLIENT_SECRET, FAST_CALLBACKS};
use crate::support::device::{self, World, accept};
use crate::support::{DEADLINE, eventually};

const LOADTEST_SECRET: &str = "loadtest-secret-0123456789abcdef";
/// Concurrent loops starting short SMS transactions around the kill.
const STARTERS: usize = 4;
/// Starts per loop at most (the loops also stop at the kill).
const MAX_STARTS: usize = 200;
/// Tracked transactions the test finishes itself after the restart, per method.
const TO_FINISH: usize = 3;
/// How long after the restart every tracked transaction must be final: the restarted node may
/// first have to wait out the dead node's lease (`store.node_lease`, 5 s by default).
const RECOVERY_WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_node_killed_under_load_finishes_every_acknowledged_transaction_once() {
    let redis = RedisServer::start();
    let hook = SmsHookFake::start().await;
    let cb = CallbackFake::start().await;
    let (listen, sinks) = free_addrs();
    let toml = config(&redis, &hook, &cb, listen.port(), sinks);
    let w = node(&toml).await;
    let phone = w.phone("alice", "Pixel").await;

    let dir = TempDir::new();
    let report = dir.path().join("loadtest.json");
    let mut load = loadtest(&w.t.base, sinks, &report);
    // The harness enrolls its devices, then its flows run through the kill and the restart.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let tracked = start_tracked(&w, &hook, &cb).await;
    let (short, cut_off) = kill_amid_starts(w, &cb).await;
    assert!(!short.is_empty(), "no start acknowledged before the kill");

    // Restarted on the same port and Redis: the test finishes its tracked transactions.
    let w = node(&toml).await;
    for (user, id, code) in &tracked.to_verify {
        let resp = w.t.verify(user, id, code).await;
        let (status, text) = (resp.status, resp.text());
        assert_eq!(status, 200, "verify {id}: {text}\n{}", w.t.logs());
    }
    for id in &tracked.to_answer {
        answer(&w, &phone, id).await;
    }

    let accepted: BTreeSet<&String> = tracked
        .to_verify
        .iter()
        .map(|(_, id, _)| id)
        .chain(&tracked.to_answer)
        .collect();
    let expired: BTreeSet<&String> = tracked.to_expire.iter().chain(&short).collect();
    assert_finished_once(&w, &cb, &accepted, &expired).await;

    // The phone enrolled before the kill still answers a new push.
    let again = w.start_with(&push("push_long", &cb)).await.transaction_id;
    answer(&w, &phone, &again).await;

    // The load ran through it all, and its harness ended by itself.
    let status = eventually(Duration::from_secs(30), "tessera loadtest to end", || {
        let status = load.0.try_wait().expect("wait for the harness");
        async move { status }
    })
    .await;
    let stderr = std::fs::read_to_string(report.with_extension("stderr")).unwrap_or_default();
    assert!(status.success(), "tessera loadtest: {status}\n{stderr}");
    let text = std::fs::read_to_string(&report).expect("the harness's report");
    let report: Report = serde_json::from_str(&text).expect("a loadtest report");
    assert!(report.flows > 0, "the harness completed no flow");
    eprintln!(
        "load: {} flows, {} errors {:?}; tracked: {} accepted, {} expired ({} short starts \
         acknowledged, {cut_off} refused or cut off by the kill)",
        report.flows,
        report.errors,
        report.errors_by_code,
        accepted.len(),
        expired.len(),
        short.len(),
    );
}

/// What the test started before the kill and finishes (or leaves to expire) after it.
struct Tracked {
    /// `(user, transaction id, code)` of SMS transactions to verify.
    to_verify: Vec<(String, String, String)>,
    /// Pushes to the phone to answer.
    to_answer: Vec<String>,
    /// Pushes with three seconds to live, left to expire.
    to_expire: Vec<String>,
}

/// Starts the tracked transactions, each with a callback, and waits for the SMS codes: a code
/// still on its way to the gateway at a kill is gone (only its HMAC is stored).
async fn start_tracked(w: &World, hook: &SmsHookFake, cb: &CallbackFake) -> Tracked {
    let mut sms = BTreeMap::new();
    for i in 0..TO_FINISH {
        // A phone number each, to tell their codes apart.
        let number = format!("+3161234560{i}");
        let params = StartParams {
            user_id: Some(format!("carol{i}")),
            phone_number: Some(number.clone()),
            callback_uri: Some(cb.url()),
            ..StartParams::new("sms_long")
        };
        let id = w.start_with(&params).await.transaction_id;
        sms.insert(number, (format!("carol{i}"), id));
    }
    let (mut to_answer, mut to_expire) = (Vec::new(), Vec::new());
    for _ in 0..TO_FINISH {
        to_answer.push(w.start_with(&push("push_long", cb)).await.transaction_id);
        to_expire.push(w.start_with(&push("push_short", cb)).await.transaction_id);
    }
    let codes: BTreeMap<String, String> = eventually(DEADLINE, "the tracked SMS codes", || {
        let got: BTreeMap<String, String> = hook
            .messages()
            .into_iter()
            .filter(|m| sms.contains_key(&m.phone_number))
            .map(|m| (m.phone_number, m.verification_code))
            .collect();
        async move { (got.len() == TO_FINISH).then_some(got) }
    })
    .await;
    let to_verify = sms
        .into_iter()
        .map(|(number, (user, id))| (user, id, codes[&number].clone()))
        .collect();
    Tracked {
        to_verify,
        to_answer,
        to_expire,
    }
}

/// Kills the node with `kill -9` while [`STARTERS`] loops start short SMS transactions; returns
/// the ids whose start was acknowledged and how many starts were refused or cut off.
async fn kill_amid_starts(w: World, cb: &CallbackFake) -> (Vec<String>, usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let starters: Vec<_> = (0..STARTERS)
        .map(|_| {
            let portal =
                PortalClient::with_http(w.t.http.clone(), &w.t.base, CLIENT_ID, CLIENT_SECRET);
            tokio::spawn(starter(portal, cb.url(), stop.clone()))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let status = Command::new("kill")
        .args(["-9", &w.t.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    stop.store(true, Ordering::Relaxed);
    let (mut acked, mut cut_off) = (Vec::new(), 0);
    for s in starters {
        let (ids, failed) = s.await.expect("a starter loop");
        acked.extend(ids);
        cut_off += failed;
    }
    (acked, cut_off)
}

/// Starts `sms_short` transactions with a callback, one after the other, until `stop` (or
/// [`MAX_STARTS`]); returns the ids whose start was acknowledged, and how many starts failed.
async fn starter(
    portal: PortalClient,
    callback: String,
    stop: Arc<AtomicBool>,
) -> (Vec<String>, usize) {
    let (mut acked, mut failed) = (Vec::new(), 0);
    for i in 0..MAX_STARTS {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let params = StartParams {
            user_id: Some(format!("load-{i}")),
            phone_number: Some("+31612345678".into()),
            callback_uri: Some(callback.clone()),
            ..StartParams::new("sms_short")
        };
        match portal.start(&params).await {
            Ok(started) => acked.push(started.transaction_id),
            // Refused or cut off by the kill: not acknowledged, so nothing is owed.
            Err(_) => {
                failed += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    (acked, failed)
}

/// Every transaction of `accepted` and `expired` is final with that status (none lost), each
/// called back, and no transaction at all called back twice.
async fn assert_finished_once(
    w: &World,
    cb: &CallbackFake,
    accepted: &BTreeSet<&String>,
    expired: &BTreeSet<&String>,
) {
    let by = tokio::time::Instant::now() + RECOVERY_WAIT;
    for id in accepted.iter().chain(expired) {
        let want = if accepted.contains(id) {
            "accepted"
        } else {
            "expired"
        };
        let got = final_status(w, id, by).await;
        assert_eq!(got, want, "{id}: {}", history(w, id).await);
    }
    let all: Vec<&&String> = accepted.iter().chain(expired).collect();
    eventually(
        RECOVERY_WAIT,
        "a callback for every tracked transaction",
        || {
            let counts = callback_counts(cb);
            let missing = all.iter().any(|id| !counts.contains_key(id.as_str()));
            async move { (!missing).then_some(()) }
        },
    )
    .await;
    // Once things are quiet, never two for one transaction (starts cut off by the kill may
    // have been stored too: their callbacks count as well).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let twice: Vec<(String, usize)> = callback_counts(cb)
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .collect();
    for (id, _) in &twice {
        eprintln!("called back twice: {id}: {}", history(w, id).await);
    }
    assert!(twice.is_empty(), "callbacks sent more than once: {twice:?}");
}

/// The status once final, long-polling; `404`, or still pending at `by`, fails.
async fn final_status(w: &World, id: &str, by: tokio::time::Instant) -> String {
    loop {
        let r = w
            .portal
            .result(id, Some(Duration::from_secs(2)))
            .await
            .unwrap_or_else(|e| panic!("{id} lost after the restart: {e}\n{}", w.t.logs()));
        if r.status != "pending" {
            return r.status;
        }
        assert!(
            tokio::time::Instant::now() < by,
            "{id} still pending {RECOVERY_WAIT:?} after the restart: {}\n{}",
            history(w, id).await,
            w.t.logs()
        );
    }
}

/// The phone fetches push `id` and accepts it.
async fn answer(w: &World, phone: &DeviceClient, id: &str) {
    phone
        .fetch(id)
        .await
        .unwrap_or_else(|e| panic!("fetch {id} after the restart: {e}\n{}", w.t.logs()));
    let outcome = phone.answer(id, &accept()).await;
    assert!(
        matches!(outcome, Ok(AnswerOutcome::Accepted)),
        "answer {id} after the restart: {outcome:?}\n{}",
        w.t.logs()
    );
}

/// Callbacks received per transaction id.
fn callback_counts(cb: &CallbackFake) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in cb.requests() {
        let id = r.json()["transaction_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

/// A transaction's result and events, for a failure's message.
async fn history(w: &World, id: &str) -> String {
    let result = w.t.result(id).await;
    let events = w.t.event_names(id).await;
    format!("result {result}, events {events:?}")
}

// === setup ===

/// Two distinct free loopback addresses (held together while asked for, so never the same).
fn free_addrs() -> (SocketAddr, SocketAddr) {
    let bind = || TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a free port");
    let (a, b) = (bind(), bind());
    let addr = |l: &TcpListener| l.local_addr().expect("a bound address");
    (addr(&a), addr(&b))
}

/// The engine the load harness expects (its API client, sinks, app and types), on the Redis
/// store at a fixed port, plus this test's portal client, phone app, types, SMS hook and
/// callbacks. All SMS go to `hook`, so the harness runs push and OTP flows only.
fn config(
    redis: &RedisServer,
    hook: &SmsHookFake,
    cb: &CallbackFake,
    port: u16,
    sinks: SocketAddr,
) -> String {
    let harness = engine_config(&EngineConfig {
        client_id: "loadtest".into(),
        client_secret: LOADTEST_SECRET.into(),
        app_id: "loadtest".into(),
        sms_url: format!("http://{sinks}{SMS_PATH}"),
        fcm_url: format!("http://{sinks}{FCM_PATH}"),
        hold_ttl: Duration::from_secs(30),
        workers: 0,
        listen: format!("127.0.0.1:{port}"),
        push_starts_per_user: "0".into(),
        limits_checked: false,
        context_mmdb: None,
    });
    let replace = |text: String, from: &str, to: &str| {
        assert!(text.contains(from), "the harness config has no `{from}`");
        text.replacen(from, to, 1)
    };
    let harness = replace(
        harness,
        "[store]\nkind = \"memory\"\n",
        &store(&redis.url()),
    );
    let harness = replace(
        harness,
        "gateways = [\"loadtest-sink\"]",
        "gateways = [\"hook\"]",
    );
    use Scope::{EndUser, Events, MobileAuthentication};
    let portal = api_client(
        CLIENT_ID,
        CLIENT_SECRET,
        &[MobileAuthentication, EndUser, Events],
    );
    format!(
        "{harness}{}{}{}{}{FAST_CALLBACKS}{}",
        array("api_clients", &[portal]),
        device::application(),
        tracked_types(),
        conf::hook_gateway("hook", hook),
        conf::callback_config(cb),
    )
}

/// SMS through the hook and pushes to the phone's app, with a minute or three seconds to live.
fn tracked_types() -> String {
    let ttl = |ty: MobileAuthType, secs: u64| MobileAuthType {
        time_to_live: Duration::from_secs(secs),
        ..ty
    };
    let code = "Your code is {code}";
    let types = [
        ttl(auth_type("sms_long", Method::Sms, code), 60),
        ttl(auth_type("sms_short", Method::Sms, code), 3),
        ttl(auth_type("push_long", Method::Push, "Log in to ACME?"), 60),
        ttl(auth_type("push_short", Method::Push, "Log in to ACME?"), 3),
    ];
    array("mobile_auth_types", &types)
}

/// A push of type `ty` to alice's phone, calling back to `cb`.
fn push(ty: &str, cb: &CallbackFake) -> StartParams {
    StartParams {
        user_id: Some("alice".into()),
        callback_uri: Some(cb.url()),
        ..StartParams::new(ty)
    }
}

async fn node(toml: &str) -> World {
    let t = Tessera::start(toml).await;
    let portal = PortalClient::with_http(t.http.clone(), &t.base, CLIENT_ID, CLIENT_SECRET);
    let mgmt = ManagementClient::with_http(t.http.clone(), &t.base, CLIENT_ID, CLIENT_SECRET);
    World { t, portal, mgmt }
}

/// The load harness's process, killed if the test ends before it does.
struct Harness(Child);

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `tessera loadtest --target` on push, PIN and OTP flows for eight seconds.
/// Its report goes to `json`, its stderr next to it.
fn loadtest(base: &str, sinks: SocketAddr, json: &Path) -> Harness {
    let stderr = std::fs::File::create(json.with_extension("stderr")).expect("a stderr file");
    let child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["loadtest", "--target", base, "--client-id", "loadtest"])
        .args(["--client-secret", LOADTEST_SECRET])
        .args(["--sink-listen", &sinks.to_string()])
        .args([
            "--scenario",
            "mixed",
            "--mix",
            "push=1,push_with_pin=1,otp=1",
        ])
        .args(["--rate", "15", "--duration", "8s", "--warmup", "0s"])
        .args(["--devices", "4", "--flow-timeout", "5s", "--threads", "1"])
        .arg("--quiet")
        .arg("--json")
        .arg(json)
        .env("TESSERA_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("spawn tessera loadtest");
    Harness(child)
}
