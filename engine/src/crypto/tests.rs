//! Round trips, refusals, and hostile input for the OpenPGP layer (GnuPG interop is in
//! `gpg_tests.rs`).

use base64::{Engine as _, engine::general_purpose::STANDARD};
use pgp::{
    composed::{
        ArmorOptions, EncryptionCaps, KeyType, MessageBuilder, SecretKeyParamsBuilder,
        SignedSecretKey, SubkeyParams, SubkeyParamsBuilder,
    },
    crypto::{ecc_curve::ECCCurve, hash::HashAlgorithm, sym::SymmetricKeyAlgorithm},
    types::{CompressionAlgorithm, Password},
};
use rand::{Rng, SeedableRng, rngs::StdRng};

use super::*;

const DOC: &[u8] = br#"{"transaction_id":"t-1","type":"push","message":"Log in?"}"#;

fn keys() -> (ServerKey, DeviceKeyPair, DeviceKey, PublicKey) {
    let server = ServerKey::generate().unwrap();
    let device = DeviceKeyPair::generate().unwrap();
    let device_key = DeviceKey::parse(device.public_armored()).unwrap();
    let server_public = PublicKey::parse(server.public_armored()).unwrap();
    (server, device, device_key, server_public)
}

/// A key built by hand: `primary_sign` sets the primary's sign flag; `subkeys` as given.
fn custom_key(primary_sign: bool, subkeys: Vec<SubkeyParams>) -> SignedSecretKey {
    let mut params = SecretKeyParamsBuilder::default();
    params
        .key_type(KeyType::Ed25519Legacy)
        .can_certify(true)
        .can_sign(primary_sign)
        .primary_user_id("Test <t@x>".into())
        .subkeys(subkeys);
    params
        .build()
        .unwrap()
        .generate(rand08::thread_rng())
        .unwrap()
}

fn encryption_subkey() -> SubkeyParams {
    SubkeyParamsBuilder::default()
        .key_type(KeyType::ECDH(ECCCurve::Curve25519Legacy))
        .can_encrypt(EncryptionCaps::All)
        .build()
        .unwrap()
}

fn signing_subkey() -> SubkeyParams {
    SubkeyParamsBuilder::default()
        .key_type(KeyType::Ed25519Legacy)
        .can_sign(true)
        .build()
        .unwrap()
}

fn public_armor(key: &SignedSecretKey) -> String {
    key.to_public_key()
        .to_armored_string(ArmorOptions::default())
        .unwrap()
}

/// Decodes the armor body, lets `edit` change the bytes, and re-armors them *without* a CRC24
/// (it is optional), so that tampering reaches the packet layer instead of the checksum.
fn rearmor(armored: &str, edit: impl FnOnce(&mut Vec<u8>)) -> String {
    let lines: Vec<&str> = armored.lines().collect();
    let begin = lines[0];
    let end = lines[lines.len() - 1];
    let body_start = lines.iter().position(|l| l.is_empty()).unwrap() + 1;
    let body: String = lines[body_start..lines.len() - 1]
        .iter()
        .filter(|l| !l.starts_with('='))
        .copied()
        .collect();
    let mut bytes = STANDARD.decode(body).unwrap();
    edit(&mut bytes);
    let encoded = STANDARD.encode(&bytes);
    let wrapped: Vec<&str> = encoded
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!("{begin}\n\n{}\n{end}\n", wrapped.join("\n"))
}

#[test]
fn server_to_device_round_trip() {
    let (server, device, device_key, server_public) = keys();
    let sealed = seal_for_device(DOC, &device_key, &server).unwrap();
    assert!(sealed.starts_with("-----BEGIN PGP MESSAGE-----"));
    assert_eq!(
        open_from_server(&sealed, &device, &server_public).unwrap(),
        DOC
    );
}

