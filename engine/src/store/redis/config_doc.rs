//! The admin API's configuration document: one hash `<p>{cfg}` with `v` (version) and `d` (the
//! document's bytes). One key, so the compare-and-set below touches one slot and runs on Redis
//! Cluster unchanged. Nodes poll `v` alone every second (`HGET`), which costs next to nothing.

use std::sync::LazyLock;

use redis::Script;
use redis::aio::ConnectionLike;

use super::keys::Keys;
use super::unavailable;
use crate::store::{ConfigDoc, StoreResult, config_doc_conflict};

/// KEYS: the document. ARGV: expected version, bytes. Returns `{1, new version}` when written,
/// `{0, version found}` when another write came first.
static PUT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then
  return {0, v}
end
redis.call('HSET', KEYS[1], 'v', v + 1, 'd', ARGV[2])
return {1, v + 1}
",
    )
});

pub(super) async fn get(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
) -> StoreResult<Option<ConfigDoc>> {
    let (version, bytes): (Option<u64>, Option<Vec<u8>>) = redis::cmd("HMGET")
        .arg(keys.config_doc())
        .arg("v")
        .arg("d")
        .query_async(conn)
        .await
        .map_err(unavailable)?;
    Ok(match (version, bytes) {
        (Some(version), Some(bytes)) => Some(ConfigDoc { version, bytes }),
        _ => None,
    })
}

pub(super) async fn version(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
) -> StoreResult<u64> {
    let version: Option<u64> = redis::cmd("HGET")
        .arg(keys.config_doc())
        .arg("v")
        .query_async(conn)
        .await
        .map_err(unavailable)?;
    Ok(version.unwrap_or(0))
}

pub(super) async fn put(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    expected: u64,
    bytes: &[u8],
) -> StoreResult<u64> {
    let (written, version): (i64, u64) = PUT
        .key(keys.config_doc())
        .arg(expected)
        .arg(bytes)
        .invoke_async(conn)
        .await
        .map_err(unavailable)?;
    if written == 1 {
        Ok(version)
    } else {
        Err(config_doc_conflict(expected, version))
    }
}
