//! What a start request must satisfy (API.md §2.2, §2.6, §2.8): phone numbers, known types,
//! required fields, the general switches, fallback from push to SMS at start, and the v3/v2
//! aliases.

use tessera_testkit::conf::{Method, auth_type};

use crate::support::conf::{self, sms_type};
use crate::support::portal::{PHONE, txn_id};
use crate::support::{code_in, with_hook};

#[tokio::test]
async fn phone_numbers_are_required_and_must_be_e164() {
    let (hook, t) = with_hook(&sms_type("sms")).await;
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
    let (hook, t) = with_hook(&sms_type("sms")).await;
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
async fn push_without_enrolled_devices_falls_back_to_sms_at_start() {
    let push = conf::MobileAuthType {
        fallback: "sms".into(),
        ..auth_type("push", Method::Push, "Do you want to log in?")
    };
    let types = conf::types(&[push, conf::sms("sms")]);
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
    let types = conf::types(&[auth_type("push", Method::Push, "Do you want to log in?")]);
    let (_hook, t) = with_hook(&types).await;
    t.start_raw(&[("type", "push"), ("user_id", "erin")])
        .await
        .expect_error(404, "1001");
}

#[tokio::test]
async fn sms_disabled_in_the_general_config_refuses_sms_starts() {
    let types = format!(
        "[general]\nsms_authentication_enabled = false\n{}",
        sms_type("sms")
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
async fn mobile_authentication_disabled_refuses_every_start() {
    let types = format!(
        "[general]\nmobile_authentication_enabled = false\n{}",
        sms_type("sms")
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
async fn v3_and_v2_paths_serve_sms_like_v4() {
    let (hook, t) = with_hook(&sms_type("sms")).await;
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
        sms_type("sms")
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
