//! [`PublicKey`]: an OpenPGP public key that has been parsed, checked and is ready to use.
//!
//! Checking happens once, at enrollment (or when a device learns the server's key), so that every
//! later seal or verification can take the key's encryption subkey and signing keys as given.

use pgp::{
    composed::{ArmorOptions, Deserializable, SignedPublicKey, SignedPublicSubKey},
    packet::{Signature, SignatureType},
    types::{Fingerprint, KeyDetails, Timestamp, VerifyingKey},
};

use super::{
    MAX_ARMORED_LEN,
    error::{CryptoError, Result, logged},
};

/// A device's enrolled key: a [`PublicKey`] like any other, named for where the server uses it.
pub type DeviceKey = PublicKey;

/// A validated OpenPGP public key: its self-signatures verify, it is neither revoked nor expired,
/// it has a subkey for encryption and at least one key (primary or subkey) allowed to sign.
///
/// Holds the normalised armor (what we store and hand out) and the upper-case hex fingerprint.
#[derive(Clone)]
pub struct PublicKey {
    key: SignedPublicKey,
    /// Index into `key.public_subkeys` of the subkey we encrypt to.
    encryption: usize,
    signers: Vec<Signer>,
    armored: String,
    fingerprint: String,
}

/// A component of the key whose key flags allow signing data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signer {
    Primary,
    Subkey(usize),
}

impl PublicKey {
    /// Parses and validates an armored public key (one key, at most [`MAX_ARMORED_LEN`] bytes).
    pub fn parse(armored: &str) -> Result<Self> {
        if armored.len() > MAX_ARMORED_LEN {
            return Err(CryptoError::TooLarge);
        }
        let (mut keys, _headers) = SignedPublicKey::from_string_many(armored)
            .map_err(|e| logged(CryptoError::InvalidKey("not an armored public key"), &e))?;
        let key = keys
            .next()
            .ok_or(CryptoError::InvalidKey("no public key in the armor"))?
            .map_err(|e| logged(CryptoError::InvalidKey("malformed public key"), &e))?;
        // One enrollment, one key: a keyring would leave it ambiguous which key was meant.
        if keys.next().is_some() {
            return Err(CryptoError::InvalidKey("more than one key in the armor"));
        }
        Self::from_signed(key)
    }

