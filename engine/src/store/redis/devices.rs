//! Devices and what hangs off them: the versioned device write with the push-token index, the
//! sole-push write, enrollment codes, server keys and each device's pending-transaction index.

use std::sync::LazyLock;

use redis::Script;
use redis::aio::ConnectionLike;

use super::keys::Keys;
use super::{from_json, from_json_opt, to_json, unavailable};
use crate::model::{Device, EnrollmentCode, Millis, TxnId};
use crate::store::{StoreError, StoreResult};

/// Most transactions one device's pending index holds; the earliest deadlines give way.
const MAX_DEVICE_TXNS: isize = 1024;

/// KEYS: device record, user's device set, device owner pointer, new token's index entry (`""`
/// without a token). ARGV: expected version, new version, JSON, app id, token (`""`), device
/// id, user id, sole (`1`/`0`), token index prefix, the user's device record prefix.
/// Returns `{0}` written, `{1, found}` version conflict, `{2}` token taken, `{3}` another
/// device of the user holds the application's push enrollment.
///
/// The rival check and the write are one script over the user's device set: two devices
/// enrolling at once cannot both see "no one else" (`save_device_sole_push`).
static SAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local found = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if found ~= tonumber(ARGV[1]) then return {1, found} end
if ARGV[5] ~= '' then
  local holder = redis.call('GET', KEYS[4])
  if holder and holder ~= ARGV[6] then return {2} end
end
if ARGV[8] == '1' then
  for _, other in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    if other ~= ARGV[6] then
      local f = redis.call('HMGET', ARGV[10] .. other, 'a', 't')
      if f[1] == ARGV[4] and f[2] and f[2] ~= '' then return {3} end
    end
  end
end
local old = redis.call('HGET', KEYS[1], 't')
if old and old ~= '' and old ~= ARGV[5] and redis.call('GET', ARGV[9] .. old) == ARGV[6] then
  redis.call('DEL', ARGV[9] .. old)
end
if ARGV[5] ~= '' then redis.call('SET', KEYS[4], ARGV[6]) end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3], 'a', ARGV[4], 't', ARGV[5])
redis.call('SADD', KEYS[2], ARGV[6])
redis.call('SET', KEYS[3], ARGV[7])
return {0}
",
    )
});

pub(super) async fn save(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    device: &Device,
    sole: bool,
) -> StoreResult<()> {
    let expected = device.version.saturating_sub(1);
    let token = device.push_token.as_deref();
    let reply: Vec<i64> = SAVE
        .key(keys.device(&device.user_id, &device.id))
        .key(keys.user_devices(&device.user_id))
        .key(keys.device_owner(&device.id))
        .key(keys.token(token))
        .arg(expected)
        .arg(device.version)
        .arg(to_json(device)?)
        .arg(&device.app_id)
        .arg(token.unwrap_or(""))
        .arg(&device.id)
        .arg(&device.user_id)
        .arg(if sole { "1" } else { "0" })
        .arg(keys.token_prefix())
        .arg(keys.device(&device.user_id, ""))
        .invoke_async(conn)
        .await
        .map_err(unavailable)?;
    match reply.as_slice() {
        [0] => Ok(()),
        [1, found] => Err(StoreError::Conflict {
            key: device.id.clone(),
            expected,
            found: (*found > 0).then_some(*found as u64),
        }),
        [2] => Err(StoreError::PushTokenTaken),
        [3] => Err(StoreError::PushEnrollmentTaken),
        other => Err(unavailable(format!("device write answered {other:?}"))),
    }
}

/// The user a device belongs to, from its owner pointer.
async fn owner(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    id: &str,
) -> StoreResult<Option<String>> {
    redis::cmd("GET")
        .arg(keys.device_owner(id))
        .query_async(conn)
        .await
        .map_err(unavailable)
}

pub(super) async fn get(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    id: &str,
) -> StoreResult<Option<Device>> {
    let Some(user) = owner(conn, keys, id).await? else {
        return Ok(None);
    };
    let json: Option<String> = redis::cmd("HGET")
        .arg(keys.device(&user, id))
        .arg("d")
        .query_async(conn)
        .await
        .map_err(unavailable)?;
    from_json_opt(json)
}

/// KEYS: device record, user's device set, owner pointer, pending index. ARGV: device id,
/// token index prefix. Returns the removed JSON, or nil.
static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local f = redis.call('HMGET', KEYS[1], 'd', 't')
if not f[1] then return false end
if f[2] and f[2] ~= '' and redis.call('GET', ARGV[2] .. f[2]) == ARGV[1] then
  redis.call('DEL', ARGV[2] .. f[2])
