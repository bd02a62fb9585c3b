//! Device flows through the engine with real OpenPGP: enrollment, push with each method,
//! authenticator limits, fan-out, fallbacks, signing, OTP, device removal.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use tessera_config::{
    AppVersion, Application, Config, Method, MobileAuthType, Platform, PushConfig,
    PushEnrollmentMode, PushKind,
};

use super::*;
use crate::crypto::{self, DeviceKeyPair, PublicKey};
use crate::enroll::authenticators::TokenKind;
use crate::model::{Device, Reason, Status};
use crate::outbound::{PushError, PushNotice, PushProvider, PushTarget};
use crate::test_util::{push_type, sms_type};
use crate::{AnswerBody, DeviceError, Document, EnrollRequest, RegistrationProof, StartRequest};

/// Records pushes; fails every one when `fail` is set.
#[derive(Default)]
pub(super) struct Recorder {
    sent: Mutex<Vec<(String, PushNotice)>>,
    fail: Option<PushError>,
}

#[async_trait]
impl PushProvider for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }
    async fn send(&self, target: &PushTarget, notice: &PushNotice) -> Result<(), PushError> {
        self.sent
            .lock()
            .push((target.device_id.clone(), notice.clone()));
        self.fail.clone().map_or(Ok(()), Err)
    }
}

pub(super) fn config(mode: PushEnrollmentMode) -> Config {
    let mut cfg = Config::default();
    cfg.general.push_enrollment_mode = mode;
    cfg.push_configs = vec![PushConfig {
        id: "p".into(),
        platform: Platform::Android,
        kind: PushKind::Log,
        ..Default::default()
    }];
    cfg.applications = vec![Application {
        id: "acme".into(),
        name: "ACME".into(),
        fingerprint_enabled: true,
        max_fingerprint_attempts: 2,
        custom_authenticators: vec!["face".into()],
        versions: vec![AppVersion {
            platform: Platform::Android,
            version: "1.0".into(),
            push_config: "p".into(),
            ..Default::default()
        }],
        ..Default::default()
    }];
    let mut signed = push_type("signed", Method::Push, "");
    signed.transaction_signing = true;
    let mut numbers = push_type("numbers", Method::Push, "");
    numbers.number_matching = true;
    let mut late = push_type("late", Method::Push, "sms");
    late.fallback_after = Some(Duration::from_secs(20));
    let mut flaky = push_type("flaky", Method::Push, "sms");
    flaky.fallback_on_delivery_failure = true;
    let otp = MobileAuthType {
        method: Method::Otp,
        ..push_type("otp", Method::Otp, "")
    };
    cfg.mobile_auth_types = vec![
        sms_type("sms"),
        push_type("push", Method::Push, "sms"),
        push_type("pin", Method::PushWithPin, ""),
        push_type("fingerprint", Method::PushWithFingerprint, ""),
        push_type("custom", Method::PushWithCustomAuthenticator, ""),
        signed,
        numbers,
        late,
        flaky,
        otp,
    ];
    cfg
}

pub(super) struct Phone {
    pub(super) device: Device,
    pub(super) keys: DeviceKeyPair,
    pub(super) server: PublicKey,
    pub(super) pin: Option<String>,
}

pub(super) async fn setup(mode: PushEnrollmentMode, provider: Option<Arc<Recorder>>) -> Engine {
    let providers: Vec<(String, Arc<dyn PushProvider>)> = provider
        .into_iter()
        .map(|p| ("p".to_owned(), p as Arc<dyn PushProvider>))
        .collect();
    Engine::launch_with_sms(
        config(mode),
        EngineOptions {
            shards: 1,
            in_place: true,
        },
        providers,
        crate::test_util::outbox(),
    )
    .unwrap()
}

