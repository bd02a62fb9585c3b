//! Issue 8, device side: each test reproduces one way around the second factor the review
//! found, with real OpenPGP, and shows it closed.

use std::sync::{Arc, Barrier};

use tessera_config::{PushEnrollmentMode, VersionStatus};

use super::device_tests::{
    accept_with_pin, answer, config, custom_verifier_setup, fetch, phone, pin_setup, seal, setup,
    start_id, start_req, status,
};
use super::*;
use crate::crypto::DeviceKeyPair;
use crate::model::{Device, Status};
use crate::{AnswerBody, DeviceError, EnrollRequest, RegistrationProof};

pub(super) async fn stored(engine: &Engine, id: &str) -> Option<Device> {
    engine.store().get_device(id).await.unwrap()
}

pub(super) async fn pin_failures(engine: &Engine, id: &str) -> u32 {
    stored(engine, id).await.unwrap().pin.unwrap().failures
}

pub(super) fn proof(pin: &str) -> RegistrationProof {
    RegistrationProof {
        pin_token: Some(pin.into()),
        ..Default::default()
    }
}

fn enroll_req(code: String, public_key: &str) -> EnrollRequest {
    EnrollRequest {
        enrollment_code: code,
        app_id: "acme".into(),
        app_version: "1.0".into(),
        platform: tessera_config::Platform::Android,
        device_name: "phone".into(),
        model: None,
        os_version: None,
        public_key: public_key.to_owned(),
    }
}

/// A device enrolled for `user`, not yet push-enrolled.
async fn enrolled_only(engine: &Engine, user: &str) -> Device {
    let keys = DeviceKeyPair::generate().unwrap();
    let code = engine.issue_enrollment_code(user).await.unwrap().code;
    let e = engine
        .enroll(enroll_req(code, keys.public_armored()))
        .await
        .unwrap();
    engine
        .authenticate_device(&e.device_id, &e.device_secret)
        .await
        .unwrap()
}

/// Runs `jobs` on blocking threads released together, each on its own runtime, so the engine
/// calls really overlap (the test's own runtime is single-threaded).
pub(super) async fn all_at_once<T: Send + 'static>(
    jobs: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>>,
) -> Vec<T> {
    let gate = Arc::new(Barrier::new(jobs.len()));
    let handles: Vec<_> = jobs
        .into_iter()
        .map(|job| {
            let gate = gate.clone();
            tokio::task::spawn_blocking(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                gate.wait();
                rt.block_on(job)
            })
        })
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

// === 1. answer replay ===

#[actix_rt::test]
async fn a_captured_answer_cannot_approve_another_transaction() {
    let engine = setup(PushEnrollmentMode::SingleDevice, None).await;
    let p = phone(&engine, "alice").await;
    let pin = p.pin.clone().unwrap();
    let first = start_id(&engine, "pin", "alice").await;
    fetch(&engine, &p, first).await;
    let mut body = accept_with_pin(&pin);
    body.transaction_id = Some(first.to_string());
    let captured = seal(&p, &body);
    assert_eq!(engine.answer(&p.device, first, &captured).await, Ok(true));

    let second = start_id(&engine, "pin", "alice").await;
    assert_eq!(
        engine.answer(&p.device, second, &captured).await,
        Err(DeviceError::InvalidAnswer)
    );
    assert_eq!(status(&engine, second).await.0, Status::Pending);
    assert_eq!(
        engine
            .result(second, None)
            .await
            .unwrap()
            .used_authentication_attempts,
        0
    );

    // Unbound answers are refused the same way, and nothing is counted even for a wrong PIN.
    let unbound = seal(&p, &accept_with_pin(&pin));
    assert_eq!(
        engine.answer(&p.device, second, &unbound).await,
        Err(DeviceError::InvalidAnswer)
    );
    let mut wrong = accept_with_pin("wrong");
    wrong.transaction_id = Some(first.to_string());
    assert_eq!(
        engine.answer(&p.device, second, &seal(&p, &wrong)).await,
        Err(DeviceError::InvalidAnswer)
    );
    assert_eq!(pin_failures(&engine, &p.device.id).await, 0);
    assert_eq!(status(&engine, second).await.0, Status::Pending);
    // The device's own, bound answer still works.
    assert_eq!(
        answer(&engine, &p, second, &accept_with_pin(&pin)).await,
        Ok(true)
    );
}

