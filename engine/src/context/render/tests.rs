use std::collections::BTreeMap;

use proptest::prelude::*;
use tessera_config::{DEFAULT_CONFIRMATION_TEMPLATE, LocationPrecision, PLACEHOLDERS};

use super::{Slot, Values, render, template_for};
use crate::outbound::geolocation::Location;

const XYZ: &str = "You are logging into the XYZ portal.";
const USING: &str = "[message] using [browser] from [city], [countryCode]";
const NL: &str = "[message] Apparaat: [operatingSystem] [browser], Locatie: [city], [countryCode]";

/// Everything known: the seed's example.
fn utrecht() -> Values<'static> {
    Values {
        message: XYZ,
        operating_system: Some("Mac 10.14"),
        browser: Some("Chrome 73.0"),
        country_code: Some("NL"),
        region: Some("Provincie Utrecht"),
        city: Some("Utrecht"),
    }
}

/// The seed's values with message `msg`, changed by `change`.
fn msg_with(change: impl FnOnce(&mut Values<'static>)) -> Values<'static> {
    let mut values = Values {
        message: "msg",
        ..utrecht()
    };
    change(&mut values);
    values
}

/// The seed's values with those `known` (a bit per value, in `Values`' order) kept.
fn with_known(known: u8) -> Values<'static> {
    let all = utrecht();
    let keep = |bit: u8, value: Option<&'static str>| value.filter(|_| known & (1 << bit) != 0);
    Values {
        message: if known & 1 != 0 { all.message } else { "" },
        operating_system: keep(1, all.operating_system),
        browser: keep(2, all.browser),
        country_code: keep(3, all.country_code),
        region: keep(4, all.region),
        city: keep(5, all.city),
    }
}

/// The text the default template must give for `v`, built from its meaning rather than the
/// renderer's rules: message, "Device: " and the device, "Location: " and the location, each
/// part shown only when it has something to show.
fn default_expected(v: &Values<'_>) -> String {
    let join = |values: &[Option<&str>], separator| {
        values
            .iter()
            .flatten()
            .copied()
            .collect::<Vec<_>>()
            .join(separator)
    };
    let device = join(&[v.operating_system, v.browser], " ");
    let location = join(&[v.country_code, v.region, v.city], ", ");
    let mut out = v.message.to_owned();
    if !device.is_empty() {
        out += &format!("{}Device: {device}", if out.is_empty() { "" } else { " " });
    }
    if !location.is_empty() {
        let joiner = match (v.message.is_empty(), device.is_empty()) {
            (_, false) => ", ",
            (false, true) => " ",
            (true, true) => "",
        };
        out += &format!("{joiner}Location: {location}");
    }
    out
}

/// What no rendering may contain: a separator with nothing after it.
#[track_caller]
fn assert_tidy(text: &str) {
    for bad in [
        "  ", " ,", ",,", ", ,", ": ,", ":,", ", :", ": :", "/ /", "- -",
    ] {
        assert!(!text.contains(bad), "{text:?} contains {bad:?}");
    }
    assert_eq!(text, text.trim(), "{text:?} has spaces at an end");
    if let Some(last) = text.chars().last() {
        assert!(!",:;/-".contains(last), "{text:?} ends with a separator");
    }
    if let Some(first) = text.chars().next() {
        assert!(!",:;/-".contains(first), "{text:?} starts with a separator");
    }
}

#[test]
fn the_seeds_default_example_is_exact() {
    assert_eq!(
        render(DEFAULT_CONFIRMATION_TEMPLATE, &utrecht()),
        "You are logging into the XYZ portal. Device: Mac 10.14 Chrome 73.0, \
         Location: NL, Provincie Utrecht, Utrecht"
    );
}

#[test]
fn the_seeds_second_example_is_exact() {
    let values = Values {
        message: "You are logging into the XYZ portal",
        ..utrecht()
    };
    assert_eq!(
        render(USING, &values),
        "You are logging into the XYZ portal using Chrome 73.0 from Utrecht, NL"
    );
}

#[test]
fn unknown_values_leave_with_their_words() {
    for (values, expected) in [
        (
            msg_with(|v| (v.operating_system, v.browser) = (None, None)),
            "msg Location: NL, Provincie Utrecht, Utrecht",
        ),
        (
            msg_with(|v| (v.country_code, v.region, v.city) = (None, None, None)),
            "msg Device: Mac 10.14 Chrome 73.0",
        ),
        (
            msg_with(|v| v.region = None),
            "msg Device: Mac 10.14 Chrome 73.0, Location: NL, Utrecht",
        ),
        (
            msg_with(|v| v.country_code = None),
            "msg Device: Mac 10.14 Chrome 73.0, Location: Provincie Utrecht, Utrecht",
        ),
        (
            msg_with(|v| (v.city, v.operating_system) = (None, None)),
            "msg Device: Chrome 73.0, Location: NL, Provincie Utrecht",
        ),
        (
            msg_with(|v| {
                *v = Values {
                    message: "msg",
                    ..Values::default()
                }
            }),
            "msg",
        ),
    ] {
        assert_eq!(render(DEFAULT_CONFIRMATION_TEMPLATE, &values), expected);
    }
}

#[test]
fn every_combination_of_unknown_values_renders_cleanly() {
    for known in 0..64u8 {
        let values = with_known(known);
        let text = render(DEFAULT_CONFIRMATION_TEMPLATE, &values);
        assert_eq!(text, default_expected(&values), "known = {known:06b}");
        assert_tidy(&text);
        let device = values.operating_system.is_some() || values.browser.is_some();
        let place =
            values.country_code.is_some() || values.region.is_some() || values.city.is_some();
        assert_eq!(text.contains("Device:"), device, "{text:?}");
        assert_eq!(text.contains("Location:"), place, "{text:?}");
    }
}

#[test]
fn the_second_template_drops_what_is_unknown() {
    for (values, expected) in [
        (msg_with(|v| v.browser = None), "msg from Utrecht, NL"),
        (msg_with(|v| v.city = None), "msg using Chrome 73.0 from NL"),
        (
            msg_with(|v| v.country_code = None),
            "msg using Chrome 73.0 from Utrecht",
        ),
        (
            msg_with(|v| (v.country_code, v.city) = (None, None)),
            "msg using Chrome 73.0",
        ),
    ] {
        assert_eq!(render(USING, &values), expected);
    }
    for known in 0..64u8 {
        assert_tidy(&render(USING, &with_known(known)));
    }
}

#[test]
fn placeholders_may_come_in_any_order() {
    let all = utrecht();
    let template = "[city] ([countryCode]) on [browser] / [operatingSystem]: [message]";
    assert_eq!(
        render(template, &all),
        format!("Utrecht (NL) on Chrome 73.0 / Mac 10.14: {XYZ}")
    );
    let no_os = Values {
        operating_system: None,
        ..all
    };
    assert_eq!(
        render(template, &no_os),
        format!("Utrecht (NL) on Chrome 73.0: {XYZ}")
    );
    let no_device = Values {
        operating_system: None,
        browser: None,
        ..all
    };
    assert_eq!(render(template, &no_device), format!("Utrecht (NL): {XYZ}"));

    // One group of everything but the message, then the message.
    let template = "[countryCode], [region], [city] | [operatingSystem] [browser] | [message]";
    let no_ua_no_region = Values {
        operating_system: None,
        browser: None,
        region: None,
        ..all
    };
    assert_eq!(
        render(template, &no_ua_no_region),
        format!("NL, Utrecht | {XYZ}")
    );
    let only_message = Values {
        message: XYZ,
        ..Values::default()
    };
    assert_eq!(render(template, &only_message), XYZ);

    // A label before the message stays with the message.
    let template = "From [city], [countryCode] with [browser]. Note: [message]";
    let no_browser = Values {
        browser: None,
        ..all
    };
    assert_eq!(
        render(template, &no_browser),
        format!("From Utrecht, NL. Note: {XYZ}")
    );
    let template = "From [city] on [operatingSystem]: [message]";
    assert_eq!(render(template, &no_device), format!("From Utrecht: {XYZ}"));
    // Text before the first placeholder and after the last stays.
    let template = "Login: [message] ([city]).";
    assert_eq!(render(template, &all), format!("Login: {XYZ} (Utrecht)."));
    assert_eq!(
        render(template, &Values { city: None, ..all }),
        format!("Login: {XYZ}.")
    );
    // Parentheses go with the value they hold.
    let template = "[message] [city] ([countryCode])";
    let no_city = Values { city: None, ..all };
    assert_eq!(render(template, &no_city), format!("{XYZ} (NL)"));
    let no_country = Values {
        country_code: None,
        ..all
    };
    assert_eq!(render(template, &no_country), format!("{XYZ} Utrecht"));
}

#[test]
fn a_non_english_template_renders_the_same_way() {
    assert_eq!(
        render(
            NL,
            &Values {
                message: "Inloggen bij XYZ.",
                ..utrecht()
            }
        ),
        "Inloggen bij XYZ. Apparaat: Mac 10.14 Chrome 73.0, Locatie: Utrecht, NL"
    );
    let no_ua = Values {
        message: "Inloggen bij XYZ.",
        operating_system: None,
        browser: None,
        ..utrecht()
    };
    assert_eq!(render(NL, &no_ua), "Inloggen bij XYZ. Locatie: Utrecht, NL");
    let only_country = Values {
        message: "Inloggen bij XYZ.",
        city: None,
        region: None,
        ..utrecht()
    };
    assert_eq!(
        render(NL, &only_country),
        "Inloggen bij XYZ. Apparaat: Mac 10.14 Chrome 73.0, Locatie: NL"
    );
    let ja = "[message] 端末：[operatingSystem] [browser]、場所：[city]、[countryCode]";
    let no_city = Values {
        message: "XYZにログイン",
        city: None,
        ..utrecht()
    };
    assert_eq!(
        render(ja, &no_city),
        "XYZにログイン 端末：Mac 10.14 Chrome 73.0、場所：NL"
    );
}

#[test]
fn values_are_inserted_verbatim_and_cleaned() {
    let values = Values {
        message: "  two\nlines\u{0}and [city] \t ",
        operating_system: Some("\u{1b}[31mMac\u{202E} 10.14"),
        browser: Some("   "),
        country_code: Some("[NL"),
        region: None,
        city: Some("Den  Haag"),
    };
    assert_eq!(
        render(DEFAULT_CONFIRMATION_TEMPLATE, &values),
        "two lines and [city] Device: [31mMac 10.14, Location: [NL, Den Haag"
    );
}

#[test]
fn bracketed_text_that_is_no_placeholder_stays() {
    let all = utrecht();
    assert_eq!(
        render("[message] [City] [[city]] [", &all),
        format!("{XYZ} [City] [Utrecht] [")
    );
    assert_eq!(render("", &all), "");
    assert_eq!(render("no placeholders", &all), "no placeholders");
}

#[test]
fn an_empty_message_is_unknown_too() {
    let values = Values {
        message: " ",
        ..utrecht()
    };
    assert_eq!(
        render(DEFAULT_CONFIRMATION_TEMPLATE, &values),
        "Device: Mac 10.14 Chrome 73.0, Location: NL, Provincie Utrecht, Utrecht"
    );
}

#[test]
fn location_precision_limits_what_is_shown() {
    let location = Location {
        country_code: Some("NL".into()),
        region: Some("Provincie Utrecht".into()),
        city: Some("Utrecht".into()),
    };
    let base = Values {
        message: "m",
        ..Values::default()
    };
    let shown = |precision| {
        let v = base.with_location(&location, precision);
        (v.country_code, v.region, v.city)
    };
    assert_eq!(
        shown(LocationPrecision::City),
        (Some("NL"), Some("Provincie Utrecht"), Some("Utrecht"))
    );
    assert_eq!(
        shown(LocationPrecision::Region),
        (Some("NL"), Some("Provincie Utrecht"), None)
    );
    assert_eq!(shown(LocationPrecision::Country), (Some("NL"), None, None));
    assert_eq!(shown(LocationPrecision::None), (None, None, None));

    // What the provider did not know stays unknown; the rest of the values are untouched.
    let partial = Location {
        country_code: Some("NL".into()),
        ..Location::default()
    };
    let v = Values {
        browser: Some("Chrome 73.0"),
        ..base
    }
    .with_location(&partial, LocationPrecision::City);
    assert_eq!(
        render(DEFAULT_CONFIRMATION_TEMPLATE, &v),
        "m Device: Chrome 73.0, Location: NL"
    );
}

#[test]
fn the_language_picks_the_template_then_english_then_the_default() {
    let templates = BTreeMap::from([
        ("en".to_owned(), USING.to_owned()),
        ("nl".to_owned(), NL.to_owned()),
    ]);
    assert_eq!(template_for(&templates, "nl"), NL);
    assert_eq!(template_for(&templates, "de"), USING);
    assert_eq!(template_for(&templates, ""), USING);
    assert_eq!(
        template_for(&BTreeMap::new(), "nl"),
        DEFAULT_CONFIRMATION_TEMPLATE
    );
}

#[test]
fn the_renderer_knows_exactly_the_configs_placeholders() {
    for name in PLACEHOLDERS {
        assert!(Slot::named(name).is_some(), "[{name}] is not rendered");
    }
    for name in ["Message", "country", "os", ""] {
        assert_eq!(Slot::named(name), None);
    }
}

// === properties ===

/// Word-like values (what providers and the user-agent parser give), or unknown.
fn value() -> impl Strategy<Value = Option<String>> {
    prop::option::of("[A-Za-zÀ-ÿ0-9]{1,8}( [A-Za-z0-9.]{0,6}[A-Za-z0-9]){0,2}")
}

fn template_shape() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        DEFAULT_CONFIRMATION_TEMPLATE,
        USING,
        NL,
        "[countryCode]/[region]/[city] - [operatingSystem] [browser]: [message]",
        "[message] Device: [browser] / [operatingSystem]; Location: [city] - [region] - [countryCode]",
        "Login ([message]): [city] ([countryCode]), [operatingSystem] ([browser])",
    ])
}

