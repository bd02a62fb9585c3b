//! The device API (API.md §4): enrollment, device credentials, push enrollment, authenticators,
//! and the app's side of a transaction — pending list, encrypted fetch, signed answer, OTP.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tessera_config::Platform;

use super::Engine;
use crate::crypto;
use crate::enroll::authenticators::{self, Consequence, TokenKind};
use crate::enroll::keys::SHARED_KEY_ID;
use crate::enroll::{codes, modes, secret_hash};
use crate::error::DeviceError;
use crate::model::{Device, EventName, Method, Status, Transaction, TxnId};
use crate::outbound::verifier;
use crate::txn::actor;
use crate::txn::machine::{DeviceAnswer, Refusal, Reply, SignatureCheck, TokenCheck};
use crate::txn::start;

type Result<T> = std::result::Result<T, DeviceError>;

/// Longest push token accepted (FCM tokens are ~160 characters, APNs 64 hex).
const MAX_PUSH_TOKEN: usize = 4096;
/// `lastLogin` is rewritten at most this often.
const LAST_LOGIN_RESOLUTION_MS: u64 = 60_000;
/// Longest device name, model or OS version kept.
const MAX_LABEL: usize = 255;

/// `POST /device/v1/enrollments`.
#[derive(Debug, Clone)]
pub struct EnrollRequest {
    pub enrollment_code: String,
    pub app_id: String,
    pub app_version: String,
    pub platform: Platform,
    pub device_name: String,
    pub model: Option<String>,
    pub os_version: Option<String>,
    pub public_key: String,
}

#[derive(Debug, Clone)]
pub struct Enrolled {
    pub device_id: String,
    pub device_secret: String,
    pub profile_id: String,
    pub server_public_key: String,
}

/// One line of `GET /device/v1/transactions/pending`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingItem {
    pub transaction_id: TxnId,
    pub type_name: String,
    pub message: String,
    pub timestamp: u64,
    pub time_to_live: u64,
}

/// The cleartext of the fetched, encrypted transaction document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Document {
    pub transaction_id: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub method: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secure_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_choices: Option<Vec<u8>>,
    pub timestamp: u64,
    pub time_to_live: u64,
}

