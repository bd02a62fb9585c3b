//! OpenPGP for the device protocol: the server's and the devices' keys, the encrypted and signed
//! transaction documents and answers, and detached signatures over `signing_data`.
//!
//! Everything here must interoperate with what phones and tools ship — GnuPG 2.2 among them
//! (API.md §4, "Cryptography"). So keys are v4 (Ed25519 "EdDSA legacy" primary for certifying and
//! signing, cv25519 ECDH subkey for encrypting) and list AES256/AES128 and SHA256/SHA512 as
//! preferences, because without them GnuPG falls back to 3DES and SHA1. Messages we write are SEIPD
//! v1 (with MDC), AES256, signed then encrypted; we accept what GnuPG writes, compressed or not.
//!
//! # Layout
//! - [`PublicKey`] (alias [`DeviceKey`]): a parsed, validated public key — a device's enrolled key
//!   on the server, or the server's key on a device. One type serves both sides because both need
//!   exactly the same thing from a public key: an encryption subkey and the keys that may sign.
//! - [`KeyPair`], as [`ServerKey`] and [`DeviceKeyPair`]: a secret key plus its public half. The
//!   role parameter keeps a device key pair from being passed where the server key belongs.
//! - [`seal_for_device`], [`open_from_device`] (server side) and [`seal_for_server`],
//!   [`open_from_server`] (device side): sign-then-encrypt and decrypt-then-verify.
//! - [`sign_detached`], [`verify_detached`]: transaction signing.
//!
//! Every input is size-limited ([`MAX_ARMORED_LEN`]) before rPGP sees it, and every parse or
//! verification failure is an error value, never a panic.

mod detached;
mod error;
mod keypair;
mod keys;
mod message;

#[cfg(test)]
mod gpg_tests;
#[cfg(test)]
mod tests;

pub use detached::{sign_detached, verify_detached};
pub use error::{CryptoError, Result};
pub use keypair::{Device, DeviceKeyPair, KeyPair, Role, Server, ServerKey};
pub use keys::{DeviceKey, PublicKey};
pub use message::{open_from_device, open_from_server, seal_for_device, seal_for_server};

/// The largest armored key, message or signature we parse, and the largest plaintext we return.
///
/// Transaction documents and answers are small JSON (well under 4 KiB) and an armored Curve25519
/// key is under 1 KiB; 64 KiB leaves room for RSA-4096 keys and long messages while keeping a
/// hostile body from costing more than a few milliseconds to reject.
pub const MAX_ARMORED_LEN: usize = 64 * 1024;
