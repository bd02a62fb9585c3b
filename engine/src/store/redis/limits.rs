//! Rate-limit buckets and fraud mutes, shared by every node: one key each (`<p>{rl:...}`,
//! `<p>{mute:...}`), so each check is one script on one slot (Redis Cluster unchanged).
//!
//! The bucket script is [`crate::limits::gcra`] in Lua: read the arrival time, decide, write the
//! new one with `PEXPIREAT` at that time (a key whose time has passed is gone, the same as an
//! absent one). One script per check makes it atomic: two nodes never both take a last token.
//! `now` comes from the calling node, as every other time the store keeps.

use std::sync::LazyLock;

use redis::Script;
use redis::aio::ConnectionLike;

use super::keys::Keys;
use super::unavailable;
use crate::limits::{Bucket, Decision};
use crate::model::Millis;
use crate::store::StoreResult;

/// KEYS: the bucket. ARGV: now (ms), interval (µs), period (µs), consume (1/0). The key holds
/// the arrival time in µs and expires at it. Returns 0 when allowed, else the milliseconds
/// (at least 1) until one event fits.
static GCRA: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local now = tonumber(ARGV[1]) * 1000
local interval = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
if new_tat - now > period then
  return math.max(1, math.ceil((new_tat - now - period) / 1000))
end
if ARGV[4] == '1' then
  redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PXAT', math.ceil(new_tat / 1000))
end
return 0
",
    )
});

/// KEYS: the mute. ARGV: its end (epoch ms). Keeps the later of the stored and the given end.
/// (`until` is a Lua keyword: the end is `ends`.)
static MUTE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local ends = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if ends > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[1])
end
return 0
",
    )
});

pub(super) async fn rate_limit(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    key: &str,
    b: Bucket,
    consume: bool,
    now: Millis,
) -> StoreResult<Decision> {
    let wait: u64 = GCRA
        .key(keys.limit(key))
        .arg(now)
        .arg(b.interval_us)
        .arg(b.period_us)
        .arg(if consume { "1" } else { "0" })
        .invoke_async(conn)
        .await
        .map_err(unavailable)?;
    Ok(if wait == 0 {
        Decision::Allowed
    } else {
        Decision::Denied {
            retry_after_ms: wait,
        }
    })
}

pub(super) async fn put_mute(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    key: &str,
    until: Millis,
) -> StoreResult<()> {
    let _: i64 = MUTE
        .key(keys.limit(key))
        .arg(until)
        .invoke_async(conn)
        .await
        .map_err(unavailable)?;
    Ok(())
}

pub(super) async fn mute_until(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    key: &str,
    now: Millis,
) -> StoreResult<Option<Millis>> {
    let until: Option<Millis> = redis::cmd("GET")
        .arg(keys.limit(key))
        .query_async(conn)
        .await
        .map_err(unavailable)?;
    Ok(until.filter(|&t| t > now))
}
