//! The configuration contract at the command line (CONFIG.md): `tessera config check FILE`, and
//! `tessera serve` refusing a bad file with exit code 64 before binding anything.

use std::time::Duration;

use crate::support::Tessera;
use crate::support::binary::{TempDir, command, run};
use crate::support::conf::{self, gateways, sms_type};

const EXIT_CONFIG: i32 = 64;
const WITHIN: Duration = Duration::from_secs(20);

fn good() -> String {
    conf::with(&format!("{}{}", gateways(&["console"]), sms_type("sms")))
}

/// An unknown key in a type and a fallback to a type that does not exist.
fn bad() -> String {
    conf::with(
        r#"
[[mobile_auth_types]]
name = "push"
method = "push"
fallback = "nowhere"
colour = "blue"
[mobile_auth_types.default_messages]
en = "Log in?"
"#,
    )
}

#[test]
fn config_check_accepts_a_good_file() {
    let dir = TempDir::new();
    let file = dir.write("good.toml", &good());
    let mut cmd = command();
    cmd.arg("config").arg("check").arg(&file);
    let out = run(cmd, WITHIN);
    assert_eq!(
        out.code(),
        Some(0),
        "stdout {}\nstderr {}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout.contains(&format!("{}: ok", file.display())),
        "stdout `{}`",
        out.stdout
    );
}

#[test]
fn config_check_reports_every_problem_with_its_path() {
    let dir = TempDir::new();
    let file = dir.write("bad.toml", &bad());
    let mut cmd = command();
    cmd.arg("config").arg("check").arg(&file);
    let out = run(cmd, WITHIN);
    assert_eq!(
        out.code(),
        Some(EXIT_CONFIG),
        "stdout {}\nstderr {}",
        out.stdout,
        out.stderr
    );
    let printed = format!("{}\n{}", out.stdout, out.stderr);
    for path in [
        "mobile_auth_types[0].colour",
        "mobile_auth_types[0].fallback",
    ] {
        assert!(printed.contains(path), "`{path}` not reported:\n{printed}");
    }
    assert!(!out.stdout.contains(": ok"), "claims ok:\n{printed}");
}

#[test]
fn config_check_refuses_unreadable_and_malformed_files() {
    let dir = TempDir::new();
    let missing = dir.path().join("missing.toml");
    let malformed = dir.write("malformed.toml", "[server\nlisten = 5\n");
    for file in [missing, malformed] {
        let mut cmd = command();
        cmd.arg("config").arg("check").arg(&file);
        let out = run(cmd, WITHIN);
        assert_eq!(
            out.code(),
            Some(EXIT_CONFIG),
            "{}: stdout {}\nstderr {}",
            file.display(),
            out.stdout,
            out.stderr
        );
    }
}

#[test]
fn serve_with_a_bad_file_exits_64_without_listening() {
    let dir = TempDir::new();
    let file = dir.write("bad.toml", &bad());
    let mut cmd = command();
    cmd.arg("serve").arg("--config").arg(&file);
    let out = run(cmd, WITHIN);
    assert_eq!(
        out.code(),
        Some(EXIT_CONFIG),
        "stdout {}\nstderr {}",
        out.stdout,
        out.stderr
    );
    assert!(
        !out.stdout.contains("tessera listening"),
        "it listened:\n{}",
        out.stdout
    );
    for path in [
        "mobile_auth_types[0].colour",
        "mobile_auth_types[0].fallback",
    ] {
        assert!(
            out.stderr.contains(path),
            "`{path}` not on stderr:\n{}",
            out.stderr
        );
    }
}

#[tokio::test]
async fn serve_reads_the_file_named_by_tessera_config() {
    let dir = TempDir::new();
    let file = dir.write("env.toml", &good());
    let mut cmd = command();
    cmd.arg("serve").env("TESSERA_CONFIG", &file);
    let t = Tessera::spawn(cmd, dir).await;
    // Only the file declares the portal client and the `sms` type.
    t.start_sms("sms", "alice", &[]).await;
}

#[tokio::test]
async fn a_file_with_demo_settings_warns_once_each_at_start() {
    // The console gateway and no callback allow list: fine for a demo, not for a bank.
    let t = Tessera::start(&good()).await;
    // Logged before the listening line, but stderr is read by its own thread.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !t.logs().contains("callback allow list is off") && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let logs = t.logs();
    for needle in [
        "sms.gateways[0]",
        "console gateway prints SMS codes",
        "general.callback_allow_list_enabled",
        "callback allow list is off",
    ] {
        assert_eq!(logs.matches(needle).count(), 1, "{needle} in:\n{logs}");
    }
}

#[tokio::test]
async fn the_embedded_defaults_start_without_those_warnings() {
    let mut cmd = command();
    // Any free port: the embedded default's 8080 may be taken on a shared machine.
    cmd.arg("serve").env("TESSERA_SERVER_LISTEN", "127.0.0.1:0");
    let t = Tessera::spawn(cmd, TempDir::new()).await;
    let logs = t.logs();
    assert!(!logs.contains("console gateway prints"), "{logs}");
    assert!(!logs.contains("callback allow list is off"), "{logs}");
}

#[test]
fn config_check_prints_the_warnings_too() {
    let dir = TempDir::new();
    let file = dir.write("demo.toml", &good());
    let mut cmd = command();
    cmd.arg("config").arg("check").arg(&file);
    let out = run(cmd, WITHIN);
    assert_eq!(out.code(), Some(0));
    assert!(
        out.stdout.contains("warning: sms.gateways[0]"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("warning: general.callback_allow_list_enabled"),
        "{}",
        out.stdout
    );
}
