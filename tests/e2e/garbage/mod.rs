//! Garbage in, clean errors out (API.md §1): every implemented portal endpoint is sent random
//! bytes, invalid UTF-8, wrong JSON types, arrays, nested and deeply nested documents, wrong
//! content types, oversized bodies, bad percent-encoding and absurd paths. Every answer must be a
//! 4xx with a JSON error body (`error_code`, or `error` for 401/403), the server must stay up,
//! and a transaction started before the garbage must still verify afterwards.
//!
//! Random inputs come from a seeded RNG, so a failure replays identically.

mod victim;

use crate::support::portal::{EVENTS, PHONE, V4};
use crate::support::raw;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;
use victim::{
    FORM, JSON, NOBODY, Victim, assert_clean_4xx, body_endpoints, check, path_endpoints,
    random_bytes, random_escaped, shorten,
};

#[tokio::test]
async fn random_bytes_to_every_endpoint() {
    let v = Victim::start().await;
    let mut rng = StdRng::seed_from_u64(0x7e55_e2a0);
    let content_types = [
        Some(FORM),
        Some(JSON),
        Some("application/octet-stream"),
        None,
    ];
    for path in body_endpoints().iter().chain(&path_endpoints()) {
        for ct in content_types {
            for _ in 0..4 {
                let body = random_bytes(&mut rng, 4096);
                let resp = v.post(path, ct, body).await;
                check(&format!("POST {path} ({ct:?}, random bytes)"), &resp);
            }
        }
    }
    // Random bytes where GET endpoints take their input: path segments and query values.
    for _ in 0..6 {
        let junk = random_escaped(&mut rng, 64);
        let junk_id = format!("x{junk}");
        let targets = [
            format!("{V4}/transaction/{junk_id}"),
            format!("{V4}/transaction/{junk_id}/otp.svg"),
            format!("{V4}/transaction/{NOBODY}?wait={junk}"),
            format!("{EVENTS}?transaction_id={junk_id}"),
            format!("{EVENTS}?limit=x{junk}"),
            format!("{EVENTS}?from=x{junk}&to=y{junk}"),
        ];
        for target in targets {
            v.raw("GET", &target, &[], b"").await;
        }
    }
    v.survived().await;
}

