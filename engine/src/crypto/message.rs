//! Transaction documents and answers: signed by the sender, then encrypted to the recipient
//! (SEIPD v1, AES256), armored; and the reverse, which insists on both layers.
//!
//! The server seals with [`seal_for_device`] and opens with [`open_from_device`]; the device side
//! mirrors them with [`seal_for_server`] and [`open_from_server`].

use std::io::Read;

use pgp::{
    composed::{ArmorOptions, Message, MessageBuilder, VerificationResult},
    crypto::{hash::HashAlgorithm, sym::SymmetricKeyAlgorithm},
    errors::Error as PgpError,
    packet::{Signature, SignatureType},
    types::Password,
};

use super::{
    DeviceKey, DeviceKeyPair, MAX_ARMORED_LEN, PublicKey, ServerKey,
    error::{CryptoError, Result, logged},
    keypair::{KeyPair, Role},
};

/// GnuPG wraps signed data in one compression layer; allow a little more, but not a bomb of
/// nested layers.
const MAX_COMPRESSION_LAYERS: usize = 3;

/// Server → device: `plaintext` signed by the server key and encrypted to the device key.
pub fn seal_for_device(plaintext: &[u8], device: &DeviceKey, server: &ServerKey) -> Result<String> {
    seal(plaintext, device, server)
}

/// Device → server: an answer from the device, which must be encrypted to `server` and validly
/// signed by `device`. Unsigned, or signed by any other key: [`CryptoError::BadSignature`].
pub fn open_from_device(armored: &str, server: &ServerKey, device: &DeviceKey) -> Result<Vec<u8>> {
    open(armored, server, device)
}

/// Device → server: `plaintext` signed by the device key and encrypted to the server's key.
pub fn seal_for_server(
    plaintext: &[u8],
    server: &PublicKey,
    device: &DeviceKeyPair,
) -> Result<String> {
    seal(plaintext, server, device)
}

/// Server → device: a transaction document, which must be encrypted to `device` and validly
/// signed by the server's key.
pub fn open_from_server(
    armored: &str,
    device: &DeviceKeyPair,
    server: &PublicKey,
) -> Result<Vec<u8>> {
    open(armored, device, server)
}

fn seal<R: Role>(plaintext: &[u8], to: &PublicKey, from: &KeyPair<R>) -> Result<String> {
    // Anything larger could not come back out of `open` on the other side.
    if plaintext.len() > MAX_ARMORED_LEN {
        return Err(CryptoError::TooLarge);
    }
    let mut rng = rand08::thread_rng();
    // rPGP does not pick the cipher from the recipient's preferences; AES256 is what our keys
    // prefer and what every implementation we talk to supports. No compression: the documents are
    // small, and compressing before encrypting can leak their contents through their length.
    let mut builder = MessageBuilder::from_bytes("", plaintext.to_vec())
        .seipd_v1(&mut rng, SymmetricKeyAlgorithm::AES256);
    builder.sign(from.signing_key(), Password::empty(), HashAlgorithm::Sha256);
    builder
        .encrypt_to_key(&mut rng, to.encryption_subkey())
        .map_err(|e| logged(CryptoError::Internal("encrypting the session key"), &e))?;
    let armored = builder
        .to_armored_string(&mut rng, ArmorOptions::default())
        .map_err(|e| logged(CryptoError::Internal("writing the message"), &e))?;
    if armored.len() > MAX_ARMORED_LEN {
        return Err(CryptoError::TooLarge);
    }
    Ok(armored)
}

fn open<R: Role>(armored: &str, to: &KeyPair<R>, from: &PublicKey) -> Result<Vec<u8>> {
    if armored.len() > MAX_ARMORED_LEN {
        return Err(CryptoError::TooLarge);
    }
    let (message, _headers) =
        Message::from_string(armored).map_err(|e| logged(CryptoError::InvalidMessage, &e))?;
    // The protocol only ever carries encrypted messages; a plaintext one is not an answer.
    if !message.is_encrypted() {
        return Err(CryptoError::InvalidMessage);
    }
    // rPGP checks SEIPD v1's MDC over the whole message here, before releasing any plaintext.
    let mut message = message
        .decrypt(&Password::empty(), to.secret())
        .map_err(|e| match e {
            PgpError::MissingKey => logged(CryptoError::WrongRecipient, &e),
            _ => logged(CryptoError::InvalidMessage, &e),
        })?;
    for _ in 0..MAX_COMPRESSION_LAYERS {
        message = message
            .decompress()
            .map_err(|e| logged(CryptoError::InvalidMessage, &e))?;
    }
    if message.is_compressed() {
        return Err(CryptoError::InvalidMessage);
    }
    if !message.is_signed() {
        return Err(CryptoError::BadSignature);
    }

    // One byte past the limit tells "exactly at the limit" from "more"; the limit also caps what
    // a small compressed message may expand to.
    let mut plaintext = Vec::new();
    (&mut message)
        .take(MAX_ARMORED_LEN as u64 + 1)
        .read_to_end(&mut plaintext)
        .map_err(|e| {
            tracing::debug!(error = %e, "openpgp: reading the message failed");
            CryptoError::InvalidMessage
        })?;
    if plaintext.len() > MAX_ARMORED_LEN {
        return Err(CryptoError::TooLarge);
    }

    // Verification needs the message read to its end, which the read above did. `verify_nested`
    // checks the signatures cryptographically only; which keys may sign was settled when `from`
    // was validated.
    let results = message
        .verify_nested(&from.verifiers())
        .map_err(|e| logged(CryptoError::BadSignature, &e))?;
    let signed = results
        .iter()
        .any(|r| matches!(r, VerificationResult::Valid(sig) if acceptable_signature(sig)));
    if !signed {
        return Err(CryptoError::BadSignature);
    }
    Ok(plaintext)
}

/// A data signature (not, say, a key certification replayed as one) over a SHA-2 or SHA-3 hash:
/// SHA-1 and older are forgeable, and rPGP accepts some of them for non-EdDSA keys.
pub(super) fn acceptable_signature(sig: &Signature) -> bool {
    matches!(sig.typ(), Some(SignatureType::Binary | SignatureType::Text))
        && matches!(
            sig.hash_alg(),
            Some(
                HashAlgorithm::Sha224
                    | HashAlgorithm::Sha256
                    | HashAlgorithm::Sha384
                    | HashAlgorithm::Sha512
                    | HashAlgorithm::Sha3_256
                    | HashAlgorithm::Sha3_512
            )
        )
}
