//! User and device management around push (API.md §2.1 availability, §3 device listings and
//! deletion): the v4 camelCase and v3 snake_case device fields, deleting a device while a push to
//! it is pending, bulk deletes, and the push-enrolled devices availability names.

use crate::support;
use crate::support::sorted_keys;

use serde_json::{Value, json};
use tessera_api::wire::{AnswerOutcome, EnrolledForPush, PushDevice};
use tessera_engine::{AnswerBody, Disable};

use crate::support::device::{
    APP_ID, APP_NAME, PIN, World, accept, assert_outcome, expect_api_error, push_token,
};

const USERS_V4: &str = "/oauth/api/v4/users";
const USERS_V3: &str = "/oauth/api/v3/users";

fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn device_listing_v4_camel_case_and_v3_snake_case() {
    let w = World::start("").await;
    w.t.get(&format!("{USERS_V4}/alice/devices"))
        .await
        .expect_error(404, "not_found");

    let phone = w.phone("alice", "Alice's Pixel").await;
    let resp = w.t.get(&format!("{USERS_V4}/alice/devices")).await;
    resp.expect(200);
    let body = resp.json();
    let devices = body["devices"].as_array().expect("devices array");
    assert_eq!(devices.len(), 1, "{body}");
    let d = &devices[0];
    assert_eq!(
        sorted_keys(d),
        sorted(&[
            "id",
            "name",
            "application",
            "model",
            "platform",
            "osVersion",
            "createdAt",
            "lastLogin",
            "tokenTypes",
            "mobileAuthenticationEnabled",
            "pushAuthenticationEnabled",
        ]),
        "{d}"
    );
    assert_eq!(d["id"], phone.device_id());
    assert_eq!(d["name"], "Alice's Pixel");
    assert_eq!(d["application"], APP_ID);
    assert_eq!(d["model"], "Pixel 8");
    assert_eq!(d["platform"], "android");
    assert_eq!(d["osVersion"], "14");
    assert!(
        d["createdAt"]
            .as_u64()
            .is_some_and(|t| t > 1_600_000_000_000),
        "{d}"
    );
    assert!(d["lastLogin"].is_null(), "no login yet: {d}");
    let mut types: Vec<&str> = d["tokenTypes"]
        .as_array()
        .expect("tokenTypes array")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    types.sort();
    assert_eq!(types, ["CUSTOM:face", "FINGERPRINT", "PIN"], "{d}");
    assert_eq!(d["mobileAuthenticationEnabled"], true, "{d}");
    assert_eq!(d["pushAuthenticationEnabled"], true, "{d}");

    // An accepted push is the device's last login.
    let id = w.start_push("push_pin", "alice").await.transaction_id;
    phone.fetch(&id).await.unwrap();
    phone.answer_with_pin(&id, PIN, true).await.unwrap();
    w.final_result(&id).await;
    let body = w.t.get(&format!("{USERS_V4}/alice/devices")).await.json();
    let last_login = body["devices"][0]["lastLogin"].as_u64();
    let created = body["devices"][0]["createdAt"].as_u64().unwrap();
    assert!(last_login.is_some_and(|t| t >= created), "{body}");

    // v3: the vendor's snake_case names.
    let resp = w.t.get(&format!("{USERS_V3}/alice/devices")).await;
    resp.expect(200);
    let body = resp.json();
    let d = &body["devices"][0];
    assert_eq!(
        sorted_keys(d),
        sorted(&[
            "id",
            "name",
            "application",
            "platform",
            "created_at",
            "token_types",
            "last_login",
            "mobile_authentication_enabled",
            "push_authentication_enabled",
        ]),
        "{d}"
    );
    assert_eq!(d["id"], phone.device_id());
    assert_eq!(d["application"], APP_ID);
    assert_eq!(d["created_at"].as_u64(), Some(created));
    assert_eq!(d["last_login"].as_u64(), last_login);
    assert_eq!(d["push_authentication_enabled"], true);
}

#[tokio::test]
async fn deleting_a_device_fails_its_pending_transaction() {
    let w = World::start("").await;
    let phone = w.phone("alice", "Pixel").await;
    let id = w.start_push("push_pin", "alice").await.transaction_id;
    phone.fetch(&id).await.unwrap();

    let resp =
        w.t.send(w.t.portal(
            reqwest::Method::DELETE,
            &format!("{USERS_V4}/alice/devices/{}", phone.device_id()),
        ))
        .await;
    resp.expect(204);
    let result = w.final_result(&id).await;
    assert_outcome(&result, "failed", Some("device_removed"));

    // Its credentials are gone with it.
    expect_api_error(phone.pending().await, 401, "invalid_device");
    expect_api_error(
        phone.answer_with_pin(&id, PIN, true).await,
        401,
        "invalid_device",
    );
    w.t.get(&format!("{USERS_V4}/alice/devices"))
        .await
        .expect_error(404, "not_found");
    // A second delete finds nothing.
    let again =
        w.t.send(w.t.portal(
            reqwest::Method::DELETE,
            &format!("{USERS_V4}/alice/devices/{}", phone.device_id()),
        ))
        .await;
    again.expect_error(404, "not_found");
    // No device, no fallback: nothing to start.
    w.t.start_raw(&[("type", "push_pin"), ("user_id", "alice")])
        .await
        .expect_error(404, "1001");
    // The push token went with the device: a new device may hold it.
    let next = w.enroll("alice", "New Pixel").await;
    next.push_enroll(&push_token(&phone)).await.unwrap();
}

