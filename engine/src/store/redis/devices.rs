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

/// How long a push-token claim stands before its device write confirms it: far longer than the
/// write takes (a bounded call), short enough that a claim whose writer died frees the token
/// again soon.
const CLAIM_MS: u64 = 10_000;
/// Tries to claim a token whose index entry names a device that no longer holds it.
const CLAIM_TRIES: usize = 3;

/// The device write. KEYS: device record, the user's device set. ARGV: expected version, new
/// version, JSON, app id, token (`""`), device id, sole (`1`/`0`), the user's device record
/// prefix. Returns `{"0", old token}` written, `{"1", found}` version conflict, `{"3"}` another
/// device of the user holds the application's push enrollment.
///
/// The rival check and the write are one script over the user's device set: two devices
/// enrolling at once cannot both see "no one else" (`save_device_sole_push`). It touches the
/// user's slot only; the token index and the owner pointer are kept by [`save`] around it.
static SAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local found = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if found ~= tonumber(ARGV[1]) then return {'1', tostring(found)} end
if ARGV[7] == '1' then
  for _, other in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    if other ~= ARGV[6] then
      local f = redis.call('HMGET', ARGV[8] .. other, 'a', 't')
      if f[1] == ARGV[4] and f[2] and f[2] ~= '' then return {'3'} end
    end
  end
end
local old = redis.call('HGET', KEYS[1], 't') or ''
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3], 'a', ARGV[4], 't', ARGV[5])
redis.call('SADD', KEYS[2], ARGV[6])
return {'0', old}
",
    )
});

/// KEYS: a token's index entry. ARGV: device id, claim time (ms). Takes a free token for the
/// device for a while (`PX`): `{"new"}`; `{"mine"}` when the device holds it already; else
/// `{"other", holder, PTTL}`.
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local h = redis.call('GET', KEYS[1])
if not h then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {'new'}
end
if h == ARGV[1] then return {'mine'} end
return {'other', h, tostring(redis.call('PTTL', KEYS[1]))}
",
    )
});

/// KEYS: a token's index entry. ARGV: the holder it must name, the new holder, claim time (ms).
/// `1` when it named that holder and now names the new one (for a while), else `0`.
static TAKE_OVER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
",
    )
});

/// KEYS: a token's index entry. ARGV: device id, `keep` (`1`: drop its expiry) or `0` (delete
/// it). Only while the entry names the device; `1` if it did.
static SETTLE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '1' then redis.call('PERSIST', KEYS[1]) else redis.call('DEL', KEYS[1]) end
return 1
",
    )
});

/// Writes `device` and keeps the token index and the owner pointer in step, each its own step
/// on its own slot (Redis Cluster):
///
/// 1. the new token is claimed for the device (an expiring entry, `CLAIM`); a token another
///    device holds — its claim still running, or its record naming the token — is
///    `PushTokenTaken`; an entry whose device no longer holds the token is taken over;
/// 2. the owner pointer is set (harmless if the write then fails: the record is what counts);
/// 3. the record is written (`SAVE`: versioned, with the sole-push check);
/// 4. the claim is made permanent and the old token's entry dropped; on a refused write, a
///    claim made here is given back.
///
/// So a token is held by one device: two devices claiming it at once meet at the token's entry
/// and one of them gets `PushTokenTaken`. A writer that dies after its claim leaves an entry
/// that expires; one that dies later leaves an entry naming a device that does not hold the
/// token, which the next claimer takes over.
pub(super) async fn save(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    device: &Device,
    sole: bool,
) -> StoreResult<()> {
    let expected = device.version.saturating_sub(1);
    let token = device.push_token.as_deref().filter(|t| !t.is_empty());
    let claimed = match token {
        Some(t) => claim(conn, keys, t, &device.id).await?,
        None => false,
    };
    redis::cmd("SET")
        .arg(keys.device_owner(&device.id))
        .arg(&device.user_id)
        .exec_async(&mut *conn)
        .await
        .map_err(unavailable)?;
    let reply: Vec<String> = SAVE
        .key(keys.device(&device.user_id, &device.id))
        .key(keys.user_devices(&device.user_id))
        .arg(expected)
        .arg(device.version)
        .arg(to_json(device)?)
        .arg(&device.app_id)
        .arg(token.unwrap_or(""))
        .arg(&device.id)
        .arg(if sole { "1" } else { "0" })
        .arg(keys.device(&device.user_id, ""))
        .invoke_async(&mut *conn)
        .await
        .map_err(unavailable)?;
    let refused = match reply.as_slice() {
        [ok, old] if ok == "0" => {
            if let Some(t) = token {
                settle(conn, keys, t, &device.id, true).await?;
            }
            if !old.is_empty() && Some(old.as_str()) != token {
                settle(conn, keys, old, &device.id, false).await?;
            }
            return Ok(());
        }
        [c, found] if c == "1" => {
            let found: u64 = found.parse().unwrap_or(0);
            StoreError::Conflict {
                key: device.id.clone(),
                expected,
                found: (found > 0).then_some(found),
            }
        }
        [c] if c == "3" => StoreError::PushEnrollmentTaken,
        other => return Err(unavailable(format!("device write answered {other:?}"))),
    };
    if let (Some(t), true) = (token, claimed) {
        settle(conn, keys, t, &device.id, false).await?;
    }
    Err(refused)
}