    /// Validates a key we already hold in parsed form (our own, or a just-parsed one).
    pub(super) fn from_signed(mut key: SignedPublicKey) -> Result<Self> {
        drop_third_party_certifications(&mut key);
        key.verify_bindings().map_err(|e| {
            logged(
                CryptoError::InvalidKey("a self-signature does not verify"),
                &e,
            )
        })?;
        if !key.details.revocation_signatures.is_empty() {
            return Err(CryptoError::InvalidKey("key is revoked"));
        }
        let now = Timestamp::now();

        let self_sig = newest(
            key.details
                .users
                .iter()
                .flat_map(|u| &u.signatures)
                .chain(&key.details.direct_signatures)
                .filter(|s| is_primary_self_signature(s)),
        )
        .ok_or(CryptoError::InvalidKey(
            "no self-signature on the primary key",
        ))?;
        if expired(self_sig, key.primary_key.created_at(), now) {
            return Err(CryptoError::InvalidKey("key has expired"));
        }

        let mut signers = Vec::new();
        if self_sig.key_flags().sign() && key.primary_key.algorithm().can_sign() {
            signers.push(Signer::Primary);
        }
        // Newest usable encryption subkey: that is the one a key holder who rotated subkeys wants.
        let mut encryption: Option<(usize, Timestamp)> = None;
        for (i, sub) in key.public_subkeys.iter().enumerate() {
            let Some(binding) = usable_binding(sub, now) else {
                continue;
            };
            let flags = binding.key_flags();
            let created = sub.key.created_at();
            if flags.sign() && sub.key.algorithm().can_sign() {
                signers.push(Signer::Subkey(i));
            }
            if (flags.encrypt_comms() || flags.encrypt_storage())
                && sub.key.algorithm().can_encrypt()
                && encryption.is_none_or(|(_, at)| created > at)
            {
                encryption = Some((i, created));
            }
        }
        let (encryption, _) =
            encryption.ok_or(CryptoError::InvalidKey("no usable encryption subkey"))?;
        if signers.is_empty() {
            return Err(CryptoError::InvalidKey("no key allowed to sign"));
        }

        let armored = key
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| logged(CryptoError::InvalidKey("cannot be re-armored"), &e))?;
        // The normalised armor is what gets stored and parsed again on every use. Armor sent on
        // one line without a CRC is denser than ours, so a key that just fit could come out too
        // large to parse again: refuse it now, not on every later use.
        if armored.len() > MAX_ARMORED_LEN {
            return Err(CryptoError::TooLarge);
        }
        let fingerprint = hex::encode_upper(key.fingerprint().as_bytes());
        Ok(Self {
            key,
            encryption,
            signers,
            armored,
            fingerprint,
        })
    }

    /// The key in normalised armor: what to store and send, free of third-party certifications.
    pub fn armored(&self) -> &str {
        &self.armored
    }

    /// The primary key's fingerprint, upper-case hex as GnuPG prints it.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The subkey messages to this key are encrypted to.
    pub(super) fn encryption_subkey(&self) -> &SignedPublicSubKey {
        // The index was chosen from this very list in `from_signed` and the list never changes.
        &self.key.public_subkeys[self.encryption]
    }

    /// The keys whose signatures count as signatures by this key holder.
    pub(super) fn verifiers(&self) -> Vec<&dyn VerifyingKey> {
        self.signers
            .iter()
            .map(|s| match *s {
                Signer::Primary => &self.key.primary_key as &dyn VerifyingKey,
                // Indexes were taken from this very list in `from_signed`; it never changes.
                Signer::Subkey(i) => &self.key.public_subkeys[i].key as &dyn VerifyingKey,
            })
            .collect()
    }

    /// The fingerprints of the keys in [`Self::verifiers`], to find their secret halves.
    pub(super) fn signing_fingerprints(&self) -> Vec<Fingerprint> {
        self.verifiers().iter().map(|k| k.fingerprint()).collect()
    }

    /// Whether one of this key holder's signing keys made `sig` over `data`.
    pub(super) fn verifies(&self, sig: &Signature, data: &[u8]) -> bool {
        // `Signature::verify` wants a sized key type, hence the match rather than `verifiers()`.
        self.signers.iter().any(|s| match *s {
            Signer::Primary => sig.verify(&self.key.primary_key, data).is_ok(),
            Signer::Subkey(i) => sig.verify(&self.key.public_subkeys[i].key, data).is_ok(),
        })
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// Certifications by other keys say nothing we use, and `verify_bindings` would try (and fail)
/// to verify them against this key; dropping them also keeps the stored armor small.
fn drop_third_party_certifications(key: &mut SignedPublicKey) {
    let fingerprint = key.primary_key.fingerprint();
    let key_id = key.primary_key.legacy_key_id();
    for user in &mut key.details.users {
        user.signatures.retain(|sig| {
            let fps = sig.issuer_fingerprint();
            let ids = sig.issuer_key_id();
            // A signature naming no issuer is kept, and then has to verify as a self-signature.
            (fps.is_empty() && ids.is_empty())
                || fps.contains(&&fingerprint)
                || ids.contains(&&key_id)
        });
    }
    key.details.users.retain(|u| !u.signatures.is_empty());
}

fn is_primary_self_signature(sig: &Signature) -> bool {
    matches!(
        sig.typ(),
        Some(
            SignatureType::CertGeneric
                | SignatureType::CertPersona
                | SignatureType::CertCasual
                | SignatureType::CertPositive
                | SignatureType::Key
        )
    )
}

/// The subkey's newest binding signature, unless the subkey is revoked or has expired.
fn usable_binding(sub: &SignedPublicSubKey, now: Timestamp) -> Option<&Signature> {
    if sub
        .signatures
        .iter()
        .any(|s| s.typ() == Some(SignatureType::SubkeyRevocation))
    {
        return None;
    }
    let binding = newest(
        sub.signatures
            .iter()
            .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding)),
    )?;
    (!expired(binding, sub.key.created_at(), now)).then_some(binding)
}

fn newest<'a>(sigs: impl Iterator<Item = &'a Signature>) -> Option<&'a Signature> {
    sigs.max_by_key(|s| s.created().map_or(0, |t| t.as_secs()))
}

/// A key expiration time is counted from the key's creation; zero or absent means never.
fn expired(sig: &Signature, created: Timestamp, now: Timestamp) -> bool {
    match sig.key_expiration_time().map(|d| d.as_secs()) {
        None | Some(0) => false,
        Some(secs) => u64::from(created.as_secs()) + u64::from(secs) <= u64::from(now.as_secs()),
    }
}
