//! Rate-limit buckets and fraud mutes, shared by every node: one key each (`<p>{rl:...}`,
//! `<p>{mute:...}`, the whole name inside the hash tag), so each check is one script on one slot
//! (Redis Cluster unchanged).
//!
//! The bucket script is [`crate::limits::gcra`] in Lua: read the arrival time, decide, write the
//! new one with `PXAT` at that time, rounded up to the millisecond (a key whose time has passed is
//! gone, the same as an absent one, and no key outlives its bucket's window). One script per
//! check makes it atomic: two nodes never both take a last token. `now` comes from the calling
//! node, as every other time the store keeps; a Redis clock ahead of the nodes' by some
//! milliseconds drops a bucket that much early, which costs at most one event of its count.
//!
//! Lua numbers are doubles: epoch microseconds (~1.8e15) and every sum here stay below 2^53, so
//! they are exact; they are written with `string.format('%d')`, since a number handed to
//! `redis.call` as is may be written in exponent form.

use std::sync::LazyLock;

use redis::Script;
use redis::aio::ConnectionLike;

use super::keys::Keys;
use super::unavailable;
use crate::limits::{Bucket, Decision};
use crate::model::Millis;
use crate::store::StoreResult;

/// KEYS: the bucket. ARGV: now (ms), interval (µs), window (µs), consume (1/0). The key holds
/// the arrival time in µs and expires at it. Returns 0 when allowed, else the milliseconds
/// (at least 1) until one event fits. A value that is not a number counts as absent.
static GCRA: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local now = tonumber(ARGV[1]) * 1000
local interval = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or 0
if tat < now then tat = now end
local new_tat = tat + interval
if new_tat - now > period then
  return math.max(1, math.ceil((new_tat - now - period) / 1000))
end
if ARGV[4] == '1' then
  local at = string.format('%d', math.ceil(new_tat / 1000))
  redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PXAT', at)
end
return 0
",
    )
});

/// KEYS: the mute. ARGV: its end (epoch ms). Keeps the later of the stored and the given end; the
/// key goes at its end. (`until` is a Lua keyword: not a variable name.)
static MUTE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local mute_end = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1])) or 0
if mute_end > current then
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