pub(super) async fn phone(engine: &Engine, user: &str) -> Phone {
    let keys = DeviceKeyPair::generate().unwrap();
    let code = engine.issue_enrollment_code(user).await.unwrap().code;
    let enrolled = engine
        .enroll(EnrollRequest {
            enrollment_code: code,
            app_id: "acme".into(),
            app_version: "1.0".into(),
            platform: Platform::Android,
            device_name: "phone".into(),
            model: None,
            os_version: None,
            public_key: keys.public_armored().to_owned(),
        })
        .await
        .unwrap();
    let device = engine
        .authenticate_device(&enrolled.device_id, &enrolled.device_secret)
        .await
        .unwrap();
    engine
        .push_enroll(&device, &format!("token-{}", &device.id[..8]))
        .await
        .unwrap();
    let pin = engine
        .register_authenticator(&device, TokenKind::Pin, &Default::default())
        .await
        .unwrap();
    let device = engine
        .store()
        .get_device(&device.id)
        .await
        .unwrap()
        .unwrap();
    Phone {
        device,
        keys,
        server: PublicKey::parse(&enrolled.server_public_key).unwrap(),
        pin: Some(pin),
    }
}

/// An engine whose application sends custom data to `verifier_url` (signed with `secret` when
/// given), alice's phone with the `face` authenticator registered (its token returned), and a
/// pending `custom` transaction to it.
pub(super) async fn custom_verifier_setup(
    verifier_url: String,
    secret: Option<&str>,
) -> (Engine, Phone, String, TxnId) {
    let engine = setup(PushEnrollmentMode::SingleDevice, None).await;
    let mut cfg = (*engine.config()).clone();
    cfg.applications[0].custom_verifier_url = verifier_url;
    if let Some(secret) = secret {
        cfg.applications[0].custom_verifier_signing_secret = secret.into();
    }
    *engine.inner.svc.config.write() = Arc::new(cfg);
    let p = phone(&engine, "alice").await;
    let face = engine
        .register_authenticator(&p.device, TokenKind::Custom("face".into()), &pin_proof(&p))
        .await
        .unwrap();
    let id = start_id(&engine, "custom", "alice").await;
    (engine, p, face, id)
}

/// Starts a transaction of `type_name` for `user`; its id.
pub(super) async fn start_id(engine: &Engine, type_name: &str, user: &str) -> TxnId {
    engine
        .start(start_req(type_name, user))
        .await
        .unwrap()
        .txn
        .id
}

/// An engine, alice's phone (PIN registered) and a pending `push_with_pin` transaction to it.
pub(super) async fn pin_setup() -> (Engine, Phone, TxnId) {
    let engine = setup(PushEnrollmentMode::SingleDevice, None).await;
    let p = phone(&engine, "alice").await;
    let id = start_id(&engine, "pin", "alice").await;
    (engine, p, id)
}

pub(super) fn start_req(type_name: &str, user: &str) -> StartRequest {
    StartRequest {
        type_name: type_name.into(),
        user_id: Some(user.into()),
        phone_number: Some("+31612345678".into()),
        client_id: "portal".into(),
        ..Default::default()
    }
}

pub(super) async fn fetch(engine: &Engine, p: &Phone, id: TxnId) -> Document {
    let armored = engine.fetch(&p.device, id).await.unwrap();
    let plain = crypto::open_from_server(&armored, &p.keys, &p.server).unwrap();
    serde_json::from_slice(&plain).unwrap()
}

/// Answers `id`, bound to it unless `body` names a transaction itself.
pub(super) async fn answer(
    engine: &Engine,
    p: &Phone,
    id: TxnId,
    body: &AnswerBody,
) -> Result<bool, DeviceError> {
    let mut body = body.clone();
    body.transaction_id.get_or_insert_with(|| id.to_string());
    engine.answer(&p.device, id, &seal(p, &body)).await
}

/// The answer as the phone sends it: signed by the device, encrypted to the server.
pub(super) fn seal(p: &Phone, body: &AnswerBody) -> String {
    crypto::seal_for_server(&serde_json::to_vec(body).unwrap(), &p.server, &p.keys).unwrap()
}

/// The current PIN token, as registration proof.
pub(super) fn pin_proof(p: &Phone) -> RegistrationProof {
    RegistrationProof {
        pin_token: p.pin.clone(),
        ..Default::default()
    }
}

pub(super) fn accept_with_pin(pin: &str) -> AnswerBody {
    AnswerBody {
        accepted: true,
        pin_token: Some(pin.into()),
        ..Default::default()
    }
}

