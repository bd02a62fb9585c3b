//! Issue 8, proof before replacing an authenticator (API.md §4): the PIN (or, with PIN disabled,
//! the authenticator's own token) is needed for every registration but the first, and wrong
//! proofs count like wrong PINs, also when they arrive all at once.

use std::sync::Arc;

use tessera_config::PushEnrollmentMode;

use super::device_tests::{accept_with_pin, answer, phone, pin_proof, setup, start_id};
use super::security_tests::{all_at_once, pin_failures, proof, stored};
use crate::enroll::authenticators::TokenKind;
use crate::{AnswerBody, DeviceError, RegistrationProof};

// === 2. proof before replacing an authenticator ===

#[actix_rt::test]
async fn changing_the_pin_needs_the_current_one_and_a_right_one_resets_the_count() {
    let engine = setup(PushEnrollmentMode::SingleDevice, None).await;
    let p = phone(&engine, "alice").await;
    let pin = p.pin.clone().unwrap();
    let none = RegistrationProof::default();
    assert_eq!(
        engine
            .register_authenticator(&p.device, TokenKind::Pin, &none)
            .await,
        Err(DeviceError::InvalidAuthenticator {
            remaining_attempts: None
        })
    );
    assert_eq!(pin_failures(&engine, &p.device.id).await, 0);
    assert_eq!(
        engine
            .register_authenticator(&p.device, TokenKind::Pin, &proof("guess"))
            .await,
        Err(DeviceError::InvalidAuthenticator {
            remaining_attempts: Some(2)
        })
    );
    assert_eq!(pin_failures(&engine, &p.device.id).await, 1);
    // The old token still stands after refusals.
    let id = start_id(&engine, "pin", "alice").await;
    let new_pin = engine
        .register_authenticator(&p.device, TokenKind::Pin, &proof(&pin))
        .await
        .unwrap();
    assert_eq!(pin_failures(&engine, &p.device.id).await, 0);
    assert!(matches!(
        answer(&engine, &p, id, &accept_with_pin(&pin)).await,
        Err(DeviceError::InvalidAuthenticator { .. })
    ));
    assert_eq!(
        answer(&engine, &p, id, &accept_with_pin(&new_pin)).await,
        Ok(true)
    );
}

#[actix_rt::test]
async fn wrong_proofs_disconnect_the_device_like_wrong_pins() {
    let engine = setup(PushEnrollmentMode::SingleDevice, None).await;
    let p = phone(&engine, "alice").await;
    let fp = TokenKind::Fingerprint;
    for remaining in [2, 1] {
        assert_eq!(
            engine
                .register_authenticator(&p.device, fp.clone(), &proof("guess"))
                .await,
            Err(DeviceError::InvalidAuthenticator {
                remaining_attempts: Some(remaining)
            })
        );
    }
    assert_eq!(
        engine
            .register_authenticator(&p.device, fp, &proof("guess"))
            .await,
        Err(DeviceError::DeviceDisconnected)
    );
    assert!(stored(&engine, &p.device.id).await.is_none());
    let again = engine
        .register_authenticator(&p.device, TokenKind::Pin, &RegistrationProof::default())
        .await;
    assert_eq!(again, Err(DeviceError::InvalidDevice));
}

#[actix_rt::test]
async fn a_revoked_fingerprint_comes_back_only_with_the_pin() {
    let engine = setup(PushEnrollmentMode::SingleDevice, None).await;
    let p = phone(&engine, "alice").await;
    let fp = TokenKind::Fingerprint;
    let none = RegistrationProof::default();
    assert!(matches!(
        engine
            .register_authenticator(&p.device, fp.clone(), &none)
            .await,
        Err(DeviceError::InvalidAuthenticator { .. })
    ));
    engine
        .register_authenticator(&p.device, fp.clone(), &pin_proof(&p))
        .await
        .unwrap();
    // max_fingerprint_attempts = 2 wrong fingerprint answers revoke it.
    let id = start_id(&engine, "fingerprint", "alice").await;
    let wrong = AnswerBody {
        accepted: true,
        fingerprint_token: Some("wrong".into()),
        ..Default::default()
    };
    answer(&engine, &p, id, &wrong).await.unwrap_err();
    assert_eq!(
        answer(&engine, &p, id, &wrong).await,
        Err(DeviceError::AuthenticatorRevoked)
    );
    assert!(
        stored(&engine, &p.device.id)
            .await
            .unwrap()
            .fingerprint
            .is_none()
    );
    assert!(matches!(
        engine
            .register_authenticator(&p.device, fp.clone(), &none)
            .await,
        Err(DeviceError::InvalidAuthenticator { .. })
    ));
    engine
        .register_authenticator(&p.device, fp, &pin_proof(&p))
        .await
        .unwrap();
}