proptest! {
    #[test]
    fn rendering_never_leaves_a_dangling_separator(
        template in template_shape(),
        message in "[A-Za-z0-9]{0,6}( [A-Za-z0-9.]{0,6}[A-Za-z0-9])?",
        os in value(), browser in value(), country in value(), region in value(), city in value(),
    ) {
        let values = Values {
            message: &message,
            operating_system: os.as_deref(),
            browser: browser.as_deref(),
            country_code: country.as_deref(),
            region: region.as_deref(),
            city: city.as_deref(),
        };
        let text = render(template, &values);
        assert_tidy(&text);
        let named = [("message", Some(message.as_str())), ("operatingSystem", os.as_deref()),
                     ("browser", browser.as_deref()), ("countryCode", country.as_deref()),
                     ("region", region.as_deref()), ("city", city.as_deref())];
        for (name, value) in named {
            if let Some(known) = value.filter(|_| template.contains(&format!("[{name}]"))) {
                // Values are trimmed.
                prop_assert!(text.contains(known.trim()), "{:?} lacks {:?}", text, known);
            }
        }
        for (label, shown) in [
            ("Device:", os.is_some() || browser.is_some()),
            ("Location:", country.is_some() || region.is_some() || city.is_some()),
        ] {
            if template.contains(label) {
                prop_assert_eq!(text.contains(label), shown, "{:?}", text);
            }
        }
    }

    #[test]
    fn rendering_anything_never_panics(
        template in any::<String>(),
        message in any::<String>(),
        os in prop::option::of(any::<String>()),
        city in prop::option::of(".*"),
    ) {
        let values = Values {
            message: &message,
            operating_system: os.as_deref(),
            city: city.as_deref(),
            ..Values::default()
        };
        let text = render(&template, &values);
        prop_assert!(!text.chars().any(|c| c.is_control() && !template.contains(c)));
    }
}
