//! GnuPG playing the phone (API.md §4 "Cryptography"), the reference the device protocol is held
//! to: a throw-away GNUPGHOME with a key made the way GnuPG 2.2 users make them, and the gpg
//! calls a phone makes — export its key, import the server's, decrypt documents, sign and
//! encrypt answers, sign detached.
//!
//! Drives the system `gpg` (Debian package `gnupg`). Tests using it fail, rather than skip, when
//! gpg is missing: a skipped interop test would let a regression through silently. Batch mode
//! with loopback pinentry and an empty passphrase never prompts, so no call can hang.

use std::cell::Cell;
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// A temporary GNUPGHOME holding one gpg-made key pair; removed (agent included) on drop.
pub struct Gpg {
    home: PathBuf,
    pub fingerprint: String,
    outputs: Cell<u32>,
}

impl Gpg {
    /// An ed25519 signing key with a cv25519 encryption subkey, neither expiring: the phone key
    /// of the interop tests.
    pub fn with_phone_key() -> Self {
        Self::with_key("ed25519", "cv25519", "0", &[])
    }

    /// A fresh home with a key like GnuPG 2.2 users make: `primary` for signing plus a `subkey`
    /// for encryption, expiring as `expire` says (`0`: never); `extra` goes before each command.
    pub fn with_key(primary: &str, subkey: &str, expire: &str, extra: &[&str]) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let home = std::env::temp_dir().join(format!(
            "tessera-gpg-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        // gpg refuses homes that others can read.
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&home)
            .expect("create GNUPGHOME");
        let mut gpg = Gpg {
            home,
            fingerprint: String::new(),
            outputs: Cell::new(0),
        };
        let mut args = extra.to_vec();
        args.extend(["--quick-gen-key", "Phone <p@x>", primary, "sign", expire]);
        gpg.ok(&args, b"");
        let (listing, _) = gpg.ok(&["--with-colons", "--list-secret-keys"], b"");
        gpg.fingerprint = first_fingerprint(&listing);
        let mut args = extra.to_vec();
        let fpr = gpg.fingerprint.clone();
        args.extend(["--quick-add-key", &fpr, subkey, "encr", expire]);
        gpg.ok(&args, b"");
        gpg
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = Command::new("gpg")
            .env("GNUPGHOME", &self.home)
            .args([
                "--batch",
                "--no-tty",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
            ])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the `gpg` binary is required for the interop tests (Debian package gnupg)");
        let mut input = child.stdin.take().expect("piped stdin");
        let stdin = stdin.to_vec();
        // Written from a thread so a large output can never block a large input.
        let writer = std::thread::spawn(move || input.write_all(&stdin));
        let output = child.wait_with_output().expect("gpg runs");
        writer
            .join()
            .expect("stdin writer")
            .expect("write gpg stdin");
        output
    }

    /// Runs gpg and insists on success; returns stdout and stderr (where `--status-fd 2` goes).
    pub fn ok(&self, args: &[&str], stdin: &[u8]) -> (Vec<u8>, String) {
        let out = self.run(args, stdin);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "gpg {args:?} failed: {stderr}");
        (out.stdout, stderr)
    }

    pub fn export_public(&self) -> String {
        self.export(&self.fingerprint)
    }

    /// Exports a key this home holds, armored.
    pub fn export(&self, fpr: &str) -> String {
        let (out, _) = self.ok(&["--armor", "--export", fpr], b"");
        String::from_utf8(out).expect("armor is ASCII")
    }

    /// The primary fingerprint of an armored key, as gpg reads it (without importing).
    pub fn fingerprint_of(&self, armored: &str) -> String {
        let (out, _) = self.ok(&["--with-colons", "--show-keys"], armored.as_bytes());
        first_fingerprint(&out)
    }

    /// Imports a key (the server's); returns its primary fingerprint.
    pub fn import(&self, armored: &str) -> String {
        self.ok(&["--import"], armored.as_bytes());
        self.fingerprint_of(armored)
    }

    /// `--decrypt`s `armored`: the plaintext and the `--status-fd 1` lines.
    pub fn decrypt(&self, armored: &str) -> (Vec<u8>, String) {
        let n = self.outputs.get();
        self.outputs.set(n + 1);
        let out = self.home.join(format!("plain-{n}"));
        let (status, _) = self.ok(
            &["--status-fd", "1", "--output", path(&out), "--decrypt"],
            armored.as_bytes(),
        );
        let plain = std::fs::read(&out).expect("gpg wrote the plaintext");
        (plain, String::from_utf8_lossy(&status).into_owned())
    }

    /// Signs with the phone key and encrypts to `recipient`, armored.
    pub fn sign_encrypt(&self, plaintext: &[u8], recipient: &str) -> String {
        self.sign_encrypt_with_status(plaintext, recipient).0
    }

    /// [`Self::sign_encrypt`], with gpg's `--status-fd` lines (which cipher it picked).
    pub fn sign_encrypt_with_status(&self, plaintext: &[u8], recipient: &str) -> (String, String) {
        let (out, status) = self.ok(
            &[
                "--status-fd",
                "2",
                "--sign",
                "--encrypt",
                "--armor",
                "--trust-model",
                "always",
                "--local-user",
                &self.fingerprint,
                "--recipient",
                recipient,
            ],
            plaintext,
        );
        (String::from_utf8(out).expect("armor is ASCII"), status)
    }

    /// An armored detached signature by the phone key over `data`.
    pub fn detach_sign(&self, data: &[u8]) -> String {
        let (out, _) = self.ok(
            &[
                "--detach-sign",
                "--armor",
                "--local-user",
                &self.fingerprint,
            ],
            data,
        );
        String::from_utf8(out).expect("armor is ASCII")
    }

    /// Writes `contents` to a file in the home (for gpg commands that take file arguments).
    pub fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.home.join(name);
        std::fs::write(&path, contents).expect("write temp file");
        path
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        // The agent gpg started lives on in this home until told to stop.
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", &self.home)
            .args(["--kill", "all"])
            .output();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

/// A temp path as a gpg argument.
pub fn path(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

fn first_fingerprint(colons: &[u8]) -> String {
    String::from_utf8_lossy(colons)
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .map(|rest| rest.trim_matches(':').to_owned())
        .expect("gpg lists a fingerprint")
}
