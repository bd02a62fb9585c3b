//! The harnesses of the fuzz targets in `fuzz/` (cargo-fuzz), which the property tests here run
//! on stable too: each feeds bytes to the very function the device API runs on input an attacker
//! controls — no engine, store or HTTP request needed — and **panics** when the outcome is
//! anything but a result or the documented refusal, which is how a fuzzer or a property test
//! sees a failure. Not a stable API (docs/testing.md).

use crate::crypto::{DeviceKey, PublicKey, ServerKey};
use crate::enroll::keys::parse_device_key;
use crate::error::DeviceError;

/// `device_public_key`: `POST /device/v1/enrollments`' `public_key`, parsed and checked as
/// enrollment does. Either `invalid_public_key`, or a key whose stored (normalised) armor parses
/// again as the same key — enrollment stores that armor and every later answer re-parses it.
pub fn device_public_key(data: &[u8]) {
    // The key arrives as a JSON string, so as UTF-8; lossy conversion keeps every fuzzer input
    // useful rather than dropping the invalid ones.
    let armored = String::from_utf8_lossy(data);
    match parse_device_key(&armored) {
        Ok(key) => {
            let again = parse_device_key(key.armored())
                .unwrap_or_else(|e| panic!("the stored armor of an accepted key fails: {e:?}"));
            assert_eq!(again.fingerprint(), key.fingerprint());
        }
        Err(e) => assert!(
            matches!(e, DeviceError::InvalidPublicKey),
            "refused with {e:?}, not invalid_public_key"
        ),
    }
}

/// The server's key and an enrolled device's key for [`device_answer`], made once.
pub struct AnswerKeys {
    pub server: ServerKey,
    pub device: DeviceKey,
}

impl AnswerKeys {
    /// From the armored server secret key and device public key (`fuzz/keys/`); panics on bad
    /// armor, which is a broken test setup.
    pub fn from_armor(server_secret: &str, device_public: &str) -> Self {
        Self {
            server: ServerKey::from_armored_secret(server_secret).expect("the server key loads"),
            device: PublicKey::parse(device_public).expect("the device key parses"),
        }
    }
}

/// `device_answer`: the body of `POST /device/v1/transactions/{id}/answer`, decrypted with the
/// server's key, verified against the device's and decoded, as the engine does before it looks
/// at the transaction. Either an answer or `invalid_message`.
pub fn device_answer(data: &[u8], keys: &AnswerKeys) {
    // The API refuses a body that is not UTF-8 itself; lossy conversion keeps the input useful.
    let armored = String::from_utf8_lossy(data);
    if let Err(e) = crate::engine::open_answer(&armored, &keys.server, &keys.device) {
        assert!(
            matches!(e, DeviceError::InvalidMessage),
            "refused with {e:?}, not invalid_message"
        );
    }
}

#[cfg(test)]
mod mutate;
#[cfg(test)]
mod tests;
