//! IP geolocation for the confirmation text shown in push messages.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GeoProvider {
    /// IPQualityScore-compatible JSON API.
    #[default]
    Http,
    /// A local MaxMind database.
    Mmdb,
}

impl GeoProvider {
    /// The name as the file writes it (and as metrics label it).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Mmdb => "mmdb",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LocationPrecision {
    #[default]
    City,
    Region,
    Country,
    None,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Geolocation {
    pub enabled: bool,
    pub provider: GeoProvider,
    /// http
    pub url: String,
    pub private_key: String,
    pub private_key_env: String,
    pub private_key_file: String,
    /// mmdb
    pub mmdb_path: String,
    /// How long a looked-up location is remembered; 0 turns the cache off.
    #[serde(with = "humantime_serde")]
    pub cache_ttl: Duration,
    pub location_precision: LocationPrecision,
    /// Language code → confirmation template. Keys are supported locales.
    pub templates: BTreeMap<String, String>,
}

/// The seed's default confirmation template (`mobileAuthentication.confirmation.template`).
pub const DEFAULT_CONFIRMATION_TEMPLATE: &str =
    "[message] Device: [operatingSystem] [browser], Location: [countryCode], [region], [city]";

/// The placeholders a confirmation template may hold, each written `[name]` (exact case):
/// the secure message, then what the user agent tells, then what the address tells.
pub const PLACEHOLDERS: &[&str] = &[
    "message",
    "operatingSystem",
    "browser",
    "countryCode",
    "region",
    "city",
];

/// Every `[name]` in `template`, with the byte offset of its `[`: brackets holding no other
/// bracket (`[[city]` holds `[city]`). Rendering and validation read placeholders through
/// this one scanner, so what the file's check accepts is what the renderer replaces.
pub fn bracketed(template: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut at = 0;
    std::iter::from_fn(move || {
        while let Some(open) = template[at..].find('[').map(|i| at + i) {
            let name_start = open + 1;
            let close = template[name_start..]
                .find(['[', ']'])
                .map(|i| name_start + i);
            match close {
                Some(close) if template.as_bytes()[close] == b']' => {
                    at = close + 1;
                    return Some((open, &template[name_start..close]));
                }
                // Another `[` first (or none closes): this one is plain text.
                _ => at = name_start,
            }
        }
        None
    })
}

/// What is wrong with a confirmation template, if anything: empty, or a `[name]` that is not
/// one of [`PLACEHOLDERS`] (it would be shown as written, brackets and all).
pub fn template_problem(template: &str) -> Option<String> {
    if template.trim().is_empty() {
        return Some("must not be empty".into());
    }
    let (_, name) = bracketed(template).find(|(_, name)| !PLACEHOLDERS.contains(name))?;
    let known = PLACEHOLDERS
        .iter()
        .map(|p| format!("[{p}]"))
        .collect::<Vec<_>>()
        .join(", ");
    Some(
        match PLACEHOLDERS.iter().find(|p| p.eq_ignore_ascii_case(name)) {
            Some(meant) => format!(
                "unknown placeholder `[{name}]`: placeholders are case-sensitive, write `[{meant}]`"
            ),
            None => format!("unknown placeholder `[{name}]` (known: {known})"),
        },
    )
}

impl Default for Geolocation {
    fn default() -> Self {
        Self {
            enabled: false,
            provider: GeoProvider::Http,
            url: "https://www.ipqualityscore.com/api/json/ip/".into(),
            private_key: String::new(),
            private_key_env: String::new(),
            private_key_file: String::new(),
            mmdb_path: String::new(),
            cache_ttl: Duration::from_secs(24 * 3600),
            location_precision: LocationPrecision::City,
            templates: BTreeMap::from([("en".into(), DEFAULT_CONFIRMATION_TEMPLATE.into())]),
        }
    }
}
