//! SMS authentication end to end (API.md §2.2, §2.4, §7): start, delivery through the Twilio,
//! REST-hook and console gateways, verification, attempt limits, message texts and languages,
//! request validation, gateway failover and fallback from push to SMS at start.

mod support;

use futures::future::join_all;
use serde_json::Value;
use support::conf::{self, gateways, hook_gateway, sms_type, twilio_gateway};
use support::fakes::{SmsHookFake, TwilioFake};
use support::portal::{PHONE, V4, assert_json_content_type};
use support::{Tessera, code_in, is_uuid_v4, wrong_code};

/// Tessera sending SMS through the REST hook fake, with `types` declared.
async fn with_hook(types: &str) -> (SmsHookFake, Tessera) {
    let hook = SmsHookFake::start().await;
    let config = conf::with(&format!(
        "{}{}{types}",
        gateways(&["hook"]),
        hook_gateway("hook", &hook)
    ));
    let tessera = Tessera::start(&config).await;
    (hook, tessera)
}

fn txn_id(start: &Value) -> String {
    start["transaction_id"]
        .as_str()
        .expect("transaction_id")
        .to_owned()
}

#[tokio::test]
async fn code_sent_through_twilio_verifies_and_the_result_is_accepted() {
    let twilio = TwilioFake::start().await;
    let config = conf::with(&format!(
        "{}{}{}",
        gateways(&["twilio"]),
        twilio_gateway("twilio", &twilio),
        sms_type("sms", "")
    ));
    let t = Tessera::start(&config).await;

    let start = t.start_sms("sms", "alice", &[]).await;
    let id = txn_id(&start);
    assert!(is_uuid_v4(&id), "transaction id `{id}` is not a UUID v4");
    assert_eq!(start["auth_method"], "sms", "{start}");
    assert_eq!(start["time_to_live"], 300_000, "5m in ms: {start}");

    let sent = twilio.wait_for_messages(1).await;
    let request = &twilio.requests()[0];
    assert_eq!(
        request.basic_auth(),
        Some((
            TwilioFake::ACCOUNT_SID.to_owned(),
            TwilioFake::AUTH_TOKEN.to_owned()
        ))
    );
    assert_eq!(sent[0].to, PHONE);
    assert_eq!(sent[0].from.as_deref(), Some(TwilioFake::FROM));
    let code = code_in(&sent[0].body).expect("a code in the SMS");
    assert_eq!(code.len(), 6, "default code_length");
    assert_eq!(sent[0].body, format!("Your code is {code}"));

    let pending = t.result(&id).await;
    assert_eq!(pending["status"], "pending", "{pending}");
    assert_eq!(pending["is_authenticated"], false, "{pending}");
    assert!(
        pending["not_authenticated_reason"].is_null(),
        "a pending result has no reason: {pending}"
    );

    let verified = t.verify("alice", &id, &code).await;
    verified.expect(200);
    assert_json_content_type(&verified);
    assert_eq!(verified.json()["transaction_id"], id.as_str());

    let result_resp = t.get(&format!("{V4}/transaction/{id}")).await;
    result_resp.expect(200);
    let cache = result_resp.header("cache-control").unwrap_or_default();
    assert!(cache.contains("no-store"), "Cache-Control `{cache}`");
    assert_eq!(result_resp.header("pragma").as_deref(), Some("no-cache"));
    let result = result_resp.json();
    assert_eq!(result["status"], "accepted", "{result}");
    assert_eq!(result["is_authenticated"], true, "{result}");
    assert_eq!(result["authentication_method"], "sms", "{result}");
    assert_eq!(result["transaction_id"], id.as_str(), "{result}");
    assert_eq!(result["user_id"], "alice", "{result}");
    assert!(result["timestamp"].is_u64(), "epoch ms timestamp: {result}");
    assert!(result["used_authentication_attempts"].is_u64(), "{result}");
    assert!(result["not_authenticated_reason"].is_null(), "{result}");
    assert_eq!(twilio.requests().len(), 1, "one SMS, no retries");
}

