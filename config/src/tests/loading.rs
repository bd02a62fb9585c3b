//! Unknown keys, type errors and how problems are gathered and shown.

use std::time::Duration;

use super::*;
use crate::check;

#[test]
fn unknown_keys_are_reported_at_every_depth_with_their_paths() {
    let problems = problems_of(
        r#"
        colour = "blue"
        [server]
        listn = "0.0.0.0:1"
        [[mobile_auth_types]]
        name = "sms"
        [[mobile_auth_types]]
        name = "sms2"
        max_attemps = 5
        [mobile_auth_types.default_messages]
        en = "free keys here: {code}"
        [[applications]]
        id = "a"
        [[applications.versions]]
        version = "1"
        push_config = "log"
        [[applications.versions]]
        version = "2"
        push_config = "log"
        bundle = "x"
        [[push_configs]]
        id = "log"
        kind = "log"
        [geolocation.templates]
        en = "the keys of templates are languages, not schema keys"
        "#,
    );
    assert_exactly(
        &problems,
        &[
            ("colour", "unknown key"),
            ("server.listn", "did you mean `listen`?"),
            (
                "mobile_auth_types[1].max_attemps",
                "did you mean `max_attempts`?",
            ),
            ("applications[0].versions[1].bundle", "unknown key"),
        ],
    );
}

#[test]
fn unknown_keys_and_validation_problems_are_reported_together() {
    let problems = problems_of(
        r#"
        [general]
        max_mesage_length = 10
        supported_locales = []
        [[mobile_auth_types]]
        name = "sms"
        code_length = 2
        "#,
    );
    assert_exactly(
        &problems,
        &[
            (
                "general.max_mesage_length",
                "did you mean `max_message_length`?",
            ),
            ("general.supported_locales", "must not be empty"),
            ("mobile_auth_types[0].code_length", "between 4 and 10"),
            (
                "mobile_auth_types[0].default_messages.en",
                "not in general.supported_locales",
            ),
            (
                "geolocation.templates.en",
                "not in general.supported_locales",
            ),
        ],
    );
}

#[test]
fn type_errors_name_their_path_and_each_section_and_item_is_checked() {
    let problems = problems_of(
        r#"
        [server]
        listen = 5
        [store]
        kind = "postgres"
        [[mobile_auth_types]]
        name = "ok"
        [[mobile_auth_types]]
        name = "late"
        time_to_live = "soon"
        [[mobile_auth_types]]
        name = "bad"
        method = "carrier_pigeon"
        [[api_clients]]
        id = "x"
        unknown_too = 1
        "#,
    );
    assert_exactly(
        &problems,
        &[
            ("api_clients[0].unknown_too", "unknown key"),
            ("server.listen", "invalid type"),
            ("store.kind", "unknown variant `postgres`"),
            ("mobile_auth_types[1].time_to_live", ""),
            (
                "mobile_auth_types[2].method",
                "unknown variant `carrier_pigeon`",
            ),
        ],
    );
}

#[test]
fn nested_list_items_and_whole_sections_of_the_wrong_shape_are_reported() {
    let problems = problems_of(
        r#"
        mobile_auth_types = 5
        proxy = "none"
        [[applications]]
        id = "a"
        [[applications.versions]]
        platform = "windows_phone"
        "#,
    );
    assert_exactly(
        &problems,
        &[
            (
                "mobile_auth_types",
                "expected an array of tables, found integer",
            ),
            ("proxy", "invalid type"),
            (
                "applications[0].versions[0].platform",
                "unknown variant `windows_phone`",
            ),
        ],
    );
}