#[tokio::test]
async fn disabling_fingerprint_and_push_of_a_device() {
    let w = World::start("").await;
    let phone = w.phone("alice", "Pixel").await;
    let fingerprint = phone.fingerprint_token().unwrap().to_owned();
    let devices_path = format!("{USERS_V4}/alice/devices");

    w.mgmt
        .disable("alice", phone.device_id(), Disable::Fingerprint)
        .await
        .unwrap();
    let d = w.t.get(&devices_path).await.json()["devices"][0].clone();
    assert!(
        !d["tokenTypes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "FINGERPRINT"),
        "{d}"
    );
    let id = w
        .start_push("push_fingerprint", "alice")
        .await
        .transaction_id;
    phone.fetch(&id).await.unwrap();
    let by_finger = AnswerBody {
        fingerprint_token: Some(fingerprint),
        ..accept()
    };
    let outcome = phone.answer(&id, &by_finger).await;
    assert!(
        !matches!(outcome, Ok(AnswerOutcome::Accepted)),
        "a disabled fingerprint accepted: {outcome:?}"
    );
    assert_eq!(w.result(&id).await.status, "pending");
    assert_eq!(
        phone.answer_with_pin(&id, PIN, true).await.unwrap(),
        AnswerOutcome::Accepted
    );

    w.mgmt
        .disable("alice", phone.device_id(), Disable::PushAuthentication)
        .await
        .unwrap();
    let d = w.t.get(&devices_path).await.json()["devices"][0].clone();
    assert_eq!(d["pushAuthenticationEnabled"], false, "{d}");
    w.t.start_raw(&[("type", "push"), ("user_id", "alice")])
        .await
        .expect_error(404, "1001");

    w.mgmt
        .disable("alice", phone.device_id(), Disable::MobileAuthentication)
        .await
        .unwrap();
    let d = w.t.get(&devices_path).await.json()["devices"][0].clone();
    assert_eq!(d["mobileAuthenticationEnabled"], false, "{d}");
}

#[tokio::test]
async fn deleting_one_of_two_targets_leaves_the_other_answering() {
    let w = World::start("push_enrollment_mode = \"multiple_devices\"").await;
    let a = w.phone("alice", "Phone A").await;
    let b = w.phone("alice", "Phone B").await;
    let id = w.start_push("push_pin", "alice").await.transaction_id;
    w.mgmt.delete_device("alice", a.device_id()).await.unwrap();
    assert_eq!(w.result(&id).await.status, "pending");
    b.fetch(&id).await.unwrap();
    assert_eq!(
        b.answer_with_pin(&id, PIN, true).await.unwrap(),
        AnswerOutcome::Accepted
    );
    assert_outcome(&w.final_result(&id).await, "accepted", None);
}

#[tokio::test]
async fn bulk_and_all_device_deletes() {
    let w = World::start("push_enrollment_mode = \"multiple_devices\"").await;
    let a = w.phone("alice", "Phone A").await;
    let b = w.phone("alice", "Phone B").await;
    let c = w.phone("alice", "Phone C").await;
    let unknown = "F".repeat(64);
    // A push to all three waits while they go one by one.
    let id = w.start_push("push_pin", "alice").await.transaction_id;

    let resp =
        w.t.send(
            w.t.portal(reqwest::Method::POST, &format!("{USERS_V4}/alice/devices"))
                .json(&json!({"delete": [a.device_id(), unknown]})),
        )
        .await;
    resp.expect(500);
    let body = resp.json();
    assert_eq!(body["code"], "not_all_devices_deleted", "{body}");
    assert!(body["message"].is_string(), "{body}");
    assert_eq!(body["details"][0]["device_id"], unknown.as_str(), "{body}");
    assert_eq!(body["details"].as_array().map(Vec::len), Some(1), "{body}");
    expect_api_error(a.pending().await, 401, "invalid_device");

    let failed = w
        .mgmt
        .delete_devices("alice", &[b.device_id().to_owned()])
        .await
        .unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    expect_api_error(b.pending().await, 401, "invalid_device");
    c.pending().await.unwrap();

    assert_eq!(w.result(&id).await.status, "pending");
    assert_eq!(c.pending().await.unwrap().len(), 1);

    w.mgmt.delete_all_devices("alice").await.unwrap();
    expect_api_error(c.pending().await, 401, "invalid_device");
    assert_outcome(&w.final_result(&id).await, "failed", Some("device_removed"));
    assert!(w.mgmt.devices("alice").await.unwrap().is_empty());
}

#[tokio::test]
async fn availability_names_the_push_enrolled_devices() {
    let w = World::start("push_enrollment_mode = \"multiple_devices\"").await;
    // A user without devices, not a 404: SMS, and push types only for their SMS fallback.
    let none = w.portal.availability("nobody").await.unwrap();
    let mut listed: Vec<&str> = none.enabled.iter().map(|t| t.type_name.as_str()).collect();
    listed.sort();
    assert_eq!(listed, ["push_or_sms", "sms"], "{none:?}");
    let fallback_only = none
        .enabled
        .iter()
        .find(|t| t.type_name == "push_or_sms")
        .expect("listed");
    assert_eq!(fallback_only.sms_fallback_allowed, Some(true), "{none:?}");
    assert_eq!(
        fallback_only.apps_enrolled_for_push,
        Some(vec![]),
        "{none:?}"
    );

    let a = w.phone("alice", "Phone A").await;
    let b = w.phone("alice", "Phone B").await;
    // Enrolled without push: not a push target.
    let c = w.enroll("alice", "Tablet").await;

    let avail = w.portal.availability("alice").await.unwrap();
    let method_of = |name: &str| {
        avail
            .enabled
            .iter()
            .find(|t| t.type_name == name)
            .unwrap_or_else(|| panic!("{name} not listed: {avail:?}"))
    };
    for (name, method) in [
        ("push", "PUSH"),
        ("push_pin", "PUSH_WITH_PIN"),
        ("push_fingerprint", "PUSH_WITH_FINGERPRINT"),
        ("push_custom", "PUSH_WITH_CUSTOM_AUTHENTICATOR"),
        ("otp", "OTP"),
        ("sms", "SMS"),
    ] {
        assert_eq!(method_of(name).method, method, "{avail:?}");
    }
    let mut targets = method_of("push_pin")
        .apps_enrolled_for_push
        .clone()
        .expect("apps_enrolled_for_push on a push type");
    targets.sort_by_key(|t| match t {
        EnrolledForPush::Device(d) => d.device_name.clone(),
        EnrolledForPush::App(a) => a.name.clone(),
    });
    let expected: Vec<EnrolledForPush> = [(&a, "Phone A"), (&b, "Phone B")]
        .into_iter()
        .map(|(phone, name)| {
            EnrolledForPush::Device(PushDevice {
                app_id: APP_ID.into(),
                app_name: APP_NAME.into(),
                device_id: phone.device_id().into(),
                device_name: name.into(),
                platform: "android".into(),
            })
        })
        .collect();
    assert_eq!(targets, expected);
    assert!(
        !format!("{avail:?}").contains(c.device_id()),
        "a device without push listed: {avail:?}"
    );
    // The raw JSON has exactly the contract's names.
    let raw =
        w.t.get(&format!("{}/user/alice/enabled", support::portal::V4))
            .await
            .json();
    let item = raw["enabled"]
        .as_array()
        .and_then(|l| l.iter().find(|t| t["type"] == "push"))
        .cloned()
        .unwrap_or_else(|| panic!("{raw}"));
    assert_eq!(
        sorted_keys(&item["apps_enrolled_for_push"][0]),
        sorted(&["app_id", "app_name", "device_id", "device_name", "platform"]),
        "{item}"
    );

    // Per device: the types that device can answer.
    let types = w
        .portal
        .device_availability("alice", a.device_id())
        .await
        .unwrap()
        .enabled;
    for name in ["push", "push_pin", "push_fingerprint", "push_custom"] {
        assert!(types.iter().any(|t| t == name), "{name} missing: {types:?}");
    }

    // Push disabled for B: only A remains a target.
    w.mgmt
        .disable("alice", b.device_id(), Disable::PushAuthentication)
        .await
        .unwrap();
    let avail = w.portal.availability("alice").await.unwrap();
    let push = avail
        .enabled
        .iter()
        .find(|t| t.type_name == "push")
        .expect("push listed");
    let ids: Vec<String> = push
        .apps_enrolled_for_push
        .iter()
        .flatten()
        .filter_map(|t| match t {
            EnrolledForPush::Device(d) => Some(d.device_id.clone()),
            EnrolledForPush::App(_) => None,
        })
        .collect();
    assert_eq!(ids, [a.device_id()]);
    let started = w.start_push("push", "alice").await;
    assert_eq!(
        started.device.as_ref().map(|d| d.name.as_str()),
        Some("Phone A")
    );
}
