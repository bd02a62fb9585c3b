//! Abuse limits (CONFIG.md `[rate_limits]`, `[sms_policy]`): token buckets per API client, per
//! user's push starts, per SMS destination and prefix, per source IP on the device API and per IP
//! for failed logins; and the fraud mute.
//!
//! Every bucket is a GCRA ("generic cell rate algorithm", the token bucket written as one
//! timestamp): a key keeps only its *theoretical arrival time* `tat`. With the emission interval
//! `T` (the period divided by the count, rounded up to whole microseconds) and the burst window
//! `W = count × T` (the period itself whenever the count divides it), an event at `now` fits when
//! `max(tat, now) + T − now ≤ W`; it then moves `tat` by `T`. So a full bucket lets `count` events
//! through at once, then one every `T`; it is full again `W` after its last event; and over any
//! span of time `S` it never lets more than `count + S / T` events through (in a window of one
//! period: at most `2 × count − 1`, a burst at its start plus the refill). A refused event counts
//! nothing. A key whose `tat` has passed is the same as an absent one, so state lives at most `W`
//! and a flood of distinct keys cannot keep it. [`gcra`] is the one definition: the memory store
//! applies it under a lock, the Redis store runs the same rule in one Lua script per check
//! (atomic, shared by every node).
//!
//! Subjects (a phone number, a user id, an IP) never reach the store in clear: the bucket key is
//! `<limit>:` + a keyed hash of the subject under `store.hash_key` ([`Limiter::bucket`]), which
//! also gives every key the same small size whatever the subject's length.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tessera_config::{Rate, RateLimits};

use crate::clock::Clock;
use crate::model::Millis;
use crate::store::{Store, StoreResult};
use crate::txn::code_key::CodeKey;

/// One of CONFIG.md's `[rate_limits]`. [`Limit::key`] is the config key and the
/// `tessera_rate_limited_total{limit}` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    PerClient,
    PushStartsPerUser,
    SmsPerPhone,
    SmsPerPrefix,
    DevicePerIp,
    CredentialFailuresPerIp,
}

impl Limit {
    pub const ALL: [Limit; 6] = [
        Limit::PerClient,
        Limit::PushStartsPerUser,
        Limit::SmsPerPhone,
        Limit::SmsPerPrefix,
        Limit::DevicePerIp,
        Limit::CredentialFailuresPerIp,
    ];

    /// The config key (`rate_limits.<key>`), also the metric label.
    pub fn key(self) -> &'static str {
        match self {
            Limit::PerClient => "per_client",
            Limit::PushStartsPerUser => "push_starts_per_user",
            Limit::SmsPerPhone => "sms_per_phone",
            Limit::SmsPerPrefix => "sms_per_prefix",
            Limit::DevicePerIp => "device_per_ip",
            Limit::CredentialFailuresPerIp => "credential_failures_per_ip",
        }
    }

    pub fn rate(self, limits: &RateLimits) -> Rate {
        match self {
            Limit::PerClient => limits.per_client,
            Limit::PushStartsPerUser => limits.push_starts_per_user,
            Limit::SmsPerPhone => limits.sms_per_phone,
            Limit::SmsPerPrefix => limits.sms_per_prefix,
            Limit::DevicePerIp => limits.device_per_ip,
            Limit::CredentialFailuresPerIp => limits.credential_failures_per_ip,
        }
    }

    /// What the refusal's description says was exceeded.
    fn what(self) -> &'static str {
        match self {
            Limit::PerClient => "too many requests from this API client",
            Limit::PushStartsPerUser => "too many push authentications started for this user",
            Limit::SmsPerPhone => "too many SMS sent to this phone number",
            Limit::SmsPerPrefix => "too many SMS sent to numbers with this prefix",
            Limit::DevicePerIp => "too many device API calls from this address",
            Limit::CredentialFailuresPerIp => "too many failed logins from this address",
        }
    }
}

/// Why a request is refused for now: `429` with `Retry-After` (portal `1007`, device and admin
/// `rate_limited`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// A `[rate_limits]` bucket is empty.
    Limited { limit: Limit, retry_after: Duration },
    /// The user reported fraud: push starts are muted until the mute runs out.
    FraudMuted { retry_after: Duration },
}

