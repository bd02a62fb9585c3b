//! Secrets given inline, as `*_env` or as `*_file`, and API client secret hashing.

use super::*;

/// A client secret of the minimum strength (26 characters) and its SHA-256.
const SECRET: &str = "abcdefghijklmnopqrstuvwxyz";
const SHA256_SECRET: &str = "71c480df93d6ae2f1efad1447c66c9525e316218cf51fc8d9ed832f2daf18b73";

fn twilio(auth: &str) -> String {
    format!(
        "[sms]\ngateways = [\"tw\"]\n[[sms_gateways]]\nname = \"tw\"\naccount_sid = \"AC1\"\nfrom = \"+31600000000\"\n{auth}\n"
    )
}

fn toml_str(path: &std::path::Path) -> String {
    format!("{:?}", path.display().to_string())
}

#[test]
fn an_inline_secret_stays_as_given() {
    let c = load_ok(&twilio("auth_token = \"inline\""));
    assert_eq!(c.sms_gateways[0].auth_token, "inline");
}

#[test]
fn an_env_secret_is_read_into_the_inline_field_and_the_twin_cleared() {
    let c = load_with_env(
        &twilio("auth_token_env = \"TWILIO_TOKEN\""),
        &[("TWILIO_TOKEN", "from-env")],
    )
    .unwrap();
    let gateway = &c.sms_gateways[0];
    assert_eq!(gateway.auth_token, "from-env");
    assert_eq!(gateway.auth_token_env, "");
}

#[test]
fn a_file_secret_loses_exactly_one_trailing_newline() {
    let path = temp_file("twilio-token", "from-file\n\n");
    let c = load_ok(&twilio(&format!("auth_token_file = {}", toml_str(&path))));
    assert_eq!(c.sms_gateways[0].auth_token, "from-file\n");
    assert_eq!(c.sms_gateways[0].auth_token_file, "");

    let path = temp_file("twilio-token-crlf", "crlf\r\n");
    let c = load_ok(&twilio(&format!("auth_token_file = {}", toml_str(&path))));
    assert_eq!(c.sms_gateways[0].auth_token, "crlf");
}

#[test]
fn giving_two_forms_of_a_secret_is_a_problem() {
    let problems = problems_with_env(
        &twilio("auth_token = \"a\"\nauth_token_env = \"TWILIO_TOKEN\""),
        &[("TWILIO_TOKEN", "b")],
    );
    assert_exactly(
        &problems,
        &[(
            "sms_gateways[0].auth_token",
            "give only one of auth_token, auth_token_env and auth_token_file",
        )],
    );
}

#[test]
fn a_missing_env_var_or_file_is_a_problem_at_the_twin_and_not_repeated() {
    let problems = problems_of(&twilio("auth_token_env = \"NOT_SET\""));
    assert_exactly(
        &problems,
        &[(
            "sms_gateways[0].auth_token_env",
            "environment variable NOT_SET is not set",
        )],
    );

    let problems = problems_of(&twilio("auth_token_file = \"/nonexistent/secret\""));
    assert_exactly(
        &problems,
        &[(
            "sms_gateways[0].auth_token_file",
            "cannot read /nonexistent/secret",
        )],
    );
}

/// A secret file is read up to 1 MiB: a device (`/dev/zero`) or a huge file is a problem, not a
/// read without end.
#[test]
fn a_secret_file_over_a_mebibyte_is_a_problem() {
    let problems = problems_of(&twilio("auth_token_file = \"/dev/zero\""));
    assert_exactly(
        &problems,
        &[(
            "sms_gateways[0].auth_token_file",
            "cannot read /dev/zero: larger than 1 MiB",
        )],
    );
}

#[test]
fn every_secret_has_env_and_file_twins() {
    let toml = with_defaults(
        r#"
        [geolocation]
        private_key_env = "S1"
        [proxy]
        password_env = "S2"
        [[callback_configs]]
        url = "https://portal.example.com/cb"
        password_env = "S3"
        signing_secret_env = "S4"
        [[sms_gateways]]
        name = "relay"
        kind = "rest"
        url = "https://relay.example.com/"
        password_env = "S5"
        [[push_configs]]
        id = "legacy"
        kind = "fcm_legacy"
        server_key_env = "S6"
        "#,
    );
    let vars = [
        ("S1", "one"),
        ("S2", "two"),
        ("S3", "three"),
        ("S4", "four"),
        ("S5", "five"),
        ("S6", "six"),
    ];
    let c = load_with_env(&toml, &vars).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.geolocation.private_key, "one");
    assert_eq!(c.proxy.password, "two");
    assert_eq!(c.callback_configs[0].password, "three");
    assert_eq!(c.callback_configs[0].signing_secret, "four");
    assert_eq!(c.sms_gateways[0].password, "five");
    assert_eq!(c.push_config("legacy").unwrap().server_key, "six");

    let path = temp_file("signing", "file-secret\n");
    let toml = format!(
        "[[callback_configs]]\nurl = \"https://p.example.com/\"\nsigning_secret_file = {}\n",
        toml_str(&path)
    );
    assert_eq!(
        load_ok(&toml).callback_configs[0].signing_secret,
        "file-secret"
    );
}

fn client(secret: &str) -> String {
    format!("[[api_clients]]\nid = \"portal\"\n{secret}\n")
}

