//! Interoperability with GnuPG 2.2, the reference the device protocol is held to (API.md §4).
//!
//! These tests drive the system `gpg` (Debian package `gnupg`) in a throw-away GNUPGHOME. They
//! fail, rather than skip, when gpg is missing: a skipped interop test would let a regression
//! through silently. Batch mode with loopback pinentry and an empty passphrase never prompts, so
//! no call can hang waiting for input.

use std::{
    io::Write,
    os::unix::fs::DirBuilderExt,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::atomic::{AtomicU32, Ordering},
};

use super::*;

const ANSWER: &[u8] = br#"{"accepted":true,"pin_token":"0123456789abcdef"}"#;

/// A temporary GNUPGHOME holding one gpg-made key pair; removed (agent included) on drop.
struct Gpg {
    home: PathBuf,
    fingerprint: String,
}

impl Gpg {
    /// A fresh home with a key like GnuPG 2.2 users make: `algo` primary for signing plus an
    /// encryption subkey, neither expiring (or as `expire` says).
    fn with_key(primary: &str, subkey: &str, expire: &str, extra: &[&str]) -> Self {
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
        };
        let mut args = extra.to_vec();
        args.extend(["--quick-gen-key", "Phone <p@x>", primary, "sign", expire]);
        gpg.ok(&args, b"");
        gpg.fingerprint = gpg.first_fingerprint();
        let mut args = extra.to_vec();
        let fpr = gpg.fingerprint.clone();
        args.extend(["--quick-add-key", &fpr, subkey, "encr", expire]);
        gpg.ok(&args, b"");
        gpg
    }

    fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
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
            .expect("the `gpg` binary is required for these tests (Debian package gnupg)");
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
    fn ok(&self, args: &[&str], stdin: &[u8]) -> (Vec<u8>, String) {
        let out = self.run(args, stdin);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "gpg {args:?} failed: {stderr}");
        (out.stdout, stderr)
    }

    fn first_fingerprint(&self) -> String {
        let (out, _) = self.ok(&["--with-colons", "--list-secret-keys"], b"");
        String::from_utf8_lossy(&out)
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .map(|rest| rest.trim_matches(':').to_owned())
            .expect("gpg lists a fingerprint")
    }

    fn export_public(&self) -> String {
        let (out, _) = self.ok(&["--armor", "--export", &self.fingerprint], b"");
        String::from_utf8(out).expect("armor is ASCII")
    }

    fn import(&self, armored: &str) {
        self.ok(&["--import"], armored.as_bytes());
    }

    fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
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

