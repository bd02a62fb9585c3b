//! Garbage to every device endpoint (API.md §1, §4): broken OpenPGP armour, messages signed by
//! a key that is not the device's, encrypted to another key, sealed but meaningless cleartext,
//! random bytes, wrong content types, bad credentials and paths, oversized and lying bodies. Each
//! is a 4xx JSON answer with an `error_code`, the binary keeps running, and a pending transaction
//! still completes afterwards.

use crate::support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use reqwest::Method;
use serde_json::{Value, json};
use tessera_api::DeviceClient;
use tessera_api::wire::AnswerOutcome;
use tessera_engine::crypto::{self, DeviceKeyPair, PublicKey};

use crate::support::device::{PIN, World};
use crate::support::raw;

const MULTIPLE: &str = "push_enrollment_mode = \"multiple_devices\"";

/// Asserts a refusal: a 4xx (or exactly `status`), a JSON body with a string `error_code` (or
/// exactly `code`) and a description. Returns the body.
#[track_caller]
fn refused(what: &str, status: u16, content_type: Option<&str>, body: &[u8]) -> Value {
    assert!(
        (400..500).contains(&status),
        "{what}: status {status}, body `{}`",
        String::from_utf8_lossy(body)
    );
    let ct = content_type.unwrap_or_default();
    assert!(
        ct.starts_with("application/json"),
        "{what}: content type `{ct}`, body `{}`",
        String::from_utf8_lossy(body)
    );
    let json: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!(
            "{what}: not JSON ({e}): `{}`",
            String::from_utf8_lossy(body)
        )
    });
    assert!(json["error_code"].is_string(), "{what}: {json}");
    assert!(json["description"].is_string(), "{what}: {json}");
    json
}

/// [`refused`] for a `reqwest` answer, with the `Cache-Control` every answer carries.
#[track_caller]
fn refused_resp(what: &str, resp: &support::portal::Resp) -> Value {
    let cache = resp.header("cache-control").unwrap_or_default();
    assert!(
        cache.contains("no-store"),
        "{what}: Cache-Control `{cache}`"
    );
    refused(
        what,
        resp.status,
        resp.header("content-type").as_deref(),
        &resp.body,
    )
}

/// Sends `req` and asserts it is refused with `status` and `code`.
async fn expect_refused(
    w: &World,
    what: &str,
    req: reqwest::RequestBuilder,
    status: u16,
    code: &str,
) {
    let resp = w.t.send(req).await;
    let body = refused_resp(what, &resp);
    assert_eq!(
        (resp.status, body["error_code"].as_str()),
        (status, Some(code)),
        "{what}: {body}"
    );
}

/// A phone whose key pair the test holds, so it can seal any cleartext (the typed client only
/// seals well-formed answers). Enrolled, push-enrolled and with a PIN, over plain HTTP.
struct RawPhone {
    keys: DeviceKeyPair,
    server: PublicKey,
    device_id: String,
    secret: String,
}

impl RawPhone {
    async fn enroll(w: &World, user: &str) -> Self {
        let keys = DeviceKeyPair::generate().unwrap();
        let code = w.enrollment_code(user).await;
        let resp =
            w.t.send(
                w.t.http
                    .post(w.t.url("/device/v1/enrollments"))
                    .json(&json!({
                        "enrollment_code": code,
                        "app_id": "acme",
                        "app_version": "1.0",
                        "platform": "android",
                        "device_name": "Raw phone",
                        "public_key": keys.public_armored(),
                    })),
            )
            .await;
        resp.expect(201);
        let body = resp.json();
        let phone = Self {
            keys,
            server: PublicKey::parse(body["server_public_key"].as_str().unwrap()).unwrap(),
            device_id: body["device_id"].as_str().unwrap().to_owned(),
            secret: body["device_secret"].as_str().unwrap().to_owned(),
        };
        w.t.send(
            phone
                .call(w, Method::PUT, "/push-enrollment")
                .json(&json!({"push_token": "raw-phone-token"})),
        )
        .await
        .expect(204);
        w.t.send(phone.call(w, Method::PUT, "/authenticators/pin"))
            .await
            .expect(201);
        phone
    }

