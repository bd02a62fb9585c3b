//! The app's side of a transaction (API.md §4): the encrypted fetch, the signed answer and the
//! OTP redemption, with the authenticator check each answer carries.

use serde::{Deserialize, Serialize};

use super::Engine;
use crate::context::Rendered;
use crate::crypto;
use crate::enroll::authenticators::{self, Consequence, Factor, Success, TokenKind};
use crate::error::DeviceError;
use crate::events::TxnRef;
use crate::model::{Device, EventName, Method, Status, Transaction, TxnId};
use crate::outbound::geolocation::GeoError;
use crate::outbound::verifier;
use crate::telemetry::{self, Revoked};
use crate::txn::actor;
use crate::txn::machine::{self, DeviceAnswer, Reply, SignatureCheck, TokenCheck};
use crate::txn::start;

type Result<T> = std::result::Result<T, DeviceError>;

/// `lastLogin` is rewritten at most this often.
const LAST_LOGIN_RESOLUTION_MS: u64 = 60_000;

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
    /// The transaction this answer is for; must equal the id in the URL. Signed with the rest,
    /// it binds the answer to one transaction, so a captured answer cannot approve another.
    /// Optional here only so a missing one is answered `invalid_answer`, not `invalid_message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
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
    /// The transaction document, encrypted to the device and signed by the server; once.
    pub async fn fetch(&self, device: &Device, id: TxnId) -> Result<String> {
        self.ensure_mobile_auth(device)?;
        let device_id = device.id.clone();
        let outcome = self
            .ask(id, |reply| actor::Fetch { device_id, reply })
            .await
            .map_err(device_error)?;
        let txn = match outcome {
            Some((Reply::Done, txn)) => txn,
            Some((Reply::Refused(r), _)) => return Err(r.into()),
            Some(_) => return Err(DeviceError::InvalidTransaction),
            None => return Err(self.finished_error(id).await),
        };
        self.seal_document(device, &txn).await
    }

    /// Decrypts, authenticates and applies a device's answer. `Ok(true)` = accepted.
    pub async fn answer(&self, device: &Device, id: TxnId, armored: &str) -> Result<bool> {
        self.ensure_mobile_auth(device)?;
        // The actor's copy when this node holds one (else the stored one, and an actor is built
        // for the answer that follows).
        let txn = self.current(id).await.map_err(device_error)?;
        // Early, before any decryption; the actor asks again before it counts a token.
        machine::may_answer(&txn, &device.id)?;
        let server_key = self.keys().server_key(&device.server_key_id).await?;
        let device_key = self.keys().device_key(device)?;
        let body = open_answer(armored, &server_key, &device_key)?;
        // Before anything is counted or decided: an answer signed for another transaction (a
        // replay) or for none changes nothing.
        let bound = body
            .transaction_id
            .as_deref()
            .and_then(|t| t.parse::<TxnId>().ok());
        if bound != Some(id) {
            return Err(DeviceError::InvalidAnswer);
        }
        let fraud = !body.accepted && body.reject_reason.as_deref() == Some("fraud");
        if fraud {
            // Before the transaction hears of it: whoever learns the outcome (a long-poll, the
            // callback) and starts another push for this user already finds it muted.
            let user = txn.user_id.as_deref().unwrap_or(&device.user_id);
            self.report_fraud(user).await?;
        }

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
            fraud,
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
            Some(Reply::Refused(r)) => Err(r.into()),
            None => Err(self.finished_error(id).await),
        }
    }

    /// Binds an OTP transaction to this device's user and returns its document.
    pub async fn redeem_otp(&self, device: &Device, otp: &str) -> Result<String> {
        // Refused before the OTP is touched, so it stays usable for an allowed device.
        self.ensure_mobile_auth(device)?;
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

    /// A device of `user_id` answered `reject_reason = "fraud"` (a signed answer bound to a
    /// transaction addressed to it): its push starts are muted for `rate_limits.fraud_mute`,
    /// and the report is counted. The transaction's `PUSH AUTH FRAUD REPORTED` event comes with
    /// its final state.
    async fn report_fraud(&self, user_id: &str) -> Result<()> {
        telemetry::fraud_report();
        self.limits().mute(user_id).await?;
        Ok(())
    }

    /// A device whose mobile authentication was disabled (management API) or whose app version
    /// is disabled in the configuration may not take part in transactions.
    fn ensure_mobile_auth(&self, device: &Device) -> Result<()> {
        let cfg = self.config();
        let version_enabled = cfg.application(&device.app_id).is_some_and(|app| {
            app.enabled_version(device.platform, &device.app_version)
                .is_some()
        });
        if device.mobile_auth_enabled && version_enabled {
            Ok(())
        } else {
            Err(DeviceError::MobileAuthenticationDisabled)
        }
    }

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
        let verifier_url = app.custom_verifier_url.clone();
        let with_verifier = !verifier_url.is_empty();
        let app_for_check = app.clone();
        let checked = self
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
                let Some((kind, token)) = presented else {
                    return Ok((TokenCheck::Missing, Consequence::None, None, None));
                };
                if !authenticators::accepts(method, &kind) {
                    return Ok((TokenCheck::Missing, Consequence::None, None, None));
                }
                // With a verifier, a right custom token is only half the answer: its count is
                // settled once the verifier has spoken.
                let verified = matches!(kind, TokenKind::Custom(_)) && with_verifier;
                let on_success = if verified {
                    Success::Defer
                } else {
                    Success::Reset
                };
                let before = authenticators::failures(d, &kind);
                let (check, consequence) =
                    authenticators::verify(d, &app_for_check, &kind, token, on_success);
                let failed =
                    authenticators::failure_counted(before, d, &kind).then(|| kind.factor());
                Ok((check, consequence, failed, verified.then_some(kind)))
            })
            .await;
        // Counted once the write carrying the count is stored.
        if let Ok((_, _, Some(factor), _)) = &checked {
            telemetry::authenticator_failure(factor.as_str());
        }
        let mut outcome = checked
            .as_ref()
            .map(|(check, consequence, _, _)| (*check, *consequence))
            .map_err(Clone::clone);
        if let Ok((TokenCheck::Valid, _, _, Some(kind))) = checked {
            let TokenKind::Custom(authenticator_id) = &kind else {
                return Err(DeviceError::Internal);
            };
            let request = verifier::VerifierRequest {
                user_id: &device.user_id,
                device_id: &device.id,
                authenticator_id,
                transaction_id: txn_id.to_string(),
                custom_data: body.custom_data.as_deref(),
            };
            let secret = app.custom_verifier_signing_secret.as_bytes();
            let signing = (!secret.is_empty()).then_some(verifier::Signing {
                secret,
                unix_seconds: crate::outbound::callback::wall_seconds(),
            });
            let accepted =
                verifier::accepts(&self.inner.svc.http, &verifier_url, signing, &request).await;
            // A rejection by the verifier is a failed attempt with this authenticator, counted
            // and limited like a wrong token.
            let recorded = self
                .update_device(&device.id, move |d| {
                    let before = authenticators::failures(d, &kind);
                    let recorded = authenticators::record(d, &app, &kind, accepted);
                    Ok((recorded, authenticators::failure_counted(before, d, &kind)))
                })
                .await;
            if let Ok((_, true)) = recorded {
                telemetry::authenticator_failure(Factor::Custom.as_str());
            }
            outcome = recorded.map(|(recorded, _)| recorded);
        }
        match outcome {
            Ok((check, consequence)) => {
                if consequence == Consequence::AuthenticatorRevoked {
                    telemetry::revocation(Revoked::Authenticator);
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
        let secure_message = match &self.inner.svc.context {
            Some(context) => match context.render(txn).await {
                Rendered::Text(text) => Some(text),
                Rendered::Plain => txn.secure_message().map(str::to_owned),
                Rendered::Failed { cause, report } => {
                    if report {
                        self.geolocation_failure(txn, &cause, Some(device)).await;
                    }
                    txn.secure_message().map(str::to_owned)
                }
            },
            None => txn.secure_message().map(str::to_owned),
        };
        let now = self.clock().now();
        let doc = Document {
            transaction_id: txn.id.to_string(),
            type_name: txn.type_name.clone(),
            method: txn.method.as_str().to_owned(),
            message: txn.message.clone(),
            secure_message,
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

    /// Records that `txn`'s secure message went out (or will) without its context, and why.
    pub(crate) async fn geolocation_failure(
        &self,
        txn: &Transaction,
        cause: &GeoError,
        device: Option<&Device>,
    ) {
        let mut event = TxnRef::of(txn).event(EventName::GeolocationFailure, self.clock().now());
        event.detail = Some(match device {
            Some(d) => format!("{cause} (looked up for device {})", d.id),
            None => cause.to_string(),
        });
        self.events().emit(event).await;
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

/// The answer body's cleartext: decrypted with the server's key, verified against the device's,
/// decoded. Any failure is `invalid_message` (the fuzz targets in `fuzz/` drive this function).
pub(crate) fn open_answer(
    armored: &str,
    server_key: &crypto::ServerKey,
    device_key: &crypto::DeviceKey,
) -> Result<AnswerBody> {
    let plain = crypto::open_from_device(armored, server_key, device_key)
        .map_err(|_| DeviceError::InvalidMessage)?;
    serde_json::from_slice(&plain).map_err(|_| DeviceError::InvalidMessage)
}

fn device_error(e: crate::Error) -> DeviceError {
    match e {
        crate::Error::Overloaded => DeviceError::Overloaded,
        crate::Error::UnknownTransaction => DeviceError::InvalidTransaction,
        crate::Error::Store(e) => e.into(),
        _ => DeviceError::Internal,
    }
}
