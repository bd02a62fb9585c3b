//! Detached signatures for transaction signing: the device signs the document's `signing_data`
//! and sends the armored signature in its answer; the server checks it against the enrolled key.

use pgp::{
    composed::{ArmorOptions, Deserializable, DetachedSignature},
    crypto::hash::HashAlgorithm,
    types::{Password, SigningKey},
};

use super::{
    DeviceKey, DeviceKeyPair, MAX_ARMORED_LEN,
    error::{CryptoError, Result, logged},
    message::acceptable_signature,
};

/// An armored binary-mode signature over `data` by the device key (what `gpg --detach-sign
/// --armor` writes).
pub fn sign_detached(data: &[u8], device: &DeviceKeyPair) -> Result<String> {
    // `sign_binary_data` wants a sized signer; rPGP implements its traits for this box.
    let signer: Box<&dyn SigningKey> = Box::new(device.signing_key());
    let signature = DetachedSignature::sign_binary_data(
        rand08::thread_rng(),
        &signer,
        &Password::empty(),
        HashAlgorithm::Sha256,
        data,
    )
    .map_err(|e| logged(CryptoError::Internal("signing"), &e))?;
    signature
        .to_armored_string(ArmorOptions::default())
        .map_err(|e| logged(CryptoError::Internal("signature armor"), &e))
}

/// Whether `armored_sig` is a valid signature over `data` by `key` (its primary or a signing
/// subkey). A well-formed signature that does not verify — other data, other key, a weak hash —
/// is `Ok(false)`; input that is not an armored signature at all is an error.
pub fn verify_detached(armored_sig: &str, data: &[u8], key: &DeviceKey) -> Result<bool> {
    if armored_sig.len() > MAX_ARMORED_LEN {
        return Err(CryptoError::TooLarge);
    }
    let (signature, _headers) = DetachedSignature::from_string(armored_sig)
        .map_err(|e| logged(CryptoError::InvalidSignature, &e))?;
    let signature = signature.signature;
    if !acceptable_signature(&signature) {
        return Ok(false);
    }
    Ok(key.verifies(&signature, data))
}