fn path(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

fn ed25519_phone() -> Gpg {
    Gpg::with_key("ed25519", "cv25519", "0", &[])
}

#[test]
fn gpg_reads_what_the_server_seals() {
    let phone = ed25519_phone();
    let device_key = DeviceKey::parse(&phone.export_public()).expect("gpg key accepted");
    assert_eq!(device_key.fingerprint(), phone.fingerprint);

    let server = ServerKey::generate().unwrap();
    phone.import(server.public_armored());
    let doc = br#"{"transaction_id":"t-1","type":"push","message":"Log in to Example?"}"#;
    let sealed = seal_for_device(doc, &device_key, &server).unwrap();
    let (plaintext, status) = phone.ok(&["--status-fd", "2", "--decrypt"], sealed.as_bytes());
    assert_eq!(plaintext, doc);
    assert!(status.contains("[GNUPG:] GOODSIG"), "{status}");
    assert!(
        status.contains(&format!("[GNUPG:] VALIDSIG {}", server.fingerprint())),
        "{status}"
    );
    // SEIPD v1 (MDC method 2) with AES256 (9).
    assert!(status.contains("[GNUPG:] DECRYPTION_INFO 2 9"), "{status}");
    assert!(status.contains("[GNUPG:] DECRYPTION_OKAY"), "{status}");
}

#[test]
fn server_opens_what_gpg_signs_and_encrypts() {
    let phone = ed25519_phone();
    let device_key = DeviceKey::parse(&phone.export_public()).unwrap();
    let server = ServerKey::generate().unwrap();
    phone.import(server.public_armored());
    let (armored, status) = phone.ok(
        &[
            "--status-fd",
            "2",
            "--sign",
            "--encrypt",
            "--armor",
            "--trust-model",
            "always",
            "--local-user",
            &phone.fingerprint,
            "--recipient",
            server.fingerprint(),
        ],
        ANSWER,
    );
    // Our key's preferences made gpg pick AES256 (9), not its 3DES fallback.
    assert!(status.contains("[GNUPG:] BEGIN_ENCRYPTION 2 9"), "{status}");
    let armored = String::from_utf8(armored).unwrap();
    assert_eq!(
        open_from_device(&armored, &server, &device_key).unwrap(),
        ANSWER
    );

    // And a key that is not the enrolled one gets nowhere, even though gpg signed properly.
    let stranger = DeviceKey::parse(DeviceKeyPair::generate().unwrap().public_armored()).unwrap();
    assert_eq!(
        open_from_device(&armored, &server, &stranger),
        Err(CryptoError::BadSignature)
    );
}

#[test]
fn detached_signatures_cross_check() {
    let phone = ed25519_phone();
    let device_key = DeviceKey::parse(&phone.export_public()).unwrap();
    let data = b"Transfer 250.00 EUR to NL91 ABNA 0417 1643 00";
    let (sig, _) = phone.ok(&["--detach-sign", "--armor"], data);
    let sig = String::from_utf8(sig).unwrap();
    assert_eq!(verify_detached(&sig, data, &device_key), Ok(true));
    assert_eq!(
        verify_detached(&sig, b"Transfer 9999 EUR", &device_key),
        Ok(false)
    );

    // The other way: gpg accepts a signature made by our device key pair.
    let ours = DeviceKeyPair::generate().unwrap();
    phone.import(ours.public_armored());
    let sig_file = phone.file("data.sig", sign_detached(data, &ours).unwrap().as_bytes());
    let data_file = phone.file("data", data);
    let (_, status) = phone.ok(
        &[
            "--status-fd",
            "2",
            "--verify",
            path(&sig_file),
            path(&data_file),
        ],
        b"",
    );
    assert!(
        status.contains(&format!("[GNUPG:] VALIDSIG {}", ours.fingerprint())),
        "{status}"
    );
}

#[test]
fn our_keys_list_the_preferences_gpg_needs() {
    let phone = ed25519_phone();
    let server = ServerKey::generate().unwrap();
    let (packets, _) = phone.ok(&["--list-packets"], server.public_armored().as_bytes());
    let packets = String::from_utf8_lossy(&packets);
    // AES256, AES128; SHA256, SHA512; ZLIB, uncompressed.
    assert!(packets.contains("pref-sym-algos: 9 7"), "{packets}");
    assert!(packets.contains("pref-hash-algos: 8 10"), "{packets}");
    assert!(packets.contains("pref-zip-algos: 2 0"), "{packets}");
    assert!(packets.contains("version 4"), "{packets}");
}

#[test]
fn gpg_rsa_key_is_accepted() {
    let phone = Gpg::with_key("rsa2048", "rsa2048", "0", &[]);
    let device_key = DeviceKey::parse(&phone.export_public()).expect("RSA key accepted");
    let server = ServerKey::generate().unwrap();
    phone.import(server.public_armored());
    let sealed = seal_for_device(ANSWER, &device_key, &server).unwrap();
    let (plaintext, _) = phone.ok(&["--decrypt"], sealed.as_bytes());
    assert_eq!(plaintext, ANSWER);
    let (armored, _) = phone.ok(
        &[
            "--sign",
            "--encrypt",
            "--armor",
            "--trust-model",
            "always",
            "--recipient",
            server.fingerprint(),
        ],
        ANSWER,
    );
    let armored = String::from_utf8(armored).unwrap();
    assert_eq!(
        open_from_device(&armored, &server, &device_key).unwrap(),
        ANSWER
    );
}

#[test]
fn expired_gpg_key_is_rejected() {
    // Made "in 2020" with a one-day lifetime, so long expired by now.
    let phone = Gpg::with_key(
        "ed25519",
        "cv25519",
        "1d",
        &["--faked-system-time", "20200101T000000!"],
    );
    assert_eq!(
        DeviceKey::parse(&phone.export_public()).unwrap_err(),
        CryptoError::InvalidKey("key has expired")
    );
}