#[test]
fn device_to_server_round_trip() {
    let (server, device, device_key, server_public) = keys();
    let sealed = seal_for_server(b"{\"accepted\":true}", &server_public, &device).unwrap();
    let opened = open_from_device(&sealed, &server, &device_key).unwrap();
    assert_eq!(opened, b"{\"accepted\":true}");
}

#[test]
fn empty_and_binary_plaintexts_round_trip() {
    let (server, device, device_key, server_public) = keys();
    for plaintext in [&b""[..], &[0u8, 255, 10, 13, 0][..]] {
        let sealed = seal_for_server(plaintext, &server_public, &device).unwrap();
        assert_eq!(
            open_from_device(&sealed, &server, &device_key).unwrap(),
            plaintext
        );
    }
}

#[test]
fn generated_keys_are_well_formed() {
    let server = ServerKey::generate().unwrap();
    let public = PublicKey::parse(server.public_armored()).unwrap();
    assert_eq!(public.fingerprint(), server.fingerprint());
    assert_eq!(public.armored(), server.public_armored());
    assert_eq!(server.fingerprint().len(), 40);
    assert!(
        server
            .fingerprint()
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
    );
    assert!(
        server
            .public_armored()
            .starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    );
    assert_ne!(
        server.fingerprint(),
        ServerKey::generate().unwrap().fingerprint()
    );
    // The secret never shows in Debug output.
    assert!(!format!("{server:?}").contains("PRIVATE"));
}

