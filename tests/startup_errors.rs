//! `tessera serve` refusing a configuration whose files cannot be used — an APNs `.p8` key or an
//! FCM service account that is missing or holds no usable key, CA roots that are not
//! certificates, a store this build lacks — exactly as it refuses one that fails validation:
//! exit code 64 before binding anything, stderr naming the config file and the key at fault.
//! A runtime failure (the port in use) keeps its own exit code.

mod support;

use std::path::Path;
use std::time::Duration;

use support::binary::{Output, TempDir, command, run};
use support::conf;

const EXIT_CONFIG: i32 = 64;
const WITHIN: Duration = Duration::from_secs(20);

/// An APNs push config signing with the key at `key_file`.
fn apns(key_file: &Path) -> String {
    format!(
        r#"
[[push_configs]]
id = "apns-main"
platform = "ios"
kind = "apns"
team_id = "TEAM123456"
key_id = "KEY1234567"
key_file = "{}"
"#,
        key_file.display()
    )
}

/// An FCM HTTP v1 push config with the service account at `account`.
fn fcm(account: &Path) -> String {
    format!(
        r#"
[[push_configs]]
id = "fcm-main"
platform = "android"
kind = "fcm_v1"
service_account_file = "{}"
"#,
        account.display()
    )
}

/// Runs `tessera serve --config` on the header plus `sections`, written into `dir`.
fn serve(dir: &TempDir, sections: &str) -> (Output, String) {
    let file = dir.write("tessera.toml", &conf::with(sections));
    let mut cmd = command();
    cmd.arg("serve").arg("--config").arg(&file);
    (run(cmd, WITHIN), file.display().to_string())
}

/// Exit 64 without listening; stderr names the file and `key`, and says `what`.
#[track_caller]
fn assert_refused(out: &Output, file: &str, key: &str, what: &str) {
    let shown = format!("stdout {}\nstderr {}", out.stdout, out.stderr);
    assert_eq!(out.code(), Some(EXIT_CONFIG), "{shown}");
    assert!(
        !out.stdout.contains("tessera listening"),
        "it listened: {shown}"
    );
    for expected in [file, key, what] {
        assert!(
            out.stderr.contains(expected),
            "`{expected}` not on stderr: {shown}"
        );
    }
}

#[test]
fn a_missing_apns_key_file_exits_64_naming_the_key() {
    let dir = TempDir::new();
    let missing = dir.path().join("AuthKey_missing.p8");
    let (out, file) = serve(&dir, &apns(&missing));
    assert_refused(
        &out,
        &file,
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
    let (out, file) = serve(&dir, &apns(&key));
    assert_refused(&out, &file, "push_configs[0].key_file", "not a PKCS#8 EC");
}

#[test]
fn an_unreadable_fcm_service_account_exits_64() {
    let dir = TempDir::new();
    // A directory: it exists, but cannot be read as a file.
    let (out, file) = serve(&dir, &fcm(dir.path()));
    assert_refused(
        &out,
        &file,
        "push_configs[0].service_account_file",
        "cannot read",
    );
}

#[test]
fn an_fcm_service_account_that_is_not_json_exits_64() {
    let dir = TempDir::new();
    let account = dir.write("account.json", "project_id = \"not json\"\n");
    let (out, file) = serve(&dir, &fcm(&account));
    assert_refused(
        &out,
        &file,
        "push_configs[0].service_account_file",
        "is not a service-account key",
    );
}

#[test]
fn an_fcm_service_account_without_an_rsa_key_exits_64() {
    let dir = TempDir::new();
    let account = dir.write(
        "account.json",
        r#"{"project_id": "acme", "client_email": "push@acme.iam.gserviceaccount.com",
            "private_key": "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"}"#,
    );
    let (out, file) = serve(&dir, &fcm(&account));
    assert_refused(
        &out,
        &file,
        "push_configs[0].service_account_file",
        "not an RSA key",
    );
}

#[test]
fn a_ca_file_without_certificates_exits_64() {
    let dir = TempDir::new();
    let ca = dir.write("ca.pem", "no certificates here\n");
    let sections = format!(
        r#"
[[push_configs]]
id = "fcm-legacy"
platform = "android"
kind = "fcm_legacy"
server_key = "AAAA-server-key"
ca_file = "{}"
"#,
        ca.display()
    );
    let (out, file) = serve(&dir, &sections);
    assert_refused(
        &out,
        &file,
        "push_configs[0].ca_file",
        "holds no certificate",
    );
}

#[test]
fn a_store_this_build_lacks_exits_64() {
    let dir = TempDir::new();
    let (out, file) = serve(
        &dir,
        r#"
[store]
kind = "redis"
redis_url = "redis://127.0.0.1:6379"
hash_key = "0123456789abcdef0123456789abcdef"
"#,
    );
    assert_refused(&out, &file, "store.kind", "not available");
}

#[test]
fn a_twilio_sid_the_gateway_cannot_use_is_a_validation_problem() {
    let dir = TempDir::new();
    let (out, file) = serve(
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
    );
    assert_refused(
        &out,
        &file,
        "sms_gateways[0].account_sid",
        "letters and digits",
    );

    let mut check = command();
    check.arg("config").arg("check").arg(&file);
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
    let file = dir.write("tessera.toml", &config);
    let mut cmd = command();
    cmd.arg("serve").arg("--config").arg(&file);
    let out = run(cmd, WITHIN);
    assert_eq!(
        out.code(),
        Some(1),
        "stdout {}\nstderr {}",
        out.stdout,
        out.stderr
    );
    assert!(
        !out.stderr.contains("configuration problems"),
        "{}",
        out.stderr
    );
    drop(held);
}