#[test]
fn blank_optional_values_mean_none() {
    let c = load_ok(&with_defaults(
        "[server]\nops_listen = \"\"\n[[mobile_auth_types]]\nname = \"p\"\nmethod = \"push\"\nfallback_after = \"\"\n",
    ));
    assert_eq!(c.server.ops_listen, None);
    assert_eq!(c.mobile_auth_type("p").unwrap().fallback_after, None);

    let c = load_ok(&with_defaults(
        "[server]\nops_listen = \"0.0.0.0:9090\"\n[[mobile_auth_types]]\nname = \"p\"\nmethod = \"push\"\nfallback = \"sms\"\nfallback_after = \"20s\"\n",
    ));
    assert_eq!(c.server.ops_listen, Some("0.0.0.0:9090".parse().unwrap()));
    assert_eq!(
        c.mobile_auth_type("p").unwrap().fallback_after,
        Some(Duration::from_secs(20))
    );
}

#[test]
fn a_bad_optional_value_is_a_type_error_at_its_path() {
    let problems = problems_of("[server]\nops_listen = \"everywhere\"\n");
    assert_exactly(
        &problems,
        &[("server.ops_listen", "invalid socket address `everywhere`")],
    );
}

#[test]
fn durations_are_humantime_strings() {
    let c = load_ok("[store]\nresult_retention = \"1h 30m\"\n[sms]\nfailover_cooldown = \"90s\"\n");
    assert_eq!(c.store.result_retention, Duration::from_secs(5400));
    assert_eq!(c.sms.failover_cooldown, Duration::from_secs(90));
}

#[test]
fn a_syntax_error_is_reported_with_its_position_and_no_field_problems() {
    let error = load_with_env("[server\nlisten = 1", &[]).unwrap_err();
    assert!(matches!(error, Error::Syntax { .. }));
    assert!(error.to_string().contains("line 1"), "{error}");
    assert!(error.problems().is_empty());
}

#[test]
fn display_prints_one_problem_per_line() {
    let error = load_with_env("a = 1\n[server]\nb = 2\n", &[]).unwrap_err();
    assert_eq!(error.to_string(), "a: unknown key\nserver.b: unknown key");
    assert_eq!(error.problems().len(), 2);
    assert_eq!(error.problems()[1], Problem::new("server.b", "unknown key"));
}

#[test]
fn check_reads_a_file_and_reports_its_problems() {
    let path = temp_file("check-bad.toml", "[general]\nmax_message_length = 0\n");
    let error = check(&path).unwrap_err();
    assert_exactly(
        error.problems(),
        &[("general.max_message_length", "between 1 and 1600")],
    );

    let path = temp_file("check-good.toml", DEFAULT_CONFIG);
    assert!(check(&path).is_ok());
}

#[test]
fn check_of_a_missing_file_is_a_read_error() {
    let error = check(std::path::Path::new("/nonexistent/tessera.toml")).unwrap_err();
    assert!(matches!(error, Error::Read { .. }));
    assert!(
        error
            .to_string()
            .starts_with("cannot read /nonexistent/tessera.toml"),
        "{error}"
    );
}

#[test]
fn every_bad_field_of_one_table_is_reported() {
    let problems = problems_of(
        r#"
        [server]
        listen = 5
        ops_listen = "anywhere"
        workers = -1
        [[api_clients]]
        id = "x"
        secret = "s-0123456789abcdef0123456789"
        scopes = ["root"]
        allowed_ips = ["10.0.0.0/33"]
        [[applications]]
        id = "a"
        pin_enabled = "yes"
        [[applications.versions]]
        platform = "windows_phone"
        status = "retired"
        "#,
    );
    assert_exactly(
        &problems,
        &[
            ("server.listen", "expected socket address"),
            ("server.ops_listen", "invalid socket address `anywhere`"),
            ("server.workers", "expected usize"),
            ("api_clients[0].scopes[0]", "unknown variant `root`"),
            ("api_clients[0].allowed_ips[0]", "invalid IP address"),
            ("applications[0].pin_enabled", "expected a boolean"),
            (
                "applications[0].versions[0].platform",
                "unknown variant `windows_phone`",
            ),
            (
                "applications[0].versions[0].status",
                "unknown variant `retired`",
            ),
        ],
    );
}
