//! Secrets at rest under `store.hash_key`, the key every node sharing a store has.
//!
//! - **SMS codes**: only `HMAC-SHA256(store.hash_key, transaction id ‖ code)` is stored. A
//!   six-digit code has a million values, so a bare hash of it is reversed offline in well under
//!   a second by anyone who reads the store (a Redis dump, a replica, a backup). Keyed, the same
//!   record tells nothing without the key. The transaction id is mixed in so equal codes of two
//!   transactions do not have equal records. The code in clear lives only in the memory of the
//!   transaction's actor, long enough to send and resend it.
//! - **OTP secrets**: any node must draw an OTP transaction's QR code (`otp.svg`), so the record
//!   keeps the secret, but *sealed*: XORed with a keystream of
//!   `HMAC-SHA256(store.hash_key, "tessera otp seal" ‖ transaction id ‖ block counter)`. Each
//!   transaction id seals exactly one secret, so no keystream is ever used twice; the record's
//!   `otp_sha256` tells whether an unsealed secret is the real one (a wrong key or id gives
//!   garbage, never a panic). The 16-byte context cannot collide with a code MAC's input: that
//!   starts with a random (v4) UUID, whose version nibble no ASCII letter has.

use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use rand::Rng as _;
use sha2::Sha256;

use crate::model::TxnId;

/// What the OTP keystream is derived for (domain separation from the SMS code MACs).
const SEAL_CONTEXT: &[u8; 16] = b"tessera otp seal";
/// Longest secret sealed or unsealed: a bound on the keystream blocks, whatever a record says.
const MAX_SEALED: usize = 256;

/// The HMAC key for SMS codes (`store.hash_key`). Cheap to clone.
#[derive(Clone)]
pub struct CodeKey(Arc<[u8]>);

impl CodeKey {
    /// The configured key, or a random one for this process when the config gives none (the
    /// memory store lives and dies with the process, so nothing else needs the key).
    pub fn from_config(hash_key: &str) -> Self {
        if hash_key.is_empty() {
            Self(Arc::from(rand::rng().random::<[u8; 32]>().as_slice()))
        } else {
            Self(Arc::from(hash_key.as_bytes()))
        }
    }

    /// The key itself, for other MACs under `store.hash_key` (the rate limits' bucket keys).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Hex HMAC of `code` for transaction `id`: what the record keeps instead of the code.
    pub fn mac(&self, id: TxnId, code: &str) -> String {
        // HMAC takes keys of any length: `new_from_slice` cannot fail, and an empty MAC (which
        // no code can match) would be the answer if it ever did.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(id.0.as_bytes());
        mac.update(code.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// `secret` sealed for transaction `id`, hex: what the record keeps instead of the OTP secret.
    /// Secrets longer than [`MAX_SEALED`] bytes are not sealed (empty: it never unseals).
    pub fn seal(&self, id: TxnId, secret: &[u8]) -> String {
        if secret.len() > MAX_SEALED {
            return String::new();
        }
        let mut sealed = secret.to_vec();
        self.apply_keystream(id, &mut sealed);
        hex::encode(sealed)
    }

    /// The secret [`CodeKey::seal`] sealed for `id`, if `sealed` is hex of a sealable length.
    /// Under another key or id the bytes are garbage: callers check them against the record's
    /// hash of the secret.
    pub fn unseal(&self, id: TxnId, sealed: &str) -> Option<Vec<u8>> {
        if sealed.is_empty() || sealed.len() > 2 * MAX_SEALED {
            return None;
        }
        let mut secret = hex::decode(sealed).ok()?;
        self.apply_keystream(id, &mut secret);
        Some(secret)
    }

    /// HMAC-SHA256 under the key over `parts`, in order: what other secrets at rest (the admin
    /// API's configuration document, `crate::settings::seal`) derive their keystreams and tags
    /// from, each with a context of its own.
    pub(crate) fn hmac(&self, parts: &[&[u8]]) -> [u8; 32] {
        // See `mac`: cannot fail; an all-zero block is what a failure would give.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return [0; 32];
        };
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// XORs `data` with the keystream of `id` (its own inverse).
    fn apply_keystream(&self, id: TxnId, data: &mut [u8]) {
        for (counter, block) in (0u32..).zip(data.chunks_mut(32)) {
            // See `mac`: cannot fail. Left as is, the block would be sealed with nothing, so
            // blank it instead.
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
                block.fill(0);
                continue;
            };
            mac.update(SEAL_CONTEXT);
            mac.update(id.0.as_bytes());
            mac.update(&counter.to_be_bytes());
            let stream = mac.finalize().into_bytes();
            for (byte, key) in block.iter_mut().zip(stream.iter()) {
                *byte ^= key;
            }
        }
    }

    /// Whether `given` is the code whose MAC is `stored`, in constant time (the machine
    /// compares MACs itself; this is for tests).
    #[cfg(test)]
    pub fn matches(&self, id: TxnId, given: &str, stored: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        let mac = self.mac(id, given);
        !stored.is_empty() && bool::from(mac.as_bytes().ct_eq(stored.as_bytes()))
    }
}

/// Never prints the key.
impl fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_depends_on_key_transaction_and_code() {
        let (a, b) = (TxnId::random(), TxnId::random());
        let key = CodeKey::from_config("0123456789abcdef0123456789abcdef");
        let mac = key.mac(a, "123456");
        assert_eq!(mac.len(), 64);
        assert!(!mac.contains("123456"));
        assert!(key.matches(a, "123456", &mac));
        assert!(!key.matches(a, "123457", &mac));
        assert!(!key.matches(b, "123456", &mac), "bound to its transaction");
        let other = CodeKey::from_config("another-key-0123456789abcdef012345");
        assert!(!other.matches(a, "123456", &mac), "useless without the key");
        assert!(!key.matches(a, "123456", ""));
    }