pub(super) async fn status(engine: &Engine, id: TxnId) -> (Status, Option<Reason>, Method) {
    let t = engine.result(id, None).await.unwrap();
    (t.status, t.reason, t.method)
}

#[actix_rt::test]
async fn push_with_pin_end_to_end() {
    let engine = setup(PushEnrollmentMode::SingleDevice, None).await;
    let p = phone(&engine, "alice").await;
    let started = engine.start(start_req("pin", "alice")).await.unwrap();
    assert_eq!(started.devices.len(), 1);
    let id = started.txn.id;
    let pending = engine.pending_for_device(&p.device).await.unwrap();
    assert_eq!(
        pending.iter().map(|x| x.transaction_id).collect::<Vec<_>>(),
        vec![id]
    );
    let doc = fetch(&engine, &p, id).await;
    assert_eq!(
        (doc.transaction_id, doc.method.as_str()),
        (id.to_string(), "push_with_pin")
    );
    assert_eq!(
        engine.fetch(&p.device, id).await,
        Err(DeviceError::AlreadyFetched)
    );
    assert!(
        engine
            .pending_for_device(&p.device)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        answer(&engine, &p, id, &accept_with_pin(p.pin.as_deref().unwrap())).await,
        Ok(true)
    );
    assert_eq!(
        status(&engine, id).await,
        (Status::Accepted, None, Method::PushWithPin)
    );
    assert_eq!(
        engine
            .result(id, None)
            .await
            .unwrap()
            .used_authentication_attempts,
        1
    );
}

/// A push started right after an answer must not count the answered transaction in its badge:
/// the answer is acknowledged only once the transaction has left the device's pending index,
/// even when that store is slow.
#[actix_rt::test]
async fn an_answered_push_has_left_the_device_index_when_the_answer_returns() {
    let store = Arc::new(super::store_failure_tests::FlakyStore::default());
    store
        .slow_unindex
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let opts = EngineOptions {
        shards: 1,
        in_place: true,
    };
    let engine = Engine::launch_on(
        config(PushEnrollmentMode::SingleDevice),
        opts,
        Some(store.clone()),
        Vec::new(),
        crate::test_util::outbox(),
    )
    .unwrap();
    let p = phone(&engine, "alice").await;
    let id = engine
        .start(start_req("pin", "alice"))
        .await
        .unwrap()
        .txn
        .id;
    let now = engine.clock().now();
    assert_eq!(
        store.device_txns(&p.device.id, now).await.unwrap(),
        vec![id]
    );
    fetch(&engine, &p, id).await;
    assert_eq!(
        answer(&engine, &p, id, &accept_with_pin(p.pin.as_deref().unwrap())).await,
        Ok(true)
    );
    assert!(
        store
            .device_txns(&p.device.id, now)
            .await
            .unwrap()
            .is_empty(),
        "the answered transaction is still in the device's index (and its badge)"
    );
}

#[actix_rt::test]
async fn reject_and_fraud() {
    let engine = setup(PushEnrollmentMode::SingleDevice, None).await;
    let p = phone(&engine, "alice").await;
    let id = start_id(&engine, "push", "alice").await;
    let no = AnswerBody {
        accepted: false,
        reject_reason: Some("fraud".into()),
        ..Default::default()
    };
    assert_eq!(answer(&engine, &p, id, &no).await, Ok(false));
    assert_eq!(status(&engine, id).await.1, Some(Reason::FraudReported));
}

#[actix_rt::test]
async fn wrong_pins_disconnect_the_device() {
    let (engine, p, id) = pin_setup().await;
    let wrong = accept_with_pin("not-the-token");
    assert_eq!(
        answer(&engine, &p, id, &wrong).await,
        Err(DeviceError::InvalidAuthenticator {
            remaining_attempts: Some(2)
        })
    );
    assert_eq!(
        answer(&engine, &p, id, &wrong).await,
        Err(DeviceError::InvalidAuthenticator {
            remaining_attempts: Some(1)
        })
    );
    assert_eq!(
        answer(&engine, &p, id, &wrong).await,
        Err(DeviceError::DeviceDisconnected)
    );
    assert_eq!(status(&engine, id).await.1, Some(Reason::InvalidAnswer));
    assert_eq!(
        engine
            .result(id, None)
            .await
            .unwrap()
            .used_authentication_attempts,
        3
    );
    assert!(
        engine
            .store()
            .get_device(&p.device.id)
            .await
            .unwrap()
            .is_none()
    );
}

