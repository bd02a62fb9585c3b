//! Transactions: the versioned write (compare-and-set in Lua, expiry from `purge_at`) and the
//! set of pending ids that a restarted node recovers from.

use std::sync::{Arc, LazyLock};

use redis::Script;
use redis::aio::ConnectionLike;

use super::keys::Keys;
use super::{from_json_opt, to_json, unavailable};
use crate::model::{Millis, Transaction, TxnId};
use crate::store::{StoreError, StoreResult};

/// KEYS: record, pending index. ARGV: expected version, new version, JSON, purge time (ms),
/// pending (`1`/`0`), id, change channel. Returns `-1` when written, else the version found
/// (`0`: absent). A write is announced on the change channel (`"<id> <version>"`) in the same
/// step, so other nodes hear of it without a round trip of ours.
///
/// One script, so two nodes finishing the same transaction cannot both win, and the pending
/// index never disagrees with the record. The index is scored by the record's purge time, so
/// `purge_expired` drops the entries of records Redis expired without reading the others.
static SAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local found = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if found ~= tonumber(ARGV[1]) then return found end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
if ARGV[5] == '1' then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[6])
else
  redis.call('ZREM', KEYS[2], ARGV[6])
end
redis.call('PUBLISH', ARGV[7], ARGV[6] .. ' ' .. ARGV[2])
return -1
",
    )
});

pub(super) async fn save(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    txn: &Arc<Transaction>,
    purge_at: Millis,
) -> StoreResult<()> {
    let expected = txn.version.saturating_sub(1);
    let pending = txn.held();
    let found: i64 = SAVE
        .key(keys.txn(txn.id))
        .key(keys.pending())
        .arg(expected)
        .arg(txn.version)
        .arg(to_json(txn.as_ref())?)
        .arg(purge_at)
        .arg(if pending { "1" } else { "0" })
        .arg(txn.id.to_string())
        .arg(keys.changes())
        .invoke_async(conn)
        .await
        .map_err(unavailable)?;
    if found < 0 {
        return Ok(());
    }
    Err(StoreError::Conflict {
        key: txn.id.to_string(),
        expected,
        found: (found > 0).then_some(found as u64),
    })
}

pub(super) async fn get(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    id: TxnId,
) -> StoreResult<Option<Arc<Transaction>>> {
    let json: Option<String> = redis::cmd("HGET")
        .arg(keys.txn(id))
        .arg("d")
        .query_async(conn)
        .await
        .map_err(unavailable)?;
    Ok(from_json_opt(json)?.map(Arc::new))
}

pub(super) async fn pending(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    limit: usize,
) -> StoreResult<Vec<TxnId>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = redis::cmd("ZRANGE")
        .arg(keys.pending())
        .arg(0)
        .arg(limit.saturating_sub(1).min(isize::MAX as usize))
        .query_async(conn)
        .await
        .map_err(unavailable)?;
    // An id that does not parse was not written by us: skip it rather than fail recovery.
    Ok(ids.iter().filter_map(|s| s.parse().ok()).collect())
}

/// Drops the pending entries of transactions whose record Redis has expired (a pending
/// transaction is purged at its deadline plus the retention, only if no node was there to
/// finish it). Returns how many went.
pub(super) async fn purge_pending(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    now: Millis,
) -> StoreResult<usize> {
    redis::cmd("ZREMRANGEBYSCORE")
        .arg(keys.pending())
        .arg("-inf")
        .arg(now)
        .query_async(conn)
        .await
        .map_err(unavailable)
}
