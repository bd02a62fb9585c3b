//! Identifiers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How many ids [`TxnId::random_in_shard`] draws at most: with 64 shards, a miss every
/// ~3,000 starts; with the usual 2–16, practically never.
pub const MAX_SHARD_DRAWS: usize = 512;

/// A transaction id: a random (v4) UUID, drawn from the operating system's CSPRNG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TxnId(pub Uuid);

impl TxnId {
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }

    /// A random id owned by shard `shard` of `shards`: drawn like [`TxnId::random`] until one
    /// lands there (`shards` draws on average, at most [`MAX_SHARD_DRAWS`]; past that the
    /// last draw is kept — any id is valid on any shard, only the extra hop is lost). A start
    /// takes an id of the shard on its own thread, so its actor runs where the request is
    /// served and the start crosses no thread. Conditioning on the shard costs `log2(shards)`
    /// of the id's 122 random bits.
    pub fn random_in_shard(shard: usize, shards: usize) -> Self {
        let mut id = Self::random();
        for _ in 1..MAX_SHARD_DRAWS {
            if id.shard(shards) == shard {
                break;
            }
            id = Self::random();
        }
        id
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_drawn_for_a_shard_land_there_and_stay_random_v4() {
        for shards in [1, 2, 3, 8, 64] {
            for shard in 0..shards {
                let ids: Vec<TxnId> = (0..50)
                    .map(|_| TxnId::random_in_shard(shard, shards))
                    .collect();
                // 64 shards may miss once in ~3,000 draws; 50 draws of each stay well inside.
                let landed = ids.iter().filter(|id| id.shard(shards) == shard).count();
                assert!(landed >= 49, "{landed}/50 in shard {shard} of {shards}");
                for id in &ids {
                    assert_eq!(id.0.get_version_num(), 4);
                    assert_eq!(id.0.get_variant(), uuid::Variant::RFC4122);
                }
                let distinct: std::collections::HashSet<_> = ids.iter().collect();
                assert_eq!(distinct.len(), ids.len());
            }
        }
    }

    #[test]
    fn a_shard_outside_the_range_still_gets_an_id() {
        let id = TxnId::random_in_shard(5, 2);
        assert_eq!(id.0.get_version_num(), 4);
    }
}