#[tokio::test]
async fn code_sent_through_the_rest_hook_verifies() {
    let (hook, t) = with_hook(&sms_type("sms", "code_length = 8\nsender_id = \"ACME\"")).await;

    let id = txn_id(&t.start_sms("sms", "bob", &[]).await);
    let sent = hook.wait_for_messages(1).await;
    let request = &hook.requests()[0];
    assert_eq!(
        request.basic_auth(),
        Some((
            SmsHookFake::USERNAME.to_owned(),
            SmsHookFake::PASSWORD.to_owned()
        ))
    );
    assert!(
        request
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{:?}",
        request.headers
    );
    let msg = &sent[0];
    assert_eq!(msg.phone_number, PHONE);
    assert_eq!(msg.sender_id.as_deref(), Some("ACME"));
    assert_eq!(msg.verification_code.len(), 8, "code_length = 8");
    assert!(msg.verification_code.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(
        msg.message,
        format!("Your code is {}", msg.verification_code)
    );

    t.verify("bob", &id, &msg.verification_code)
        .await
        .expect(200);
    let result = t.result(&id).await;
    assert_eq!(result["status"], "accepted", "{result}");
    assert_eq!(result["is_authenticated"], true, "{result}");
    assert_eq!(result["authentication_method"], "sms", "{result}");
}

#[tokio::test]
async fn the_console_gateway_prints_the_sms_on_stdout() {
    let config = conf::with(&format!(
        "{}{}",
        gateways(&["console"]),
        sms_type("sms", "sender_id = \"ACME\"")
    ));
    let t = Tessera::start(&config).await;
    let before = t.stdout.snapshot().len();
    let id = txn_id(&t.start_sms("sms", "carol", &[]).await);
    let line = t
        .stdout_line(&format!("SMS to {PHONE} from ACME: Your code is "), before)
        .await;
    let code = code_in(&line).expect("a code on the console line");
    t.verify("carol", &id, &code).await.expect(200);
    assert_eq!(t.result(&id).await["status"], "accepted");
}

#[tokio::test]
async fn a_wrong_code_is_refused_and_counted() {
    let (hook, t) = with_hook(&sms_type("sms", "")).await;
    let id = txn_id(&t.start_sms("sms", "alice", &[]).await);
    let code = hook.wait_for_messages(1).await[0].verification_code.clone();

    t.verify("alice", &id, &wrong_code(&code))
        .await
        .expect_error(404, "3003");
    let result = t.result(&id).await;
    assert_eq!(result["status"], "pending", "{result}");
    assert_eq!(result["is_authenticated"], false, "{result}");
    assert_eq!(result["used_authentication_attempts"], 1, "{result}");

    t.verify("alice", &id, &code).await.expect(200);
    let result = t.result(&id).await;
    assert_eq!(result["status"], "accepted", "{result}");
}

#[tokio::test]
async fn max_attempts_used_up_fails_the_transaction() {
    let (hook, t) = with_hook(&sms_type("sms", "max_attempts = 2")).await;
    let id = txn_id(&t.start_sms("sms", "alice", &[]).await);
    let code = hook.wait_for_messages(1).await[0].verification_code.clone();
    let wrong = wrong_code(&code);

    t.verify("alice", &id, &wrong)
        .await
        .expect_error(404, "3003");
    t.verify("alice", &id, &wrong)
        .await
        .expect_error(404, "3003");

    let result = t.result(&id).await;
    assert_eq!(result["status"], "failed", "{result}");
    assert_eq!(result["is_authenticated"], false, "{result}");
    assert_eq!(
        result["not_authenticated_reason"]["reason"], "attempts_exceeded",
        "{result}"
    );
    assert!(
        result["not_authenticated_reason"]["description"].is_string(),
        "{result}"
    );
    assert_eq!(result["used_authentication_attempts"], 2, "{result}");

    // Even the right code is too late now.
    t.verify("alice", &id, &code)
        .await
        .expect_error(404, "3004");
    assert_eq!(t.result(&id).await["status"], "failed");
}

#[tokio::test]
async fn max_attempts_zero_means_unlimited() {
    let (hook, t) = with_hook(&sms_type("sms", "max_attempts = 0")).await;
    let id = txn_id(&t.start_sms("sms", "alice", &[]).await);
    let code = hook.wait_for_messages(1).await[0].verification_code.clone();
    let wrong = wrong_code(&code);

    for _ in 0..12 {
        t.verify("alice", &id, &wrong)
            .await
            .expect_error(404, "3003");
    }
    let result = t.result(&id).await;
    assert_eq!(result["status"], "pending", "{result}");
    assert_eq!(result["used_authentication_attempts"], 12, "{result}");

    t.verify("alice", &id, &code).await.expect(200);
    assert_eq!(t.result(&id).await["status"], "accepted");
}

#[tokio::test]
async fn a_message_with_the_placeholder_gets_the_code_in_place() {
    let (hook, t) = with_hook(&sms_type("sms", "")).await;
    t.start_sms(
        "sms",
        "alice",
        &[("message", "ACME login: {code}. Never share it.")],
    )
    .await;
    let msg = &hook.wait_for_messages(1).await[0];
    assert_eq!(
        msg.message,
        format!("ACME login: {}. Never share it.", msg.verification_code)
    );
}

#[tokio::test]
async fn a_message_without_the_placeholder_sends_the_code_alone() {
    let (hook, t) = with_hook(&sms_type("sms", "")).await;
    let id = txn_id(
        &t.start_sms("sms", "alice", &[("message", "Welcome to ACME")])
            .await,
    );
    let msg = &hook.wait_for_messages(1).await[0];
    assert_eq!(msg.message, msg.verification_code);
    assert_eq!(msg.message.len(), 6);
    t.verify("alice", &id, &msg.message).await.expect(200);
}

#[tokio::test]
async fn default_messages_follow_the_language_and_fall_back_to_english() {
    let types = r#"
[general]
supported_locales = ["en", "nl"]

[[mobile_auth_types]]
name = "sms"
method = "sms"
[mobile_auth_types.default_messages]
en = "Your ACME code is {code}"
nl = "Je ACME-code is {code}"
"#;
    let (hook, t) = with_hook(types).await;
    let cases = [
        (Some("nl"), "Je ACME-code is "),
        (Some("fr"), "Your ACME code is "),
        (None, "Your ACME code is "),
    ];
    for (n, (language, prefix)) in cases.into_iter().enumerate() {
        let extra: Vec<(&str, &str)> = language.map(|l| ("language_code", l)).into_iter().collect();
        t.start_sms("sms", "anna", &extra).await;
        let msg = &hook.wait_for_messages(n + 1).await[n];
        assert_eq!(
            msg.message,
            format!("{prefix}{}", msg.verification_code),
            "language {language:?}"
        );
    }
}

#[tokio::test]
async fn phone_numbers_are_required_and_must_be_e164() {
    let (hook, t) = with_hook(&sms_type("sms", "")).await;
    t.start_raw(&[("type", "sms"), ("user_id", "alice")])
        .await
        .expect_error(400, "3001");
    for bad in [
        "0612345678",
        "+0612345678",
        "+31 6 12345678",
        "+316123456789012345",
        "+3161",
        "phone",
        "",
    ] {
        let resp = t
            .start_raw(&[("type", "sms"), ("user_id", "alice"), ("phone_number", bad)])
            .await;
        assert_eq!(resp.status, 400, "phone `{bad}`: {}", resp.text());
        resp.expect_error(400, "3001");
    }
    assert!(hook.requests().is_empty(), "nothing may be sent");
}

#[tokio::test]
async fn unknown_types_and_missing_fields_are_refused() {
    let (hook, t) = with_hook(&sms_type("sms", "")).await;
    t.start_raw(&[
        ("type", "carrier-pigeon"),
        ("user_id", "alice"),
        ("phone_number", PHONE),
    ])
    .await
    .expect_error(404, "3005");
    t.start_raw(&[("type", "sms"), ("phone_number", PHONE)])
        .await
        .expect_error(400, "1003");
    t.start_raw(&[("user_id", "alice"), ("phone_number", PHONE)])
        .await
        .expect_error(400, "1003");
    assert!(hook.requests().is_empty(), "nothing may be sent");
}

#[tokio::test]
async fn messages_longer_than_max_message_length_are_refused() {
    let types = format!(
        "[general]\nmax_message_length = 20\n{}",
        sms_type("sms", "")
    );
    let (hook, t) = with_hook(&types).await;
    let ok = "x".repeat(20);
    let too_long = "x".repeat(21);
    t.start_sms("sms", "alice", &[("message", &ok)]).await;
    t.start_raw(&[
        ("type", "sms"),
        ("user_id", "alice"),
        ("phone_number", PHONE),
        ("message", &too_long),
    ])
    .await
    .expect_error(400, "1005");
    // Length is counted in characters, not bytes.
    let accented = "é".repeat(20);
    t.start_sms("sms", "alice", &[("message", &accented)]).await;
    assert_eq!(hook.wait_for_messages(2).await.len(), 2);
}

#[tokio::test]
async fn the_default_max_message_length_is_155() {
    let (_hook, t) = with_hook(&sms_type("sms", "")).await;
    t.start_sms("sms", "alice", &[("message", &"m".repeat(155))])
        .await;
    t.start_raw(&[
        ("type", "sms"),
        ("user_id", "alice"),
        ("phone_number", PHONE),
        ("message", &"m".repeat(156)),
    ])
    .await
    .expect_error(400, "1005");
}

#[tokio::test]
async fn a_failing_gateway_fails_over_to_the_next_and_cools_down() {
    let twilio = TwilioFake::start().await;
    let hook = SmsHookFake::start().await;
    twilio.fail_always(500);
    let config = conf::with(&format!(
        "{}{}{}{}",
        gateways(&["twilio", "hook"]),
        twilio_gateway("twilio", &twilio),
        hook_gateway("hook", &hook),
        sms_type("sms", "")
    ));
    let t = Tessera::start(&config).await;

    let id = txn_id(&t.start_sms("sms", "alice", &[]).await);
    let first = hook.wait_for_messages(1).await;
    let tried = twilio.requests();
    assert_eq!(tried.len(), 1, "Twilio was tried first");
    assert_eq!(tried[0].status, 500);
    t.verify("alice", &id, &first[0].verification_code)
        .await
        .expect(200);
    assert_eq!(t.result(&id).await["status"], "accepted");

    // Twilio is cooling down: the next SMS goes straight to the hook.
    t.start_sms("sms", "bob", &[]).await;
    hook.wait_for_messages(2).await;
    assert_eq!(
        twilio.requests().len(),
        1,
        "Twilio skipped while cooling down"
    );
}

#[tokio::test]
async fn push_without_enrolled_devices_falls_back_to_sms_at_start() {
    let types = format!(
        r#"
[[mobile_auth_types]]
name = "push"
method = "push"
fallback = "sms"
[mobile_auth_types.default_messages]
en = "Do you want to log in?"
{}"#,
        sms_type("sms", "")
    );
    let (hook, t) = with_hook(&types).await;

    // The fallback's required fields are required at start.
    t.start_raw(&[("type", "push"), ("user_id", "dave")])
        .await
        .expect_error(400, "3001");

    let start = t.start_sms("push", "dave", &[]).await;
    assert_eq!(start["auth_method"], "sms", "{start}");
    let id = txn_id(&start);
    let msg = &hook.wait_for_messages(1).await[0];
    assert_eq!(msg.phone_number, PHONE);
    assert_eq!(code_in(&msg.message), Some(msg.verification_code.clone()));

    t.verify("dave", &id, &msg.verification_code)
        .await
        .expect(200);
    let result = t.result(&id).await;
    assert_eq!(result["status"], "accepted", "{result}");
    assert_eq!(result["authentication_method"], "sms", "{result}");
}

#[tokio::test]
async fn push_without_devices_or_fallback_has_no_possibilities() {
    let types = r#"
[[mobile_auth_types]]
name = "push"
method = "push"
[mobile_auth_types.default_messages]
en = "Do you want to log in?"
"#;
    let (_hook, t) = with_hook(types).await;
    t.start_raw(&[("type", "push"), ("user_id", "erin")])
        .await
        .expect_error(404, "1001");
}

#[tokio::test]
async fn sms_disabled_in_the_general_config_refuses_sms_starts() {
    let types = format!(
        "[general]\nsms_authentication_enabled = false\n{}",
        sms_type("sms", "")
    );
    let (hook, t) = with_hook(&types).await;
    t.start_raw(&[
        ("type", "sms"),
        ("user_id", "alice"),
        ("phone_number", PHONE),
    ])
    .await
    .expect_error(404, "3000");
    assert!(hook.requests().is_empty());
}

#[tokio::test]
async fn every_gateway_failing_fails_the_transaction_to_send() {
    let twilio = TwilioFake::start().await;
    let hook = SmsHookFake::start().await;
    twilio.fail_always(400);
    hook.fail_always(500);
    let config = conf::with(&format!(
        "{}{}{}{}",
        gateways(&["twilio", "hook"]),
        twilio_gateway("twilio", &twilio),
        hook_gateway("hook", &hook),
        sms_type("sms", "")
    ));
    let t = Tessera::start(&config).await;

    let resp = t
        .start_raw(&[
            ("type", "sms"),
            ("user_id", "alice"),
            ("phone_number", PHONE),
        ])
        .await;
    // Either the start itself reports the failure (503 3002), or the transaction it started
    // fails with `failed_to_send` once every gateway refused.
    if resp.status == 200 {
        let id = resp.json()["transaction_id"].as_str().unwrap().to_owned();
        let result = t.final_result(&id).await;
        assert_eq!(result["status"], "failed", "{result}");
        assert_eq!(
            result["not_authenticated_reason"]["reason"], "failed_to_send",
            "{result}"
        );
    } else {
        resp.expect_error(503, "3002");
    }
    assert_eq!(twilio.requests().len(), 1, "Twilio tried once");
    assert_eq!(hook.requests().len(), 1, "the hook tried once");
    assert!(twilio.messages().is_empty() && hook.messages().is_empty());
}

#[tokio::test]
async fn v3_and_v2_paths_serve_sms_like_v4() {
    let (hook, t) = with_hook(&sms_type("sms", "")).await;
    let resp = t
        .post_form(
            "/oauth/api/v3/authenticate/user",
            &[
                ("type", "sms"),
                ("user_id", "alice"),
                ("phone_number", PHONE),
            ],
        )
        .await;
    resp.expect(200);
    let id = txn_id(&resp.json());
    let code = hook.wait_for_messages(1).await[0].verification_code.clone();
    t.post_form(
        "/oauth/api/v2/authenticate/user/alice/sms",
        &[("transaction_id", id.as_str()), ("sms_code", code.as_str())],
    )
    .await
    .expect(200);
    let result = t
        .get(&format!("/oauth/api/v3/authenticate/transaction/{id}"))
        .await;
    result.expect(200);
    assert_eq!(result.json()["status"], "accepted");
}

#[tokio::test]
async fn multiple_devices_mode_turns_v2_and_v3_off() {
    let (hook, t) = with_hook(&format!(
        "[general]\npush_enrollment_mode = \"multiple_devices\"\n{}",
        sms_type("sms", "")
    ))
    .await;
    let form = [
        ("type", "sms"),
        ("user_id", "alice"),
        ("phone_number", PHONE),
    ];
    for version in ["v2", "v3"] {
        t.post_form(&format!("/oauth/api/{version}/authenticate/user"), &form)
            .await
            .expect_error(404, "4001");
    }
    assert!(hook.requests().is_empty());
    t.start_sms("sms", "alice", &[]).await;
}

#[tokio::test]
async fn the_general_default_sender_id_applies_when_the_type_has_none() {
    let types = format!(
        "[general]\ndefault_sender_id = \"Tessera\"\n{}{}",
        sms_type("plain", ""),
        sms_type("branded", "sender_id = \"ACME\"")
    );
    let (hook, t) = with_hook(&types).await;
    t.start_sms("plain", "alice", &[]).await;
    let first = hook.wait_for_messages(1).await;
    assert_eq!(first[0].sender_id.as_deref(), Some("Tessera"));
    t.start_sms("branded", "alice", &[]).await;
    let second = hook.wait_for_messages(2).await;
    assert_eq!(second[1].sender_id.as_deref(), Some("ACME"));
}

#[tokio::test]
async fn without_any_sender_id_the_hook_gets_null() {
    let (hook, t) = with_hook(&sms_type("sms", "")).await;
    t.start_sms("sms", "alice", &[]).await;
    hook.wait_for_messages(1).await;
    let body = hook.requests()[0].json().expect("JSON body");
    assert!(
        body.get("sender_id").is_some_and(|s| s.is_null()),
        "sender_id must be present and null: {body}"
    );
}

#[tokio::test]
async fn without_a_default_message_for_the_language_a_message_is_required() {
    // Only Dutch: English, where every other language falls back to, has no default.
    let types = r#"
[general]
supported_locales = ["en", "nl"]

[[mobile_auth_types]]
name = "dutch"
method = "sms"
[mobile_auth_types.default_messages]
nl = "Je code is {code}"
"#;
    let (hook, t) = with_hook(types).await;
    t.start_raw(&[
        ("type", "dutch"),
        ("user_id", "alice"),
        ("phone_number", PHONE),
    ])
    .await
    .expect_error(400, "1003");
    assert!(hook.requests().is_empty());

    t.start_sms("dutch", "alice", &[("message", "Code {code}")])
        .await;
    let msg = &hook.wait_for_messages(1).await[0];
    assert_eq!(msg.message, format!("Code {}", msg.verification_code));

    t.start_sms("dutch", "anna", &[("language_code", "nl")])
        .await;
    let msg = &hook.wait_for_messages(2).await[1];
    assert_eq!(msg.message, format!("Je code is {}", msg.verification_code));
}

#[tokio::test]
async fn mobile_authentication_disabled_refuses_every_start() {
    let types = format!(
        "[general]\nmobile_authentication_enabled = false\n{}",
        sms_type("sms", "")
    );
    let (hook, t) = with_hook(&types).await;
    t.start_raw(&[
        ("type", "sms"),
        ("user_id", "alice"),
        ("phone_number", PHONE),
    ])
    .await
    .expect_error(404, "1000");
    assert!(hook.requests().is_empty());
}

#[tokio::test]
async fn concurrent_verifications_accept_exactly_once() {
    let (hook, t) = with_hook(&sms_type("sms", "")).await;
    let id = txn_id(&t.start_sms("sms", "alice", &[]).await);
    let code = hook.wait_for_messages(1).await[0].verification_code.clone();

    let tries = (0..8).map(|_| t.verify("alice", &id, &code));
    let answers = join_all(tries).await;
    let ok = answers.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 1, "exactly one verification wins");
    for late in answers.iter().filter(|r| r.status != 200) {
        late.expect_error(404, "3004");
    }
    assert_eq!(t.result(&id).await["status"], "accepted");
}

#[tokio::test]
async fn concurrent_wrong_codes_use_up_exactly_max_attempts() {
    let (hook, t) = with_hook(&sms_type("sms", "max_attempts = 3")).await;
    let id = txn_id(&t.start_sms("sms", "alice", &[]).await);
    let code = hook.wait_for_messages(1).await[0].verification_code.clone();
    let wrong = wrong_code(&code);

    let answers = join_all((0..10).map(|_| t.verify("alice", &id, &wrong))).await;
    let codes: Vec<String> = answers
        .iter()
        .map(|r| {
            r.json()["error_code"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let counted = codes.iter().filter(|c| *c == "3003").count();
    let refused = codes.iter().filter(|c| *c == "3004").count();
    assert_eq!((counted, refused), (3, 7), "codes {codes:?}");
    let result = t.result(&id).await;
    assert_eq!(result["status"], "failed", "{result}");
    assert_eq!(result["used_authentication_attempts"], 3, "{result}");
}
