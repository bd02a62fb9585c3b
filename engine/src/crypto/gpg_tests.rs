//! Interoperability with GnuPG 2.2, the reference the device protocol is held to (API.md §4).
//!
//! These tests drive the system `gpg` (Debian package `gnupg`) through the test kit's [`Gpg`], in
//! a throw-away GNUPGHOME; they fail, rather than skip, when gpg is missing.

use tessera_testkit::gpg::{Gpg, path};

use super::*;

const ANSWER: &[u8] = br#"{"accepted":true,"pin_token":"0123456789abcdef"}"#;

#[test]
fn gpg_reads_what_the_server_seals() {
    let phone = Gpg::with_phone_key();
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
    let phone = Gpg::with_phone_key();
    let device_key = DeviceKey::parse(&phone.export_public()).unwrap();
    let server = ServerKey::generate().unwrap();
    phone.import(server.public_armored());
    let (armored, status) = phone.sign_encrypt_with_status(ANSWER, server.fingerprint());
    // Our key's preferences made gpg pick AES256 (9), not its 3DES fallback.
    assert!(status.contains("[GNUPG:] BEGIN_ENCRYPTION 2 9"), "{status}");
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
    let phone = Gpg::with_phone_key();
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
    let phone = Gpg::with_phone_key();
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
