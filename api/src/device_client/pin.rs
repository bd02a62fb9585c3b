//! How the app keeps its PIN token (API.md §4): encrypted under a key derived from the PIN with an
//! **unauthenticated** cipher, so that decrypting with a wrong PIN does not fail — it yields a
//! well-formed token that is simply wrong. Nothing on the phone can tell a right PIN from a wrong
//! one; only the server can, where every guess is counted against `max_pin_attempts`. An
//! authenticated cipher (or a stored checksum) would hand a thief with the phone an offline
//! oracle for a 4–6 digit PIN.
//!
//! The key is PBKDF2-HMAC-SHA256 of the PIN, salted with the device id (so equal PINs on two
//! devices give different keys); the cipher XORs the token with an HMAC-SHA256(key, counter)
//! keystream. The stretching only slows a thief who also stole the server's token hashes; the
//! online limit is what protects the PIN.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// PBKDF2 rounds: a few milliseconds on a phone per unlock.
pub(crate) const ITERATIONS: u32 = 10_000;

/// A token encrypted under a PIN-derived key.
#[derive(Clone)]
pub(crate) struct SealedToken(Vec<u8>);

impl SealedToken {
    /// Encrypts the token's bytes under `pin`.
    pub(crate) fn seal(token: &[u8], pin: &str, salt: &str) -> Self {
        Self(xor_keystream(token, &derive(pin, salt)))
    }

    /// Decrypts under `pin`: the token when the PIN is right, equally long noise otherwise.
    pub(crate) fn open(&self, pin: &str, salt: &str) -> Vec<u8> {
        xor_keystream(&self.0, &derive(pin, salt))
    }
}

fn derive(pin: &str, salt: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(pin.as_bytes(), salt.as_bytes(), ITERATIONS, &mut key);
    key
}

fn xor_keystream(data: &[u8], key: &[u8; 32]) -> Vec<u8> {
    let mut out = data.to_vec();
    for (counter, chunk) in out.chunks_mut(32).enumerate() {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
            // HMAC takes keys of any length; this branch cannot run.
            continue;
        };
        mac.update(&(counter as u64).to_be_bytes());
        let block = mac.finalize().into_bytes();
        for (b, k) in chunk.iter_mut().zip(block) {
            *b ^= k;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_pin_opens_wrong_pin_gives_same_length_noise() {
        let token: Vec<u8> = (0u8..40).collect();
        let sealed = SealedToken::seal(&token, "1234", "DEVICE");
        assert_ne!(sealed.0, token, "stored encrypted");
        assert_eq!(sealed.open("1234", "DEVICE"), token);
        let wrong = sealed.open("1235", "DEVICE");
        assert_eq!(wrong.len(), token.len());
        assert_ne!(wrong, token);
        // The salt matters: the same PIN on another device is another key.
        assert_ne!(sealed.open("1234", "OTHER"), token);
    }
}