    fn call(&self, w: &World, method: Method, path: &str) -> reqwest::RequestBuilder {
        w.t.http
            .request(method, w.t.url(&format!("/device/v1{path}")))
            .basic_auth(&self.device_id, Some(&self.secret))
    }

    fn answer(
        &self,
        w: &World,
        id: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::RequestBuilder {
        self.call(w, Method::POST, &format!("/transactions/{id}/answer"))
            .header("content-type", "application/pgp-encrypted")
            .body(body)
    }

    fn seal(&self, plaintext: &[u8]) -> String {
        crypto::seal_for_server(plaintext, &self.server, &self.keys).unwrap()
    }
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// Flips one base64 character in the middle of an armored message's body.
fn flip_armor_char(armored: &str) -> String {
    let lines: Vec<&str> = armored.lines().collect();
    let body: Vec<usize> = (0..lines.len())
        .filter(|&i| {
            let l = lines[i];
            l.len() > 40 && !l.starts_with("-----") && !l.starts_with('=')
        })
        .collect();
    let target = body[body.len() / 2];
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let mut chars: Vec<char> = out[target].chars().collect();
    let mid = chars.len() / 2;
    chars[mid] = if chars[mid] == 'A' { 'B' } else { 'A' };
    out[target] = chars.into_iter().collect();
    out.join("\n") + "\n"
}

/// The world of the garbage tests: a typed phone and a raw phone of the same user (fan-out), and
/// a transaction pending for both.
async fn setup() -> (World, DeviceClient, RawPhone, String) {
    let w = World::start(MULTIPLE).await;
    let phone = w.phone("alice", "Pixel").await;
    let raw_phone = RawPhone::enroll(&w, "alice").await;
    let id = w.start_push("push_pin", "alice").await.transaction_id;
    assert_eq!(phone.pending().await.unwrap().len(), 1);
    (w, phone, raw_phone, id)
}

/// After the garbage: the binary still runs, logged no panic, and the pending transaction
/// completes with the right answer.
async fn still_works(mut w: World, phone: &DeviceClient, id: &str) {
    assert!(w.t.is_running(), "tessera died\n{}", w.t.logs());
    assert_eq!(w.result(id).await.status, "pending");
    phone.fetch(id).await.unwrap();
    assert_eq!(
        phone.answer_with_pin(id, PIN, true).await.unwrap(),
        AnswerOutcome::Accepted
    );
    let result = w.final_result(id).await;
    assert_eq!(result.status, "accepted", "{result:?}");
    let logs = w.t.logs();
    assert!(!logs.contains("panicked"), "a handler panicked:\n{logs}");
    assert!(w.t.is_running());
}

#[tokio::test]
async fn garbage_answers_are_refused_and_the_transaction_still_completes() {
    let (w, phone, raw_phone, id) = setup().await;
    let answer = |body: Vec<u8>| raw_phone.answer(&w, &id, body);
    let good = raw_phone.seal(br#"{"accepted":true,"pin_token":"x"}"#);

    let stranger = DeviceKeyPair::generate().unwrap();
    let armour_cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "broken armour",
            b"-----BEGIN PGP MESSAGE-----\n\nnot base64 at all!!\n-----END PGP MESSAGE-----\n"
                .to_vec(),
        ),
        (
            "armour without an end",
            good.lines()
                .take(4)
                .collect::<Vec<_>>()
                .join("\n")
                .into_bytes(),
        ),
        (
            "half an armoured message",
            good.as_bytes()[..good.len() / 2].to_vec(),
        ),
        ("one flipped character", flip_armor_char(&good).into_bytes()),
        (
            "signed by a key that is not the device's",
            crypto::seal_for_server(
                br#"{"accepted":true}"#,
                phone.server_public_key(),
                &stranger,
            )
            .unwrap()
            .into_bytes(),
        ),
        (
            "encrypted to another key than the server's",
            crypto::seal_for_server(
                br#"{"accepted":true}"#,
                stranger.public_key(),
                &raw_phone.keys,
            )
            .unwrap()
            .into_bytes(),
        ),
        (
            "a detached signature instead of a message",
            crypto::sign_detached(br#"{"accepted":true}"#, &raw_phone.keys)
                .unwrap()
                .into_bytes(),
        ),
        (
            "a public key instead of a message",
            raw_phone.keys.public_armored().as_bytes().to_vec(),
        ),
        ("random bytes", random_bytes(2048)),
        (
            "random base64",
            STANDARD.encode(random_bytes(2048)).into_bytes(),
        ),
        ("empty", Vec::new()),
        ("whitespace", b"   \r\n\t ".to_vec()),
        ("JSON in the clear", br#"{"accepted":true}"#.to_vec()),
        ("NUL bytes", vec![0u8; 512]),
    ];
    for (what, body) in armour_cases {
        expect_refused(&w, what, answer(body), 400, "invalid_message").await;
    }

    // Sealed properly by the enrolled key, but not an answer.
    let cleartexts: [&[u8]; 8] = [
        b"not json",
        b"",
        b"[]",
        b"{}",
        br#"{"accepted":"yes"}"#,
        br#"{"accepted":true,"pin_token":12}"#,
        br#"{"accepted":true,"number":300}"#,
        b"{\"accepted\":true,\"pin_token\":\"\xff\xfe\"}",
    ];
    for clear in cleartexts {
        let what = format!("sealed `{}`", String::from_utf8_lossy(clear));
        expect_refused(
            &w,
            &what,
            answer(raw_phone.seal(clear).into_bytes()),
            400,
            "invalid_message",
        )
        .await;
    }

    // Wrong content types, with a well-formed answer inside.
    for ct in [
        "application/json",
        "application/octet-stream",
        "text/html",
        "multipart/form-data; boundary=x",
    ] {
        let req = raw_phone
            .call(&w, Method::POST, &format!("/transactions/{id}/answer"))
            .header("content-type", ct)
            .body(good.clone());
        expect_refused(&w, ct, req, 415, "unsupported_media_type").await;
    }
    let req = raw_phone
        .call(&w, Method::POST, &format!("/transactions/{id}/answer"))
        .body(good.clone());
    expect_refused(&w, "no content type", req, 415, "unsupported_media_type").await;

    // Huge: over 64 KiB of armour-looking text, and of random bytes.
    let huge = format!(
        "-----BEGIN PGP MESSAGE-----\n\n{}\n-----END PGP MESSAGE-----\n",
        "A".repeat(70 * 1024)
    );
    expect_refused(
        &w,
        "huge armour",
        answer(huge.into_bytes()),
        413,
        "request_too_large",
    )
    .await;
    expect_refused(
        &w,
        "huge random",
        answer(random_bytes(200 * 1024)),
        413,
        "request_too_large",
    )
    .await;

    // Answers to what is not a transaction of this device.
    for bad in [
        "not-a-uuid",
        "00000000-0000-4000-8000-000000000000",
        "%00",
        "..%2F..%2Fetc",
    ] {
        let req = raw_phone
            .call(&w, Method::POST, &format!("/transactions/{bad}/answer"))
            .header("content-type", "application/pgp-encrypted")
            .body(good.clone());
        expect_refused(&w, bad, req, 404, "invalid_transaction").await;
    }

    // The typed phone's own key, but sealed to the wrong recipient and tampered: still pending.
    let wrong = phone
        .seal_answer(&support::device::accept())
        .map(|a| flip_armor_char(&a))
        .unwrap();
    let req =
        w.t.http
            .post(w.t.url(&format!("/device/v1/transactions/{id}/answer")))
            .basic_auth(phone.device_id(), Some(phone.device_secret()))
            .header("content-type", "application/pgp-encrypted")
            .body(wrong);
    expect_refused(
        &w,
        "the typed phone's tampered answer",
        req,
        400,
        "invalid_message",
    )
    .await;

    still_works(w, &phone, &id).await;
}

#[tokio::test]
async fn garbage_json_to_every_json_endpoint() {
    let (w, phone, raw_phone, id) = setup().await;
    let enrollments = || w.t.http.post(w.t.url("/device/v1/enrollments"));
    // (label, method, path, authenticated, whether it reads fields from the body). The
    // endpoints that need no body take an empty one or any JSON object, but nothing else.
    let endpoints: Vec<(&str, Method, &str, bool, bool)> = vec![
        ("enrollments", Method::POST, "/enrollments", false, true),
        (
            "push enrollment",
            Method::PUT,
            "/push-enrollment",
            true,
            true,
        ),
        (
            "push unenrollment",
            Method::DELETE,
            "/push-enrollment",
            true,
            false,
        ),
        ("PIN", Method::PUT, "/authenticators/pin", true, false),
        (
            "fingerprint",
            Method::PUT,
            "/authenticators/fingerprint",
            true,
            false,
        ),
        (
            "custom",
            Method::PUT,
            "/authenticators/custom/face",
            true,
            false,
        ),
        ("otp", Method::POST, "/otp", true, true),
    ];
    let request = |method: &Method, path: &str, authed: bool| {
        let req =
            w.t.http
                .request(method.clone(), w.t.url(&format!("/device/v1{path}")));
        if authed {
            req.basic_auth(&raw_phone.device_id, Some(&raw_phone.secret))
        } else {
            req
        }
    };
    for (label, method, path, authed, reads_fields) in &endpoints {
        let mut json_bodies: Vec<&[u8]> = vec![
            br#"{"push_token":"#,
            b"\xff\xfe\x00garbage",
            b"[1,2,3]",
            b"\"just a string\"",
            b"null",
        ];
        if *reads_fields {
            json_bodies
                .push(br#"{"push_token":42,"otp":["x"],"enrollment_code":{},"app_id":true}"#);
        }
        for body in json_bodies {
            let what = format!("{label}: JSON `{}`", String::from_utf8_lossy(body));
            let req = request(method, path, *authed)
                .header("content-type", "application/json")
                .body(body.to_vec());
            let resp = w.t.send(req).await;
            let json = refused_resp(&what, &resp);
            assert_eq!(resp.status, 400, "{what}: {json}");
        }
        for ct in ["text/plain", "application/octet-stream", "application/xml"] {
            let what = format!("{label}: {ct}");
            let req = request(method, path, *authed)
                .header("content-type", ct)
                .body(r#"{"push_token":"x"}"#);
            expect_refused(&w, &what, req, 415, "unsupported_media_type").await;
        }
        let huge = format!(r#"{{"push_token":"{}"}}"#, "x".repeat(100 * 1024));
        let req = request(method, path, *authed)
            .header("content-type", "application/json")
            .body(huge);
        expect_refused(&w, &format!("{label}: huge"), req, 413, "request_too_large").await;
    }

    // Well-formed JSON with wrong values.
    let key = DeviceKeyPair::generate().unwrap();
    let code = w.enrollment_code("alice").await;
    let enroll = |body: Value| enrollments().json(&body);
    let base = json!({
        "enrollment_code": code,
        "app_id": "acme",
        "app_version": "1.0",
        "platform": "android",
        "device_name": "X",
        "public_key": key.public_armored(),
    });
    let with = |field: &str, value: Value| {
        let mut b = base.clone();
        b[field] = value;
        b
    };
    let without = |field: &str| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().remove(field);
        b
    };
    let key_cases = [
        (
            "broken key armour",
            json!(
                "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!\n-----END PGP PUBLIC KEY BLOCK-----"
            ),
        ),
        ("a message instead of a key", json!(raw_phone.seal(b"hi"))),
        (
            "random base64 key",
            json!(STANDARD.encode(random_bytes(512))),
        ),
        ("a secret key", json!(key.to_armored_secret().unwrap())),
    ];
    for (what, value) in key_cases {
        let resp = w.t.send(enroll(with("public_key", value))).await;
        let body = refused_resp(what, &resp);
        assert_eq!(resp.status, 400, "{what}: {body}");
        assert!(
            ["invalid_public_key", "invalid_request"]
                .contains(&body["error_code"].as_str().unwrap()),
            "{what}: {body}"
        );
    }
    expect_refused(
        &w,
        "platform",
        enroll(with("platform", json!("windows"))),
        400,
        "invalid_request",
    )
    .await;
    expect_refused(
        &w,
        "app",
        enroll(with("app_id", json!("nope"))),
        400,
        "invalid_request",
    )
    .await;
    for field in [
        "enrollment_code",
        "app_id",
        "app_version",
        "platform",
        "device_name",
        "public_key",
    ] {
        expect_refused(
            &w,
            &format!("without {field}"),
            enroll(without(field)),
            400,
            "invalid_request",
        )
        .await;
    }
    // The code survived all that: a garbage enrollment does not use it up.
    enrollments().json(&base).send().await.unwrap();

    let otp = |body: Value| raw_phone.call(&w, Method::POST, "/otp").json(&body);
    expect_refused(&w, "otp missing", otp(json!({})), 400, "invalid_request").await;
    expect_refused(
        &w,
        "otp random",
        otp(json!({"otp": STANDARD.encode(random_bytes(40))})),
        404,
        "invalid_otp",
    )
    .await;
    expect_refused(
        &w,
        "otp huge-ish",
        otp(json!({"otp": "A".repeat(10_000)})),
        404,
        "invalid_otp",
    )
    .await;
    let push = |body: Value| {
        raw_phone
            .call(&w, Method::PUT, "/push-enrollment")
            .json(&body)
    };
    expect_refused(
        &w,
        "push token missing",
        push(json!({})),
        400,
        "invalid_request",
    )
    .await;
    expect_refused(
        &w,
        "custom authenticator not allowed",
        raw_phone.call(&w, Method::PUT, "/authenticators/custom/iris"),
        403,
        "authenticator_disabled",
    )
    .await;

    still_works(w, &phone, &id).await;
}

#[tokio::test]
async fn garbage_credentials_and_paths_are_refused() {
    let (w, phone, raw_phone, id) = setup().await;
    let pending = || w.t.http.get(w.t.url("/device/v1/transactions/pending"));
    let random_basic = format!("Basic {}", STANDARD.encode(random_bytes(48)));
    let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        ("no credentials", pending()),
        (
            "unknown device",
            pending().basic_auth("A".repeat(64), Some("secret")),
        ),
        (
            "wrong secret",
            pending().basic_auth(&raw_phone.device_id, Some("not-the-secret")),
        ),
        (
            "the other phone's secret",
            pending().basic_auth(&raw_phone.device_id, Some(phone.device_secret())),
        ),
        (
            "no secret",
            pending().basic_auth(&raw_phone.device_id, None::<&str>),
        ),
        (
            "random Basic",
            pending().header("authorization", random_basic.as_str()),
        ),
        (
            "not base64",
            pending().header("authorization", "Basic !!!***"),
        ),
        ("bearer", pending().bearer_auth(&raw_phone.secret)),
        (
            "portal credentials",
            pending().basic_auth("portal", Some(support::conf::CLIENT_SECRET)),
        ),
        (
            "huge id",
            pending().basic_auth("F".repeat(8 * 1024), Some("x")),
        ),
    ];
    for (what, req) in cases {
        expect_refused(&w, what, req, 401, "invalid_device").await;
    }

    // Bad credentials on every endpoint, before any body is looked at.
    let endpoints = [
        (Method::PUT, "/push-enrollment".to_owned()),
        (Method::DELETE, "/push-enrollment".to_owned()),
        (Method::PUT, "/authenticators/pin".to_owned()),
        (Method::PUT, "/authenticators/fingerprint".to_owned()),
        (Method::PUT, "/authenticators/custom/face".to_owned()),
        (Method::GET, format!("/transactions/{id}")),
        (Method::POST, format!("/transactions/{id}/answer")),
        (Method::POST, "/otp".to_owned()),
    ];
    for (method, path) in endpoints {
        let req =
            w.t.http
                .request(method.clone(), w.t.url(&format!("/device/v1{path}")))
                .basic_auth(&raw_phone.device_id, Some("wrong"))
                .header("content-type", "application/json")
                .body(random_bytes(64));
        expect_refused(&w, &format!("{method} {path}"), req, 401, "invalid_device").await;
    }

    // Transactions that are not there.
    let long = "x".repeat(3000);
    for bad in [
        "not-a-uuid",
        "00000000-0000-4000-8000-000000000000",
        "%00",
        "%FF%FE",
        &long,
    ] {
        let req = raw_phone.call(&w, Method::GET, &format!("/transactions/{bad}"));
        expect_refused(
            &w,
            &format!("fetch {bad:.40}"),
            req,
            404,
            "invalid_transaction",
        )
        .await;
    }
    // Unknown paths and methods are JSON errors too.
    let resp = w.t.send(raw_phone.call(&w, Method::GET, "/nope")).await;
    refused_resp("unknown path", &resp);
    assert_eq!(resp.status, 404);
    let resp =
        w.t.send(raw_phone.call(&w, Method::DELETE, "/transactions/pending"))
            .await;
    refused_resp("wrong method", &resp);

    // Over the raw socket: what reqwest would not send.
    let auth = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", raw_phone.device_id, raw_phone.secret))
    );
    let raw_cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "non-UTF-8 credentials",
            b"GET /device/v1/transactions/pending HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Basic \xff\xfe\xfd\r\n\r\n".to_vec(),
        ),
        (
            "dot segments",
            raw::request(
                "GET",
                "/device/v1/transactions/../../oauth/api/v4/users/alice/devices",
                &[("Authorization", &auth)],
                b"",
            ),
        ),
        (
            "bad percent-encoding",
            raw::request("GET", "/device/v1/transactions/%zz", &[("Authorization", &auth)], b""),
        ),
    ];
    for (what, request) in raw_cases {
        let resp = raw::send(w.t.addr, &request)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        refused(what, resp.status, resp.header("content-type"), &resp.body);
    }

    still_works(w, &phone, &id).await;
}

#[tokio::test]
async fn oversized_and_lying_bodies_over_the_socket() {
    let (w, phone, raw_phone, id) = setup().await;
    let auth = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", raw_phone.device_id, raw_phone.secret))
    );
    let answer_path = format!("/device/v1/transactions/{id}/answer");
    let pgp = ("Content-Type", "application/pgp-encrypted");

