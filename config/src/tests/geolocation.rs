//! `[geolocation]`'s confirmation templates: a file with good ones loads, an unknown or empty
//! one is refused under `geolocation.templates.<language>`.

use super::*;
use crate::*;

const NL: &str = "[message] Apparaat: [operatingSystem] [browser], Locatie: [city], [countryCode]";

#[test]
fn a_file_with_good_templates_loads() {
    let c = load_ok(&format!(
        r#"
        [general]
        supported_locales = ["en", "nl"]
        [geolocation]
        enabled = true
        location_precision = "region"
        [geolocation.templates]
        en = "[message] using [browser] from [city], [countryCode]"
        nl = "{NL}"
        "#
    ));
    let templates = &c.geolocation.templates;
    assert_eq!(
        templates.get("en").map(String::as_str),
        Some("[message] using [browser] from [city], [countryCode]")
    );
    assert_eq!(templates.get("nl").map(String::as_str), Some(NL));
    assert_eq!(c.geolocation.location_precision, LocationPrecision::Region);
}

#[test]
fn an_unknown_placeholder_is_refused_with_its_language_named() {
    let problems = problems_of(
        r#"
        [general]
        supported_locales = ["en", "nl", "de"]
        [geolocation.templates]
        en = "[message] Device: [operatingSystem] [browser], Location: [country]"
        nl = "[message] Locatie: [City]"
        de = "[message] Gerät: [browser]"
        "#,
    );
    assert_exactly(
        &problems,
        &[
            (
                "geolocation.templates.en",
                "unknown placeholder `[country]` (known: [message], [operatingSystem], \
                 [browser], [countryCode], [region], [city])",
            ),
            (
                "geolocation.templates.nl",
                "unknown placeholder `[City]`: placeholders are case-sensitive, write `[city]`",
            ),
        ],
    );
}

#[test]
fn an_empty_template_is_refused() {
    let problems = problems_of(
        r#"
        [geolocation.templates]
        en = "  "
        "#,
    );
    assert_exactly(
        &problems,
        &[("geolocation.templates.en", "must not be empty")],
    );
}

#[test]
fn templates_are_checked_while_geolocation_is_off() {
    let mut c = load_ok("");
    assert!(!c.geolocation.enabled);
    c.geolocation
        .templates
        .insert("en".into(), "[message] [stad]".into());
    let problems = match validate(&c) {
        Ok(()) => Vec::new(),
        Err(error) => error.problems().to_vec(),
    };
    assert_exactly(
        &problems,
        &[("geolocation.templates.en", "unknown placeholder `[stad]`")],
    );
}

#[test]
fn the_default_template_and_every_placeholder_pass() {
    assert_eq!(template_problem(DEFAULT_CONFIRMATION_TEMPLATE), None);
    let all: String = PLACEHOLDERS.iter().map(|p| format!("[{p}] ")).collect();
    assert_eq!(template_problem(&all), None);
    assert_eq!(template_problem("no placeholders at all"), None);
    // A bracket that holds another bracket is plain text up to the inner one.
    assert_eq!(template_problem("[[message]] ] [ and"), None);
}

#[test]
fn bracketed_finds_innermost_names_with_their_offsets() {
    let found: Vec<_> = bracketed("a [b] [[c]] [d [e] ]f[] [").collect();
    assert_eq!(found, vec![(2, "b"), (7, "c"), (15, "e"), (21, "")]);
    assert_eq!(
        template_problem("x []"),
        Some(
            "unknown placeholder `[]` (known: [message], [operatingSystem], [browser], \
             [countryCode], [region], [city])"
                .into()
        )
    );
    // Multi-byte text around brackets: offsets are byte offsets, never inside a character.
    let found: Vec<_> = bracketed("été [city] 🌍[region]").collect();
    assert_eq!(found, vec![(6, "city"), (17, "region")]);
}
