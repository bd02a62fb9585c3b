//! Enrolled devices and their authenticators.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Millis, Platform};

/// A hashed authenticator token (PIN, fingerprint or custom) and its failure count. Failures
/// count per device and authenticator across transactions; a correct token resets them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authenticator {
    pub token_sha256: String,
    pub failures: u32,
    pub created_at: Millis,
}

/// One enrolled app installation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// 64 upper-case hex characters.
    pub id: String,
    pub version: u64,
    /// The profile the app knows itself by (`og_profile_id` in pushes).
    pub profile_id: String,
    pub user_id: String,
    pub app_id: String,
    pub app_version: String,
    pub platform: Platform,
    pub name: String,
    pub model: Option<String>,
    pub os_version: Option<String>,
    pub created_at: Millis,
    pub last_login: Option<Millis>,
    /// SHA-256 (hex) of the device secret; the secret itself is shown once at enrollment.
    pub secret_sha256: String,
    /// The device's armored OpenPGP public key.
    pub public_key: String,
    /// Which server key this device talks to (`shared`, or its own with
    /// `unique_keys_per_enrollment`).
    pub server_key_id: String,
    pub push_token: Option<String>,
    /// `disablePushAuthentication` clears it; a push enrollment sets it.
    pub push_enabled: bool,
    /// `disableMobileAuthentication` clears it.
    pub mobile_auth_enabled: bool,
    pub pin: Option<Authenticator>,
    pub fingerprint: Option<Authenticator>,
    /// By custom authenticator id.
    pub custom: BTreeMap<String, Authenticator>,
    /// Authenticators revoked by their attempt limit or disabled by the help desk
    /// (`fingerprint`, `custom:<id>`). Where the application has no PIN to prove with, such an
    /// authenticator cannot simply be registered again — that would undo the revocation with
    /// nothing but the device secret; the device enrolls anew.
    #[serde(default)]
    pub revoked: BTreeSet<String>,
}

impl Device {
    /// Reachable by push for authentication.
    pub fn push_ready(&self) -> bool {
        self.mobile_auth_enabled && self.push_enabled && self.push_token.is_some()
    }

    /// The vendor's `tokenTypes`: which authenticators the device holds.
    pub fn token_types(&self) -> Vec<String> {
        let mut t = Vec::new();
        if self.pin.is_some() {
            t.push("PIN".to_owned());
        }
        if self.fingerprint.is_some() {
            t.push("FINGERPRINT".to_owned());
        }
        for id in self.custom.keys() {
            t.push(format!("CUSTOM:{id}"));
        }
        t
    }
}

/// A single-use code a portal issued so a user's app can enroll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentCode {
    pub user_id: String,
    pub expires_at: Millis,
}
