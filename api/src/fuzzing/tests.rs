//! The `form_body` and `json_body` fuzz targets as property tests on stable, and the replay of
//! their corpora (`fuzz/corpus/`): arbitrary bytes, and bodies built from the request types'
//! own field names with values of every JSON type, decode or get the documented `400`.

use std::path::PathBuf;

use proptest::prelude::*;
use serde_json::{Map, Value};

use super::*;

/// Every field name the portal, management and device request types know.
const KNOWN: &[&str] = &[
    "type",
    "user_id",
    "device_id",
    "app_id",
    "callback_uri",
    "message",
    "secure_message",
    "signing_data",
    "phone_number",
    "language_code",
    "ip_address",
    "user_agent",
    "transaction_id",
    "sms_code",
    "wait",
    "from",
    "to",
    "limit",
    "delete",
    "enrollment_code",
    "app_version",
    "platform",
    "device_name",
    "model",
    "os_version",
    "public_key",
    "push_token",
    "old_push_token",
    "pin_token",
    "fingerprint_token",
    "custom_token",
    "otp",
];

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

#[test]
fn form_body_corpus_replays() {
    let files = corpus("form_body");
    assert!(files.len() >= 5, "the seeds are missing");
    for (path, bytes) in files {
        eprintln!("{}", path.display());
        form_body(&bytes);
    }
}

#[test]
fn json_body_corpus_replays() {
    let files = corpus("json_body");
    assert!(files.len() >= 7, "the seeds are missing");
    for (path, bytes) in files {
        eprintln!("{}", path.display());
        json_body(&bytes);
    }
}

/// The seeds are real requests: they decode (else the fuzzer would start from refusals only).
#[test]
fn seeds_decode() {
    for (path, bytes) in corpus("form_body").into_iter().chain(corpus("json_body")) {
        let json = path.extension().is_some_and(|e| e == "json");
        let content_type = if json {
            "application/json"
        } else {
            "application/x-www-form-urlencoded"
        };
        let fields = fields(content_type, &bytes).expect("a seed parses");
        assert!(!fields.is_empty(), "{}", path.display());
    }
    let enrollment = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/corpus/json_body/enrollment.json"
    ))
    .expect("seed");
    let fields = fields("application/json", &enrollment).expect("parses");
    let p: EnrollmentParams = decode(&fields, Codes::Named).expect("decodes");
    assert!(
        p.public_key
            .is_some_and(|k| k.contains("BEGIN PGP PUBLIC KEY BLOCK"))
    );
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(KNOWN).prop_map(str::to_owned),
        1 => ".{0,12}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,32}".prop_map(Value::String),
        "[0-9]{0,25}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(".{0,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A form value as clients write it, and as they get it wrong: percent-escapes of any byte (also
/// invalid UTF-8), bad escapes, raw `+`, `=` and `%`.
fn form_value() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            "[a-zA-Z0-9._~-]{1,8}",
            any::<u8>().prop_map(|b| format!("%{b:02X}")),
            Just("+".to_owned()),
            Just("=".to_owned()),
            Just("%".to_owned()),
            Just("%z".to_owned()),
            Just("%E2%82".to_owned()),
            "[0-9]{1,25}",
        ],
        0..8,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Arbitrary bytes as a form and as a JSON body.
    #[test]
    fn arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..1024)) {
        form_body(&data);
        json_body(&data);
    }

    /// Forms of the request types' own fields, well and badly encoded.
    #[test]
    fn forms_of_known_fields(pairs in proptest::collection::vec((field_name(), form_value()), 0..12)) {
        let body: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
        form_body(body.join("&").as_bytes());
    }

    /// JSON objects of the request types' own fields, with values of every JSON type.
    #[test]
    fn json_objects_of_known_fields(fields in proptest::collection::vec((field_name(), json_value()), 0..12)) {
        let object: Map<String, Value> = fields.into_iter().collect();
        json_body(&serde_json::to_vec(&Value::Object(object)).expect("json"));
    }

    /// Deeply nested JSON, where a recursive parser would overflow its stack: refused.
    #[test]
    fn deeply_nested_json(depth in 1..20_000usize, field in proptest::sample::select(KNOWN)) {
        let body = format!("{{\"{field}\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
        json_body(body.as_bytes());
    }
}

/// A body at the API's limit is parsed; one byte more never reaches the decoders (`413` first).
#[test]
fn bodies_at_the_limit() {
    let mut body = b"user_id=".to_vec();
    body.resize(MAX_BODY_BYTES, b'a');
    assert!(fields("application/x-www-form-urlencoded", &body).is_some());
    body.push(b'a');
    assert!(fields("application/x-www-form-urlencoded", &body).is_none());
    form_body(&body);
}