#[test]
fn client_secrets_in_every_form_are_hashed_and_cleared() {
    let path = temp_file("portal-secret", &format!("{SECRET}\n"));
    let forms = [
        format!("secret = \"{SECRET}\""),
        "secret_env = \"PORTAL_SECRET\"".to_string(),
        format!("secret_file = {}", toml_str(&path)),
        format!("secret_sha256 = \"{}\"", SHA256_SECRET.to_uppercase()),
    ];
    for form in forms {
        let c = load_with_env(&client(&form), &[("PORTAL_SECRET", SECRET)])
            .unwrap_or_else(|e| panic!("{form}: {e}"));
        let client = &c.api_clients[0];
        assert_eq!(client.secret_sha256, SHA256_SECRET, "{form}");
        assert_eq!(
            (
                client.secret.as_str(),
                client.secret_env.as_str(),
                client.secret_file.as_str()
            ),
            ("", "", "")
        );
    }
}

#[test]
fn a_client_needs_exactly_one_valid_secret_form() {
    let problems = problems_of(&client(""));
    assert_exactly(&problems, &[("api_clients[0].secret_sha256", "missing")]);

    let problems = problems_of(&client(&format!(
        "secret = \"{SECRET}\"\nsecret_sha256 = \"{SHA256_SECRET}\""
    )));
    assert_exactly(
        &problems,
        &[("api_clients[0].secret_sha256", "give only one of")],
    );

    let problems = problems_of(&client("secret_sha256 = \"abc123\""));
    assert_exactly(
        &problems,
        &[("api_clients[0].secret_sha256", "64 hex characters")],
    );

    let problems = problems_of(&client(&format!("secret_sha256 = \"{}\"", "g".repeat(64))));
    assert_exactly(
        &problems,
        &[("api_clients[0].secret_sha256", "64 hex characters")],
    );

    let problems = problems_of(&client("secret_env = \"NOT_SET\""));
    assert_exactly(
        &problems,
        &[("api_clients[0].secret_env", "NOT_SET is not set")],
    );
}

#[test]
fn a_plain_secret_is_never_serialized() {
    let c = load_ok(&client(&format!("secret = \"{SECRET}\"")));
    let text = toml::to_string(&c).unwrap();
    assert!(!text.contains("abc\""), "{text}");
    assert!(text.contains(SHA256_SECRET));
}

#[test]
fn a_client_secret_under_128_bits_is_refused_in_every_form() {
    let short = "abcdefghijklmnopqrstu"; // 21 characters
    let path = temp_file("short-secret", &format!("{short}\n"));
    let forms = [
        (format!("secret = \"{short}\""), "api_clients[0].secret"),
        (
            "secret_env = \"SHORT\"".to_string(),
            "api_clients[0].secret",
        ),
        (
            format!("secret_file = {}", toml_str(&path)),
            "api_clients[0].secret",
        ),
    ];
    for (form, path) in forms {
        let problems = load_with_env(&client(&form), &[("SHORT", short)])
            .expect_err(&form)
            .to_string();
        assert!(
            problems.contains(path) && problems.contains("at least 22 characters"),
            "{form}: {problems}"
        );
        assert!(
            !problems.contains(short),
            "the secret itself is never echoed: {problems}"
        );
    }
    // 22 characters is enough.
    let ok = load_ok(&client("secret = \"abcdefghijklmnopqrstuv\""));
    assert_eq!(ok.api_clients[0].secret_sha256.len(), 64);
}

#[test]
fn the_hash_key_has_env_and_file_twins_and_a_minimum_length() {
    let key = "k".repeat(32);
    let path = temp_file("hash-key", &format!("{key}\n"));
    for form in [
        format!("hash_key = \"{key}\""),
        "hash_key_env = \"HASH_KEY\"".to_string(),
        format!("hash_key_file = {}", toml_str(&path)),
    ] {
        let c = load_with_env(&format!("[store]\n{form}\n"), &[("HASH_KEY", key.as_str())])
            .unwrap_or_else(|e| panic!("{form}: {e}"));
        assert_eq!(c.store.hash_key, key, "{form}");
    }
    let problems = problems_of("[store]\nhash_key = \"short\"\n");
    assert_exactly(&problems, &[("store.hash_key", "at least 32 characters")]);
    let problems = problems_of("[store]\nkind = \"redis\"\n");
    assert_exactly(&problems, &[("store.hash_key", "required with redis")]);
}

#[test]
fn custom_verifier_signing_secret_has_env_and_file_twins() {
    let app = |secret: &str| {
        format!(
            "[[applications]]\nid = \"acme\"\ncustom_verifier_url = \"https://v.example.com/\"\n{secret}\n"
        )
    };
    let c = load_with_env(
        &app("custom_verifier_signing_secret_env = \"VERIFIER\""),
        &[("VERIFIER", "from-env")],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let a = &c.applications[0];
    assert_eq!(a.custom_verifier_signing_secret, "from-env");
    assert_eq!(a.custom_verifier_signing_secret_env, "");

    let path = temp_file("verifier", "from-file\n");
    let c = load_ok(&app(&format!(
        "custom_verifier_signing_secret_file = {}",
        toml_str(&path)
    )));
    assert_eq!(
        c.applications[0].custom_verifier_signing_secret,
        "from-file"
    );
    assert_eq!(c.applications[0].custom_verifier_signing_secret_file, "");
}
