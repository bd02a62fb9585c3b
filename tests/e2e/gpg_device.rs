//! Interop with an independent OpenPGP implementation (API.md §4 "Cryptography"): GnuPG plays
//! the phone against the real binary. Its own Ed25519 + cv25519 key is enrolled with raw HTTP,
//! gpg decrypts the transaction document and checks the server's signature, and gpg signs and
//! encrypts the answer (and, for transaction signing, makes the detached signature).
//!
//! These tests need `gpg` (Debian package `gnupg`) and fail, not skip, without it: a skipped
//! interop test would let a regression through silently. Batch mode with loopback pinentry and
//! an empty passphrase never prompts.

use serde_json::json;

use crate::support::Tessera;
use crate::support::device::config;
use crate::support::gpg::{Gpg, GpgPhone};
use crate::support::sorted_keys;

/// Starts `form` (plus the type's user) and returns the transaction id.
async fn start(t: &Tessera, form: &[(&str, &str)]) -> String {
    let resp = t.start_raw(form).await;
    resp.expect(200);
    crate::support::portal::txn_id(&resp.json())
}

#[tokio::test]
async fn gnupg_phone_answers_a_push_with_pin() {
    let t = Tessera::start(&config("")).await;
    let phone = GpgPhone::enroll(&t, "gina").await;
    assert_eq!(phone.device_id.len(), 64);

    let id = start(&t, &[("type", "push_pin"), ("user_id", "gina")]).await;
    assert_eq!(phone.pending().await, std::slice::from_ref(&id));
    let doc = phone.fetch(&id).await;
    assert_eq!(doc["transaction_id"], id.as_str(), "{doc}");
    assert_eq!(doc["type"], "push_pin", "{doc}");
    assert_eq!(doc["method"], "push_with_pin", "{doc}");
    assert_eq!(doc["message"], "Log in to ACME with your PIN?", "{doc}");
    assert_eq!(
        sorted_keys(&doc),
        [
            "message",
            "method",
            "time_to_live",
            "timestamp",
            "transaction_id",
            "type"
        ],
        "{doc}"
    );
    assert!(
        doc["timestamp"].is_u64() && doc["time_to_live"].is_u64(),
        "{doc}"
    );
    assert!(phone.pending().await.is_empty());

    // The server reads gpg's message: a wrong token is counted like any other.
    let wrong = phone
        .answer(
            &id,
            &json!({"transaction_id": id, "accepted": true, "pin_token": "AAAA"}),
        )
        .await;
    wrong.expect_error(403, "invalid_authenticator");
    assert_eq!(wrong.json()["remaining_attempts"], 2);

    let resp = phone
        .answer(
            &id,
            &json!({"transaction_id": id, "accepted": true, "pin_token": phone.pin_token}),
        )
        .await;
    resp.expect(200);
    assert_eq!(resp.json(), json!({"result": "accepted"}));
    let result = t.final_result(&id).await;
    assert_eq!(result["status"], "accepted", "{result}");
    assert_eq!(result["is_authenticated"], true, "{result}");
    assert_eq!(result["authentication_method"], "push_with_pin", "{result}");
    assert_eq!(result["user_id"], "gina", "{result}");
    assert_eq!(result["used_authentication_attempts"], 2, "{result}");

    // A gpg-made rejection is a rejection.
    let id = start(&t, &[("type", "push"), ("user_id", "gina")]).await;
    phone.fetch(&id).await;
    let resp = phone
        .answer(
            &id,
            &json!({"transaction_id": id, "accepted": false, "reject_reason": "not_me"}),
        )
        .await;
    resp.expect(200);
    assert_eq!(resp.json(), json!({"result": "rejected"}));
    let result = t.final_result(&id).await;
    assert_eq!(result["status"], "rejected", "{result}");
    assert_eq!(
        result["not_authenticated_reason"]["reason"], "not_accepted",
        "{result}"
    );
}