// === 4. disabled devices and app versions ===

#[actix_rt::test]
async fn a_device_with_mobile_authentication_disabled_takes_no_part() {
    let engine = setup(PushEnrollmentMode::MultipleDevices, None).await;
    let p = phone(&engine, "alice").await;
    let other = phone(&engine, "bob").await;
    let id = start_id(&engine, "pin", "alice").await;
    engine
        .disable("alice", &p.device.id, Disable::MobileAuthentication)
        .await
        .unwrap();
    let device = stored(&engine, &p.device.id).await.unwrap();
    let off = Err(DeviceError::MobileAuthenticationDisabled);
    assert_eq!(engine.fetch(&device, id).await.map(|_| ()), off);
    let mut body = accept_with_pin(p.pin.as_deref().unwrap());
    body.transaction_id = Some(id.to_string());
    assert_eq!(
        engine
            .answer(&device, id, &seal(&p, &body))
            .await
            .map(|_| ()),
        off
    );

    let mut req = start_req("otp", "x");
    req.user_id = None;
    let otp = engine.start(req).await.unwrap().otp.unwrap();
    assert_eq!(engine.redeem_otp(&device, &otp).await.map(|_| ()), off);
    // Not used up: an allowed device still redeems it.
    engine.redeem_otp(&other.device, &otp).await.unwrap();
}

#[actix_rt::test]
async fn a_disabled_app_version_takes_no_part() {
    let (engine, p, id) = pin_setup().await;
    let mut cfg = config(PushEnrollmentMode::SingleDevice);
    cfg.applications[0].versions[0].status = VersionStatus::Disabled;
    *engine.inner.svc.config.write() = Arc::new(cfg);
    let off = Err(DeviceError::MobileAuthenticationDisabled);
    assert_eq!(engine.fetch(&p.device, id).await.map(|_| ()), off);
    assert_eq!(
        answer(&engine, &p, id, &accept_with_pin(p.pin.as_deref().unwrap()))
            .await
            .map(|_| ()),
        off
    );
    assert_eq!(status(&engine, id).await.0, Status::Pending);
}

// === 7a. the enrollment code before any OpenPGP ===

#[actix_rt::test]
async fn no_openpgp_is_parsed_without_a_live_code() {
    let engine = setup(PushEnrollmentMode::SingleDevice, None).await;
    let hostile =
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----\n";
    assert_eq!(
        engine
            .enroll(enroll_req("WRONG-CODE".into(), hostile))
            .await
            .map(|_| ()),
        Err(DeviceError::InvalidEnrollmentCode)
    );
    // With a good code the key is parsed and refused, and the code is not spent by that.
    let code = engine.issue_enrollment_code("alice").await.unwrap().code;
    assert_eq!(
        engine
            .enroll(enroll_req(code.clone(), hostile))
            .await
            .map(|_| ()),
        Err(DeviceError::InvalidPublicKey)
    );
    let keys = DeviceKeyPair::generate().unwrap();
    engine
        .enroll(enroll_req(code.clone(), keys.public_armored()))
        .await
        .unwrap();
    assert_eq!(
        engine
            .enroll(enroll_req(code, keys.public_armored()))
            .await
            .map(|_| ()),
        Err(DeviceError::InvalidEnrollmentCode)
    );
}

// === 7b. single_device push enrollment under concurrency ===

