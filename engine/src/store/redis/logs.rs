//! Audit events and dead letters: capped lists, newest first, like the memory store's.

use std::sync::LazyLock;

use redis::Script;
use redis::aio::ConnectionLike;
use uuid::Uuid;

use super::keys::Keys;
use super::{from_json, from_json_opt, to_json, unavailable};
use crate::model::{Event, EventQuery};
use crate::store::{DeadLetter, StoreResult};

/// The audit log keeps this many newest events (as the memory store).
const MAX_EVENTS: isize = 100_000;
/// Dead letters beyond this drop the oldest.
const MAX_DEAD_LETTERS: isize = 10_000;
/// Events read per round trip while a query filters the log.
const EVENT_PAGE: isize = 1_000;

/// Pushes events' JSON (oldest first, so the newest ends up at the head) and trims the log to
/// its cap, in one round trip.
pub(super) async fn append_events(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    events: &[String],
) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let key = keys.events();
    redis::pipe()
        .atomic()
        .cmd("LPUSH")
        .arg(&key)
        .arg(events)
        .ignore()
        .cmd("LTRIM")
        .arg(&key)
        .arg(0)
        .arg(MAX_EVENTS - 1)
        .ignore()
        .query_async(conn)
        .await
        .map_err(unavailable)
}

/// Newest first, filtered by `query`, at most `query.limit`: reads the list a page at a time
/// until enough matched.
pub(super) async fn events(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    query: &EventQuery,
) -> StoreResult<Vec<Event>> {
    let key = keys.events();
    let mut out = Vec::new();
    let mut start = 0;
    while out.len() < query.limit {
        let page: Vec<String> = redis::cmd("LRANGE")
            .arg(&key)
            .arg(start)
            .arg(start + EVENT_PAGE - 1)
            .query_async(conn)
            .await
            .map_err(unavailable)?;
        for json in &page {
            let event: Event = from_json(json)?;
            if query.matches(&event) && out.len() < query.limit {
                out.push(event);
            }
        }
        if (page.len() as isize) < EVENT_PAGE {
            break;
        }
        start += EVENT_PAGE;
    }
    Ok(out)
}

/// KEYS: letters by id (hash), ids newest first (list). ARGV: id, JSON, cap.
static PUT_DEAD_LETTER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('LREM', KEYS[2], 0, ARGV[1])
redis.call('LPUSH', KEYS[2], ARGV[1])
while redis.call('LLEN', KEYS[2]) > tonumber(ARGV[3]) do
  redis.call('HDEL', KEYS[1], redis.call('RPOP', KEYS[2]))
end
return 1
",
    )
});

pub(super) async fn put_dead_letter(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    letter: &DeadLetter,
) -> StoreResult<()> {
    let _: i64 = PUT_DEAD_LETTER
        .key(keys.dead_letters())
        .key(keys.dead_letter_ids())
        .arg(letter.id.to_string())
        .arg(to_json(letter)?)
        .arg(MAX_DEAD_LETTERS)
        .invoke_async(conn)
        .await
        .map_err(unavailable)?;
    Ok(())
}

/// KEYS: letters by id, ids. ARGV: how many. The newest letters' JSON.
static DEAD_LETTERS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local out = {}
for _, id in ipairs(redis.call('LRANGE', KEYS[2], 0, tonumber(ARGV[1]) - 1)) do
  local d = redis.call('HGET', KEYS[1], id)
  if d then table.insert(out, d) end
end
return out
",
    )
});

pub(super) async fn dead_letters(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    limit: usize,
) -> StoreResult<Vec<DeadLetter>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let records: Vec<String> = DEAD_LETTERS
        .key(keys.dead_letters())
        .key(keys.dead_letter_ids())
        .arg(limit)
        .invoke_async(conn)
        .await
        .map_err(unavailable)?;
    records.iter().map(|j| from_json(j)).collect()
}

/// KEYS: letters by id, ids. ARGV: id. Removes and returns the letter's JSON, or nil.
static TAKE_DEAD_LETTER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local d = redis.call('HGET', KEYS[1], ARGV[1])
if not d then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('LREM', KEYS[2], 0, ARGV[1])
return d
",
    )
});

pub(super) async fn take_dead_letter(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    id: Uuid,
) -> StoreResult<Option<DeadLetter>> {
    let json: Option<String> = TAKE_DEAD_LETTER
        .key(keys.dead_letters())
        .key(keys.dead_letter_ids())
        .arg(id.to_string())
        .invoke_async(conn)
        .await
        .map_err(unavailable)?;
    from_json_opt(json)
}
