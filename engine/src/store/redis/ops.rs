//! What the admin API's operations read: every node's published stats, the dead-letter count,
//! and recent transactions through the recent index (`txns.rs` writes it).

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use futures::StreamExt as _;
use redis::Script;
use redis::aio::ConnectionLike;
use tessera_config::admin::NodeStats;

use super::keys::Keys;
use super::{RedisStore, from_json, to_json, txns, unavailable};
use crate::model::{Transaction, TxnId, TxnQuery};
use crate::store::{RECENT_SCAN, StoreResult};

/// Ids read from the recent index per round trip.
const PAGE: usize = 200;
/// Records read at once while a page is checked.
const PARALLEL_READS: usize = 32;

/// KEYS: the set of publishers, the node's snapshot key. ARGV: node, JSON, ttl (ms).
static PUT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('SADD', KEYS[1], ARGV[1])
return 1
",
    )
});

/// KEYS: the set of publishers. ARGV: the snapshot key prefix. Every live snapshot; a node
/// whose snapshot expired leaves the set.
static ALL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local out = {}
for _, node in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local s = redis.call('GET', ARGV[1] .. node)
  if s then table.insert(out, s) else redis.call('SREM', KEYS[1], node) end
end
return out
",
    )
});

pub(super) async fn put_node_stats(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    stats: &NodeStats,
    ttl: Duration,
) -> StoreResult<()> {
    let _: i64 = PUT
        .key(keys.stats())
        .key(keys.stats_prefix() + &stats.name)
        .arg(&stats.name)
        .arg(to_json(stats)?)
        .arg(ttl.as_millis().max(1) as u64)
        .invoke_async(conn)
        .await
        .map_err(unavailable)?;
    Ok(())
}

pub(super) async fn node_stats(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
) -> StoreResult<Vec<NodeStats>> {
    let all: Vec<String> = ALL
        .key(keys.stats())
        .arg(keys.stats_prefix())
        .invoke_async(conn)
        .await
        .map_err(unavailable)?;
    // A snapshot another version wrote that does not parse is left out, not an error.
    Ok(all.iter().filter_map(|j| from_json(j).ok()).collect())
}

impl RedisStore {
    /// Newest first through the recent index, a page of ids at a time, reading each page's
    /// records concurrently; ids whose record is gone are skipped.
    pub(super) async fn recent_txns(&self, query: &TxnQuery) -> StoreResult<Vec<Arc<Transaction>>> {
        let mut out = Vec::new();
        let mut start = 0;
        while out.len() < query.limit && start < RECENT_SCAN {
            let stop = (start + PAGE).min(RECENT_SCAN) - 1;
            let ids: Vec<String> = self
                .command(
                    redis::cmd("ZREVRANGE")
                        .arg(self.keys.recent())
                        .arg(start)
                        .arg(stop),
                )
                .await?;
            let ids: Vec<TxnId> = ids.iter().filter_map(|s| s.parse().ok()).collect();
            let records: Vec<StoreResult<Option<Arc<Transaction>>>> =
                futures::stream::iter(ids.iter().copied())
                    .map(|id| async move {
                        super::bounded(async {
                            txns::get(&mut self.conn().await?, &self.keys, id).await
                        })
                        .await
                    })
                    .buffered(PARALLEL_READS)
                    .collect()
                    .await;
            for record in records {
                if let Some(txn) = record?
                    && query.matches(&txn)
                    && out.len() < query.limit
                {
                    out.push(txn);
                }
            }
            if ids.len() < PAGE {
                break;
            }
            start += PAGE;
        }
        Ok(out)
    }
}
