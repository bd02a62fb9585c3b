//! Why an OpenPGP operation failed, in words that are safe to log and to map to an HTTP answer.
//!
//! rPGP's own errors can quote packet contents; they are logged at debug level where they happen
//! and never carried in these values.

/// A refused key, message or signature, or a failed operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The input is larger than [`super::MAX_ARMORED_LEN`], or the plaintext would be.
    #[error("input too large")]
    TooLarge,
    /// The key could not be parsed or is unfit for the protocol; the reason names which check.
    #[error("invalid OpenPGP key: {0}")]
    InvalidKey(&'static str),
    /// The message is not armored OpenPGP, is malformed, or fails its integrity check.
    #[error("invalid OpenPGP message")]
    InvalidMessage,
    /// The signature is not armored OpenPGP or is malformed.
    #[error("invalid OpenPGP signature")]
    InvalidSignature,
    /// The message is not encrypted to our key.
    #[error("message is not encrypted to this key")]
    WrongRecipient,
    /// The message is unsigned, or not validly signed by the expected key.
    #[error("message is not signed by the expected key")]
    BadSignature,
    /// An operation on our own keys failed (generation, signing, serialisation).
    #[error("OpenPGP operation failed: {0}")]
    Internal(&'static str),
}

pub type Result<T, E = CryptoError> = std::result::Result<T, E>;

/// Logs rPGP's error (which may describe packet contents) at debug level and returns `err`.
pub(super) fn logged(err: CryptoError, cause: &pgp::errors::Error) -> CryptoError {
    tracing::debug!(error = %cause, "openpgp: {err}");
    err
}
