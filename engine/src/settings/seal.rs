//! Secret values of the configuration document sealed at rest under `store.hash_key`, so a
//! Redis dump, replica or backup does not hand out push keys, gateway tokens or callback
//! passwords.
//!
//! `sealed:v1:<nonce>.<ciphertext>.<tag>` (hex): the value XORed with the keystream
//! `HMAC(hash_key, "tessera config seal" ‖ nonce ‖ block counter)`, then
//! `HMAC(hash_key, "tessera config tag" ‖ nonce ‖ ciphertext)`. The nonce is 16 random bytes
//! per value and write, so no keystream is used twice; the tag makes a value sealed under
//! another key (a node with a different `hash_key`) or tampered with refuse to unseal instead
//! of yielding garbage. The contexts differ from the OTP seal's (`code_key.rs`), so the two
//! never share a keystream.

use rand::Rng as _;
use subtle::ConstantTimeEq as _;

use crate::txn::code_key::CodeKey;

const PREFIX: &str = "sealed:v1:";
const SEAL_CONTEXT: &[u8] = b"tessera config seal";
const TAG_CONTEXT: &[u8] = b"tessera config tag";
/// Longest value unsealed (a bound on work whatever the store holds); requests are 64 KiB.
const MAX_SEALED: usize = 64 * 1024;

/// `clear` sealed; an empty value stays empty (nothing to hide, and "none" must read back).
pub(crate) fn seal(key: &CodeKey, clear: &str) -> String {
    if clear.is_empty() {
        return String::new();
    }
    let nonce: [u8; 16] = rand::rng().random();
    let mut data = clear.as_bytes().to_vec();
    keystream(key, &nonce, &mut data);
    let tag = key.hmac(&[TAG_CONTEXT, &nonce, &data]);
    format!(
        "{PREFIX}{}.{}.{}",
        hex::encode(nonce),
        hex::encode(&data),
        hex::encode(tag)
    )
}

/// The value [`seal`] sealed, or `None` when it is not a sealed value, was sealed under another
/// key, or was altered. Empty stays empty.
pub(crate) fn unseal(key: &CodeKey, sealed: &str) -> Option<String> {
    if sealed.is_empty() {
        return Some(String::new());
    }
    let body = sealed.strip_prefix(PREFIX)?;
    if body.len() > 2 * MAX_SEALED + 200 {
        return None;
    }
    let mut parts = body.split('.');
    let (nonce, data, tag) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let nonce: [u8; 16] = hex::decode(nonce).ok()?.try_into().ok()?;
    let mut data = hex::decode(data).ok()?;
    let tag = hex::decode(tag).ok()?;
    let expected = key.hmac(&[TAG_CONTEXT, &nonce, &data]);
    if !bool::from(expected.as_slice().ct_eq(&tag)) {
        return None;
    }
    keystream(key, &nonce, &mut data);
    String::from_utf8(data).ok()
}

fn keystream(key: &CodeKey, nonce: &[u8; 16], data: &mut [u8]) {
    for (counter, block) in (0u32..).zip(data.chunks_mut(32)) {
        let stream = key.hmac(&[SEAL_CONTEXT, nonce, &counter.to_be_bytes()]);
        for (byte, k) in block.iter_mut().zip(stream.iter()) {
            *byte ^= k;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> CodeKey {
        CodeKey::from_config(k)
    }

    #[test]
    fn round_trips_and_hides_the_value() {
        let k = key("0123456789abcdef0123456789abcdef");
        let secret = "twilio-token-é-".repeat(10);
        let sealed = seal(&k, &secret);
        assert!(sealed.starts_with(PREFIX));
        assert!(!sealed.contains("twilio"));
        assert_eq!(unseal(&k, &sealed).as_deref(), Some(secret.as_str()));
        // A fresh nonce per seal: equal values do not give equal records.
        assert_ne!(seal(&k, &secret), sealed);
        assert_eq!(seal(&k, ""), "");
        assert_eq!(unseal(&k, "").as_deref(), Some(""));
    }

    #[test]
    fn another_key_or_a_changed_byte_does_not_unseal() {
        let k = key("0123456789abcdef0123456789abcdef");
        let sealed = seal(&k, "password");
        assert_eq!(
            unseal(&key("another-key-0123456789abcdef0123"), &sealed),
            None
        );
        let mut bytes = sealed.into_bytes();
        let i = PREFIX.len() + 40;
        bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert_eq!(unseal(&k, &tampered), None);
        for garbage in [
            "password",
            "sealed:v1:",
            "sealed:v1:zz.zz.zz",
            "sealed:v1:00.00.00.00",
        ] {
            assert_eq!(unseal(&k, garbage), None, "{garbage}");
        }
    }
}
