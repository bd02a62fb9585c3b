//! Transactions: the versioned write (compare-and-set in Lua, expiry from `purge_at`) and the
//! set of pending ids that a restarted node recovers from.

use std::sync::{Arc, LazyLock};

use redis::Script;
use redis::aio::ConnectionLike;

use super::keys::Keys;
use super::{from_json_opt, to_json, unavailable};
use crate::model::{Millis, Transaction, TxnId};
use crate::store::{StoreError, StoreResult};

/// The transaction write. KEYS: the record. ARGV: expected version, new version, JSON, purge
/// time (ms), id, change channel, `" f"` for a final state (else `""`). Returns `-1` when
/// written, else the version found (`0`: absent). A write is announced on the change channel
/// (`"<id> <version>"`, `"<id> <version> f"` when final) in the same step, so other nodes hear
/// of it without a round trip of ours.
///
/// One script, so two nodes finishing the same transaction cannot both win. It touches the
/// record's slot only (Redis Cluster); the pending index is kept by [`save`] around it.
const SAVE_LUA: &str = r"
local found = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if found ~= tonumber(ARGV[1]) then return found end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
redis.call('PUBLISH', ARGV[6], ARGV[5] .. ' ' .. ARGV[2] .. ARGV[7])
return -1
";

static SAVE: LazyLock<Script> = LazyLock::new(|| Script::new(SAVE_LUA));

/// Writes `txn` and keeps the pending index in step. The index may hold ids that are no longer
/// held (readers skip them), never miss one that is: a held write is indexed *before* it lands,
/// and an id leaves the index only once a write that is not held has landed.
///
/// The index is scored by the record's purge time, so `purge_expired` drops the entries of
/// records Redis expired without reading the others.
///
/// Standalone, the index update and the script go in one round trip (`MULTI`: the index update,
/// then the write; a refused write puts a removed id back). In a cluster they are separate
/// commands on their own slots: `ZADD` before a held write, `ZREM` after a write that is not.
///
/// The first write (version 1) also enters the id in the recent index (the admin API's list,
/// scored by creation time and trimmed to [`MAX_RECENT`]) — inside the round trips above, so
/// a flow costs no extra one: the `MULTI` standalone, the pending `ZADD` pipeline in a cluster
/// (the recent index shares the pending set's slot). A refused first write leaves an entry
/// whose id exists anyway.
pub(super) async fn save(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    txn: &Arc<Transaction>,
    purge_at: Millis,
    cluster: bool,
) -> StoreResult<()> {
    let expected = txn.version.saturating_sub(1);
    let held = txn.held();
    let id = txn.id.to_string();
    let record = keys.txn(txn.id);
    let json = to_json(txn.as_ref())?;
    let first = (txn.version == 1).then_some(txn.created_at);
    let found: i64 = if cluster {
        if held {
            index(conn, keys, &id, purge_at, first).await?;
        } else if let Some(created) = first {
            // A first write that is final at once (refused at start): no pending entry.
            recent_pipe(keys, &id, created)
                .query_async::<()>(conn)
                .await
                .map_err(unavailable)?;
        }
        let found: i64 = SAVE
            .key(&record)
            .arg(expected)
            .arg(txn.version)
            .arg(&json)
            .arg(purge_at)
            .arg(&id)
            .arg(keys.changes())
            .arg(finished_flag(txn))
            .invoke_async(conn)
            .await
            .map_err(unavailable)?;
        if found < 0 && !held {
            unindex(conn, keys, &id).await?;
        }
        found
    } else {
        let mut pipe = redis::pipe();
        pipe.atomic();
        if let Some(created) = first {
            add_recent(&mut pipe, keys, &id, created);
        }
        if held {
            pipe.cmd("ZADD").arg(keys.pending()).arg(purge_at).arg(&id);
        } else {
            pipe.cmd("ZREM").arg(keys.pending()).arg(&id);
        }
        pipe.ignore()
            .cmd("EVAL")
            .arg(SAVE_LUA)
            .arg(1)
            .arg(&record)
            .arg(expected)
            .arg(txn.version)
            .arg(&json)
            .arg(purge_at)
            .arg(&id)
            .arg(keys.changes())
            .arg(finished_flag(txn));
        let (found,): (i64,) = pipe.query_async(conn).await.map_err(unavailable)?;
        if found >= 0 && !held {
            // Refused: whoever wrote instead may be held; a stale entry is harmless.
            index(conn, keys, &id, purge_at, None).await?;
        }
        found
    };
    if found < 0 {
        return Ok(());
    }
    Err(StoreError::Conflict {
        key: txn.id.to_string(),
        expected,
        found: (found > 0).then_some(found as u64),
    })
}

/// Recent ids kept at most (≈ 60 bytes each in Redis).
pub(super) const MAX_RECENT: isize = 100_000;

/// Enters `id` (created at `created`) in the recent index and trims it, queued on `pipe`.
fn add_recent(pipe: &mut redis::Pipeline, keys: &Keys, id: &str, created: Millis) {
    let recent = keys.recent();
    pipe.cmd("ZADD")
        .arg(&recent)
        .arg(created)
        .arg(id)
        .ignore()
        .cmd("ZREMRANGEBYRANK")
        .arg(&recent)
        .arg(0)
        .arg(-(MAX_RECENT + 1))
        .ignore();
}

fn recent_pipe(keys: &Keys, id: &str, created: Millis) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    add_recent(&mut pipe, keys, id, created);
    pipe
}

/// Adds `id` to the pending set; with `recent` (a first write's creation time) to the recent
/// index too, in the same round trip (same slot).
async fn index(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    id: &str,
    purge_at: Millis,
    recent: Option<Millis>,
) -> StoreResult<()> {
    let mut pipe = match recent {
        Some(created) => recent_pipe(keys, id, created),
        None => redis::pipe(),
    };
    pipe.cmd("ZADD")
        .arg(keys.pending())
        .arg(purge_at)
        .arg(id)
        .ignore();
    pipe.query_async::<()>(conn).await.map_err(unavailable)
}

async fn unindex(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    id: &str,
) -> StoreResult<()> {
    redis::cmd("ZREM")
        .arg(keys.pending())
        .arg(id)
        .exec_async(conn)
        .await
        .map_err(unavailable)
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
///
/// The recent index loses, in the same round trip (same slot), the ids created more than
/// `recent_horizon_ms` ago: the longest time to live plus the retention, after which no record
/// can be left.
pub(super) async fn purge_pending(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    now: Millis,
    recent_horizon_ms: u64,
) -> StoreResult<usize> {
    let (purged, _): (usize, usize) = redis::pipe()
        .cmd("ZREMRANGEBYSCORE")
        .arg(keys.pending())
        .arg("-inf")
        .arg(now)
        .cmd("ZREMRANGEBYSCORE")
        .arg(keys.recent())
        .arg("-inf")
        .arg(format!("({}", now.saturating_sub(recent_horizon_ms)))
        .query_async(conn)
        .await
        .map_err(unavailable)?;
    Ok(purged)
}

/// What follows the version in a change notice.
fn finished_flag(txn: &Transaction) -> &'static str {
    if txn.is_final() { " f" } else { "" }
}