#[actix_rt::test]
async fn single_device_push_enrollment_has_one_winner() {
    let engine = setup(PushEnrollmentMode::SingleDevice, None).await;
    for round in 0..5 {
        let user = format!("user-{round}");
        let mut devices = Vec::new();
        for _ in 0..6 {
            devices.push(enrolled_only(&engine, &user).await);
        }
        let jobs = devices
            .into_iter()
            .map(|d| {
                let engine = engine.clone();
                Box::pin(async move { engine.push_enroll(&d, &format!("tok-{}", d.id)).await })
                    as std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>
            })
            .collect();
        let results: Vec<Result<(), DeviceError>> = all_at_once(jobs).await;
        let won = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(won, 1, "{results:?}");
        assert!(
            results
                .iter()
                .all(|r| r.is_ok() || *r == Err(DeviceError::UserAlreadyEnrolled))
        );
        let enrolled = engine
            .store()
            .user_devices(&user)
            .await
            .unwrap()
            .into_iter()
            .filter(|d| d.push_token.is_some())
            .count();
        assert_eq!(enrolled, 1);
    }
}

// === 7c. the custom verifier: counted, and signed ===

#[actix_rt::test]
async fn verifier_rejections_count_and_requests_are_signed() {
    use crate::outbound::callback::signature_header;
    use crate::outbound::test_server::{Reply as HttpReply, TestServer};
    const SECRET: &str = "verifier-secret";
    // Accepts only requests carrying a valid signature over the exact body, and only the
    // data the liveness check would produce.
    let verifier = TestServer::start(|req, _| {
        let signed = req.header("tessera-signature").is_some_and(|h| {
            let t = h
                .strip_prefix("t=")
                .and_then(|rest| rest.split(',').next())
                .and_then(|t| t.parse::<u64>().ok());
            t.is_some_and(|t| {
                signature_header(SECRET.as_bytes(), t, &req.body)
                    .ok()
                    .as_deref()
                    == Some(h)
            })
        });
        let ok = signed && req.json()["custom_data"] == "liveness-ok";
        HttpReply::status(if ok { 204 } else { 401 })
    })
    .await;
    let (engine, p, face, id) = custom_verifier_setup(verifier.url("/verify"), Some(SECRET)).await;
    let mut body = AnswerBody {
        accepted: true,
        custom_token: Some(face.clone()),
        custom_data: Some("liveness-ok".into()),
        ..Default::default()
    };
    // Signed and acceptable: the verifier says yes.
    assert_eq!(answer(&engine, &p, id, &body).await, Ok(true));

    // Rejections by the verifier count down like wrong tokens (max_custom_attempts = 3) and a
    // right token in between does not reset the count.
    let id = start_id(&engine, "custom", "alice").await;
    body.custom_data = Some("spoof".into());
    for remaining in [2, 1] {
        assert_eq!(
            answer(&engine, &p, id, &body).await,
            Err(DeviceError::InvalidAuthenticator {
                remaining_attempts: Some(remaining)
            })
        );
    }
    assert_eq!(
        answer(&engine, &p, id, &body).await,
        Err(DeviceError::AuthenticatorRevoked)
    );
    let device = stored(&engine, &p.device.id).await.unwrap();
    assert!(!device.custom.contains_key("face"));
    assert_eq!(status(&engine, id).await.0, Status::Pending);
    // The PIN remains usable.
    assert_eq!(
        answer(&engine, &p, id, &accept_with_pin(p.pin.as_deref().unwrap())).await,
        Ok(true)
    );
    assert_eq!(verifier.requests().len(), 4);
}

#[actix_rt::test]
async fn an_unsigned_verifier_request_is_what_a_checking_verifier_refuses() {
    use crate::outbound::test_server::{Reply as HttpReply, TestServer};
    let verifier = TestServer::start(|req, _| {
        HttpReply::status(if req.header("tessera-signature").is_some() {
            204
        } else {
            401
        })
    })
    .await;
    let (engine, p, face, id) = custom_verifier_setup(verifier.url("/verify"), None).await;
    let body = AnswerBody {
        accepted: true,
        custom_token: Some(face),
        ..Default::default()
    };
    // No secret configured: no header, and the refusal is counted.
    assert_eq!(
        answer(&engine, &p, id, &body).await,
        Err(DeviceError::InvalidAuthenticator {
            remaining_attempts: Some(2)
        })
    );
}
