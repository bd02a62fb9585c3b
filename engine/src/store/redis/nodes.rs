//! Node leases: each node renews `<p>{nodes}:lease:<node>` (a key with a `PX` expiry) and is
//! listed in the `<p>{nodes}` set. A node whose lease key Redis has expired is dead; the first
//! live node to claim it removes it from the set in the same script, so exactly one takes its
//! transactions over. Redis's own expiry decides, so the nodes' clocks need not agree.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionLike;

use super::keys::Keys;
use super::unavailable;
use crate::store::StoreResult;

/// KEYS: registry, lease key. ARGV: node, lease (ms).
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
redis.call('SADD', KEYS[1], ARGV[1])
return 1
",
    )
});

/// KEYS: registry. ARGV: lease key prefix, the caller. Returns the nodes it removed.
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local dead = {}
for _, node in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if node ~= ARGV[2] and redis.call('EXISTS', ARGV[1] .. node) == 0 then
    redis.call('SREM', KEYS[1], node)
    table.insert(dead, node)
  end
end
return dead
",
    )
});

pub(super) async fn renew(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    node: &str,
    lease: Duration,
) -> StoreResult<()> {
    let lease_ms = lease.as_millis().max(1) as u64;
    let _: i64 = RENEW
        .key(keys.nodes())
        .key(keys.lease_prefix() + node)
        .arg(node)
        .arg(lease_ms)
        .invoke_async(conn)
        .await
        .map_err(unavailable)?;
    Ok(())
}

pub(super) async fn claim_dead(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    me: &str,
) -> StoreResult<Vec<String>> {
    CLAIM
        .key(keys.nodes())
        .arg(keys.lease_prefix())
        .arg(me)
        .invoke_async(conn)
        .await
        .map_err(unavailable)
}
