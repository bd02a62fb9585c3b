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
use crate::model::TokenCheck;
use crate::model::{Authenticator, Device, Millis};

/// Which authenticator a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    Pin,
    Fingerprint,
    Custom(String),
}

impl TokenKind {
    /// Its name in `Device::revoked`.
    pub fn revocation_key(&self) -> String {
        match self {
            TokenKind::Pin => "pin".to_owned(),
            TokenKind::Fingerprint => "fingerprint".to_owned(),
            TokenKind::Custom(id) => format!("custom:{id}"),
        }
    }
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

/// A kind of authenticator, whatever its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Pin,
    Fingerprint,
    Custom,
}

impl Factor {
    /// Lower-case name (the `method` label of `tessera_authenticator_failures_total`).
    pub fn as_str(self) -> &'static str {
        match self {
            Factor::Pin => "pin",
            Factor::Fingerprint => "fingerprint",
            Factor::Custom => "custom",
        }
    }
}

/// The authenticators a method takes (seed): push with PIN only a PIN token; with fingerprint a
/// fingerprint or PIN token; with a custom authenticator a custom or PIN token; plain push, OTP
/// and SMS none. The one table behind the answer check, the machine's "needs a token" rule and
/// which devices a start can reach.
pub fn accepted(method: Method) -> &'static [Factor] {
    match method {
        Method::PushWithPin => &[Factor::Pin],
        Method::PushWithFingerprint => &[Factor::Fingerprint, Factor::Pin],
        Method::PushWithCustomAuthenticator => &[Factor::Custom, Factor::Pin],
        Method::Push | Method::Otp | Method::Sms => &[],
    }
}

impl TokenKind {
    pub fn factor(&self) -> Factor {
        match self {
            TokenKind::Pin => Factor::Pin,
            TokenKind::Fingerprint => Factor::Fingerprint,
            TokenKind::Custom(_) => Factor::Custom,
        }
    }
}

/// Whether `method` takes a token of `kind`.
pub fn accepts(method: Method, kind: &TokenKind) -> bool {
    accepted(method).contains(&kind.factor())
}

/// Whether `device` holds a usable authenticator of `factor` that `app` allows.
pub fn holds(device: &Device, app: &Application, factor: Factor) -> bool {
    match factor {
        Factor::Pin => app.pin_enabled && device.pin.is_some(),
        Factor::Fingerprint => app.fingerprint_enabled && device.fingerprint.is_some(),
        Factor::Custom => !app.custom_authenticators.is_empty() && !device.custom.is_empty(),
    }
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
    verify(device, app, &kind, token, Success::Reset)
}

/// What a correct token does to the failure count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Success {
    /// Reset it: the token proved the user.
    Reset,
    /// Leave it: another check (the custom verifier) still has to agree, and only then
    /// `record` decides the outcome. Resetting early would let a verifier's rejections alternate
    /// with resets and never reach the limit.
    Defer,
}

/// Checks `token` against the registered authenticator of `kind` (whatever the method), counting
/// a wrong one against the application's limit for that kind.
pub fn verify(
    device: &mut Device,
    app: &Application,
    kind: &TokenKind,
    token: &str,
    on_success: Success,
) -> (TokenCheck, Consequence) {
    let max = max_attempts(app, kind).max(1);
    // Not registered, or revoked earlier: the app must use another authenticator.
    let Some(auth) = slot(device, kind) else {
        return (TokenCheck::Revoked, Consequence::None);
    };
    // PIN failures at the limit: the device is being removed; nothing more is counted or
    // accepted, so concurrent guesses cannot push the count past the limit.
    if *kind == TokenKind::Pin && auth.failures >= max {
        return (TokenCheck::Disconnected, Consequence::Disconnect);
    }
    match (token_matches(auth, token), on_success) {
        (true, Success::Reset) => record(device, app, kind, true),
        (true, Success::Defer) => (TokenCheck::Valid, Consequence::None),
        (false, _) => record(device, app, kind, false),
    }
}

/// Records the outcome of one attempt with the authenticator of `kind`: a success resets its
/// count; a failure adds one and, at the application's limit, revokes a fingerprint or custom
/// authenticator or disconnects the device (PIN).
pub fn record(
    device: &mut Device,
    app: &Application,
    kind: &TokenKind,
    success: bool,
) -> (TokenCheck, Consequence) {
    let max = max_attempts(app, kind).max(1);
    let Some(auth) = slot(device, kind) else {
        return (TokenCheck::Revoked, Consequence::None);
    };
    if success {
        auth.failures = 0;
        return (TokenCheck::Valid, Consequence::None);
    }
    auth.failures = auth.failures.saturating_add(1);
    if auth.failures < max {
        let remaining = max - auth.failures;
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
            device.revoked.insert(kind.revocation_key());
            (TokenCheck::Revoked, Consequence::AuthenticatorRevoked)
        }
        TokenKind::Custom(id) => {
            device.custom.remove(id);
            device.revoked.insert(kind.revocation_key());
            (TokenCheck::Revoked, Consequence::AuthenticatorRevoked)
        }
    }
}

/// Whether `token` is `auth`'s token: its hash compared in constant time.
pub fn token_matches(auth: &Authenticator, token: &str) -> bool {
    bool::from(
        secret_hash(token)
            .as_bytes()
            .ct_eq(auth.token_sha256.as_bytes()),
    )
}

/// The failures counted on the registered authenticator of `kind` (`None`: none registered).
pub fn failures(device: &mut Device, kind: &TokenKind) -> Option<u32> {
    slot(device, kind).map(|auth| auth.failures)
}

/// Whether the attempt that found `before` ([`failures`]) counted a failed one: the count grew,
/// or the authenticator was revoked at its limit. A refusal that counts nothing (a device
/// already at its PIN limit, an authenticator not registered) is not one.
pub fn failure_counted(before: Option<u32>, device: &mut Device, kind: &TokenKind) -> bool {
    match (before, failures(device, kind)) {
        (Some(before), Some(after)) => after > before,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// The registered authenticator of `kind`, if any.
pub fn slot<'d>(device: &'d mut Device, kind: &TokenKind) -> Option<&'d mut Authenticator> {
    match kind {
        TokenKind::Pin => device.pin.as_mut(),
        TokenKind::Fingerprint => device.fingerprint.as_mut(),
        TokenKind::Custom(id) => device.custom.get_mut(id),
    }
}

/// The application's limit for `kind`; callers raise 0 to 1, as 0 would mean no guess is ever
/// allowed.
fn max_attempts(app: &Application, kind: &TokenKind) -> u32 {
    match kind {
        TokenKind::Pin => app.max_pin_attempts,
        TokenKind::Fingerprint => app.max_fingerprint_attempts,
        TokenKind::Custom(_) => app.max_custom_attempts,
    }
}

#[cfg(test)]
mod tests;
