//! GnuPG playing the phone (API.md §4 "Cryptography"): a throw-away GNUPGHOME with a key made the
//! way GnuPG 2.2 users make them, and a phone that enrolls it and speaks the device API with plain
//! HTTP, gpg decrypting documents and signing and encrypting answers.
//!
//! Needs `gpg` (Debian package `gnupg`); the tests fail, not skip, without it.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use super::Tessera;
use super::binary::TempDir;
use super::portal::Resp;

/// A throw-away GNUPGHOME with one key made the way GnuPG 2.2 users make them; its agent is
/// killed and the home removed on drop.
pub struct Gpg {
    pub home: TempDir,
    pub fingerprint: String,
    outputs: std::cell::Cell<u32>,
}

impl Gpg {
    pub fn with_phone_key() -> Self {
        let home = TempDir::new();
        // gpg warns about homes others can read.
        std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod GNUPGHOME");
        let mut gpg = Gpg {
            home,
            fingerprint: String::new(),
            outputs: std::cell::Cell::new(0),
        };
        gpg.ok(
            &["--quick-gen-key", "Phone <p@x>", "ed25519", "sign", "0"],
            b"",
        );
        let (listing, _) = gpg.ok(&["--with-colons", "--list-secret-keys"], b"");
        gpg.fingerprint = first_fingerprint(&listing);
        let fpr = gpg.fingerprint.clone();
        gpg.ok(&["--quick-add-key", &fpr, "cv25519", "encr", "0"], b"");
        gpg
    }

    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = Command::new("gpg")
            .env("GNUPGHOME", self.home.path())
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
            .expect("`gpg` is required for the interop tests (Debian package gnupg)");
        let mut input = child.stdin.take().expect("piped stdin");
        let stdin = stdin.to_vec();
        // From a thread, so a large output can never block a large input.
        let writer = std::thread::spawn(move || input.write_all(&stdin));
        let output = child.wait_with_output().expect("gpg runs");
        writer
            .join()
            .expect("stdin writer")
            .expect("write gpg stdin");
        output
    }

    /// Runs gpg, insisting on success; stdout and stderr.
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

    /// Imports the server's key; returns its primary fingerprint.
    pub fn import(&self, armored: &str) -> String {
        self.ok(&["--import"], armored.as_bytes());
        self.fingerprint_of(armored)
    }

    /// `--decrypt`s `armored`: the plaintext and the `--status-fd 1` lines.
    pub fn decrypt(&self, armored: &str) -> (Vec<u8>, String) {
        let n = self.outputs.get();
        self.outputs.set(n + 1);
        let out = self.home.path().join(format!("plain-{n}"));
        let out_arg = out.to_str().expect("UTF-8 temp path");
        let (status, _) = self.ok(
            &["--status-fd", "1", "--output", out_arg, "--decrypt"],
            armored.as_bytes(),
        );
        let plain = std::fs::read(&out).expect("gpg wrote the plaintext");
        (plain, String::from_utf8_lossy(&status).into_owned())
    }

    /// Signs with the phone key and encrypts to `recipient`, armored.
    pub fn sign_encrypt(&self, plaintext: &[u8], recipient: &str) -> String {
        let (out, _) = self.ok(
            &[
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
        String::from_utf8(out).expect("armor is ASCII")
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
}

impl Drop for Gpg {
    fn drop(&mut self) {
        // The agent gpg started lives on in this home until told to stop.
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home.path())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

pub fn sorted_keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

fn first_fingerprint(colons: &[u8]) -> String {
    String::from_utf8_lossy(colons)
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .map(|rest| rest.trim_matches(':').to_owned())
        .expect("gpg lists a fingerprint")
}

/// A phone whose OpenPGP is GnuPG, speaking the device API with plain HTTP.
pub struct GpgPhone<'a> {
    pub t: &'a Tessera,
    pub gpg: Gpg,
    pub device_id: String,
    pub device_secret: String,
    pub server_fpr: String,
    pub pin_token: String,
}

impl<'a> GpgPhone<'a> {
    /// Enrolled for `user` with gpg's key, push-enrolled, with a PIN.
    pub async fn enroll(t: &'a Tessera, user: &str) -> GpgPhone<'a> {
        let gpg = Gpg::with_phone_key();
        let public_key = gpg.export_public();
        assert!(public_key.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));

        let code = t
            .send(t.portal(
                reqwest::Method::POST,
                &format!("/oauth/api/v4/users/{user}/enrollment-codes"),
            ))
            .await;
        code.expect(201);
        let code = code.json()["enrollment_code"]
            .as_str()
            .expect("an enrollment code")
            .to_owned();

        let enrollment = json!({
            "enrollment_code": code,
            "app_id": "acme",
            "app_version": "1.0",
            "platform": "android",
            "device_name": "GnuPG phone",
            "public_key": public_key,
        });
        let resp = t
            .send(
                t.http
                    .post(t.url("/device/v1/enrollments"))
                    .json(&enrollment),
            )
            .await;
        resp.expect(201);
        let enrolled = resp.json();
        let field = |name: &str| {
            enrolled[name]
                .as_str()
                .unwrap_or_else(|| panic!("no {name} in {enrolled}"))
                .to_owned()
        };
        let server_fpr = gpg.import(&field("server_public_key"));
        let mut phone = GpgPhone {
            t,
            gpg,
            device_id: field("device_id"),
            device_secret: field("device_secret"),
            server_fpr,
            pin_token: String::new(),
        };

        let push = phone
            .send(
                phone
                    .call(reqwest::Method::PUT, "/push-enrollment")
                    .json(&json!({"push_token": "gnupg-phone-push-token"})),
            )
            .await;
        push.expect(204);
        let pin = phone
            .send(phone.call(reqwest::Method::PUT, "/authenticators/pin"))
            .await;
        pin.expect(201);
        phone.pin_token = pin.json()["pin_token"]
            .as_str()
            .expect("a pin token")
            .to_owned();
        phone
    }

    pub fn call(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.t
            .http
            .request(method, self.t.url(&format!("/device/v1{path}")))
            .basic_auth(&self.device_id, Some(&self.device_secret))
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        self.t.send(req).await
    }

    /// `GET /transactions/pending`: the ids.
    pub async fn pending(&self) -> Vec<String> {
        let resp = self
            .send(self.call(reqwest::Method::GET, "/transactions/pending"))
            .await;
        resp.expect(200);
        let body = resp.json();
        let items = body["transactions"].as_array().expect("transactions array");
        for item in items {
            assert_eq!(
                sorted_keys(item),
                [
                    "message",
                    "time_to_live",
                    "timestamp",
                    "transaction_id",
                    "type"
                ],
                "{item}"
            );
        }
        items
            .iter()
            .map(|t| t["transaction_id"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Fetches the document; gpg decrypts it and must find the server's good signature.
    pub async fn fetch(&self, id: &str) -> Value {
        let resp = self
            .send(self.call(reqwest::Method::GET, &format!("/transactions/{id}")))
            .await;
        resp.expect(200);
        let ct = resp.header("content-type").unwrap_or_default();
        assert!(
            ct.starts_with("application/pgp-encrypted"),
            "content type {ct}"
        );
        let cache = resp.header("cache-control").unwrap_or_default();
        assert!(cache.contains("no-store"), "Cache-Control `{cache}`");
        let armored = resp.text();
        assert!(
            armored.starts_with("-----BEGIN PGP MESSAGE-----"),
            "{armored}"
        );
        let (plain, status) = self.gpg.decrypt(&armored);
        assert!(status.contains("[GNUPG:] GOODSIG "), "{status}");
        let validsig = status
            .lines()
            .find(|l| l.starts_with("[GNUPG:] VALIDSIG "))
            .unwrap_or_else(|| panic!("no VALIDSIG: {status}"));
        assert!(
            validsig.ends_with(&self.server_fpr),
            "signed by another key than the server's {}: {validsig}",
            self.server_fpr
        );
        // SEIPD v1 with MDC (method 2), and the plaintext passed its integrity check.
        assert!(status.contains("[GNUPG:] DECRYPTION_INFO 2 "), "{status}");
        assert!(status.contains("[GNUPG:] DECRYPTION_OKAY"), "{status}");
        assert!(status.contains("[GNUPG:] GOODMDC"), "{status}");
        serde_json::from_slice(&plain).unwrap_or_else(|e| {
            panic!(
                "document is not JSON ({e}): {}",
                String::from_utf8_lossy(&plain)
            )
        })
    }

    /// gpg signs and encrypts `answer` to the server; posts it.
    pub async fn answer(&self, id: &str, answer: &Value) -> Resp {
        let armored = self
            .gpg
            .sign_encrypt(answer.to_string().as_bytes(), &self.server_fpr);
        self.send(
            self.call(reqwest::Method::POST, &format!("/transactions/{id}/answer"))
                .header("content-type", "application/pgp-encrypted")
                .body(armored),
        )
        .await
    }
}
