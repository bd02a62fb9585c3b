//! SMS codes at rest: only `HMAC-SHA256(store.hash_key, transaction id ‖ code)` is stored.
//!
//! A six-digit code has a million values, so a bare hash of it is reversed offline in well under
//! a second by anyone who reads the store (a Redis dump, a replica, a backup). Keyed, the same
//! record tells nothing without the key. The transaction id is mixed in so equal codes of two
//! transactions do not have equal records. The code in clear lives only in the memory of the
//! transaction's actor, long enough to send and resend it.

use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use rand::Rng as _;
use sha2::Sha256;

use crate::model::TxnId;

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
    fn without_a_configured_key_each_process_draws_its_own() {
        let id = TxnId::random();
        let (k1, k2) = (CodeKey::from_config(""), CodeKey::from_config(""));
        assert_ne!(k1.mac(id, "1"), k2.mac(id, "1"));
        assert_eq!(format!("{k1:?}"), "CodeKey(..)");
    }
}