#[tokio::test]
async fn gnupg_phone_signs_a_transaction() {
    let t = Tessera::start(&config("")).await;
    let phone = GpgPhone::enroll(&t, "gina").await;
    let data = "Pay 250.00 EUR to NL91 ABNA 0417 1643 00 — ref. €42";
    let id = start(
        &t,
        &[
            ("type", "push_signed"),
            ("user_id", "gina"),
            ("signing_data", data),
        ],
    )
    .await;
    let doc = phone.fetch(&id).await;
    assert_eq!(doc["signing_data"], data, "{doc}");

    let signature = phone.gpg.detach_sign(data.as_bytes());
    assert!(signature.starts_with("-----BEGIN PGP SIGNATURE-----"));
    let resp = phone
        .answer(
            &id,
            &json!({"transaction_id": id, "accepted": true, "signature": signature}),
        )
        .await;
    resp.expect(200);
    assert_eq!(resp.json(), json!({"result": "accepted"}));

    let result = t.final_result(&id).await;
    assert_eq!(result["status"], "accepted", "{result}");
    assert_eq!(result["signature_verified"], true, "{result}");
    assert_eq!(result["signature"], signature.as_str(), "{result}");
    let user_key = result["user_public_key"]
        .as_str()
        .unwrap_or_else(|| panic!("no user_public_key: {result}"));
    // The key the portal is told about is gpg's own.
    assert_eq!(phone.gpg.fingerprint_of(user_key), phone.gpg.fingerprint);

    // A gpg signature over other data than the document's fails the transaction.
    let id = start(
        &t,
        &[
            ("type", "push_signed"),
            ("user_id", "gina"),
            ("signing_data", data),
        ],
    )
    .await;
    phone.fetch(&id).await;
    let forged = phone.gpg.detach_sign(b"Pay 9999.00 EUR to someone else");
    let resp = phone
        .answer(
            &id,
            &json!({"transaction_id": id, "accepted": true, "signature": forged}),
        )
        .await;
    // Not an accept: `200 {"result": "rejected"}` or a refusal.
    assert!(
        (resp.status == 200 && resp.json()["result"] == "rejected")
            || (400..500).contains(&resp.status),
        "{} {}",
        resp.status,
        resp.text()
    );
    let result = t.final_result(&id).await;
    assert_eq!(result["status"], "failed", "{result}");
    assert_eq!(
        result["not_authenticated_reason"]["reason"], "invalid_answer",
        "{result}"
    );
    assert_eq!(result["signature_verified"], false, "{result}");
}

#[tokio::test]
async fn a_gnupg_answer_signed_by_another_key_is_refused() {
    let t = Tessera::start(&config("")).await;
    let phone = GpgPhone::enroll(&t, "gina").await;
    let id = start(&t, &[("type", "push"), ("user_id", "gina")]).await;
    phone.fetch(&id).await;

    // A second gpg key, never enrolled, signs a well-formed answer to the server.
    let intruder = Gpg::with_phone_key();
    let server_key = phone.gpg.export(&phone.server_fpr);
    intruder.import(&server_key);
    let armored = intruder.sign_encrypt(br#"{"accepted":true}"#, &phone.server_fpr);
    let resp = phone
        .send(
            phone
                .call(reqwest::Method::POST, &format!("/transactions/{id}/answer"))
                .header("content-type", "application/pgp-encrypted")
                .body(armored),
        )
        .await;
    resp.expect_error(400, "invalid_message");
    assert_eq!(t.result(&id).await["status"], "pending");

    let resp = phone
        .answer(&id, &json!({"transaction_id": id, "accepted": true}))
        .await;
    resp.expect(200);
    assert_eq!(t.final_result(&id).await["status"], "accepted");
}

#[tokio::test]
async fn a_captured_gnupg_answer_cannot_be_replayed_on_another_transaction() {
    let t = Tessera::start(&config("")).await;
    let phone = GpgPhone::enroll(&t, "gina").await;
    let first = start(&t, &[("type", "push_pin"), ("user_id", "gina")]).await;
    phone.fetch(&first).await;
    // What an eavesdropper (or a malicious proxy) captures: gpg's signed and encrypted answer.
    let captured = phone.gpg.sign_encrypt(
        json!({"transaction_id": first, "accepted": true, "pin_token": phone.pin_token})
            .to_string()
            .as_bytes(),
        &phone.server_fpr,
    );
    let post = |id: &str, armored: &str| {
        phone
            .call(reqwest::Method::POST, &format!("/transactions/{id}/answer"))
            .header("content-type", "application/pgp-encrypted")
            .body(armored.to_owned())
    };
    let resp = phone.send(post(&first, &captured)).await;
    resp.expect(200);
    assert_eq!(resp.json(), json!({"result": "accepted"}));

    let second = start(&t, &[("type", "push_pin"), ("user_id", "gina")]).await;
    phone.fetch(&second).await;
    let resp = phone.send(post(&second, &captured)).await;
    resp.expect_error(400, "invalid_answer");
    assert_eq!(
        sorted_keys(&resp.json()),
        ["description", "error_code"],
        "{}",
        resp.json()
    );
    let result = t.result(&second).await;
    assert_eq!(result["status"], "pending", "{result}");
    assert_eq!(result["used_authentication_attempts"], 0, "{result}");

    // The PIN failure count is untouched: two wrong PINs still leave one attempt.
    for remaining in [2, 1] {
        let wrong = phone
            .answer(
                &second,
                &json!({"transaction_id": second, "accepted": true, "pin_token": "AAAA"}),
            )
            .await;
        wrong.expect_error(403, "invalid_authenticator");
        assert_eq!(wrong.json()["remaining_attempts"], remaining);
    }
    let resp = phone
        .answer(
            &second,
            &json!({"transaction_id": second, "accepted": true, "pin_token": phone.pin_token}),
        )
        .await;
    resp.expect(200);
}
