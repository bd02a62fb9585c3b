//! SMS delivery end to end (API.md §7): the code reaches the user through Twilio, the vendor's
//! REST hook or the console, with failover between gateways and the sender id chosen per type.
use tessera_testkit::sms::{SmsHookFake, TwilioFake};

use crate::support::conf::{self, gateways, hook_gateway, sms_type, twilio_gateway};
use crate::support::portal::{PHONE, V4, assert_json_content_type, txn_id};
use crate::support::{Tessera, code_in, is_uuid_v4, with_hook};

#[tokio::test]
async fn code_sent_through_twilio_verifies_and_the_result_is_accepted() {
    let twilio = TwilioFake::start().await;
    let config = conf::with(&format!(
        "{}{}{}",
        gateways(&["twilio"]),
        twilio_gateway("twilio", &twilio),
        sms_type("sms")
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
    let (hook, t) = with_hook(&conf::types(&[conf::MobileAuthType {
        code_length: 8,
        sender_id: "ACME".into(),
        ..conf::sms("sms")
    }]))
    .await;

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
        conf::types(&[conf::MobileAuthType {
            sender_id: "ACME".into(),
            ..conf::sms("sms")
        }])
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
async fn a_failing_gateway_fails_over_to_the_next_and_cools_down() {
    let twilio = TwilioFake::start().await;
    let hook = SmsHookFake::start().await;
    twilio.fail_always(500);
    let config = conf::with(&format!(
        "{}{}{}{}",
        gateways(&["twilio", "hook"]),
        twilio_gateway("twilio", &twilio),
        hook_gateway("hook", &hook),
        sms_type("sms")
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
        sms_type("sms")
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
async fn the_general_default_sender_id_applies_when_the_type_has_none() {
    let types = format!(
        "[general]\ndefault_sender_id = \"Tessera\"\n{}{}",
        sms_type("plain"),
        conf::types(&[conf::MobileAuthType {
            sender_id: "ACME".into(),
            ..conf::sms("branded")
        }])
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
    let (hook, t) = with_hook(&sms_type("sms")).await;
    t.start_sms("sms", "alice", &[]).await;
    hook.wait_for_messages(1).await;
    let body = hook.requests()[0].json();
    assert!(
        body.get("sender_id").is_some_and(|s| s.is_null()),
        "sender_id must be present and null: {body}"
    );
}
