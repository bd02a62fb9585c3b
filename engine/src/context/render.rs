//! The confirmation template (`mobileAuthentication.confirmation.template`, API.md §6):
//! `[placeholder]`s replaced by the requester's context; a value that is unknown disappears
//! with the words and separators that belong to it, so nothing dangles ("Location: ," or a
//! trailing comma). Pure.

use std::collections::BTreeMap;

use tessera_config::{DEFAULT_CONFIRMATION_TEMPLATE, LocationPrecision};

use crate::outbound::geolocation::Location;

/// The values a template may show. `message` is the portal's `secure_message`, or `message`
/// when it sent none; every other value may be unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Values<'a> {
    pub message: &'a str,
    pub operating_system: Option<&'a str>,
    pub browser: Option<&'a str>,
    pub country_code: Option<&'a str>,
    pub region: Option<&'a str>,
    pub city: Option<&'a str>,
}

impl<'a> Values<'a> {
    /// Sets the location fields `precision` allows (`city`: all three; `region`: country and
    /// region; `country`: the country; `none`: nothing).
    pub fn with_location(self, location: &'a Location, precision: LocationPrecision) -> Self {
        let _ = (location, precision);
        unimplemented!("issue 13: templates")
    }
}

/// The template for `language`: its own, else `en`'s, else the vendor's default.
pub fn template_for<'a>(templates: &'a BTreeMap<String, String>, language: &str) -> &'a str {
    templates
        .get(language)
        .or_else(|| templates.get("en"))
        .map_or(DEFAULT_CONFIRMATION_TEMPLATE, String::as_str)
}

/// `template` with its placeholders replaced by `values`.
pub fn render(template: &str, values: &Values<'_>) -> String {
    let _ = (template, values);
    unimplemented!("issue 13: templates")
}