#[actix_rt::test]
async fn fingerprint_limit_leaves_the_pin() {
    let engine = setup(PushEnrollmentMode::SingleDevice, None).await;
    let p = phone(&engine, "alice").await;
    let fp = engine
        .register_authenticator(&p.device, TokenKind::Fingerprint, &pin_proof(&p))
        .await
        .unwrap();
    let id = start_id(&engine, "fingerprint", "alice").await;
    let bad = AnswerBody {
        accepted: true,
        fingerprint_token: Some("bad".into()),
        ..Default::default()
    };
    assert!(matches!(
        answer(&engine, &p, id, &bad).await,
        Err(DeviceError::InvalidAuthenticator { .. })
    ));
    assert_eq!(
        answer(&engine, &p, id, &bad).await,
        Err(DeviceError::AuthenticatorRevoked)
    );
    let good = AnswerBody {
        accepted: true,
        fingerprint_token: Some(fp),
        ..Default::default()
    };
    assert_eq!(
        answer(&engine, &p, id, &good).await,
        Err(DeviceError::AuthenticatorRevoked)
    );
    assert_eq!(
        answer(&engine, &p, id, &accept_with_pin(p.pin.as_deref().unwrap())).await,
        Ok(true)
    );
}

#[actix_rt::test]
async fn custom_authenticator_or_pin() {
    let engine = setup(PushEnrollmentMode::SingleDevice, None).await;
    let p = phone(&engine, "alice").await;
    let face = engine
        .register_authenticator(&p.device, TokenKind::Custom("face".into()), &pin_proof(&p))
        .await
        .unwrap();
    assert_eq!(
        engine
            .register_authenticator(&p.device, TokenKind::Custom("iris".into()), &pin_proof(&p))
            .await,
        Err(DeviceError::AuthenticatorDisabled)
    );
    let id = start_id(&engine, "custom", "alice").await;
    let body = AnswerBody {
        accepted: true,
        custom_token: Some(face),
        ..Default::default()
    };
    assert_eq!(answer(&engine, &p, id, &body).await, Ok(true));
}

