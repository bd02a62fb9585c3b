//! The confirmation template (`mobileAuthentication.confirmation.template`, API.md §6):
//! `[placeholder]`s replaced by the requester's context; a value that is unknown disappears
//! with the words and separators that belong to it, so nothing dangles ("Location: ," or a
//! trailing comma). Pure.
//!
//! # How unknown values disappear
//!
//! A *separator* is text without letters or digits (`", "`, `" "`, `" / "`, `" - "`).
//! Placeholders with only a separator between them form a *group* (`[countryCode], [region],
//! [city]`); `[message]`, a sentence rather than an item of a list, is always a group of its
//! own. Other text between two groups splits into a *joiner* (its leading separator, `", "`)
//! and a *label* (the rest, `"Location: "`), and the label belongs to the group after it.
//! Then:
//!
//! - an unknown value leaves its group with the separator after it (the one before it when it
//!   is the group's last), so `NL, Utrecht` when the region is unknown;
//! - a group with no known value disappears with its label, and the next group shown follows
//!   the joiner that came after the last group shown (`msg Location: NL` with no user agent)
//!   — unless that next group is the message: it keeps the joiner right before it, which
//!   sets the message apart from the context (`From [city] on [operatingSystem]: [message]`
//!   with no user agent is `From Utrecht: msg`);
//! - text before the first placeholder and after the last stays as written (the result is
//!   trimmed).
//!
//! A placeholder written in parentheses, `[city] ([countryCode])`, shows them only with its
//! value. So `[message] Device: [operatingSystem] [browser], Location: [countryCode],
//! [region], [city]` with nothing known but the message is just the message. Labels go with
//! what follows them: write `from [city]`, not `[city] town`.
//!
//! Values are plain text inserted verbatim (a value holding `[city]` is not expanded again):
//! control characters become spaces, runs of whitespace one space, and the ends are trimmed;
//! a value left empty is unknown. Bracketed text that is not a placeholder stays as written
//! (the config check refuses it).

use std::collections::BTreeMap;

use tessera_config::{DEFAULT_CONFIRMATION_TEMPLATE, LocationPrecision, bracketed};

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
        let (country, region, city) = match precision {
            LocationPrecision::City => (true, true, true),
            LocationPrecision::Region => (true, true, false),
            LocationPrecision::Country => (true, false, false),
            LocationPrecision::None => (false, false, false),
        };
        let shown = |allowed: bool, field: &'a Option<String>| field.as_deref().filter(|_| allowed);
        Self {
            country_code: shown(country, &location.country_code),
            region: shown(region, &location.region),
            city: shown(city, &location.city),
            ..self
        }
    }

    /// The value of `slot`, cleaned; `None` when unknown or blank.
    fn get(&self, slot: Slot) -> Option<String> {
        let raw = match slot {
            Slot::Message => Some(self.message),
            Slot::OperatingSystem => self.operating_system,
            Slot::Browser => self.browser,
            Slot::CountryCode => self.country_code,
            Slot::Region => self.region,
            Slot::City => self.city,
        };
        raw.map(clean).filter(|value| !value.is_empty())
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
    let parsed = Parsed::new(template);
    let mut out = String::with_capacity(template.len() + 64);
    out.push_str(parsed.prefix);
    // The joiner after the last group shown (`None` until one is), and after the group just
    // before this one, shown or not.
    let mut after_shown: Option<&str> = None;
    let mut after_previous = "";
    for group in &parsed.groups {
        let shown: Vec<(String, &Item<'_>)> = group
            .items
            .iter()
            .filter_map(|item| Some((values.get(item.slot)?, item)))
            .collect();
        if !shown.is_empty() {
            if let Some(joiner) = after_shown {
                // What sets the message apart from the context is kept.
                out.push_str(if group.is_message() {
                    after_previous
                } else {
                    joiner
                });
            }
            out.push_str(group.label);
            push_items(&mut out, &shown);
            after_shown = Some(group.joiner);
        }
        after_previous = group.joiner;
    }
    out.push_str(parsed.suffix);
    // With little known, the template's own spaces could end up at an end ("Login ").
    out.trim().to_owned()
}

/// The values `shown` of a group, each after the separator that followed the one before.
fn push_items(out: &mut String, shown: &[(String, &Item<'_>)]) {
    let mut separator = "";
    for (value, item) in shown {
        out.push_str(separator);
        if item.parenthesised {
            out.push('(');
            out.push_str(value);
            out.push(')');
        } else {
            out.push_str(value);
        }
        separator = item.separator;
    }
}

// === the template's shape ===

/// A placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Message,
    OperatingSystem,
    Browser,
    CountryCode,
    Region,
    City,
}

impl Slot {
    /// The slot named `[name]` in a template (the names of `tessera_config::PLACEHOLDERS`).
    fn named(name: &str) -> Option<Self> {
        Some(match name {
            "message" => Self::Message,
            "operatingSystem" => Self::OperatingSystem,
            "browser" => Self::Browser,
            "countryCode" => Self::CountryCode,
            "region" => Self::Region,
            "city" => Self::City,
            _ => return None,
        })
    }
}

/// A template cut into groups (see the module doc).
#[derive(Debug, Default, PartialEq, Eq)]
struct Parsed<'t> {
    prefix: &'t str,
    groups: Vec<Group<'t>>,
    suffix: &'t str,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Group<'t> {
    /// Words before the group's first placeholder (`"Location: "`).
    label: &'t str,
    items: Vec<Item<'t>>,
    /// What joins this group to the next one shown (`", "`).
    joiner: &'t str,
}

/// A placeholder in a group.
#[derive(Debug, PartialEq, Eq)]
struct Item<'t> {
    slot: Slot,
    /// Written `([slot])`: the parentheses are shown with the value.
    parenthesised: bool,
    /// The separator after it (the group's last one has none).
    separator: &'t str,
}

impl Group<'_> {
    fn is_message(&self) -> bool {
        self.items
            .first()
            .is_some_and(|item| item.slot == Slot::Message)
    }
}

