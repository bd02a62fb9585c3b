//! Enrollment: codes, devices and their keys, push enrollment modes, authenticators.

pub mod authenticators;
pub mod codes;
pub(crate) mod keys;
pub(crate) mod modes;

use sha2::{Digest, Sha256};

/// How every high-entropy secret is kept — authenticator tokens, device secrets, enrollment
/// codes: only its SHA-256 (hex), compared in constant time by the caller.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
pub(crate) fn test_device() -> crate::model::Device {
    crate::model::Device {
        id: "A".repeat(64),
        version: 1,
        profile_id: "P".repeat(16),
        user_id: "alice".into(),
        app_id: "acme".into(),
        app_version: "1.0".into(),
        platform: tessera_config::Platform::Android,
        name: "Alice's phone".into(),
        model: None,
        os_version: None,
        created_at: 0,
        last_login: None,
        secret_sha256: String::new(),
        public_key: String::new(),
        server_key_id: "shared".into(),
        push_token: None,
        push_enabled: false,
        mobile_auth_enabled: true,
        pin: None,
        fingerprint: None,
        custom: Default::default(),
        revoked: Default::default(),
    }
}