#[actix_rt::test]
async fn enrollment_modes() {
    let engine = setup(PushEnrollmentMode::SingleDevice, None).await;
    let first = phone(&engine, "alice").await;
    let keys = DeviceKeyPair::generate().unwrap();
    let code = engine.issue_enrollment_code("alice").await.unwrap().code;
    let req = EnrollRequest {
        enrollment_code: code.clone(),
        app_id: "acme".into(),
        app_version: "1.0".into(),
        platform: Platform::Android,
        device_name: "second".into(),
        model: None,
        os_version: None,
        public_key: keys.public_armored().to_owned(),
    };
    let second = engine.enroll(req.clone()).await.unwrap();
    assert_eq!(
        engine.enroll(req).await.unwrap_err(),
        DeviceError::InvalidEnrollmentCode
    );
    let second = engine
        .authenticate_device(&second.device_id, &second.device_secret)
        .await
        .unwrap();
    assert_eq!(
        engine.push_enroll(&second, "tok-2").await,
        Err(DeviceError::UserAlreadyEnrolled)
    );
    assert_eq!(
        engine
            .push_enroll(&second, first.device.push_token.as_deref().unwrap())
            .await,
        Err(DeviceError::UserAlreadyEnrolled)
    );

    let engine = setup(PushEnrollmentMode::OverrideAllowed, None).await;
    let first = phone(&engine, "alice").await;
    let second = phone(&engine, "alice").await;
    assert!(
        engine
            .store()
            .get_device(&first.device.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(engine.devices_of("alice").await.unwrap().len(), 1);
    assert!(
        engine
            .authenticate_device(&second.device.id, "x")
            .await
            .is_err()
    );

    let engine = setup(PushEnrollmentMode::MultipleDevices, None).await;
    phone(&engine, "alice").await;
    let b = phone(&engine, "alice").await;
    assert_eq!(engine.devices_of("alice").await.unwrap().len(), 2);
    let mut bob = phone(&engine, "bob").await;
    bob.device = engine
        .store()
        .get_device(&bob.device.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        engine
            .push_enroll(&bob.device, b.device.push_token.as_deref().unwrap())
            .await,
        Err(DeviceError::PushTokenInUse)
    );
}

#[actix_rt::test]
async fn fan_out_first_answer_wins() {
    let engine = setup(PushEnrollmentMode::MultipleDevices, None).await;
    let a = phone(&engine, "alice").await;
    let b = phone(&engine, "alice").await;
    let started = engine.start(start_req("push", "alice")).await.unwrap();
    assert_eq!(started.devices.len(), 2);
    let id = started.txn.id;
    assert_eq!(engine.pending_for_device(&a.device).await.unwrap().len(), 1);
    assert_eq!(
        answer(
            &engine,
            &b,
            id,
            &AnswerBody {
                accepted: true,
                ..Default::default()
            }
        )
        .await,
        Ok(true)
    );
    assert!(
        engine
            .pending_for_device(&a.device)
            .await
            .unwrap()
            .is_empty()
    );
    let late = answer(
        &engine,
        &a,
        id,
        &AnswerBody {
            accepted: false,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(late, Err(DeviceError::AlreadyFinal));
}

#[actix_rt::test]
async fn number_matching_and_signing() {
    let engine = setup(PushEnrollmentMode::SingleDevice, None).await;
    let p = phone(&engine, "alice").await;
    let started = engine.start(start_req("numbers", "alice")).await.unwrap();
    let challenge = started
        .txn
        .push
        .as_ref()
        .and_then(|x| x.number_challenge)
        .unwrap();
    let doc = fetch(&engine, &p, started.txn.id).await;
    let choices = doc.number_choices.unwrap();
    assert!(choices.contains(&challenge) && choices.len() == 3);
    let wrong = choices.iter().copied().find(|c| *c != challenge);
    let body = AnswerBody {
        accepted: true,
        number: wrong,
        ..Default::default()
    };
    assert_eq!(answer(&engine, &p, started.txn.id, &body).await, Ok(false));
    assert_eq!(
        status(&engine, started.txn.id).await.1,
        Some(Reason::InvalidAnswer)
    );

    let mut req = start_req("signed", "alice");
    req.signing_data = Some("Pay 100 EUR to NL01BANK".into());
    for (data, ok) in [
        ("Pay 100 EUR to NL01BANK", true),
        ("Pay 999 EUR to NL66EVIL", false),
    ] {
        let id = engine.start(req.clone()).await.unwrap().txn.id;
        let sig = crypto::sign_detached(data.as_bytes(), &p.keys).unwrap();
        let body = AnswerBody {
            accepted: true,
            signature: Some(sig.clone()),
            ..Default::default()
        };
        assert_eq!(answer(&engine, &p, id, &body).await, Ok(ok));
        let t = engine.result(id, None).await.unwrap();
        let a = t.answer.clone().unwrap();
        assert_eq!(
            (a.signature.as_deref(), a.signature_verified),
            (Some(sig.as_str()), Some(ok))
        );
        assert_eq!(
            a.user_public_key.as_deref(),
            Some(p.device.public_key.as_str())
        );
    }
}

#[actix_rt::test]
async fn fallback_triggers() {
    tokio::time::pause();
    let failing = Arc::new(Recorder {
        fail: Some(PushError::Failed("down".into())),
        ..Default::default()
    });
    let engine = setup(PushEnrollmentMode::SingleDevice, Some(failing.clone())).await;
    // No push enrollment: fallback at start.
    let started = engine.start(start_req("push", "nobody")).await.unwrap();
    assert_eq!(started.txn.method, Method::Sms);
    tokio::time::sleep(Duration::from_millis(1)).await;
    let query = crate::model::EventQuery {
        transaction_id: Some(started.txn.id),
        limit: 10,
        ..Default::default()
    };
    let init_fallbacks = engine
        .query_events(&query)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.event_name == crate::model::EventName::MobileAuthInitFallback.as_str())
        .count();
    assert_eq!(init_fallbacks, 1, "the start's fallback is recorded once");
    let _p = phone(&engine, "alice").await;
    // Every delivery failed: the same transaction continues by SMS.
    let id = start_id(&engine, "flaky", "alice").await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(
        status(&engine, id).await,
        (Status::Pending, None, Method::Sms)
    );
    let code = crate::test_util::sent_code(id);
    engine.verify_sms("alice", id, &code).await.unwrap();
    // Without a fallback for delivery failure the push fails.
    let id = start_id(&engine, "pin", "alice").await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(status(&engine, id).await.1, Some(Reason::FailedToSend));
    assert!(failing.sent.lock().len() >= 2);
}

#[actix_rt::test]
async fn fallback_after_and_push_authorization_switch() {
    tokio::time::pause();
    let engine = setup(PushEnrollmentMode::SingleDevice, None).await;
    let p = phone(&engine, "alice").await;
    let started = engine.start(start_req("late", "alice")).await.unwrap();
    assert_eq!(started.txn.method, Method::Push);
    tokio::time::sleep(Duration::from_secs(21)).await;
    assert_eq!(
        status(&engine, started.txn.id).await,
        (Status::Pending, None, Method::Sms)
    );
    let late = answer(
        &engine,
        &p,
        started.txn.id,
        &AnswerBody {
            accepted: true,
            ..Default::default()
        },
    )
    .await;
    assert!(late.is_err());

    let mut cfg = (*engine.config()).clone();
    cfg.general.push_authorization_enabled = false;
    *engine.inner.svc.config.write() = Arc::new(cfg);
    assert_eq!(
        engine
            .start(start_req("push", "alice"))
            .await
            .unwrap()
            .txn
            .method,
        Method::Sms
    );
}

#[actix_rt::test]
async fn otp_binds_once() {
    let engine = setup(PushEnrollmentMode::SingleDevice, None).await;
    let p = phone(&engine, "alice").await;
    let mut req = start_req("otp", "x");
    req.user_id = None;
    let started = engine.start(req).await.unwrap();
    let otp = started.otp.unwrap();
    let armored = engine.redeem_otp(&p.device, &otp).await.unwrap();
    let doc: Document =
        serde_json::from_slice(&crypto::open_from_server(&armored, &p.keys, &p.server).unwrap())
            .unwrap();
    assert_eq!(doc.method, "otp");
    assert_eq!(
        engine.redeem_otp(&p.device, &otp).await,
        Err(DeviceError::InvalidOtp)
    );
    assert_eq!(
        engine.redeem_otp(&p.device, "garbage").await,
        Err(DeviceError::InvalidOtp)
    );
    assert_eq!(
        answer(
            &engine,
            &p,
            started.txn.id,
            &AnswerBody {
                accepted: true,
                ..Default::default()
            }
        )
        .await,
        Ok(true)
    );
    let t = engine.result(started.txn.id, None).await.unwrap();
    assert_eq!(
        (t.status, t.user_id.as_deref()),
        (Status::Accepted, Some("alice"))
    );
}

#[actix_rt::test]
async fn deleting_a_device_fails_its_pending_transactions() {
    let (engine, p, id) = pin_setup().await;
    engine.delete_device("alice", &p.device.id).await.unwrap();
    assert_eq!(status(&engine, id).await.1, Some(Reason::DeviceRemoved));
    assert_eq!(
        engine
            .authenticate_device(&p.device.id, "whatever")
            .await
            .unwrap_err(),
        DeviceError::InvalidDevice
    );
    assert_eq!(
        engine.delete_device("alice", &p.device.id).await,
        Err(DeviceError::NotFound)
    );
}

#[actix_rt::test]
async fn a_removed_device_is_answered_after_the_failure_is_stored() {
    let (engine, p, id) = pin_setup().await;
    let device_id = p.device.id.clone();
    let reply = engine
        .ask(id, |reply| crate::txn::actor::DeviceRemoved {
            device_id,
            reply,
        })
        .await
        .unwrap();
    // The actor answers (it used to drop the reply, so removal went on before the write).
    assert_eq!(reply, Some(Reply::Done));
    let stored = engine.store().get(id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.reason),
        (Status::Failed, Some(Reason::DeviceRemoved))
    );
}

#[actix_rt::test]
async fn unregistered_tokens_drop_the_push_enrollment() {
    tokio::time::pause();
    let dead = Arc::new(Recorder {
        fail: Some(PushError::Unregistered),
        ..Default::default()
    });
    let engine = setup(PushEnrollmentMode::SingleDevice, Some(dead)).await;
    let p = phone(&engine, "alice").await;
    let id = start_id(&engine, "push", "alice").await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    let device = engine
        .store()
        .get_device(&p.device.id)
        .await
        .unwrap()
        .unwrap();
    assert!(device.push_token.is_none() && !device.push_enabled);
    assert_eq!(status(&engine, id).await.1, Some(Reason::FailedToSend));
}

#[actix_rt::test]
async fn pushes_carry_identifiers_and_resend_goes_again() {
    let recorder = Arc::new(Recorder::default());
    let engine = setup(PushEnrollmentMode::SingleDevice, Some(recorder.clone())).await;
    let mut cfg = (*engine.config()).clone();
    if let Some(t) = cfg.mobile_auth_types.iter_mut().find(|t| t.name == "push") {
        t.max_resends = 1;
    }
    *engine.inner.svc.config.write() = Arc::new(cfg);
    let p = phone(&engine, "alice").await;
    let id = start_id(&engine, "push", "alice").await;
    engine.resend(id).await.unwrap();
    assert!(matches!(
        engine.resend(id).await,
        Err(crate::Error::ResendLimit)
    ));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let sent = recorder.sent.lock().clone();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].0, p.device.id);
    assert_eq!(
        (sent[0].1.transaction_id, sent[0].1.profile_id.as_str()),
        (id, p.device.profile_id.as_str())
    );
}