    #[test]
    fn a_sealed_secret_opens_only_under_its_key_and_transaction() {
        let (a, b) = (TxnId::random(), TxnId::random());
        let key = CodeKey::from_config("0123456789abcdef0123456789abcdef");
        let secret: Vec<u8> = (0u8..32).collect();
        let sealed = key.seal(a, &secret);
        assert_eq!(sealed.len(), 64);
        assert_ne!(sealed, hex::encode(&secret), "not in clear");
        assert_eq!(key.unseal(a, &sealed), Some(secret.clone()));
        // Another transaction's or another key's keystream: garbage of the same length.
        let other = CodeKey::from_config("another-key-0123456789abcdef012345");
        for opened in [key.unseal(b, &sealed), other.unseal(a, &sealed)] {
            let opened = opened.expect("hex of a sealable length opens to something");
            assert_eq!(opened.len(), secret.len());
            assert_ne!(opened, secret);
        }
        // Equal secrets of two transactions do not look alike at rest.
        assert_ne!(key.seal(b, &secret), sealed);
    }

    #[test]
    fn sealing_spans_several_blocks_and_refuses_garbage() {
        let (id, key) = (TxnId::random(), CodeKey::from_config("k"));
        // 100 bytes: four keystream blocks, each its own (equal plaintext blocks differ sealed).
        let secret = vec![7u8; 100];
        let sealed = key.seal(id, &secret);
        assert_eq!(key.unseal(id, &sealed), Some(secret));
        let raw = hex::decode(&sealed).unwrap();
        assert_ne!(raw[..32], raw[32..64]);
        for junk in ["", "zz", "abc", "\u{e9}\u{e9}"] {
            assert_eq!(key.unseal(id, junk), None, "{junk:?}");
        }
        let huge = "00".repeat(MAX_SEALED + 1);
        assert_eq!(key.unseal(id, &huge), None);
        assert_eq!(key.seal(id, &vec![0u8; MAX_SEALED + 1]), "");
        assert_eq!(
            key.unseal(id, &"00".repeat(MAX_SEALED)).map(|s| s.len()),
            Some(MAX_SEALED)
        );
    }

    #[test]
    fn without_a_configured_key_each_process_draws_its_own() {
        let id = TxnId::random();
        let (k1, k2) = (CodeKey::from_config(""), CodeKey::from_config(""));
        assert_ne!(k1.mac(id, "1"), k2.mac(id, "1"));
        assert_eq!(format!("{k1:?}"), "CodeKey(..)");
    }
}
