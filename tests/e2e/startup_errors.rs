//! `tessera serve` refusing a configuration whose files cannot be used — an APNs `.p8` key or an
//! FCM service account that is missing or holds no usable key, CA roots that are not
//! certificates, a Redis URL the client cannot use — exactly as it refuses one that fails validation:
//! exit code 64 before binding anything, stderr naming the config file and the key at fault.
//! A runtime failure (the port in use) keeps its own exit code.

use std::path::Path;
use std::time::Duration;

use tessera_testkit::conf::{Platform, PushConfig, PushKind, array};

use crate::support::binary::{Output, TempDir, command, run};
use crate::support::conf;

const EXIT_CONFIG: i32 = 64;
const WITHIN: Duration = Duration::from_secs(20);

/// `[[push_configs]]` holding `config` alone.
fn push(config: PushConfig) -> String {
    array("push_configs", &[config])
}

/// An APNs push config signing with the key at `key_file`.
fn apns(key_file: &Path) -> String {
    push(PushConfig {
        id: "apns-main".into(),
        platform: Platform::Ios,
        kind: PushKind::Apns,
        team_id: "TEAM123456".into(),
        key_id: "KEY1234567".into(),
        key_file: key_file.display().to_string(),
        ..Default::default()
    })
}

/// An FCM HTTP v1 push config with the service account at `account`.
fn fcm(account: &Path) -> String {
    push(PushConfig {
        id: "fcm-main".into(),
        platform: Platform::Android,
        kind: PushKind::FcmV1,
        service_account_file: account.display().to_string(),
        ..Default::default()
    })
}

/// Runs `tessera serve --config FILE` on `toml`, written into `dir`; returns what it printed and
/// the file's path.
fn serve(dir: &TempDir, toml: &str) -> (Output, String) {
    let file = dir.write("tessera.toml", toml);
    let mut cmd = command();
    cmd.arg("serve").arg("--config").arg(&file);
    (run(cmd, WITHIN), file.display().to_string())
}

/// Serves the header plus `sections` and asserts it is refused as a configuration problem: exit
/// 64 without listening, stderr naming the config file and `key`, and saying `what`.
#[track_caller]
fn assert_refused(dir: &TempDir, sections: &str, key: &str, what: &str) -> Output {
    let (out, file) = serve(dir, &conf::with(sections));
    let shown = format!("stdout {}\nstderr {}", out.stdout, out.stderr);
    assert_eq!(out.code(), Some(EXIT_CONFIG), "{shown}");
    assert!(
        !out.stdout.contains("tessera listening"),
        "it listened: {shown}"
    );
    for expected in [file.as_str(), key, what] {
        assert!(
            out.stderr.contains(expected),
            "`{expected}` not on stderr: {shown}"
        );
    }
    out
}

#[test]
fn a_missing_apns_key_file_exits_64_naming_the_key() {
    let dir = TempDir::new();
    let missing = dir.path().join("AuthKey_missing.p8");
    assert_refused(
        &dir,
        &apns(&missing),
        "push_configs[0].key_file",
        &format!("cannot read {}", missing.display()),
    );
}

#[test]
fn an_apns_key_file_that_is_not_a_key_exits_64() {
    let dir = TempDir::new();
    let key = dir.write(
        "AuthKey.p8",
        "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
    );
    assert_refused(
        &dir,
        &apns(&key),
        "push_configs[0].key_file",
        "not a PKCS#8 EC",
    );
}

#[test]
fn an_fcm_service_account_that_cannot_be_used_exits_64() {
    const NOT_A_KEY: &str = r#"{"project_id": "acme",
        "client_email": "push@acme.iam.gserviceaccount.com",
        "private_key": "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"}"#;
    // `None`: the path is a directory — it exists, but cannot be read as a file.
    let cases = [
        (None, "cannot read"),
        (
            Some("project_id = \"not json\"\n"),
            "is not a service-account key",
        ),
        (Some(NOT_A_KEY), "not an RSA key"),
    ];
    for (contents, what) in cases {
        let dir = TempDir::new();
        let account = match contents {
            Some(text) => dir.write("account.json", text),
            None => dir.path().to_path_buf(),
        };
        assert_refused(
            &dir,
            &fcm(&account),
            "push_configs[0].service_account_file",
            what,
        );
    }
}

#[test]
fn a_ca_file_without_certificates_exits_64() {
    let dir = TempDir::new();
    let ca = dir.write("ca.pem", "no certificates here\n");
    let sections = push(PushConfig {
        id: "fcm-legacy".into(),
        platform: Platform::Android,
        kind: PushKind::FcmLegacy,
        server_key: "AAAA-server-key".into(),
        ca_file: ca.display().to_string(),
        ..Default::default()
    });
    assert_refused(
        &dir,
        &sections,
        "push_configs[0].ca_file",
        "holds no certificate",
    );
}

#[test]
fn a_redis_url_the_client_cannot_use_exits_64() {
    let dir = TempDir::new();
    // A well-formed URL (validation passes) whose database number is not one.
    assert_refused(
        &dir,
        r#"
[store]
kind = "redis"
redis_url = "redis://127.0.0.1:6379/notadb"
hash_key = "0123456789abcdef0123456789abcdef"
"#,
        "store.redis_url",
        "not a usable Redis URL",
    );
}

#[test]
fn a_twilio_sid_the_gateway_cannot_use_is_a_validation_problem() {
    let dir = TempDir::new();
    assert_refused(
        &dir,
        r#"
[sms]
gateways = ["tw"]

[[sms_gateways]]
name = "tw"
kind = "twilio"
account_sid = "AC1/Calls"
auth_token = "token"
from = "+31600000000"
"#,
        "sms_gateways[0].account_sid",
        "letters and digits",
    );

    // `config check` refuses it the same way: the rule lives in validation only.
    let mut check = command();
    check
        .arg("config")
        .arg("check")
        .arg(dir.path().join("tessera.toml"));
    let out = run(check, WITHIN);
    assert_eq!(out.code(), Some(EXIT_CONFIG), "stderr {}", out.stderr);
    assert!(
        out.stderr.contains("sms_gateways[0].account_sid"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_port_in_use_is_not_a_configuration_problem() {
    // Held without SO_REUSEPORT, so tessera's SO_REUSEPORT listeners cannot share it.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let dir = TempDir::new();
    let config = conf::with("").replacen(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{port}\""),
        1,
    );
    let (out, _) = serve(&dir, &config);
    let shown = format!("stdout {}\nstderr {}", out.stdout, out.stderr);
    assert_eq!(out.code(), Some(1), "{shown}");
    assert!(!out.stderr.contains("configuration problems"), "{shown}");
    drop(held);
}