impl Refused {
    pub fn retry_after(&self) -> Duration {
        match self {
            Refused::Limited { retry_after, .. } | Refused::FraudMuted { retry_after } => {
                *retry_after
            }
        }
    }

    /// `Retry-After` in whole seconds, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after().as_millis().div_ceil(1000).max(1) as u64
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Limited { limit, .. } => write!(
                f,
                "rate limited: {} (rate_limits.{}); retry in {} s",
                limit.what(),
                limit.key(),
                self.retry_after_secs()
            ),
            Refused::FraudMuted { .. } => write!(
                f,
                "push authentication for this user is muted after a fraud report; retry in {} s",
                self.retry_after_secs()
            ),
        }
    }
}

/// A [`Rate`] in the store's units, microseconds: the emission interval `T` (`period / count`,
/// rounded up) and the burst window `count × T`. Rounding the interval up keeps a bucket at or
/// under its rate (`"3000/s"`: 334 µs, 2,994 events a second at most, never 3,003) and its burst
/// at exactly `count`; the window is then the period rounded up to whole intervals (`"3000/s"`:
/// 1.002 s), and the period itself when `count` divides it (every rate in CONFIG.md's example).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// `period / count` in µs, rounded up (at least 1).
    pub interval_us: u64,
    /// `count × interval_us`: how far ahead of now a bucket's arrival time may run, the burst
    /// window. A key's state never lives longer than this.
    pub period_us: u64,
}

impl Bucket {
    /// `None` for a rate that is off.
    pub fn of(rate: Rate) -> Option<Self> {
        if rate.is_off() {
            return None;
        }
        let count = u64::from(rate.count);
        let period = u64::try_from(rate.period.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        let interval_us = period.div_ceil(count);
        Some(Self {
            interval_us,
            period_us: interval_us.saturating_mul(count),
        })
    }
}

/// What a bucket answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The event fits (and was counted, if asked to).
    Allowed,
    /// It does not; nothing was counted. One event fits again in this many ms (at least 1).
    Denied { retry_after_ms: u64 },
}

/// GCRA: the decision for one event at `now` (epoch ms) on a bucket whose stored arrival time is
/// `tat` (epoch µs; `None`: absent), and the `tat` to store when `consume` and allowed (`None`:
/// store nothing). A stored `tat` may be dropped once it passes (at `tat / 1000` ms, rounded up).
/// The Redis store's Lua script is this function, line for line.
///
/// `retry_after_ms` is exact at the millisecond, the unit of `now`: the same event at
/// `now + retry_after_ms` fits, at `now + retry_after_ms − 1` it does not.
pub fn gcra(tat: Option<u64>, now: Millis, b: Bucket, consume: bool) -> (Decision, Option<u64>) {
    let now_us = now.saturating_mul(1000);
    let start = tat.map_or(now_us, |t| t.max(now_us));
    let new_tat = start.saturating_add(b.interval_us);
    if new_tat - now_us > b.period_us {
        let retry_after_ms = (new_tat - now_us - b.period_us).div_ceil(1000).max(1);
        return (Decision::Denied { retry_after_ms }, None);
    }
    (Decision::Allowed, consume.then_some(new_tat))
}

/// The destination prefix `sms_per_prefix` counts under: the country code and the next three
/// digits (`+31612345678` → `+31612`, `+14155550100` → `+1415`). Country codes are read by the
/// ITU's assignment: 1 and 7 are one digit; 20, 27, 30–34, 36, 39, 40, 41, 43–49, 51–58, 60–66,
/// 81, 82, 84, 86, 90–95 and 98 two; every other three.
pub fn sms_prefix(phone: &str) -> &str {
    let digits = phone.strip_prefix('+').unwrap_or(phone);
    let two: Option<u8> = digits.get(..2).and_then(|d| d.parse().ok());
    let cc = match digits.as_bytes().first() {
        Some(b'1' | b'7') => 1,
        _ => match two {
            Some(
                20
                | 27
                | 30..=34
                | 36
                | 39
                | 40
                | 41
                | 43..=49
                | 51..=58
                | 60..=66
                | 81
                | 82
                | 84
                | 86
                | 90..=95
                | 98,
            ) => 2,
            _ => 3,
        },
    };
    let len = (phone.len() - digits.len()) + (cc + 3).min(digits.len());
    phone.get(..len).unwrap_or(phone)
}