/// The cleartext of a device's answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AnswerBody {
    pub accepted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_token: Option<String>,
    /// Tessera: which custom authenticator the token is for (default: the device's only one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_authenticator_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl Engine {
    /// Redeems an enrollment code for a new device with the app's OpenPGP key.
    pub async fn enroll(&self, req: EnrollRequest) -> Result<Enrolled> {
        let cfg = self.config();
        if !cfg.general.enrollment_enabled {
            return Err(DeviceError::EnrollmentDisabled);
        }
        let app = cfg
            .application(&req.app_id)
            .ok_or(DeviceError::InvalidRequest("app_id"))?;
        let version_ok = app
            .enabled_version(req.platform, &req.app_version)
            .is_some();
        if !version_ok {
            return Err(DeviceError::AppVersionDisabled);
        }
        for (field, value) in [
            ("device_name", Some(&req.device_name)),
            ("model", req.model.as_ref()),
            ("os_version", req.os_version.as_ref()),
        ] {
            if value
                .is_some_and(|v| v.chars().count() > MAX_LABEL || v.chars().any(char::is_control))
            {
                return Err(DeviceError::InvalidRequest(field));
            }
        }
        let key =
            crypto::PublicKey::parse(&req.public_key).map_err(|_| DeviceError::InvalidPublicKey)?;
        // The code is spent only once everything else is known to be good.
        let code_hash = secret_hash(&codes::normalize(&req.enrollment_code));
        let now = self.clock().now();
        let code = self
            .store()
            .take_enrollment_code(&code_hash)
            .await?
            .filter(|c| c.expires_at > now)
            .ok_or(DeviceError::InvalidEnrollmentCode)?;

        let (device_id, secret, profile_id) = {
            let mut rng = rand::rng();
            let id: [u8; 32] = rng.random();
            let secret: [u8; 32] = rng.random();
            let profile: [u8; 12] = rng.random();
            (
                hex::encode_upper(id),
                URL_SAFE_NO_PAD.encode(secret),
                hex::encode_upper(profile),
            )
        };
        let unique = cfg.general.unique_keys_per_enrollment;
        let server_key = if unique {
            self.keys().create_unique(&device_id).await?
        } else {
            self.keys().shared().await?
        };
        let device = Device {
            id: device_id.clone(),
            version: 1,
            profile_id: profile_id.clone(),
            user_id: code.user_id.clone(),
            app_id: req.app_id,
            app_version: req.app_version,
            platform: req.platform,
            name: req.device_name,
            model: req.model,
            os_version: req.os_version,
            created_at: now,
            last_login: None,
            secret_sha256: secret_hash(&secret),
            public_key: key.armored().to_owned(),
            server_key_id: if unique {
                device_id.clone()
            } else {
                SHARED_KEY_ID.to_owned()
            },
            push_token: None,
            push_enabled: false,
            mobile_auth_enabled: true,
            pin: None,
            fingerprint: None,
            custom: Default::default(),
        };
        self.store().save_device(&device).await?;
        metrics::counter!(crate::telemetry::ENROLLMENTS).increment(1);
        self.device_event(EventName::MobileAuthEnrollmentSuccess, &device, None)
            .await;
        Ok(Enrolled {
            device_id,
            device_secret: secret,
            profile_id,
            server_public_key: server_key.public_armored().to_owned(),
        })
    }

    /// Checks HTTP Basic `device_id:device_secret`. Unknown, revoked or wrong → `invalid_device`.
    pub async fn authenticate_device(&self, device_id: &str, secret: &str) -> Result<Device> {
        let well_formed = device_id.len() == 64 && device_id.bytes().all(|b| b.is_ascii_hexdigit());
        if !well_formed {
            return Err(DeviceError::InvalidDevice);
        }
        let device = self
            .store()
            .get_device(&device_id.to_ascii_uppercase())
            .await?
            .ok_or(DeviceError::InvalidDevice)?;
        let given = secret_hash(secret);
        if !bool::from(given.as_bytes().ct_eq(device.secret_sha256.as_bytes())) {
            return Err(DeviceError::InvalidDevice);
        }
        Ok(device)
    }

    /// `PUT /push-enrollment`, under the configured push enrollment mode.
    pub async fn push_enroll(&self, device: &Device, push_token: &str) -> Result<()> {
        let cfg = self.config();
        if !cfg.general.enrollment_enabled || !cfg.general.push_enrollment_enabled {
            return Err(DeviceError::PushEnrollmentDisabled);
        }
        if push_token.is_empty()
            || push_token.len() > MAX_PUSH_TOKEN
            || push_token.chars().any(char::is_control)
        {
            return Err(DeviceError::InvalidRequest("push_token"));
        }
        let others = self.store().user_devices(&device.user_id).await?;
        let drop = modes::push_enrollment(cfg.general.push_enrollment_mode, device, &others)
            .map_err(|_| DeviceError::UserAlreadyEnrolled)?;
        for id in drop {
            if let Some(old) = self.store().get_device(&id).await? {
                self.remove_device_record(&old).await?;
                self.device_event(EventName::PushEnrollmentRemoved, &old, None)
                    .await;
            }
        }
        let token = push_token.to_owned();
        self.update_device(&device.id, move |d| {
            d.push_token = Some(token.clone());
            d.push_enabled = true;
            Ok(())
        })
        .await?;
        self.device_event(EventName::PushEnrollmentSuccess, device, None)
            .await;
        Ok(())
    }

    /// `DELETE /push-enrollment`.
    pub async fn push_unenroll(&self, device: &Device) -> Result<()> {
        self.update_device(&device.id, |d| {
            d.push_token = None;
            d.push_enabled = false;
            Ok(())
        })
        .await
    }

    /// `PUT /authenticators/{pin|fingerprint|custom/{id}}`: a fresh token; only its hash is kept.
    pub async fn register_authenticator(&self, device: &Device, kind: TokenKind) -> Result<String> {
        let cfg = self.config();
        let app = cfg
            .application(&device.app_id)
            .ok_or(DeviceError::AuthenticatorDisabled)?;
        let allowed = match &kind {
            TokenKind::Pin => app.pin_enabled,
            TokenKind::Fingerprint => app.fingerprint_enabled,
            TokenKind::Custom(id) => app.custom_authenticators.iter().any(|c| c == id),
        };
        if !allowed {
            return Err(DeviceError::AuthenticatorDisabled);
        }
        let token = URL_SAFE_NO_PAD.encode(rand::rng().random::<[u8; 32]>());
        let now = self.clock().now();
        let auth = authenticators::new_authenticator(&token, now);
        self.update_device(&device.id, move |d| {
            match &kind {
                TokenKind::Pin => d.pin = Some(auth.clone()),
                TokenKind::Fingerprint => d.fingerprint = Some(auth.clone()),
                TokenKind::Custom(id) => {
                    d.custom.insert(id.clone(), auth.clone());
                }
            }
            Ok(())
        })
        .await?;
        self.device_event(EventName::AuthenticatorRegistered, device, None)
            .await;
        Ok(token)
    }

    /// Push transactions addressed to this device that it has not fetched yet.
    pub async fn pending_for_device(&self, device: &Device) -> Result<Vec<PendingItem>> {
        let now = self.clock().now();
        let ids = self.store().device_txns(&device.id, now).await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(txn) = self.store().get(id).await? else {
                continue;
            };
            let waiting = txn.status == Status::Pending
                && txn.method != Method::Sms
                && txn.push.as_ref().is_some_and(|p| {
                    p.targets
                        .iter()
                        .any(|t| t.device_id == device.id && !t.fetched)
                });
            if waiting {
                out.push(PendingItem {
                    transaction_id: txn.id,
                    type_name: txn.type_name.clone(),
                    message: txn.message.clone(),
                    timestamp: txn.created_at,
                    time_to_live: txn.remaining_ms(now),
                });
            }
        }
        Ok(out)
    }

    /// The transaction document, encrypted to the device and signed by the server; once.
    pub async fn fetch(&self, device: &Device, id: TxnId) -> Result<String> {
        let device_id = device.id.clone();
        let outcome = self
            .ask(id, |reply| actor::Fetch { device_id, reply })
            .await
            .map_err(device_error)?;
        let txn = match outcome {
            Some((Reply::Done, txn)) => txn,
            Some((Reply::Refused(Refusal::AlreadyFetched), _)) => {
                return Err(DeviceError::AlreadyFetched);
            }
            Some((Reply::Refused(Refusal::Expired | Refusal::Final(Status::Expired)), _)) => {
                return Err(DeviceError::TransactionExpired);
            }
            None => return Err(self.finished_error(id).await),
            Some(_) => return Err(DeviceError::InvalidTransaction),
        };
        self.seal_document(device, &txn).await
    }

    /// Decrypts, authenticates and applies a device's answer. `Ok(true)` = accepted.
    pub async fn answer(&self, device: &Device, id: TxnId, armored: &str) -> Result<bool> {
        let txn = self
            .store()
            .get(id)
            .await?
            .ok_or(DeviceError::InvalidTransaction)?;
        let addressed = txn
            .push
            .as_ref()
            .is_some_and(|p| p.targets.iter().any(|t| t.device_id == device.id));
        if !addressed {
            return Err(DeviceError::InvalidTransaction);
        }
        if txn.is_final() {
            return Err(if txn.status == Status::Expired {
                DeviceError::TransactionExpired
            } else {
                DeviceError::AlreadyFinal
            });
        }
        let server_key = self.keys().server_key(&device.server_key_id).await?;
        let device_key = self.keys().device_key(device)?;
        let plain = crypto::open_from_device(armored, &server_key, &device_key)
            .map_err(|_| DeviceError::InvalidMessage)?;
        let body: AnswerBody =
            serde_json::from_slice(&plain).map_err(|_| DeviceError::InvalidMessage)?;

        let signature = match (txn.signing_data(), &body.signature) {
            (Some(data), Some(sig)) => Some(SignatureCheck {
                signature: sig.clone(),
                user_public_key: device.public_key.clone(),
                verified: crypto::verify_detached(sig, data.as_bytes(), &device_key)
                    .unwrap_or(false),
            }),
            _ => None,
        };
        let answer = DeviceAnswer {
            device_id: device.id.clone(),
            accepted: body.accepted,
            fraud: body.reject_reason.as_deref() == Some("fraud"),
            token: TokenCheck::Missing,
            number: body.number,
            signature,
        };
        // The token is checked by the transaction's actor, one answer at a time, so the
        // failure counted on the device and the verdict the transaction gets stay in order.
        let check: actor::TokenCheckFuture = if body.accepted {
            let (engine, device, method) = (self.clone(), device.clone(), txn.method);
            Box::pin(async move { engine.check_token(&device, method, &body, id).await })
        } else {
            Box::pin(async { Ok((TokenCheck::Missing, Consequence::None)) })
        };
        let outcome = self
            .ask(id, |reply| actor::Answer {
                answer,
                check,
                reply,
            })
            .await
            .map_err(device_error)?;
        let (reply, consequence) = match outcome {
            Some(Ok((reply, consequence))) => (Some(reply), consequence),
            Some(Err(e)) => return Err(e),
            None => (None, Consequence::None),
        };
        if consequence == Consequence::Disconnect {
            self.remove_device_record(device).await?;
        }
        let now = self.clock().now();
        // Minute resolution is plenty for `lastLogin` and spares a device write per answer.
        let stale = device
            .last_login
            .is_none_or(|t| now.saturating_sub(t) >= LAST_LOGIN_RESOLUTION_MS);
        if reply == Some(Reply::Accepted) && stale {
            // The vendor's `lastLogin`: the last authentication this device confirmed.
            let _ = self
                .update_device(&device.id, |d| {
                    d.last_login = Some(now);
                    Ok(())
                })
                .await;
        }
        match reply {
            Some(Reply::Accepted) => Ok(true),
            Some(Reply::Rejected | Reply::Done) => Ok(false),
            Some(Reply::Refused(r)) => Err(refusal_error(r)),
            None => Err(self.finished_error(id).await),
        }
    }

    /// Binds an OTP transaction to this device's user and returns its document.
    pub async fn redeem_otp(&self, device: &Device, otp: &str) -> Result<String> {
        let (id, secret_sha256) = start::parse_otp(otp).ok_or(DeviceError::InvalidOtp)?;
        let (user_id, device_id) = (device.user_id.clone(), device.id.clone());
        let outcome = self
            .ask(id, |reply| actor::RedeemOtp {
                secret_sha256,
                user_id,
                device_id,
                reply,
            })
            .await
            .map_err(|_| DeviceError::InvalidOtp)?;
        let Some((Reply::Done, txn)) = outcome else {
            return Err(DeviceError::InvalidOtp);
        };
        self.store()
            .add_device_txn(&device.id, id, txn.deadline)
            .await?;
        self.seal_document(device, &txn).await
    }

    // === helpers ===

    async fn check_token(
        &self,
        device: &Device,
        method: Method,
        body: &AnswerBody,
        txn_id: TxnId,
    ) -> Result<(TokenCheck, Consequence)> {
        let cfg = self.config();
        let Some(app) = cfg.application(&device.app_id).cloned() else {
            return Ok((TokenCheck::Revoked, Consequence::None));
        };
        let (app_verifier, app_max_custom) =
            (app.custom_verifier_url.clone(), app.max_custom_attempts);
        let outcome = self
            .update_device(&device.id, move |d| {
                let presented = if let Some(t) = &body.pin_token {
                    Some((TokenKind::Pin, t.as_str()))
                } else if let Some(t) = &body.fingerprint_token {
                    Some((TokenKind::Fingerprint, t.as_str()))
                } else if let Some(t) = &body.custom_token {
                    // Without an id, the device's only (first) custom authenticator.
                    let id = body
                        .custom_authenticator_id
                        .clone()
                        .or_else(|| d.custom.keys().next().cloned())
                        .unwrap_or_default();
                    Some((TokenKind::Custom(id), t.as_str()))
                } else {
                    None
                };
                Ok(authenticators::check(d, &app, method, presented))
            })
            .await;
        let used_custom = body.pin_token.is_none()
            && body.fingerprint_token.is_none()
            && body.custom_token.is_some();
        if let Ok((TokenCheck::Valid, _)) = outcome
            && used_custom
            && !app_verifier.is_empty()
        {
            let authenticator_id = body
                .custom_authenticator_id
                .clone()
                .or_else(|| device.custom.keys().next().cloned())
                .unwrap_or_default();
            let request = verifier::VerifierRequest {
                user_id: &device.user_id,
                device_id: &device.id,
                authenticator_id: &authenticator_id,
                transaction_id: txn_id.to_string(),
                custom_data: body.custom_data.as_deref(),
            };
            if !verifier::accepts(&self.inner.svc.http, &app_verifier, &request).await {
                // The token was right; what the authenticator produced was not accepted.
                return Ok((
                    TokenCheck::Invalid {
                        remaining_attempts: app_max_custom,
                    },
                    Consequence::None,
                ));
            }
        }
        match outcome {
            Ok((check, consequence)) => {
                if consequence == Consequence::AuthenticatorRevoked {
                    self.device_event(EventName::PushAuthAuthenticatorLimitExceeded, device, None)
                        .await;
                }
                Ok((check, consequence))
            }
            Err(DeviceError::NotFound) => Err(DeviceError::InvalidDevice),
            Err(e) => Err(e),
        }
    }

    async fn seal_document(&self, device: &Device, txn: &Transaction) -> Result<String> {
        let now = self.clock().now();
        let doc = Document {
            transaction_id: txn.id.to_string(),
            type_name: txn.type_name.clone(),
            method: txn.method.as_str().to_owned(),
            message: txn.message.clone(),
            secure_message: txn.secure_message().map(str::to_owned),
            signing_data: txn.signing_data().map(str::to_owned),
            number_choices: txn
                .push
                .as_ref()
                .filter(|p| !p.number_choices.is_empty())
                .map(|p| p.number_choices.clone()),
            timestamp: txn.created_at,
            time_to_live: txn.remaining_ms(now),
        };
        let json = serde_json::to_vec(&doc).map_err(|_| DeviceError::Internal)?;
        let server_key = self.keys().server_key(&device.server_key_id).await?;
        let device_key = self.keys().device_key(device)?;
        crypto::seal_for_device(&json, &device_key, &server_key).map_err(|_| DeviceError::Internal)
    }

    /// Why a request about a transaction whose actor is gone cannot be served.
    async fn finished_error(&self, id: TxnId) -> DeviceError {
        match self.store().get(id).await {
            Ok(Some(t)) if t.status == Status::Expired => DeviceError::TransactionExpired,
            Ok(Some(_)) => DeviceError::AlreadyFinal,
            _ => DeviceError::InvalidTransaction,
        }
    }
}

fn device_error(e: crate::Error) -> DeviceError {
    match e {
        crate::Error::Overloaded => DeviceError::Overloaded,
        crate::Error::UnknownTransaction => DeviceError::InvalidTransaction,
        _ => DeviceError::Internal,
    }
}

fn refusal_error(r: Refusal) -> DeviceError {
    match r {
        Refusal::TokenRequired => DeviceError::InvalidAuthenticator {
            remaining_attempts: None,
        },
        Refusal::InvalidAuthenticator { remaining_attempts } => DeviceError::InvalidAuthenticator {
            remaining_attempts: Some(remaining_attempts),
        },
        Refusal::AuthenticatorRevoked => DeviceError::AuthenticatorRevoked,
        Refusal::DeviceDisconnected => DeviceError::DeviceDisconnected,
        Refusal::Expired | Refusal::Final(Status::Expired) => DeviceError::TransactionExpired,
        Refusal::Final(_) => DeviceError::AlreadyFinal,
        _ => DeviceError::InvalidTransaction,
    }
}