#[actix_rt::test]
async fn custom_data_goes_to_the_applications_verifier() {
    use crate::outbound::test_server::{Reply as HttpReply, TestServer};
    let verifier = TestServer::start(|req, _| {
        HttpReply::status(if req.json()["custom_data"] == "liveness-ok" {
            200
        } else {
            401
        })
    })
    .await;
    let (engine, p, face, id) = custom_verifier_setup(verifier.url("/verify"), None).await;
    let mut body = AnswerBody {
        accepted: true,
        custom_token: Some(face),
        custom_data: Some("spoof".into()),
        ..Default::default()
    };
    assert!(matches!(
        answer(&engine, &p, id, &body).await,
        Err(DeviceError::InvalidAuthenticator { .. })
    ));
    body.custom_data = Some("liveness-ok".into());
    assert_eq!(answer(&engine, &p, id, &body).await, Ok(true));
    let seen = verifier.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].json()["user_id"], "alice");
    assert_eq!(seen[1].json()["transaction_id"], id.to_string());
}

/// A right PIN with no failures to reset changes nothing on the device, so nothing is written:
/// the answer costs no device write (last login aside, which is kept at minute resolution).
#[actix_rt::test]
async fn a_right_pin_with_nothing_to_reset_writes_no_device() {
    let (engine, mut p, id) = pin_setup().await;
    fetch(&engine, &p, id).await;
    assert_eq!(
        answer(&engine, &p, id, &accept_with_pin(p.pin.as_deref().unwrap())).await,
        Ok(true)
    );
    let after_first = engine
        .store()
        .get_device(&p.device.id)
        .await
        .unwrap()
        .unwrap();
    // As the API hands it over: the device as read when the request was authenticated.
    p.device = after_first.clone();
    let again = start_id(&engine, "pin", "alice").await;
    fetch(&engine, &p, again).await;
    assert_eq!(
        answer(
            &engine,
            &p,
            again,
            &accept_with_pin(p.pin.as_deref().unwrap())
        )
        .await,
        Ok(true)
    );
    let after_second = engine
        .store()
        .get_device(&p.device.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after_second.version, after_first.version, "no device write");
    // A wrong PIN still counts, on the stored device.
    let third = start_id(&engine, "pin", "alice").await;
    fetch(&engine, &p, third).await;
    let wrong = answer(&engine, &p, third, &accept_with_pin("not-the-pin")).await;
    assert!(wrong.is_err(), "{wrong:?}");
    let after_wrong = engine
        .store()
        .get_device(&p.device.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after_wrong.version, after_first.version + 1);
}
