//! The `device_public_key` and `device_answer` fuzz targets as property tests on stable, and the
//! replay of their corpora (`fuzz/corpus/`): arbitrary bytes, and valid GnuPG-made keys and
//! answers mutated where parsers are weakest, give the documented refusal — never a panic, a
//! hang or another error.

use std::path::PathBuf;
use std::sync::LazyLock;

use proptest::prelude::*;

use super::mutate::{self, Mutation};
use super::*;
use crate::AnswerBody;
use crate::crypto::{DeviceKeyPair, MAX_ARMORED_LEN, seal_for_server};

const SERVER_SECRET: &str = include_str!("../../../fuzz/keys/server.secret.asc");
const DEVICE_SECRET: &str = include_str!("../../../fuzz/keys/device.secret.asc");
const DEVICE_PUBLIC: &str = include_str!("../../../fuzz/keys/device.public.asc");

static KEYS: LazyLock<AnswerKeys> =
    LazyLock::new(|| AnswerKeys::from_armor(SERVER_SECRET, DEVICE_PUBLIC));
/// The phone's key pair, to seal fresh answers the fixed server key opens.
static PHONE: LazyLock<DeviceKeyPair> =
    LazyLock::new(|| DeviceKeyPair::from_armored_secret(DEVICE_SECRET).expect("phone key loads"));

const TXN: &str = "6f9619ff-8b86-4d01-b42d-00cf4fc964ff";

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("corpus entry").path();
            let bytes = std::fs::read(&path).expect("corpus file");
            (path, bytes)
        })
        .collect();
    files.sort();
    files
}

fn gpg_seeds(target: &str) -> Vec<String> {
    corpus(target)
        .into_iter()
        .filter(|(path, _)| {
            path.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("gpg-"))
        })
        .map(|(_, bytes)| String::from_utf8(bytes).expect("armor"))
        .collect()
}

fn sealed(plaintext: &[u8]) -> String {
    seal_for_server(plaintext, KEYS.server.public_key(), &PHONE).expect("seal")
}

// === corpora ===

#[test]
fn device_public_key_corpus_replays() {
    let files = corpus("device_public_key");
    assert!(files.len() >= 4, "the GnuPG seeds are missing");
    for (path, bytes) in files {
        eprintln!("{}", path.display());
        device_public_key(&bytes);
    }
}

#[test]
fn device_answer_corpus_replays() {
    let files = corpus("device_answer");
    assert!(files.len() >= 4, "the GnuPG seeds are missing");
    for (path, bytes) in files {
        eprintln!("{}", path.display());
        device_answer(&bytes, &KEYS);
    }
}

/// The seeds are what they claim: GnuPG-made keys the engine enrolls and GnuPG-made answers it
/// opens with the fixed keys — else the fuzzer would start from refusals only.
#[test]
fn gnupg_seeds_are_accepted() {
    let keys = gpg_seeds("device_public_key");
    assert_eq!(keys.len(), 4);
    for armored in keys {
        parse_device_key(&armored).expect("a GnuPG key enrolls");
    }
    let answers = gpg_seeds("device_answer");
    assert_eq!(answers.len(), 4);
    for armored in answers {
        let body = crate::engine::open_answer(&armored, &KEYS.server, &KEYS.device)
            .expect("a GnuPG answer opens");
        assert_eq!(body.transaction_id.as_deref(), Some(TXN));
    }
}

// === properties ===