impl<'t> Parsed<'t> {
    fn new(template: &'t str) -> Self {
        let mut parsed = Parsed::default();
        let mut group = Group::default();
        // Where the text not yet assigned starts.
        let mut text_start = 0;
        let placeholders = bracketed(template)
            .filter_map(|(at, name)| Some((at, name.len() + 2, Slot::named(name)?)));
        for (at, len, slot) in placeholders {
            let (mut start, mut end) = (at, at + len);
            // `(` and `)` are one byte each: the slices stay on character boundaries.
            let parenthesised = at > text_start
                && template[..start].ends_with('(')
                && template[end..].starts_with(')');
            if parenthesised {
                (start, end) = (start - 1, end + 1);
            }
            let text = &template[text_start..start];
            text_start = end;
            match group.items.last_mut() {
                None => parsed.prefix = text,
                Some(last) if same_group(last.slot, slot, text) => last.separator = text,
                Some(_) => {
                    // All of a separator-only text (next to the message) is joiner.
                    let words = text.find(char::is_alphanumeric).unwrap_or(text.len());
                    let (joiner, label) = text.split_at(words);
                    let next = Group {
                        label,
                        ..Group::default()
                    };
                    parsed.groups.push(Group {
                        joiner,
                        ..std::mem::replace(&mut group, next)
                    });
                }
            }
            group.items.push(Item {
                slot,
                parenthesised,
                separator: "",
            });
        }
        parsed.suffix = &template[text_start..];
        if !group.items.is_empty() {
            parsed.groups.push(group);
        }
        parsed
    }
}

/// Whether placeholders `before` and `after`, with `text` between them, are one group.
fn same_group(before: Slot, after: Slot, text: &str) -> bool {
    // Without letters or digits, text separates values rather than saying something.
    let separator = !text.chars().any(char::is_alphanumeric);
    separator && before != Slot::Message && after != Slot::Message
}

/// `value` as one line of plain text (see the module doc).
fn clean(value: &str) -> String {
    let spaced: String = value
        .chars()
        .filter(|&c| !is_bidi_control(c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Bidirectional embeddings, overrides and isolates: inside a value they could reorder the
/// text around it as displayed (a city that makes "Location" read as something else).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests;
