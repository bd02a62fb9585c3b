//! Authenticator tokens (PIN, fingerprint, custom): which a method accepts, and what a presented
//! token means for the device. Pure: the caller loads the device, applies, saves.
//!
//! The app keeps its PIN token encrypted under a key derived from the PIN with an unauthenticated
//! cipher, so a wrong PIN yields a well-formed wrong token that only the server can reject: every
//! guess happens here, online, and is counted. Failures count per device and authenticator
//! across transactions; a correct token resets the count.

use subtle::ConstantTimeEq;
use tessera_config::{Application, Method};

use super::secret_hash;
use crate::model::{Authenticator, Device, Millis};
use crate::txn::machine::TokenCheck;

/// Which authenticator a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    Pin,
    Fingerprint,
    Custom(String),
}

/// What the check did to the device, beyond its failure counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consequence {
    None,
    /// Fingerprint or custom limit: that authenticator is gone, the PIN remains.
    AuthenticatorRevoked,
    /// PIN limit: the device's enrollment must be revoked.
    Disconnect,
}

/// Push with PIN takes only a PIN token; with fingerprint a fingerprint or PIN token; with a
/// custom authenticator a custom or PIN token; plain push none (seed).
pub fn accepts(method: Method, kind: &TokenKind) -> bool {
    matches!(
        (method, kind),
        (Method::PushWithPin, TokenKind::Pin)
            | (
                Method::PushWithFingerprint,
                TokenKind::Pin | TokenKind::Fingerprint
            )
            | (
                Method::PushWithCustomAuthenticator,
                TokenKind::Pin | TokenKind::Custom(_)
            )
    )
}

pub fn new_authenticator(token: &str, now: Millis) -> Authenticator {
    Authenticator {
        token_sha256: secret_hash(token),
        failures: 0,
        created_at: now,
    }
}

/// Checks `token` of `kind` against the device, counting failures against the application's
/// limits. Tokens of a kind the method does not take count as no token at all.
pub fn check(
    device: &mut Device,
    app: &Application,
    method: Method,
    presented: Option<(TokenKind, &str)>,
) -> (TokenCheck, Consequence) {
    let Some((kind, token)) = presented else {
        return (TokenCheck::Missing, Consequence::None);
    };
    if !accepts(method, &kind) {
        return (TokenCheck::Missing, Consequence::None);
    }
    let max = match &kind {
        TokenKind::Pin => app.max_pin_attempts,
        TokenKind::Fingerprint => app.max_fingerprint_attempts,
        TokenKind::Custom(_) => app.max_custom_attempts,
    };
    let slot = match &kind {
        TokenKind::Pin => device.pin.as_mut(),
        TokenKind::Fingerprint => device.fingerprint.as_mut(),
        TokenKind::Custom(id) => device.custom.get_mut(id),
    };
    // Not registered, or revoked earlier: the app must use another authenticator.
    let Some(auth) = slot else {
        return (TokenCheck::Revoked, Consequence::None);
    };
    let given = secret_hash(token);
    if bool::from(given.as_bytes().ct_eq(auth.token_sha256.as_bytes())) {
        auth.failures = 0;
        return (TokenCheck::Valid, Consequence::None);
    }
    auth.failures += 1;
    // 0 would mean no guess is ever allowed; treat it as "1 attempt".
    if auth.failures < max.max(1) {
        let remaining = max.max(1) - auth.failures;
        return (
            TokenCheck::Invalid {
                remaining_attempts: remaining,
            },
            Consequence::None,
        );
    }
    match kind {
        TokenKind::Pin => (TokenCheck::Disconnected, Consequence::Disconnect),
        TokenKind::Fingerprint => {
            device.fingerprint = None;
            (TokenCheck::Revoked, Consequence::AuthenticatorRevoked)
        }
        TokenKind::Custom(id) => {
            device.custom.remove(&id);
            (TokenCheck::Revoked, Consequence::AuthenticatorRevoked)
        }
    }
}

#[cfg(test)]
mod tests;