fn answer_json() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (
            any::<bool>(),
            proptest::option::of(".{0,40}"),
            proptest::option::of(any::<u8>())
        )
            .prop_map(|(accepted, pin_token, number)| {
                serde_json::to_vec(&AnswerBody {
                    transaction_id: Some(TXN.to_owned()),
                    accepted,
                    pin_token,
                    number,
                    ..AnswerBody::default()
                })
                .expect("json")
            }),
        proptest::collection::vec(any::<u8>(), 0..64),
        Just(br#"{"accepted":"yes"}"#.to_vec()),
        Just(br#"{"accepted":true,"number":300}"#.to_vec()),
        Just(b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[".repeat(4)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Arbitrary bytes as a public key: refused with `invalid_public_key`.
    #[test]
    fn arbitrary_bytes_are_not_a_key(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        device_public_key(&data);
        let mut armored = b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n".to_vec();
        armored.extend_from_slice(&data);
        device_public_key(&armored);
    }

    /// GnuPG-made keys with flipped bytes, cut armor, wrong CRCs, huge and partial length
    /// headers, dropped, repeated and nested packets: accepted (then their stored armor parses
    /// again) or refused with `invalid_public_key`.
    #[test]
    fn mutated_keys_are_refused_or_round_trip(
        seed in 0..4usize,
        mutations in proptest::collection::vec(mutate::mutation(), 1..4),
    ) {
        let seeds = gpg_seeds("device_public_key");
        let input = mutate::apply(&seeds[seed % seeds.len()], &mutations);
        device_public_key(input.as_bytes());
    }

    /// Arbitrary bytes as an answer: refused with `invalid_message`.
    #[test]
    fn arbitrary_bytes_are_not_an_answer(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        device_answer(&data, &KEYS);
        let mut armored = b"-----BEGIN PGP MESSAGE-----\n\n".to_vec();
        armored.extend_from_slice(&data);
        device_answer(&armored, &KEYS);
    }

    /// Validly sealed answers of any content, then mutated like the keys: opened, or refused
    /// with `invalid_message`. Unmutated, a JSON answer opens to itself.
    #[test]
    fn mutated_answers_are_refused(
        plaintext in answer_json(),
        mutations in proptest::collection::vec(mutate::mutation(), 0..4),
    ) {
        let armored = sealed(&plaintext);
        if mutations.is_empty() {
            let opened = crate::engine::open_answer(&armored, &KEYS.server, &KEYS.device);
            let expected = serde_json::from_slice::<AnswerBody>(&plaintext);
            prop_assert_eq!(opened.is_ok(), expected.is_ok());
        }
        device_answer(mutate::apply(&armored, &mutations).as_bytes(), &KEYS);
    }

    /// GnuPG-made answers (compressed, text mode), mutated.
    #[test]
    fn mutated_gnupg_answers_are_refused(
        seed in 0..4usize,
        mutations in proptest::collection::vec(mutate::mutation(), 1..4),
    ) {
        let seeds = gpg_seeds("device_answer");
        device_answer(mutate::apply(&seeds[seed % seeds.len()], &mutations).as_bytes(), &KEYS);
    }
}

/// Deep nesting is where recursive parsers overflow their stack: a key and an answer wrapped in
/// many layers of (uncompressed) compressed-data packets, up to the size limit.
#[test]
fn deeply_nested_packets_are_refused() {
    for depth in [100, 1000, 5000] {
        let nest = [Mutation::Nest { depth }];
        let key = mutate::apply(DEVICE_PUBLIC, &nest);
        let answer = mutate::apply(&sealed(b"{\"accepted\":true}"), &nest);
        assert!(key.len() <= MAX_ARMORED_LEN + 1024, "{}", key.len());
        device_public_key(key.as_bytes());
        device_answer(answer.as_bytes(), &KEYS);
    }
}

/// Found writing the harness's round-trip check (the stored armor parses again): armor without
/// line breaks or CRC is denser than the normalised armor enrollment stores, so a key just under
/// the size limit as sent could be stored over it — and every later use of the device would fail
/// to parse it. Such a key is refused at enrollment instead. (The key is also in the corpus:
/// `regression-dense-armor-over-limit.asc`.)
#[test]
fn a_key_whose_stored_armor_would_exceed_the_limit_is_refused() {
    use pgp::composed::{
        ArmorOptions, EncryptionCaps, KeyType, SecretKeyParamsBuilder, SubkeyParamsBuilder,
    };
    use pgp::crypto::ecc_curve::ECCCurve;

    let key_with_uid = |uid_len: usize| {
        let encryption = SubkeyParamsBuilder::default()
            .key_type(KeyType::ECDH(ECCCurve::Curve25519Legacy))
            .can_encrypt(EncryptionCaps::All)
            .build()
            .unwrap();
        let mut params = SecretKeyParamsBuilder::default();
        params
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .primary_user_id(format!("{} <p@x>", "P".repeat(uid_len)))
            .subkey(encryption);
        let secret = params
            .build()
            .unwrap()
            .generate(rand08::thread_rng())
            .unwrap();
        secret
            .to_public_key()
            .to_armored_string(ArmorOptions::default())
            .unwrap()
    };
    // The same armor on one line, without CRC: what a client may send.
    let dense = |armored: &str| {
        let lines: Vec<&str> = armored.lines().collect();
        let body: String = lines[2..lines.len() - 1]
            .iter()
            .filter(|l| !l.starts_with('='))
            .copied()
            .collect();
        format!("{}\n\n{body}\n{}\n", lines[0], lines[lines.len() - 1])
    };
    let big = dense(&key_with_uid(48_500));
    assert!(big.len() <= MAX_ARMORED_LEN, "{}", big.len());
    assert!(key_with_uid(48_500).len() > MAX_ARMORED_LEN);
    assert!(matches!(
        parse_device_key(&big),
        Err(DeviceError::InvalidPublicKey)
    ));
    device_public_key(big.as_bytes());

    // A large key whose stored armor fits is still accepted.
    let fits = dense(&key_with_uid(40_000));
    let key = parse_device_key(&fits).expect("fits");
    assert!(key.armored().len() <= MAX_ARMORED_LEN);
}
