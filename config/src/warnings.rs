//! Settings that are valid but unsafe in production. The embedded default config uses some of
//! them on purpose (a demo needs no SMS provider); a config file that keeps them gets one clear
//! warning each at start and from `tessera config check`.

use crate::schema::{Config, SmsGatewayKind};

/// One warning, with the path of the setting it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The warnings `config` deserves when it comes from a file.
pub fn warnings(config: &Config) -> Vec<Warning> {
    let mut out = Vec::new();
    // `console` is built in; a declared gateway of kind console prints just the same.
    let console = config.sms.gateways.iter().position(|name| {
        match config.sms_gateways.iter().find(|g| &g.name == name) {
            Some(g) => g.kind == SmsGatewayKind::Console,
            None => name == "console",
        }
    });
    if let Some(i) = console {
        out.push(Warning {
            path: format!("sms.gateways[{i}]"),
            message: "the console gateway prints SMS codes to standard output instead of \
                      sending them: for development only"
                .into(),
        });
    }
    if !config.general.callback_allow_list_enabled {
        out.push(Warning {
            path: "general.callback_allow_list_enabled".into(),
            message: "the callback allow list is off: any API client can make Tessera POST to \
                      any URL it names (internal addresses included); declare \
                      [[callback_configs]] and set it to true"
                .into(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DEFAULT_CONFIG, load_str};

    fn paths(toml: &str) -> Vec<String> {
        let config = load_str(toml, &|_| None).unwrap_or_else(|e| panic!("{e}"));
        warnings(&config).into_iter().map(|w| w.path).collect()
    }

    #[test]
    fn the_demo_settings_are_named() {
        assert_eq!(
            paths(DEFAULT_CONFIG),
            ["sms.gateways[0]", "general.callback_allow_list_enabled"]
        );
    }

    #[test]
    fn a_production_config_has_none() {
        let toml = r#"
            [general]
            callback_allow_list_enabled = true
            [sms]
            gateways = ["relay"]
            [[sms_gateways]]
            name = "relay"
            kind = "rest"
            url = "https://sms.example.com/send"
            [[callback_configs]]
            url = "https://portal.example.com/cb"
        "#;
        assert!(paths(toml).is_empty());
    }

    #[test]
    fn a_declared_console_gateway_counts_too() {
        let toml = r#"
            [general]
            callback_allow_list_enabled = true
            [sms]
            gateways = ["relay", "screen"]
            [[sms_gateways]]
            name = "relay"
            kind = "rest"
            url = "https://sms.example.com/send"
            [[sms_gateways]]
            name = "screen"
            kind = "console"
        "#;
        assert_eq!(paths(toml), ["sms.gateways[1]"]);
    }
}
