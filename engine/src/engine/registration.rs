//! `PUT /device/v1/authenticators/{pin|fingerprint|custom/{id}}` (API.md §4, "Proof before
//! replacing"): issuing authenticator tokens, and the proof a device must bring to replace one.
//!
//! Device credentials alone must not be enough to get a fresh token: they sit on the phone next
//! to the tokens, and whoever copied them could otherwise swap the PIN (and its failure count)
//! for one they know. So:
//! - with PIN enabled for the application, only the device's first PIN comes without proof;
//!   every other registration (new PIN, fingerprint, custom; also after a revocation) needs the
//!   current PIN token. A wrong one is a failed PIN attempt, counted in the same versioned
//!   device write the answers use, so concurrent guesses cannot exceed `max_pin_attempts`;
//! - with PIN disabled, an authenticator's first registration (also after it was revoked) comes
//!   without proof, and replacing it needs that authenticator's current token. Those tokens are
//!   random (256 bits), not derived from anything a person chooses, so a wrong one is refused
//!   without counting: counting could only revoke it, which would reopen registration without
//!   proof.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;

use super::Engine;
use crate::enroll::authenticators::{self, Consequence, Factor, Success, TokenKind};
use crate::error::DeviceError;
use crate::model::TokenCheck;
use crate::model::{Device, EventName};
use crate::telemetry;

type Result<T> = std::result::Result<T, DeviceError>;

/// What the device presents to be allowed a new token: the JSON body of the `PUT`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RegistrationProof {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_token: Option<String>,
}

impl RegistrationProof {
    fn token_for(&self, kind: &TokenKind) -> Option<&str> {
        match kind {
            TokenKind::Pin => self.pin_token.as_deref(),
            TokenKind::Fingerprint => self.fingerprint_token.as_deref(),
            TokenKind::Custom(_) => self.custom_token.as_deref(),
        }
    }
}

/// A refusal that was counted, so the device write carrying the count must happen. `bool`:
/// the wrong PIN was counted against it (see `authenticators::failure_counted`).
enum Counted {
    Registered,
    Refused(TokenCheck, Consequence, bool),
}

impl Engine {
    /// A fresh token for `kind`, if `proof` allows it; only its hash is kept.
    pub async fn register_authenticator(
        &self,
        device: &Device,
        kind: TokenKind,
        proof: &RegistrationProof,
    ) -> Result<String> {
        let cfg = self.config();
        let app = cfg
            .application(&device.app_id)
            .ok_or(DeviceError::AuthenticatorDisabled)?
            .clone();
        let allowed = match &kind {
            TokenKind::Pin => app.pin_enabled,
            TokenKind::Fingerprint => app.fingerprint_enabled,
            TokenKind::Custom(id) => app.custom_authenticators.iter().any(|c| c == id),
        };
        if !allowed {
            return Err(DeviceError::AuthenticatorDisabled);
        }
        let token = URL_SAFE_NO_PAD.encode(rand::rng().random::<[u8; 32]>());
        let auth = authenticators::new_authenticator(&token, self.clock().now());
        // Proof check, failure count and the new token in one versioned write: a proof is good
        // for exactly the state it was checked against.
        let outcome = self
            .update_device(&device.id, |d| {
                let needed = if app.pin_enabled {
                    (kind != TokenKind::Pin || d.pin.is_some()).then_some(TokenKind::Pin)
                } else {
                    // No PIN to prove with: a revoked authenticator stays revoked.
                    if d.revoked.contains(&kind.revocation_key()) {
                        return Err(DeviceError::AuthenticatorRevoked);
                    }
                    authenticators::slot(d, &kind)
                        .is_some()
                        .then(|| kind.clone())
                };
                if let Some(needed) = needed {
                    // Missing: nothing to count, and nothing is written.
                    let given =
                        proof
                            .token_for(&needed)
                            .ok_or(DeviceError::InvalidAuthenticator {
                                remaining_attempts: None,
                            })?;
                    if needed == TokenKind::Pin {
                        let before = authenticators::failures(d, &needed);
                        let (check, consequence) =
                            authenticators::verify(d, &app, &needed, given, Success::Reset);
                        if check != TokenCheck::Valid {
                            let counted = authenticators::failure_counted(before, d, &needed);
                            return Ok(Counted::Refused(check, consequence, counted));
                        }
                    } else if !same_token(d, &needed, given) {
                        return Err(DeviceError::InvalidAuthenticator {
                            remaining_attempts: None,
                        });
                    }
                }
                let fresh = auth.clone();
                // Proven with the PIN (or never revoked): usable again.
                d.revoked.remove(&kind.revocation_key());
                match &kind {
                    TokenKind::Pin => d.pin = Some(fresh),
                    TokenKind::Fingerprint => d.fingerprint = Some(fresh),
                    TokenKind::Custom(id) => {
                        d.custom.insert(id.clone(), fresh);
                    }
                }
                Ok(Counted::Registered)
            })
            .await;
        if let Ok(Counted::Refused(_, _, true)) = outcome {
            telemetry::authenticator_failure(Factor::Pin.as_str());
        }
        match outcome {
            Ok(Counted::Registered) => {
                self.device_event(EventName::AuthenticatorRegistered, device, None)
                    .await;
                Ok(token)
            }
            Ok(Counted::Refused(_, Consequence::Disconnect, _)) => {
                // Exactly as a wrong PIN in an answer: the enrollment is revoked.
                self.remove_device_record(device).await?;
                Err(DeviceError::DeviceDisconnected)
            }
            Ok(Counted::Refused(TokenCheck::Invalid { remaining_attempts }, ..)) => {
                Err(DeviceError::InvalidAuthenticator {
                    remaining_attempts: Some(remaining_attempts),
                })
            }
            // No PIN registered yet to prove with.
            Ok(Counted::Refused(..)) => Err(DeviceError::InvalidAuthenticator {
                remaining_attempts: None,
            }),
            Err(DeviceError::NotFound) => Err(DeviceError::InvalidDevice),
            Err(e) => Err(e),
        }
    }
}

/// Whether `given` is the current token of the registered authenticator `kind` (constant time).
fn same_token(device: &mut Device, kind: &TokenKind, given: &str) -> bool {
    authenticators::slot(device, kind)
        .is_some_and(|auth| authenticators::token_matches(auth, given))
}
