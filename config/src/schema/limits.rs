//! `[rate_limits]` and `[sms_policy]`: what protects the service from abuse (push bombing, SMS
//! pumping, credential guessing). Enforced by `tessera_engine::limits`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A token bucket written `"N/period"` (`"2000/s"`, `"5/10m"`, `"200/1h"`; a bare unit is one of
/// it): a burst of up to `N` events, refilled evenly at `N` per period (so over a long run never
/// more than `N` per period; within any one period at most `2N − 1`, a full burst at its start plus
/// the refill). `"0"` (or `N = 0`) turns the limit off. The rule is GCRA, in
/// `tessera_engine::limits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rate {
    /// Events allowed per period; 0 = off.
    pub count: u32,
    pub period: Duration,
}

impl Rate {
    /// Off: every event passes.
    pub const OFF: Rate = Rate {
        count: 0,
        period: Duration::ZERO,
    };

    pub const fn new(count: u32, period: Duration) -> Self {
        Self { count, period }
    }

    pub fn is_off(&self) -> bool {
        self.count == 0 || self.period.is_zero()
    }
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text == "0" {
            return Ok(Rate::OFF);
        }
        let Some((count, period)) = text.split_once('/') else {
            return Err(format!(
                "`{text}`: expected \"N/period\" such as \"5/10m\" or \"2000/s\", or \"0\" for no limit"
            ));
        };
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| format!("`{text}`: N must be a whole number from 0 to {}", u32::MAX))?;
        let period_text = period.trim();
        // A bare unit ("s", "m", "h") means one of it.
        let period = if period_text.starts_with(|c: char| c.is_ascii_digit()) {
            humantime::parse_duration(period_text)
        } else {
            humantime::parse_duration(&format!("1{period_text}"))
        }
        .map_err(|_| {
            format!("`{text}`: `{period_text}` is not a period such as \"s\", \"10m\" or \"1h\"")
        })?;
        if count == 0 {
            return Ok(Rate::OFF);
        }
        if period.is_zero() {
            return Err(format!("`{text}`: the period must be longer than zero"));
        }
        Ok(Rate { count, period })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_off() {
            f.write_str("0")
        } else {
            write!(
                f,
                "{}/{}",
                self.count,
                humantime::format_duration(self.period)
            )
        }
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RateVisitor;

        impl serde::de::Visitor<'_> for RateVisitor {
            type Value = Rate;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a rate \"N/period\" such as \"5/10m\", or 0")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Rate, E> {
                text.parse().map_err(E::custom)
            }

            // `0` may be written as a number too.
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Rate, E> {
                if n == 0 {
                    Ok(Rate::OFF)
                } else {
                    Err(E::custom(format!(
                        "`{n}`: expected \"N/period\" such as \"{n}/1m\", or 0 for no limit"
                    )))
                }
            }

            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Rate, E> {
                self.visit_i64(i64::try_from(n).unwrap_or(i64::MAX))
            }
        }

        d.deserialize_any(RateVisitor)
    }
}

/// `[rate_limits]`. Exceeding one answers `429` + `Retry-After` (portal `1007`, device/admin
/// `rate_limited`). Per node with the memory store, shared by every node with Redis.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimits {
    /// Requests per API client (every surface an API client calls).
    pub per_client: Rate,
    /// Push-family starts per user (the push-bombing cap); a start that falls back to SMS counts.
    pub push_starts_per_user: Rate,
    /// SMS sends (starts, resends, fallbacks) per destination number.
    pub sms_per_phone: Rate,
    /// SMS sends per destination prefix (country code + 3 digits): the pumping guard.
    pub sms_per_prefix: Rate,
    /// Device API calls per source IP (enrollment included).
    pub device_per_ip: Rate,
    /// Failed API-client or device logins per source IP; when used up, every call from that IP
    /// gets 429 until the bucket refills.
    pub credential_failures_per_ip: Rate,
    /// How long a fraud report (`reject_reason = "fraud"`) stops push starts for its user.
    /// 0 = fraud reports mute nothing.
    #[serde(with = "humantime_serde")]
    pub fraud_mute: Duration,
}

impl RateLimits {
    /// Every limit off and no fraud mute: for test harnesses and load generators whose traffic
    /// comes from one address, client, user pool and number prefix — exactly what the defaults
    /// refuse. Never what a file without `[rate_limits]` gets (that is [`RateLimits::default`]).
    pub fn off() -> Self {
        Self {
            per_client: Rate::OFF,
            push_starts_per_user: Rate::OFF,
            sms_per_phone: Rate::OFF,
            sms_per_prefix: Rate::OFF,
            device_per_ip: Rate::OFF,
            credential_failures_per_ip: Rate::OFF,
            fraud_mute: Duration::ZERO,
        }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        const S: Duration = Duration::from_secs(1);
        const M: Duration = Duration::from_secs(60);
        Self {
            per_client: Rate::new(2000, S),
            push_starts_per_user: Rate::new(5, Duration::from_secs(600)),
            sms_per_phone: Rate::new(5, Duration::from_secs(600)),
            sms_per_prefix: Rate::new(200, Duration::from_secs(3600)),
            device_per_ip: Rate::new(60, M),
            credential_failures_per_ip: Rate::new(20, Duration::from_secs(600)),
            fraud_mute: Duration::from_secs(3600),
        }
    }
}

/// `[sms_policy]`: which destinations an SMS may go to, by E.164 prefix (`"+31"`). A number
/// matching a denied prefix is refused even when an allowed prefix matches too.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct SmsPolicy {
    /// Empty = every destination (that no denied prefix matches).
    pub allowed_prefixes: Vec<String>,
    pub denied_prefixes: Vec<String>,
}

/// Why [`SmsPolicy::check`] refused a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyRefusal {
    /// This denied prefix matches.
    Denied(String),
    /// Allowed prefixes are set and none matches.
    NotAllowed,
}

impl fmt::Display for PolicyRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyRefusal::Denied(prefix) => write!(
                f,
                "SMS to numbers starting with {prefix} are denied by the SMS policy"
            ),
            PolicyRefusal::NotAllowed => {
                f.write_str("the phone number is outside the SMS policy's allowed prefixes")
            }
        }
    }
}

impl SmsPolicy {
    /// Whether an SMS may go to `phone` (E.164, `+` and digits).
    pub fn check(&self, phone: &str) -> Result<(), PolicyRefusal> {
        if let Some(prefix) = self
            .denied_prefixes
            .iter()
            .find(|p| phone.starts_with(p.as_str()))
        {
            return Err(PolicyRefusal::Denied(prefix.clone()));
        }
        if !self.allowed_prefixes.is_empty()
            && !self
                .allowed_prefixes
                .iter()
                .any(|p| phone.starts_with(p.as_str()))
        {
            return Err(PolicyRefusal::NotAllowed);
        }
        Ok(())
    }
}

/// Whether `prefix` is an E.164 prefix: `+` and 1 to 15 digits, the first not 0.
pub fn valid_e164_prefix(prefix: &str) -> bool {
    let Some(digits) = prefix.strip_prefix('+') else {
        return false;
    };
    (1..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}