#[test]
fn secret_key_survives_persistence() {
    let (server, device, device_key, server_public) = keys();
    let saved = server.to_armored_secret().unwrap();
    assert!(saved.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----"));
    let restored = ServerKey::from_armored_secret(&saved).unwrap();
    assert_eq!(restored.fingerprint(), server.fingerprint());
    let sealed = seal_for_server(DOC, &server_public, &device).unwrap();
    assert_eq!(
        open_from_device(&sealed, &restored, &device_key).unwrap(),
        DOC
    );
    let sealed = seal_for_device(DOC, &device_key, &restored).unwrap();
    assert_eq!(
        open_from_server(&sealed, &device, &server_public).unwrap(),
        DOC
    );
}

#[test]
fn public_and_secret_armor_are_not_interchangeable() {
    let server = ServerKey::generate().unwrap();
    let secret = server.to_armored_secret().unwrap();
    assert!(PublicKey::parse(&secret).is_err());
    assert!(ServerKey::from_armored_secret(server.public_armored()).is_err());
}

#[test]
fn tampered_ciphertext_is_rejected() {
    let (server, device, device_key, server_public) = keys();
    let sealed = seal_for_server(DOC, &server_public, &device).unwrap();
    // Untouched but re-armored without checksum still opens: the edits below are what fails.
    assert_eq!(
        open_from_device(&rearmor(&sealed, |_| {}), &server, &device_key).unwrap(),
        DOC
    );
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..64 {
        let tampered = rearmor(&sealed, |bytes| {
            let at = rng.random_range(0..bytes.len());
            bytes[at] ^= 1 << rng.random_range(0..8);
        });
        assert!(open_from_device(&tampered, &server, &device_key).is_err());
    }
    // And with the checksum kept, flipping one armor character is caught as well.
    let mut chars: Vec<char> = sealed.chars().collect();
    let mid = chars.len() / 2;
    chars[mid] = if chars[mid] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    assert!(open_from_device(&tampered, &server, &device_key).is_err());
}

#[test]
fn message_signed_by_another_key_is_bad_signature() {
    let (server, _device, device_key, server_public) = keys();
    let intruder = DeviceKeyPair::generate().unwrap();
    let sealed = seal_for_server(DOC, &server_public, &intruder).unwrap();
    assert_eq!(
        open_from_device(&sealed, &server, &device_key),
        Err(CryptoError::BadSignature)
    );
    // The server key itself is no substitute for the device's either.
    let sealed = seal_for_device(DOC, &server_public, &server).unwrap();
    assert_eq!(
        open_from_device(&sealed, &server, &device_key),
        Err(CryptoError::BadSignature)
    );
}

#[test]
fn unsigned_message_is_bad_signature() {
    let (server, _device, device_key, server_public) = keys();
    let mut rng = rand08::thread_rng();
    let mut builder = MessageBuilder::from_bytes("", DOC.to_vec())
        .seipd_v1(&mut rng, SymmetricKeyAlgorithm::AES256);
    builder
        .encrypt_to_key(&mut rng, server_public.encryption_subkey())
        .unwrap();
    let unsigned = builder
        .to_armored_string(&mut rng, ArmorOptions::default())
        .unwrap();
    assert_eq!(
        open_from_device(&unsigned, &server, &device_key),
        Err(CryptoError::BadSignature)
    );
}

#[test]
fn signed_but_unencrypted_message_is_invalid() {
    let (server, device, device_key, _) = keys();
    let mut builder = MessageBuilder::from_bytes("", DOC.to_vec());
    builder.sign(
        device.signing_key(),
        Password::empty(),
        HashAlgorithm::Sha256,
    );
    let plain = builder
        .to_armored_string(rand08::thread_rng(), ArmorOptions::default())
        .unwrap();
    assert_eq!(
        open_from_device(&plain, &server, &device_key),
        Err(CryptoError::InvalidMessage)
    );
}

/// A small compressed message must not expand past the plaintext limit in memory.
#[test]
fn compression_bomb_is_too_large() {
    let (server, device, device_key, server_public) = keys();
    let mut rng = rand08::thread_rng();
    let mut builder = MessageBuilder::from_bytes("", vec![0u8; 4 << 20])
        .seipd_v1(&mut rng, SymmetricKeyAlgorithm::AES256);
    builder
        .compression(CompressionAlgorithm::ZLIB)
        .sign(
            device.signing_key(),
            Password::empty(),
            HashAlgorithm::Sha256,
        )
        .encrypt_to_key(&mut rng, server_public.encryption_subkey())
        .unwrap();
    let bomb = builder
        .to_armored_string(&mut rng, ArmorOptions::default())
        .unwrap();
    assert!(bomb.len() < MAX_ARMORED_LEN);
    assert_eq!(
        open_from_device(&bomb, &server, &device_key),
        Err(CryptoError::TooLarge)
    );
}

#[test]
fn message_for_another_key_is_wrong_recipient() {
    let (server, device, device_key, _) = keys();
    let other = ServerKey::generate().unwrap();
    let sealed = seal_for_server(DOC, other.public_key(), &device).unwrap();
    assert_eq!(
        open_from_device(&sealed, &server, &device_key),
        Err(CryptoError::WrongRecipient)
    );
    assert_eq!(open_from_device(&sealed, &other, &device_key).unwrap(), DOC);
}

#[test]
fn oversized_inputs_are_too_large() {
    let (server, device, device_key, server_public) = keys();
    let huge = "A".repeat(MAX_ARMORED_LEN + 1);
    assert_eq!(DeviceKey::parse(&huge).unwrap_err(), CryptoError::TooLarge);
    assert_eq!(
        ServerKey::from_armored_secret(&huge).unwrap_err(),
        CryptoError::TooLarge
    );
    assert_eq!(
        open_from_device(&huge, &server, &device_key),
        Err(CryptoError::TooLarge)
    );
    assert_eq!(
        open_from_server(&huge, &device, &server_public),
        Err(CryptoError::TooLarge)
    );
    assert_eq!(
        verify_detached(&huge, DOC, &device_key),
        Err(CryptoError::TooLarge)
    );
    let big = vec![b'x'; MAX_ARMORED_LEN];
    assert_eq!(
        seal_for_server(&big, &server_public, &device),
        Err(CryptoError::TooLarge)
    );
}

#[test]
fn detached_signature_verifies_only_its_data_and_key() {
    let (_, device, device_key, _) = keys();
    let data = b"Pay 100.00 EUR to DE89 3704 0044 0532 0130 00";
    let sig = sign_detached(data, &device).unwrap();
    assert!(sig.starts_with("-----BEGIN PGP SIGNATURE-----"));
    assert_eq!(verify_detached(&sig, data, &device_key), Ok(true));
    assert_eq!(
        verify_detached(&sig, b"Pay 999.00 EUR to me", &device_key),
        Ok(false)
    );
    let other = DeviceKey::parse(DeviceKeyPair::generate().unwrap().public_armored()).unwrap();
    assert_eq!(verify_detached(&sig, data, &other), Ok(false));
    assert_eq!(
        verify_detached("not a signature", data, &device_key),
        Err(CryptoError::InvalidSignature)
    );
}

#[test]
fn key_without_encryption_subkey_is_rejected() {
    let key = custom_key(true, vec![]);
    assert_eq!(
        DeviceKey::parse(&public_armor(&key)).unwrap_err(),
        CryptoError::InvalidKey("no usable encryption subkey")
    );
}

#[test]
fn key_that_cannot_sign_is_rejected() {
    let key = custom_key(false, vec![encryption_subkey()]);
    assert_eq!(
        DeviceKey::parse(&public_armor(&key)).unwrap_err(),
        CryptoError::InvalidKey("no key allowed to sign")
    );
}

#[test]
fn signing_subkey_is_used_and_accepted() {
    let (server, _, _, server_public) = keys();
    // A certify-only primary with separate signing and encryption subkeys, as some apps make.
    let key = custom_key(false, vec![signing_subkey(), encryption_subkey()]);
    let armored = key.to_armored_string(ArmorOptions::default()).unwrap();
    let device = DeviceKeyPair::from_armored_secret(&armored).unwrap();
    let device_key = DeviceKey::parse(&public_armor(&key)).unwrap();
    let sealed = seal_for_server(DOC, &server_public, &device).unwrap();
    assert_eq!(
        open_from_device(&sealed, &server, &device_key).unwrap(),
        DOC
    );
    let sig = sign_detached(DOC, &device).unwrap();
    assert_eq!(verify_detached(&sig, DOC, &device_key), Ok(true));
}

/// Random bytes, random armor, truncations and bit flips of valid armor: every entry point must
/// return, never panic.
#[test]
fn hostile_input_never_panics() {
    let (server, device, device_key, server_public) = keys();
    let valid = [
        server.public_armored().to_owned(),
        seal_for_server(DOC, &server_public, &device).unwrap(),
        sign_detached(DOC, &device).unwrap(),
        server.to_armored_secret().unwrap(),
    ];
    let try_all = |input: &str| {
        let _ = DeviceKey::parse(input);
        let _ = ServerKey::from_armored_secret(input);
        let _ = open_from_device(input, &server, &device_key);
        let _ = open_from_server(input, &device, &server_public);
        let _ = verify_detached(input, DOC, &device_key);
    };
    let mut rng = StdRng::seed_from_u64(0x7e55e7a);
    for round in 0..200 {
        let len = rng.random_range(0..2048);
        let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        try_all(&String::from_utf8_lossy(&bytes));

        let source = &valid[round % valid.len()];
        let cut = rng.random_range(0..source.len());
        try_all(&source[..cut]);

        let flipped = rearmor(source, |bytes| {
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..bytes.len());
                bytes[at] = rng.random();
            }
        });
        try_all(&flipped);

        let body: String = (0..len)
            .map(|_| {
                char::from(
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456789+/="[rng.random_range(0..45)],
                )
            })
            .collect();
        try_all(&format!(
            "-----BEGIN PGP MESSAGE-----\n\n{body}\n-----END PGP MESSAGE-----\n"
        ));
        try_all(&format!(
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n{body}\n-----END PGP PUBLIC KEY BLOCK-----\n"
        ));
    }
    assert!(DeviceKey::parse("").is_err());
    assert!(open_from_device("", &server, &device_key).is_err());
}