    // A declared length far over the limit: refused without reading it.
    let declared = raw::request(
        "POST",
        &answer_path,
        &[
            ("Authorization", &auth),
            pgp,
            ("Content-Length", "1000000000"),
        ],
        b"-----BEGIN PGP MESSAGE-----\n",
    );
    // A chunked body that grows past the limit.
    let mut chunked = raw::request(
        "POST",
        &answer_path,
        &[
            ("Authorization", &auth),
            pgp,
            ("Transfer-Encoding", "chunked"),
            ("Content-Length", "0"),
        ],
        b"",
    );
    // `raw::request` wrote `Content-Length: 0` for us to replace: chunked only.
    let head = String::from_utf8(chunked.clone())
        .unwrap()
        .replace("Content-Length: 0\r\n", "");
    chunked = head.into_bytes();
    let chunk = vec![b'A'; 8 * 1024];
    for _ in 0..12 {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(&chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    // JSON endpoints too.
    let push_declared = raw::request(
        "PUT",
        "/device/v1/push-enrollment",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
            ("Content-Length", "70000"),
        ],
        &vec![b' '; 70_000],
    );
    let enroll_declared = raw::request(
        "POST",
        "/device/v1/enrollments",
        &[
            ("Content-Type", "application/json"),
            ("Content-Length", "999999999"),
        ],
        b"{",
    );
    for (what, request) in [
        ("declared 1 GB answer", declared),
        ("chunked 96 KiB answer", chunked),
        ("70 000 byte push enrollment", push_declared),
        ("declared 1 GB enrollment", enroll_declared),
    ] {
        let resp = raw::send(w.t.addr, &request)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let body = refused(what, resp.status, resp.header("content-type"), &resp.body);
        assert_eq!(resp.status, 413, "{what}: {body}");
        assert_eq!(body["error_code"], "request_too_large", "{what}: {body}");
    }

    // A body shorter than it says, then the client stops writing: an error or a closed
    // connection, never a hang or a crash.
    let short = raw::request(
        "POST",
        &answer_path,
        &[("Authorization", &auth), pgp, ("Content-Length", "5000")],
        b"-----BEGIN PGP MESSAGE-----\n",
    );
    let answered = half_closed_exchange(w.t.addr, &short).await;
    if !answered.is_empty() {
        let text = String::from_utf8_lossy(&answered);
        let status: u16 = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {text}"));
        assert!((400..500).contains(&status), "short body: {text}");
    }

    still_works(w, &phone, &id).await;
}

/// Writes `request`, shuts the writing half, and reads whatever comes back within 5 s.
async fn half_closed_exchange(addr: std::net::SocketAddr, request: &[u8]) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write");
    stream.shutdown().await.expect("shut down the writing half");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut answer),
    )
    .await;
    assert!(
        read.is_ok(),
        "no answer nor close within 5 s of a short body"
    );
    answer
}
