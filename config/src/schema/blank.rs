//! Optional values written as a string where `""` means "not set" (`ops_listen = ""`,
//! `fallback_after = ""`), as CONFIG.md documents them. Serializing `None` writes `""` back, so a
//! serialized config holds every key and reads back unchanged.

use std::fmt::Display;
use std::str::FromStr;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};

/// Reads `""` (or a missing / null value) as `None`, anything else through `parse`.
fn deserialize<'de, D, T, E>(
    deserializer: D,
    parse: fn(&str) -> Result<T, E>,
) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    E: Display,
{
    let text: Option<String> = Option::deserialize(deserializer)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => parse(text).map(Some).map_err(D::Error::custom),
    }
}

/// `Option<SocketAddr>`: `""` = none, otherwise `ip:port`.
pub(crate) mod socket_addr {
    use std::net::SocketAddr;

    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        value: &Option<SocketAddr>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(addr) => serializer.collect_str(addr),
            None => serializer.serialize_str(""),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<SocketAddr>, D::Error> {
        super::deserialize(deserializer, |text| {
            SocketAddr::from_str(text)
                .map_err(|_| format!("invalid socket address `{text}`, expected ip:port or \"\""))
        })
    }
}

/// `Option<Duration>`: `""` = none, otherwise a humantime duration (`"90s"`, `"5m"`).
pub(crate) mod duration {
    use std::time::Duration;

    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => serializer.collect_str(&humantime::format_duration(*duration)),
            None => serializer.serialize_str(""),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        super::deserialize(deserializer, |text| {
            humantime::parse_duration(text).map_err(|e| format!("invalid duration `{text}`: {e}"))
        })
    }
}