#[tokio::test]
async fn malformed_and_mistyped_bodies() {
    let v = Victim::start().await;
    let deep_array = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
    let deep_object = format!("{}1{}", r#"{"type":"#.repeat(5_000), "}".repeat(5_000));
    // Deep nesting where a lenient parser would skip it: an unknown field.
    let deep_unknown = format!(
        r#"{{"type":"sms","user_id":"mallory","phone_number":"+31612345678","x":{}{}}}"#,
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    let json_bodies: Vec<Vec<u8>> = vec![
        br#"{"type": 5, "user_id": true, "phone_number": [1, 2]}"#.to_vec(),
        br#"{"type": null, "user_id": null, "phone_number": null}"#.to_vec(),
        br#"{"type": {"name": "sms"}, "user_id": {"id": "x"}, "phone_number": {}}"#.to_vec(),
        br#"{"transaction_id": 12345, "sms_code": 123456}"#.to_vec(),
        br#"{"transaction_id": ["a"], "sms_code": {"code": "1"}}"#.to_vec(),
        br#"{"type": 1e999, "user_id": -0, "phone_number": 31612345678}"#.to_vec(),
        b"[1, 2, 3]".to_vec(),
        b"[]".to_vec(),
        br#"[{"type": "sms", "user_id": "mallory", "phone_number": "+31612345678"}]"#.to_vec(),
        br#""just a string""#.to_vec(),
        b"42".to_vec(),
        b"null".to_vec(),
        b"{".to_vec(),
        br#"{"type": "sms",}"#.to_vec(),
        br#"{"type": "sms"} trailing"#.to_vec(),
        b"{\"type\": \"\xff\xfe\", \"user_id\": \"\xc3\x28\"}".to_vec(),
        b"\xef\xbb\xbf\xff{}".to_vec(),
        b"".to_vec(),
        deep_array.into_bytes(),
        deep_object.into_bytes(),
        deep_unknown.into_bytes(),
    ];
    let form_bodies: Vec<Vec<u8>> = vec![
        b"type=%FF%FE&user_id=%C3%28&phone_number=%80".to_vec(),
        b"transaction_id=%FF%FE%FD&sms_code=%C0%AF".to_vec(),
        b"type=%ZZ&user_id=%&phone_number=%2".to_vec(),
        b"transaction_id=%G0&sms_code=%%%".to_vec(),
        b"type=sms%00&user_id=mallory%00&phone_number=%2B31612345678%00".to_vec(),
        b"\xff\xfe\xfd=\x80\x81".to_vec(),
        b"&&&===&&&".to_vec(),
        b"type[]=sms&user_id[a]=b&phone_number[][]=1".to_vec(),
        b"{\"type\": \"sms\"}".to_vec(),
        b"".to_vec(),
        // Thousands of fields, just under the body limit.
        "a=b&".repeat(15_000).into_bytes(),
    ];
    for path in body_endpoints().iter().chain(&path_endpoints()) {
        for body in &json_bodies {
            let resp = v.post(path, Some(JSON), body.clone()).await;
            let shown = shorten(&String::from_utf8_lossy(body));
            check(&format!("POST {path} JSON `{shown}`"), &resp);
        }
        for body in &form_bodies {
            let resp = v.post(path, Some(FORM), body.clone()).await;
            let shown = shorten(&String::from_utf8_lossy(body));
            check(&format!("POST {path} form `{shown}`"), &resp);
        }
    }
    v.survived().await;
}

#[tokio::test]
async fn wrong_content_types_get_415() {
    let v = Victim::start().await;
    let valid_form =
        format!("type=sms&user_id=mallory&phone_number=%2B{}", &PHONE[1..]).into_bytes();
    for path in body_endpoints() {
        for ct in [
            "text/plain",
            "application/xml",
            "multipart/form-data; boundary=xyz",
            "image/png",
            "application/jsonp",
        ] {
            let resp = v.post(&path, Some(ct), valid_form.clone()).await;
            check(&format!("POST {path} as {ct}"), &resp);
            assert_eq!(resp.status, 415, "POST {path} as {ct}: {}", resp.text());
        }
    }
    for path in path_endpoints() {
        let resp = v.post(&path, Some("text/plain"), b"hello".to_vec()).await;
        check(&format!("POST {path} as text/plain"), &resp);
    }
    v.survived().await;
}

#[tokio::test]
async fn oversized_bodies_and_fields_get_413_and_long_messages_are_refused() {
    let v = Victim::start().await;
    let huge = "a".repeat(100 * 1024);
    for path in body_endpoints().iter().chain(&path_endpoints()) {
        let form = format!("type=sms&user_id=mallory&phone_number=%2B31612345678&message={huge}");
        let status = v
            .raw("POST", path, &[("Content-Type", FORM)], form.as_bytes())
            .await;
        assert_eq!(status, 413, "100 KB form to {path}");

        let json = serde_json::json!({"type": "sms", "user_id": "mallory", "transaction_id": huge});
        let status = v
            .raw(
                "POST",
                path,
                &[("Content-Type", JSON)],
                json.to_string().as_bytes(),
            )
            .await;
        assert_eq!(status, 413, "100 KB JSON to {path}");

        // Chunked, so the size is not announced up front.
        let mut chunked = Vec::new();
        for part in form.as_bytes().chunks(8 * 1024) {
            chunked.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
            chunked.extend_from_slice(part);
            chunked.extend_from_slice(b"\r\n");
        }
        chunked.extend_from_slice(b"0\r\n\r\n");
        let status = v
            .raw(
                "POST",
                path,
                &[("Content-Type", FORM), ("Transfer-Encoding", "chunked")],
                &chunked,
            )
            .await;
        assert_eq!(status, 413, "100 KB chunked form to {path}");
    }

    // 60 KB fits under the body limit but not in a message.
    let message = "m".repeat(60 * 1024);
    let resp =
        v.t.start_raw(&[
            ("type", "sms"),
            ("user_id", "mallory"),
            ("phone_number", PHONE),
            ("message", &message),
        ])
        .await;
    check("start with a 60 KB message", &resp);
    assert_eq!(resp.status, 400);
    let code = resp.json()["error_code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(code == "1005" || code == "1003", "error_code {code}");
    v.survived().await;
}

#[tokio::test]
async fn absurd_paths_and_transaction_ids() {
    let v = Victim::start().await;
    // A transaction id that is no UUID is an unknown transaction.
    for target in [
        format!("{V4}/transaction/not-a-uuid"),
        format!("{V4}/transaction/{}", &NOBODY[..35]),
        format!("{V4}/transaction/{NOBODY}0"),
    ] {
        let resp = v.t.get(&target).await;
        resp.expect_error(404, "3004");
    }
    v.t.cancel("not-a-uuid").await.expect_error(404, "3004");
    v.t.verify("mallory", "not-a-uuid", "123456")
        .await
        .expect_error(404, "3004");
    v.t.resend("mallory", "not-a-uuid")
        .await
        .expect_error(404, "3004");

    let long = "a".repeat(4096);
    let live = v.live.clone();
    let gets = [
        format!("{V4}/transaction/%ZZ"),
        format!("{V4}/transaction/%"),
        format!("{V4}/transaction/%FF%FE"),
        format!("{V4}/transaction/{long}"),
        format!("{V4}/transaction/../../../../etc/passwd"),
        format!("{V4}/transaction/..%2F..%2Fetc%2Fpasswd"),
        format!("{V4}/transaction/{NOBODY}/../{NOBODY}/otp.svg/extra"),
        format!("{V4}//transaction//{NOBODY}"),
        format!("{V4}/transaction/{NOBODY}?wait=abc"),
        // Reading the live transaction is harmless; a nonsensical wait is still refused.
        format!("{V4}/transaction/{live}?wait=abc"),
        format!("{V4}/transaction/{live}?wait=-1"),
        format!("{V4}/transaction/{live}?wait=1e99"),
        format!("{V4}/transaction/{live}?wait=99999999999999999999999"),
        format!("{V4}/transaction/{live}?wait=%FF"),
        format!("{V4}/user/%FF%FE/enabled"),
        format!("{V4}/user/%00/enabled"),
        format!("{V4}/user/{long}/enabled"),
        format!("{V4}/user/mallory/device/%ZZ/enabled"),
        "/oauth/api/v3/authenticate/user/%FF%FE/application/%ZZ/enabled".to_owned(),
        "/oauth/api/v2/authenticate/user/%FF%FE/enabled/sms".to_owned(),
        "/oauth/api/v2/authenticate/user/mallory/enabled/%FF%FE".to_owned(),
        "/oauth/api/v3/authenticate/transaction/not-a-uuid".to_owned(),
        "/oauth/api/v2/authenticate/transaction/%ZZ".to_owned(),
        format!("{V4}/nope"),
        format!("{V4}/user/mallory/sms/resend/extra"),
        format!("{V4}/{long}"),
        "/oauth/api/v4/%2e%2e/%2e%2e/admin".to_owned(),
        "/oauth/api/v99/authenticate/user".to_owned(),
        format!("{EVENTS}?limit=abc"),
        format!("{EVENTS}?limit=-5"),
        format!("{EVENTS}?from=yesterday"),
        format!("{EVENTS}?transaction_id=not-a-uuid"),
    ];
    for target in &gets {
        v.raw("GET", target, &[], b"").await;
    }
    let posts = [
        format!("{V4}/transaction/%ZZ/cancel"),
        format!("{V4}/transaction/{long}/cancel"),
        format!("{V4}/user/%FF%FE/sms"),
        format!("{V4}/user/%00/sms/resend"),
        format!("{V4}/user/{long}/sms"),
        format!("{V4}/user"),
    ];
    for target in &posts {
        v.raw(
            "POST",
            target,
            &[("Content-Type", FORM)],
            b"transaction_id=not-a-uuid&sms_code=1",
        )
        .await;
    }
    // Methods the routes do not have.
    for (method, target) in [
        ("DELETE", format!("{V4}/user")),
        ("PUT", format!("{V4}/transaction/{NOBODY}")),
        ("PATCH", format!("{V4}/user/mallory/sms")),
        ("GET", format!("{V4}/user/mallory/sms")),
        ("GET", format!("{V4}/transaction/{NOBODY}/cancel")),
        ("BREW", format!("{V4}/user")),
    ] {
        v.raw(method, &target, &[("Content-Type", FORM)], b"").await;
    }
    v.survived().await;
}

#[tokio::test]
async fn garbage_credentials_get_invalid_client() {
    let v = Victim::start().await;
    let bad_utf8 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(b"\xff\xfe:\xfd")
    };
    let no_colon = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(b"portal")
    };
    let values = [
        "Basic".to_owned(),
        "Basic ".to_owned(),
        "Basic !!!not base64!!!".to_owned(),
        format!("Basic {bad_utf8}"),
        format!("Basic {no_colon}"),
        format!("Basic {}", "QUFB".repeat(2000)),
        "Bearer abc.def.ghi".to_owned(),
        "Digest username=\"portal\"".to_owned(),
    ];
    for value in &values {
        let request = raw::request(
            "POST",
            &format!("{V4}/user"),
            &[("Authorization", value), ("Content-Type", FORM)],
            b"type=sms&user_id=mallory&phone_number=%2B31612345678",
        );
        let resp = raw::send(v.t.addr, &request)
            .await
            .unwrap_or_else(|e| panic!("Authorization `{}`: {e}", shorten(value)));
        let label = format!("Authorization `{}`", shorten(value));
        assert_clean_4xx(
            &label,
            resp.status,
            resp.header("content-type"),
            resp.header("cache-control"),
            &resp.body,
        );
        assert_eq!(resp.status, 401, "{label}: {}", resp.text());
        let body: Value = serde_json::from_slice(&resp.body).unwrap();
        assert_eq!(body["error"], "invalid_client", "{label}");
    }
    v.survived().await;
}