/// Checks and counts the limits of this node's config against the store (shared by every node
/// with Redis). Cheap to clone.
#[derive(Clone)]
pub struct Limiter {
    store: Arc<dyn Store>,
    limits: Arc<RateLimits>,
    /// HMAC-SHA256 keyed with `store.hash_key`, its key schedule done once: each bucket key
    /// clones it (half the hashing of keying it anew). `None` never happens (HMAC takes keys of
    /// any length); every subject would share one key if it did.
    mac: Option<Hmac<Sha256>>,
    clock: Clock,
}

impl Limiter {
    /// A limiter over `store` (shared by every node that uses the same Redis and `key`): `key` is
    /// `store.hash_key`, `clock` gives the times counted.
    pub fn new(store: Arc<dyn Store>, limits: RateLimits, key: CodeKey, clock: Clock) -> Self {
        let mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).ok();
        Self {
            store,
            limits: Arc::new(limits),
            mac,
            clock,
        }
    }

    /// The store key of `subject`'s bucket under `limit`: `rl:<limit>:` + 32 hex digits of
    /// HMAC-SHA256(`store.hash_key`, limit ‖ 0 ‖ subject).
    pub fn bucket(&self, limit: Limit, subject: &str) -> String {
        format!("rl:{}:{}", limit.key(), self.digest(limit.key(), subject))
    }

    /// The store key of `user_id`'s fraud mute.
    pub fn mute_key(&self, user_id: &str) -> String {
        format!("mute:{}", self.digest("fraud_mute", user_id))
    }

    fn digest(&self, domain: &str, subject: &str) -> String {
        let Some(mut mac) = self.mac.clone() else {
            return String::new();
        };
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(subject.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// Counts one event of `subject` under `limit`, or refuses it (counting nothing). A limit that
    /// is off always passes without a store call.
    pub async fn take(&self, limit: Limit, subject: &str) -> StoreResult<Result<(), Refused>> {
        self.ask(limit, subject, true).await
    }

    /// Whether one event of `subject` would fit under `limit` now, counting nothing (the
    /// credential-failure gate: an IP that used up its failures is refused before its
    /// credentials are even checked).
    pub async fn check(&self, limit: Limit, subject: &str) -> StoreResult<Result<(), Refused>> {
        self.ask(limit, subject, false).await
    }

    async fn ask(
        &self,
        limit: Limit,
        subject: &str,
        consume: bool,
    ) -> StoreResult<Result<(), Refused>> {
        let Some(bucket) = Bucket::of(limit.rate(&self.limits)) else {
            return Ok(Ok(()));
        };
        let key = self.bucket(limit, subject);
        let now = self.clock.now();
        Ok(
            match self.store.rate_limit(&key, bucket, consume, now).await? {
                Decision::Allowed => Ok(()),
                Decision::Denied { retry_after_ms } => {
                    crate::telemetry::rate_limited(limit.key());
                    Err(Refused::Limited {
                        limit,
                        retry_after: Duration::from_millis(retry_after_ms),
                    })
                }
            },
        )
    }

    /// Mutes push starts for `user_id` for `fraud_mute` (nothing when it is 0).
    pub async fn mute(&self, user_id: &str) -> StoreResult<()> {
        if self.limits.fraud_mute.is_zero() {
            return Ok(());
        }
        let until = self.clock.now() + self.limits.fraud_mute.as_millis() as Millis;
        self.store.put_mute(&self.mute_key(user_id), until).await
    }

    /// `Err(FraudMuted)` while `user_id`'s push starts are muted (counted as
    /// `tessera_rate_limited_total{limit="fraud_mute"}`).
    pub async fn muted(&self, user_id: &str) -> StoreResult<Result<(), Refused>> {
        let now = self.clock.now();
        Ok(
            match self.store.mute_until(&self.mute_key(user_id), now).await? {
                Some(until) if until > now => {
                    crate::telemetry::rate_limited("fraud_mute");
                    Err(Refused::FraudMuted {
                        retry_after: Duration::from_millis(until - now),
                    })
                }
                _ => Ok(()),
            },
        )
    }
}

#[cfg(test)]
mod tests;
