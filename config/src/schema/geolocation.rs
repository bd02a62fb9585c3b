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
    #[serde(with = "humantime_serde")]
    pub cache_ttl: Duration,
    pub location_precision: LocationPrecision,
    /// Language code → confirmation template. Keys are supported locales.
    pub templates: BTreeMap<String, String>,
}

/// The seed's default confirmation template (`mobileAuthentication.confirmation.template`).
pub const DEFAULT_CONFIRMATION_TEMPLATE: &str =
    "[message] Device: [operatingSystem] [browser], Location: [countryCode], [region], [city]";

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
