//! The app's side end to end over a real socket: [`DeviceClient`] with real OpenPGP against the
//! server, driven by [`PortalClient`] and [`ManagementClient`] (API.md §2, §3, §4).

use std::time::Duration;

use tessera_engine::crypto::PublicKey;
use tessera_engine::{AnswerBody, Engine, EngineOptions};

use crate::device_client::{DeviceClient, EnrollParams, Platform};
use crate::test_util::*;
use crate::wire::{AnswerOutcome, DeviceRef, EnrolledForPush, PushApp, PushDevice, StartParams};
use crate::{ManagementClient, PortalClient};

struct World {
    base: String,
    portal: PortalClient,
    helpdesk: ManagementClient,
    engine: Engine,
}

fn launch(general: &str) -> World {
    let engine = Engine::launch(
        config(general, &devices()),
        EngineOptions {
            shards: 1,
            in_place: true,
        },
    )
    .unwrap();
    let info = crate::start(engine.clone(), None).unwrap().info;
    let base = format!("http://{}", info.addr);
    World {
        portal: PortalClient::new(&base, "portal", "portal-secret-0123456789abcdef"),
        helpdesk: ManagementClient::new(&base, "helpdesk", "helpdesk-secret-0123456789abcdef"),
        base,
        engine,
    }
}

impl World {
    /// A phone of `acme` for `user`, push-enrolled, with PIN `1234`.
    async fn phone(&self, user: &str, name: &str) -> DeviceClient {
        let code = self.helpdesk.enrollment_code(user).await.unwrap();
        let params = EnrollParams::new(code.enrollment_code, "acme", "1.0", Platform::Ios, name);
        let mut phone = DeviceClient::enroll(&self.base, &params).await.unwrap();
        phone
            .push_enroll(&format!("apns-{}", &phone.device_id()[..12]))
            .await
            .unwrap();
        phone.register_pin("1234").await.unwrap();
        phone
    }

    async fn start(&self, type_name: &str, user: &str) -> crate::wire::StartResponse {
        let params = StartParams {
            user_id: Some(user.into()),
            ..StartParams::new(type_name)
        };
        self.portal.start(&params).await.unwrap()
    }
}

