//! Identifiers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A transaction id: a random (v4) UUID, drawn from the operating system's CSPRNG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TxnId(pub Uuid);

impl TxnId {
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }

    /// Which of `shards` owns this transaction. UUIDv4 bits are uniformly random, so the low
    /// bits spread transactions evenly without hashing.
    pub fn shard(&self, shards: usize) -> usize {
        let bytes = self.0.as_bytes();
        let low = u64::from_le_bytes([
            bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15],
        ]);
        (low % shards.max(1) as u64) as usize
    }
}

impl fmt::Display for TxnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for TxnId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::try_parse(s).map(Self)
    }
}
