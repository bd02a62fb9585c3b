//! GnuPG playing the phone against the binary (API.md §4 "Cryptography"): the test kit's [`Gpg`]
//! (a throw-away GNUPGHOME with a key made the way GnuPG 2.2 users make them) enrolled, speaking
//! the device API with plain HTTP, gpg decrypting documents and signing and encrypting answers.
//!
//! Needs `gpg` (Debian package `gnupg`); the tests fail, not skip, without it.

use serde_json::{Value, json};
pub use tessera_testkit::gpg::Gpg;

use super::portal::Resp;
use super::{Tessera, sorted_keys};

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

        // One token per phone: two GnuPG phones of one test are two devices.
        let token = format!("gnupg-phone-{}", &phone.device_id[..16]);
        let push = phone
            .send(
                phone
                    .call(reqwest::Method::PUT, "/push-enrollment")
                    .json(&json!({ "push_token": token })),
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