#[actix_rt::test]
async fn push_with_pin_end_to_end() {
    let w = launch("");
    let phone = w.phone("alice", "Alice's iPhone").await;
    assert_eq!(phone.device_id().len(), 64);
    PublicKey::parse(phone.public_key_armored()).unwrap();

    // Availability names the device (v4).
    let avail = w.portal.availability("alice").await.unwrap();
    let item = avail
        .enabled
        .iter()
        .find(|t| t.type_name == "push_pin")
        .unwrap();
    assert_eq!(item.method, "PUSH_WITH_PIN");
    assert_eq!(
        item.apps_enrolled_for_push,
        Some(vec![EnrolledForPush::Device(PushDevice {
            app_id: "acme".into(),
            app_name: "ACME Bank".into(),
            device_id: phone.device_id().into(),
            device_name: "Alice's iPhone".into(),
            platform: "ios".into(),
        })])
    );
    let types = w
        .portal
        .device_availability("alice", phone.device_id())
        .await
        .unwrap()
        .enabled;
    assert!(types.iter().any(|t| t == "push_pin") && types.iter().any(|t| t == "sms"));
    assert!(!types.iter().any(|t| t == "otp"), "{types:?}");
    let other = w
        .portal
        .device_availability("alice", &"A".repeat(64))
        .await
        .unwrap()
        .enabled;
    assert!(!other.iter().any(|t| t == "push_pin"), "{other:?}");

    let started = w.start("push_pin", "alice").await;
    assert_eq!(started.auth_method, "push_with_pin");
    assert_eq!(
        started.device,
        Some(DeviceRef {
            name: "Alice's iPhone".into(),
            platform: "ios".into()
        })
    );
    assert_eq!((started.devices, started.number_challenge), (None, None));
    let id = started.transaction_id;

    let pending = phone.pending().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].transaction_id, id);
    assert_eq!(pending[0].type_name, "push_pin");
    assert_eq!(pending[0].message, "Log in with your PIN?");
    assert!(pending[0].time_to_live > 0);

    let doc = phone.fetch(&id).await.unwrap();
    assert_eq!(
        (doc.transaction_id.as_str(), doc.method.as_str()),
        (id.as_str(), "push_with_pin")
    );
    assert!(phone.pending().await.unwrap().is_empty(), "fetched");
    let err = phone.fetch(&id).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(409), Some("already_fetched"))
    );

    // A wrong PIN decrypts to a well-formed wrong token; only the server can tell.
    let wrong = phone.pin_token("9999");
    assert_eq!(wrong.len(), phone.pin_token("1234").len());
    assert_ne!(wrong, phone.pin_token("1234"));
    let err = phone.answer_with_pin(&id, "9999", true).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(403), Some("invalid_authenticator"))
    );
    assert!(matches!(
        err,
        crate::ClientError::Api {
            remaining_attempts: Some(2),
            ..
        }
    ));
    let result = w.portal.result(&id, None).await.unwrap();
    assert_eq!(result.status, "pending");

    let outcome = phone.answer_with_pin(&id, "1234", true).await.unwrap();
    assert_eq!(outcome, AnswerOutcome::Accepted);
    let result = w
        .portal
        .result(&id, Some(Duration::from_secs(2)))
        .await
        .unwrap();
    assert_eq!(result.status, "accepted");
    assert!(result.is_authenticated);
    assert_eq!(result.authentication_method, "push_with_pin");
    assert_eq!(result.used_authentication_attempts, 2);
    // Final: a late answer is refused.
    let err = phone.answer_with_pin(&id, "1234", true).await.unwrap_err();
    assert_eq!(err.status(), Some(409), "{err}");
}

#[actix_rt::test]
async fn rejection_number_matching_and_signing() {
    let w = launch("");
    let phone = w.phone("alice", "Alice's iPhone").await;

    let id = w.start("push_plain", "alice").await.transaction_id;
    phone.fetch(&id).await.unwrap();
    let outcome = phone.answer_with_pin(&id, "", false).await.unwrap();
    assert_eq!(outcome, AnswerOutcome::Rejected);
    let result = w.portal.result(&id, None).await.unwrap();
    assert_eq!(result.status, "rejected");

    let started = w.start("push_number", "alice").await;
    let challenge = started.number_challenge.expect("a number challenge");
    assert!((10..=99).contains(&challenge));
    let doc = phone.fetch(&started.transaction_id).await.unwrap();
    let choices = doc.number_choices.expect("three choices");
    assert_eq!(choices.len(), 3);
    assert!(choices.contains(&challenge));
    let answer = AnswerBody {
        accepted: true,
        number: Some(challenge),
        ..AnswerBody::default()
    };
    let outcome = phone
        .answer(&started.transaction_id, &answer)
        .await
        .unwrap();
    assert_eq!(outcome, AnswerOutcome::Accepted);

    let params = StartParams {
        user_id: Some("alice".into()),
        signing_data: Some("Pay 100 EUR to Bob".into()),
        ..StartParams::new("push_signed")
    };
    let id = w.portal.start(&params).await.unwrap().transaction_id;
    let doc = phone.fetch(&id).await.unwrap();
    let data = doc.signing_data.expect("signing data");
    let answer = AnswerBody {
        accepted: true,
        signature: Some(phone.sign(data.as_bytes()).unwrap()),
        ..AnswerBody::default()
    };
    assert_eq!(
        phone.answer(&id, &answer).await.unwrap(),
        AnswerOutcome::Accepted
    );
    let result = w.portal.result(&id, None).await.unwrap();
    assert_eq!(result.status, "accepted");
    assert_eq!(result.signature_verified, Some(true));
    assert_eq!(
        result.user_public_key.as_deref(),
        Some(phone.public_key_armored())
    );
}

