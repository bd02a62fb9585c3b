//! SMS verification (API.md §2.4): wrong codes, attempt limits, concurrent answers, and the text
//! the code travels in — `{code}` placement, default messages per language, length limits.

use futures::future::join_all;

use crate::support::conf::{self, sms_type};
use crate::support::portal::{PHONE, txn_id};
use crate::support::{with_hook, wrong_code};

/// English and Dutch supported.
const DUTCH: &str = "\n[general]\nsupported_locales = [\"en\", \"nl\"]\n";

#[tokio::test]
async fn a_wrong_code_is_refused_and_counted() {
    let (hook, t) = with_hook(&sms_type("sms")).await;
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
    let (hook, t) = with_hook(&conf::types(&[conf::MobileAuthType {
        max_attempts: 2,
        ..conf::sms("sms")
    }]))
    .await;
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
    let (hook, t) = with_hook(&conf::types(&[conf::MobileAuthType {
        max_attempts: 0,
        ..conf::sms("sms")
    }]))
    .await;
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
async fn concurrent_verifications_accept_exactly_once() {
    let (hook, t) = with_hook(&sms_type("sms")).await;
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
    let (hook, t) = with_hook(&conf::types(&[conf::MobileAuthType {
        max_attempts: 3,
        ..conf::sms("sms")
    }]))
    .await;
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

#[tokio::test]
async fn a_message_with_the_placeholder_gets_the_code_in_place() {
    let (hook, t) = with_hook(&sms_type("sms")).await;
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
    let (hook, t) = with_hook(&sms_type("sms")).await;
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
    let sms = conf::MobileAuthType {
        default_messages: [
            ("en".to_owned(), "Your ACME code is {code}".to_owned()),
            ("nl".to_owned(), "Je ACME-code is {code}".to_owned()),
        ]
        .into(),
        ..conf::sms("sms")
    };
    let types = format!("{DUTCH}{}", conf::types(&[sms]));
    let (hook, t) = with_hook(&types).await;
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
async fn without_a_default_message_for_the_language_a_message_is_required() {
    // Only Dutch: English, where every other language falls back to, has no default.
    let dutch = conf::MobileAuthType {
        default_messages: [("nl".to_owned(), "Je code is {code}".to_owned())].into(),
        ..conf::sms("dutch")
    };
    let types = format!("{DUTCH}{}", conf::types(&[dutch]));
    let (hook, t) = with_hook(&types).await;
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
async fn messages_longer_than_max_message_length_are_refused() {
    let types = format!("[general]\nmax_message_length = 20\n{}", sms_type("sms"));
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
    let (_hook, t) = with_hook(&sms_type("sms")).await;
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