#[actix_rt::test]
async fn concurrent_wrong_proofs_count_exactly_the_limit() {
    let engine = setup(PushEnrollmentMode::SingleDevice, None).await;
    let p = phone(&engine, "alice").await;
    let jobs = (0..12)
        .map(|_| {
            let (engine, device) = (engine.clone(), p.device.clone());
            Box::pin(async move {
                engine
                    .register_authenticator(&device, TokenKind::Pin, &proof("guess"))
                    .await
            }) as std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>
        })
        .collect();
    let results = all_at_once(jobs).await;
    let mut counted: Vec<u32> = results
        .iter()
        .filter_map(|r| match r {
            Err(DeviceError::InvalidAuthenticator {
                remaining_attempts: Some(n),
            }) => Some(*n),
            _ => None,
        })
        .collect();
    counted.sort_unstable();
    // max_pin_attempts = 3: two counted refusals, then the third disconnects; nothing beyond.
    assert_eq!(counted, vec![1, 2], "{results:?}");
    assert!(results.contains(&Err(DeviceError::DeviceDisconnected)));
    for r in &results {
        assert!(
            matches!(
                r,
                Err(DeviceError::InvalidAuthenticator { .. }
                    | DeviceError::DeviceDisconnected
                    | DeviceError::InvalidDevice
                    | DeviceError::Overloaded)
            ),
            "{r:?}"
        );
    }
    assert!(stored(&engine, &p.device.id).await.is_none());
}

#[actix_rt::test]
async fn without_pin_each_authenticator_is_replaced_with_its_own_token() {
    let engine = setup(PushEnrollmentMode::SingleDevice, None).await;
    let p = phone(&engine, "alice").await;
    let mut cfg = (*engine.config()).clone();
    cfg.applications[0].pin_enabled = false;
    *engine.inner.svc.config.write() = Arc::new(cfg);
    let none = RegistrationProof::default();
    let face = TokenKind::Custom("face".into());
    let first = engine
        .register_authenticator(&p.device, face.clone(), &none)
        .await
        .unwrap();
    assert!(matches!(
        engine
            .register_authenticator(&p.device, face.clone(), &none)
            .await,
        Err(DeviceError::InvalidAuthenticator { .. })
    ));
    let wrong = RegistrationProof {
        custom_token: Some("guess".into()),
        ..Default::default()
    };
    assert!(matches!(
        engine
            .register_authenticator(&p.device, face.clone(), &wrong)
            .await,
        Err(DeviceError::InvalidAuthenticator { .. })
    ));
    // A PIN token is no proof where PIN is disabled.
    assert!(matches!(
        engine
            .register_authenticator(&p.device, face.clone(), &pin_proof(&p))
            .await,
        Err(DeviceError::InvalidAuthenticator { .. })
    ));
    let right = RegistrationProof {
        custom_token: Some(first.clone()),
        ..Default::default()
    };
    let second = engine
        .register_authenticator(&p.device, face.clone(), &right)
        .await
        .unwrap();
    assert_ne!(first, second);
    // The replaced token proves nothing any more.
    assert!(matches!(
        engine.register_authenticator(&p.device, face, &right).await,
        Err(DeviceError::InvalidAuthenticator { .. })
    ));
}

#[actix_rt::test]
async fn without_pin_a_revoked_fingerprint_cannot_be_registered_again() {
    // An attacker holding the device's secret and key cannot revoke the fingerprint with wrong
    // answers and then register their own: with no PIN to prove with, revoked stays revoked.
    let engine = setup(PushEnrollmentMode::SingleDevice, None).await;
    let p = phone(&engine, "alice").await;
    let q = phone(&engine, "bob").await;
    let mut cfg = (*engine.config()).clone();
    cfg.applications[0].pin_enabled = false;
    *engine.inner.svc.config.write() = Arc::new(cfg);
    let none = RegistrationProof::default();
    engine
        .register_authenticator(&p.device, TokenKind::Fingerprint, &none)
        .await
        .unwrap();
    // max_fingerprint_attempts = 2 wrong fingerprint answers revoke it.
    let id = start_id(&engine, "fingerprint", "alice").await;
    let wrong = AnswerBody {
        accepted: true,
        fingerprint_token: Some("wrong".into()),
        ..Default::default()
    };
    answer(&engine, &p, id, &wrong).await.unwrap_err();
    assert_eq!(
        answer(&engine, &p, id, &wrong).await,
        Err(DeviceError::AuthenticatorRevoked)
    );
    assert_eq!(
        engine
            .register_authenticator(&p.device, TokenKind::Fingerprint, &none)
            .await,
        Err(DeviceError::AuthenticatorRevoked)
    );
    // The help desk's disableFingerprint is a revocation too.
    engine
        .register_authenticator(&q.device, TokenKind::Fingerprint, &none)
        .await
        .unwrap();
    engine
        .disable("bob", &q.device.id, crate::engine::Disable::Fingerprint)
        .await
        .unwrap();
    assert_eq!(
        engine
            .register_authenticator(&q.device, TokenKind::Fingerprint, &none)
            .await,
        Err(DeviceError::AuthenticatorRevoked)
    );
}