end
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4])
redis.call('SREM', KEYS[2], ARGV[1])
return f[1]
",
    )
});

pub(super) async fn delete(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    id: &str,
) -> StoreResult<Option<Device>> {
    let Some(user) = owner(conn, keys, id).await? else {
        return Ok(None);
    };
    let json: Option<String> = DELETE
        .key(keys.device(&user, id))
        .key(keys.user_devices(&user))
        .key(keys.device_owner(id))
        .key(keys.device_txns(id))
        .arg(id)
        .arg(keys.token_prefix())
        .invoke_async(conn)
        .await
        .map_err(unavailable)?;
    from_json_opt(json)
}

/// KEYS: the user's device set. ARGV: the user's device record prefix. Every record's JSON.
static OF_USER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local d = redis.call('HGET', ARGV[1] .. id, 'd')
  if d then table.insert(out, d) end
end
return out
",
    )
});

pub(super) async fn of_user(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    user_id: &str,
) -> StoreResult<Vec<Device>> {
    let records: Vec<String> = OF_USER
        .key(keys.user_devices(user_id))
        .arg(keys.device(user_id, ""))
        .invoke_async(conn)
        .await
        .map_err(unavailable)?;
    let mut devices = records
        .iter()
        .map(|j| from_json::<Device>(j))
        .collect::<StoreResult<Vec<_>>>()?;
    // By id, as the memory store lists them: callers and tests see a stable order.
    devices.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(devices)
}

pub(super) async fn put_code(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    sha256: &str,
    code: &EnrollmentCode,
) -> StoreResult<()> {
    redis::cmd("SET")
        .arg(keys.code(sha256))
        .arg(to_json(code)?)
        .arg("PXAT")
        .arg(code.expires_at.max(1))
        .query_async(conn)
        .await
        .map_err(unavailable)
}

/// The code under `sha256`; with `take`, removed in the same step (GETDEL: single use).
pub(super) async fn code(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    sha256: &str,
    take: bool,
) -> StoreResult<Option<EnrollmentCode>> {
    let json: Option<String> = redis::cmd(if take { "GETDEL" } else { "GET" })
        .arg(keys.code(sha256))
        .query_async(conn)
        .await
        .map_err(unavailable)?;
    from_json_opt(json)
}

/// KEYS: the server key. ARGV: the armored key. Returns the stored one (first writer wins).
static PUT_KEY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local cur = redis.call('GET', KEYS[1])
if cur then return cur end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
",
    )
});

pub(super) async fn put_key_if_absent(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    id: &str,
    armored: &str,
) -> StoreResult<String> {
    PUT_KEY
        .key(keys.server_key(id))
        .arg(armored)
        .invoke_async(conn)
        .await
        .map_err(unavailable)
}

/// Adds to the device's index, keeps it capped, and lets the whole index expire with its latest
/// deadline (`PEXPIREAT ... GT` only ever pushes it later).
pub(super) async fn add_txn(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    device_id: &str,
    id: TxnId,
    until: Millis,
) -> StoreResult<()> {
    let key = keys.device_txns(device_id);
    redis::pipe()
        .atomic()
        .cmd("ZADD")
        .arg(&key)
        .arg(until)
        .arg(id.to_string())
        .ignore()
        .cmd("ZREMRANGEBYRANK")
        .arg(&key)
        .arg(0)
        .arg(-(MAX_DEVICE_TXNS + 1))
        .ignore()
        .cmd("PEXPIREAT")
        .arg(&key)
        .arg(until.max(1))
        .arg("GT")
        .ignore()
        .cmd("PEXPIREAT")
        .arg(&key)
        .arg(until.max(1))
        .arg("NX")
        .ignore()
        .query_async(conn)
        .await
        .map_err(unavailable)
}

/// The ids still due after `now`, earliest deadline first; the past ones are dropped.
pub(super) async fn txns(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    device_id: &str,
    now: Millis,
) -> StoreResult<Vec<TxnId>> {
    let key = keys.device_txns(device_id);
    let (ids,): (Vec<String>,) = redis::pipe()
        .atomic()
        .cmd("ZREMRANGEBYSCORE")
        .arg(&key)
        .arg("-inf")
        .arg(now)
        .ignore()
        .cmd("ZRANGE")
        .arg(&key)
        .arg(0)
        .arg(-1)
        .query_async(conn)
        .await
        .map_err(unavailable)?;
    Ok(ids.iter().filter_map(|s| s.parse().ok()).collect())
}
