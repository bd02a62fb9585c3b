//! The operator TUI in a real terminal: `tests/tui_smoke.sh` runs `tessera tui` inside tmux
//! against a `tessera serve` under `tessera loadtest --target` load, finds the overview's numbers
//! changing between two captures, then cancels a transaction and replays a dead letter through
//! keys and checks both through the admin API (its header lists every step).

use std::process::Command;

#[tokio::test]
async fn the_tui_in_tmux_shows_live_numbers_and_cancels_and_replays_through_keys() {
    let out = tokio::task::spawn_blocking(|| {
        Command::new("bash")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tui_smoke.sh"))
            .env("TESSERA_BIN", env!("CARGO_BIN_EXE_tessera"))
            .output()
    })
    .await
    .expect("the smoke script's thread")
    .expect("bash runs the smoke script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("ok: tui smoke test passed"),
        "tui smoke test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "overview live",
        "cancel through keys",
        "replay through keys",
    ] {
        assert!(
            stdout.contains(&format!("ok: {step}")),
            "step `{step}` missing:\n{stdout}"
        );
    }
}
