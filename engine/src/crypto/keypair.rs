//! [`KeyPair`]: an OpenPGP secret key with its validated public half, as the server's key
//! ([`ServerKey`]) or a device's ([`DeviceKeyPair`], used by the API crate's device client and by
//! tests that play the phone app).

use std::marker::PhantomData;

use pgp::{
    composed::{
        ArmorOptions, Deserializable, EncryptionCaps, KeyType, SecretKeyParamsBuilder,
        SignedSecretKey, SubkeyParamsBuilder,
    },
    crypto::{ecc_curve::ECCCurve, hash::HashAlgorithm, sym::SymmetricKeyAlgorithm},
    types::{CompressionAlgorithm, KeyDetails, KeyVersion, SigningKey},
};

use super::{
    MAX_ARMORED_LEN, PublicKey,
    error::{CryptoError, Result, logged},
};

/// Whose key a [`KeyPair`] is. Sealed: the protocol has exactly two roles.
pub trait Role: sealed::Sealed {
    /// The user id written into generated keys; GnuPG wants one on every v4 key.
    const USER_ID: &'static str;
}

/// The server's role: it seals transaction documents and opens answers.
#[derive(Debug)]
pub enum Server {}
/// A device's role: it opens transaction documents, seals answers and signs `signing_data`.
#[derive(Debug)]
pub enum Device {}

impl Role for Server {
    const USER_ID: &'static str = "Tessera server <server@tessera.invalid>";
}
impl Role for Device {
    const USER_ID: &'static str = "Tessera device <device@tessera.invalid>";
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Server {}
    impl Sealed for super::Device {}
}

/// The server's key pair: shared, or one per enrollment (`unique_keys_per_enrollment`).
pub type ServerKey = KeyPair<Server>;
/// A device's key pair, for the app side of the protocol.
pub type DeviceKeyPair = KeyPair<Device>;

/// A secret key (not passphrase-protected: it is stored by the server's own means) and its public
/// half, validated like any enrolled key.
pub struct KeyPair<R: Role> {
    secret: SignedSecretKey,
    public: PublicKey,
    signer: SecretSigner,
    role: PhantomData<fn() -> R>,
}

/// Which secret component signs: the primary, or a subkey (index into `secret_subkeys`).
#[derive(Debug, Clone, Copy)]
enum SecretSigner {
    Primary,
    Subkey(usize),
}

impl<R: Role> KeyPair<R> {
    /// A fresh v4 key: Ed25519 primary (certify, sign) and a cv25519 encryption subkey, with the
    /// algorithm preferences GnuPG 2.2 needs to pick AES and SHA-2 when it writes to us.
    pub fn generate() -> Result<Self> {
        let mut encryption = SubkeyParamsBuilder::default();
        encryption
            .version(KeyVersion::V4)
            .key_type(KeyType::ECDH(ECCCurve::Curve25519Legacy))
            .can_encrypt(EncryptionCaps::All);
        let encryption = encryption
            .build()
            .map_err(|_| CryptoError::Internal("subkey parameters"))?;
        let mut params = SecretKeyParamsBuilder::default();
        params
            .version(KeyVersion::V4)
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .primary_user_id(R::USER_ID.to_owned())
            .preferred_symmetric_algorithms(
                vec![SymmetricKeyAlgorithm::AES256, SymmetricKeyAlgorithm::AES128].into(),
            )
            .preferred_hash_algorithms(vec![HashAlgorithm::Sha256, HashAlgorithm::Sha512].into())
            .preferred_compression_algorithms(
                vec![
                    CompressionAlgorithm::ZLIB,
                    CompressionAlgorithm::Uncompressed,
                ]
                .into(),
            )
            .subkey(encryption);
        let params = params
            .build()
            .map_err(|_| CryptoError::Internal("key parameters"))?;
        let secret = params
            .generate(rand08::thread_rng())
            .map_err(|e| logged(CryptoError::Internal("key generation"), &e))?;
        Self::from_secret(secret)
    }

    /// Loads a key saved with [`Self::to_armored_secret`] (or any unprotected v4 secret key with
    /// an encryption subkey and a signing key).
    pub fn from_armored_secret(armored: &str) -> Result<Self> {
        if armored.len() > MAX_ARMORED_LEN {
            return Err(CryptoError::TooLarge);
        }
        let (secret, _headers) = SignedSecretKey::from_string(armored)
            .map_err(|e| logged(CryptoError::InvalidKey("not an armored secret key"), &e))?;
        secret.verify_bindings().map_err(|e| {
            logged(
                CryptoError::InvalidKey("a self-signature does not verify"),
                &e,
            )
        })?;
        Self::from_secret(secret)
    }

    fn from_secret(secret: SignedSecretKey) -> Result<Self> {
        let public = PublicKey::from_signed(secret.to_public_key())?;
        // We hold no passphrase: a protected key could neither sign nor decrypt.
        let protected = secret.primary_key.secret_params().is_encrypted()
            || secret
                .secret_subkeys
                .iter()
                .any(|s| s.key.secret_params().is_encrypted());
        if protected {
            return Err(CryptoError::InvalidKey(
                "secret key is passphrase-protected",
            ));
        }
        let encryption = public.encryption_subkey().key.fingerprint();
        if !secret
            .secret_subkeys
            .iter()
            .any(|s| s.key.fingerprint() == encryption)
        {
            return Err(CryptoError::InvalidKey(
                "no secret for the encryption subkey",
            ));
        }
        let signer = public
            .signing_fingerprints()
            .into_iter()
            .find_map(|fp| {
                if secret.primary_key.fingerprint() == fp {
                    return Some(SecretSigner::Primary);
                }
                let i = secret
                    .secret_subkeys
                    .iter()
                    .position(|s| s.key.fingerprint() == fp)?;
                Some(SecretSigner::Subkey(i))
            })
            .ok_or(CryptoError::InvalidKey("no secret for a signing key"))?;
        Ok(Self {
            secret,
            public,
            signer,
            role: PhantomData,
        })
    }

    /// The secret key in armor, for persistence. Unprotected: store it as a secret.
    pub fn to_armored_secret(&self) -> Result<String> {
        self.secret
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| logged(CryptoError::Internal("secret key armor"), &e))
    }

    /// The public half, as the other side parses it.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The public half in armor: the server's `server_public_key`, or a device's `public_key`.
    pub fn public_armored(&self) -> &str {
        self.public.armored()
    }

    /// The primary key's fingerprint, upper-case hex.
    pub fn fingerprint(&self) -> &str {
        self.public.fingerprint()
    }

    pub(super) fn secret(&self) -> &SignedSecretKey {
        &self.secret
    }

    pub(super) fn signing_key(&self) -> &dyn SigningKey {
        match self.signer {
            SecretSigner::Primary => &self.secret.primary_key,
            // Chosen from this very list in `from_secret`; the list never changes.
            SecretSigner::Subkey(i) => &self.secret.secret_subkeys[i].key,
        }
    }
}

impl<R: Role> Clone for KeyPair<R> {
    fn clone(&self) -> Self {
        Self {
            secret: self.secret.clone(),
            public: self.public.clone(),
            signer: self.signer,
            role: PhantomData,
        }
    }
}

impl<R: Role> std::fmt::Debug for KeyPair<R> {
    // Never the secret: key pairs end up in structs that get logged.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("fingerprint", &self.public.fingerprint())
            .finish_non_exhaustive()
    }
}