#[actix_rt::test]
async fn otp_qr_code_and_redemption() {
    let w = launch("");
    let phone = w.phone("alice", "Alice's iPhone").await;
    let started = w.portal.start(&StartParams::new("otp")).await.unwrap();
    let otp = started.otp.expect("an otp");
    let id = started.transaction_id;
    let svg = w.portal.otp_svg(&id).await.unwrap();
    assert!(svg.contains("<svg") && svg.contains("</svg>"));

    // Unknown, malformed and non-OTP transactions have no QR code.
    for other in [uuid::Uuid::new_v4().to_string(), "nope".into()] {
        let err = w.portal.otp_svg(&other).await.unwrap_err();
        assert_eq!((err.status(), err.code()), (Some(404), Some("3004")));
    }
    let push = w.start("push_plain", "alice").await.transaction_id;
    let err = w.portal.otp_svg(&push).await.unwrap_err();
    assert_eq!(err.code(), Some("3004"));

    let err = phone.redeem_otp("not-an-otp").await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(404), Some("invalid_otp")));
    let doc = phone.redeem_otp(&otp).await.unwrap();
    assert_eq!(
        (doc.transaction_id.as_str(), doc.method.as_str()),
        (id.as_str(), "otp")
    );
    // Redeemed: single use, and the portal's QR code is gone.
    let err = phone.redeem_otp(&otp).await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_otp"));
    let err = w.portal.otp_svg(&id).await.unwrap_err();
    assert_eq!(err.code(), Some("3004"));

    let answer = AnswerBody {
        accepted: true,
        ..AnswerBody::default()
    };
    assert_eq!(
        phone.answer(&id, &answer).await.unwrap(),
        AnswerOutcome::Accepted
    );
    let result = w.portal.result(&id, None).await.unwrap();
    assert_eq!(result.status, "accepted");
    assert_eq!(result.user_id.as_deref(), Some("alice"));
}

#[actix_rt::test]
async fn fan_out_names_every_device_and_v3_names_apps() {
    let w = launch("push_enrollment_mode = \"multiple_devices\"");
    let a = w.phone("alice", "iPhone").await;
    let b = w.phone("alice", "iPad").await;
    let started = w.start("push_pin", "alice").await;
    assert_eq!(started.device, None);
    let mut names: Vec<String> = started
        .devices
        .expect("several devices")
        .into_iter()
        .map(|d| d.name)
        .collect();
    names.sort();
    assert_eq!(names, ["iPad", "iPhone"]);
    for phone in [&a, &b] {
        assert_eq!(phone.pending().await.unwrap().len(), 1);
    }
    // The first answer wins.
    let id = started.transaction_id;
    b.fetch(&id).await.unwrap();
    assert_eq!(
        b.answer_with_pin(&id, "1234", true).await.unwrap(),
        AnswerOutcome::Accepted
    );

    // v3 lists applications, not devices (single mode: v3 is only served there).
    let w = launch("");
    w.phone("bob", "Phone").await;
    let v = reqwest::Client::new()
        .get(format!(
            "{}/oauth/api/v3/authenticate/user/bob/enabled",
            w.base
        ))
        .basic_auth("portal", Some("portal-secret-0123456789abcdef"))
        .send()
        .await
        .unwrap()
        .json::<crate::wire::Availability>()
        .await
        .unwrap();
    let item = v
        .enabled
        .iter()
        .find(|t| t.type_name == "push_pin")
        .unwrap();
    assert_eq!(
        item.apps_enrolled_for_push,
        Some(vec![EnrolledForPush::App(PushApp {
            id: "acme".into(),
            name: "ACME Bank".into()
        })])
    );
    assert_eq!(w.engine.devices_of("bob").await.unwrap().len(), 1);
}