/// Claims `token` for device `id`: `true` when this call made the claim (so a refused write
/// gives it back), `false` when the device held it already.
async fn claim(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    token: &str,
    id: &str,
) -> StoreResult<bool> {
    let key = keys.token(token);
    for _ in 0..CLAIM_TRIES {
        let reply: Vec<String> = CLAIM
            .key(&key)
            .arg(id)
            .arg(CLAIM_MS)
            .invoke_async(&mut *conn)
            .await
            .map_err(unavailable)?;
        let (holder, ttl) = match reply.as_slice() {
            [r] if r == "new" => return Ok(true),
            [r] if r == "mine" => return Ok(false),
            [r, holder, ttl] if r == "other" => (holder, ttl.parse::<i64>().unwrap_or(0)),
            other => return Err(unavailable(format!("token claim answered {other:?}"))),
        };
        if ttl > 0 {
            // Another device's write is claiming it right now.
            return Err(StoreError::PushTokenTaken);
        }
        if ttl == -1 {
            let holds = get(conn, keys, holder, None)
                .await?
                .is_some_and(|d| d.push_token.as_deref() == Some(token));
            if holds {
                return Err(StoreError::PushTokenTaken);
            }
            // Left behind by a device that moved on or was deleted: take it over.
            let taken: i64 = TAKE_OVER
                .key(&key)
                .arg(holder)
                .arg(id)
                .arg(CLAIM_MS)
                .invoke_async(&mut *conn)
                .await
                .map_err(unavailable)?;
            if taken == 1 {
                return Ok(true);
            }
        }
        // The entry changed under us (`-2`: gone; or a new holder): look again.
    }
    Err(StoreError::PushTokenTaken)
}

/// Makes device `id`'s entry for `token` permanent (`keep`) or removes it, if it names `id`.
async fn settle(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    token: &str,
    id: &str,
    keep: bool,
) -> StoreResult<()> {
    let _: i64 = SETTLE
        .key(keys.token(token))
        .arg(id)
        .arg(if keep { "1" } else { "0" })
        .invoke_async(conn)
        .await
        .map_err(unavailable)?;
    Ok(())
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

/// The device `id`; `known_user`: its user as this node last saw it (a device never changes
/// user), which spares the owner pointer's read.
pub(super) async fn get(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    id: &str,
    known_user: Option<&str>,
) -> StoreResult<Option<Device>> {
    if let Some(user) = known_user {
        let found = record(conn, keys, user, id).await?;
        if found.is_some() {
            return Ok(found);
        }
    }
    let Some(user) = owner(conn, keys, id).await? else {
        return Ok(None);
    };
    record(conn, keys, &user, id).await
}

async fn record(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    user: &str,
    id: &str,
) -> StoreResult<Option<Device>> {
    let json: Option<String> = redis::cmd("HGET")
        .arg(keys.device(user, id))
        .arg("d")
        .query_async(conn)
        .await
        .map_err(unavailable)?;
    from_json_opt(json)
}

/// KEYS: device record, user's device set. ARGV: device id. Removes the record; returns
/// `{JSON, token}`, or nil.
static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local f = redis.call('HMGET', KEYS[1], 'd', 't')
if not f[1] then return false end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
return {f[1], f[2] or ''}
",
    )
});

/// Removes the record (the user's slot), then the owner pointer and pending index (the
/// device's), then the token's entry if it names the device. A step left undone by a failure is
/// harmless: a pointer to no record reads as no device, and a token entry naming a device that
/// does not hold the token is taken over by the next claimer.
pub(super) async fn delete(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    id: &str,
) -> StoreResult<Option<Device>> {
    let Some(user) = owner(conn, keys, id).await? else {
        return Ok(None);
    };
    let removed: Option<(String, String)> = DELETE
        .key(keys.device(&user, id))
        .key(keys.user_devices(&user))
        .arg(id)
        .invoke_async(&mut *conn)
        .await
        .map_err(unavailable)?;
    let Some((json, token)) = removed else {
        return Ok(None);
    };
    redis::cmd("DEL")
        .arg(keys.device_owner(id))
        .arg(keys.device_txns(id))
        .exec_async(&mut *conn)
        .await
        .map_err(unavailable)?;
    if !token.is_empty() {
        settle(conn, keys, &token, id, false).await?;
    }
    from_json(&json).map(Some)
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
