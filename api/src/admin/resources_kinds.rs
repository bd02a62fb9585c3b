//! The collections of [`super::resources`]: which field is the key, which are secrets, and
//! what refers to an item (so deleting it is `409 in_use`).

use tessera_config::{Application, CallbackConfig, Config, MobileAuthType, PushConfig, SmsGateway};

use super::resources::Resource;

impl Resource for MobileAuthType {
    const PATH: &'static str = "mobile-auth-types";
    const SECTION: &'static str = "mobile_auth_types";
    const KEY: &'static str = "name";
    const MISSING: &'static str = "no mobile auth type with this name";

    fn key(&self) -> &str {
        &self.name
    }
    fn items(cfg: &Config) -> &[Self] {
        &cfg.mobile_auth_types
    }
    fn items_mut(cfg: &mut Config) -> &mut Vec<Self> {
        &mut cfg.mobile_auth_types
    }
    fn used_by(cfg: &Config, key: &str) -> Option<String> {
        let other = cfg
            .mobile_auth_types
            .iter()
            .find(|t| t.name != key && t.fallback == key)?;
        Some(format!(
            "mobile auth type `{}` falls back to it",
            other.name
        ))
    }
}

impl Resource for Application {
    const PATH: &'static str = "applications";
    const SECTION: &'static str = "applications";
    const KEY: &'static str = "id";
    const MISSING: &'static str = "no application with this id";

    fn key(&self) -> &str {
        &self.id
    }
    fn items(cfg: &Config) -> &[Self] {
        &cfg.applications
    }
    fn items_mut(cfg: &mut Config) -> &mut Vec<Self> {
        &mut cfg.applications
    }
    fn secrets_mut(&mut self) -> Vec<&mut String> {
        vec![&mut self.custom_verifier_signing_secret]
    }
    fn twins(&self) -> Vec<(&'static str, &str)> {
        vec![
            (
                "custom_verifier_signing_secret_env",
                &self.custom_verifier_signing_secret_env,
            ),
            (
                "custom_verifier_signing_secret_file",
                &self.custom_verifier_signing_secret_file,
            ),
        ]
    }
}

impl Resource for PushConfig {
    const PATH: &'static str = "push-configs";
    const SECTION: &'static str = "push_configs";
    const KEY: &'static str = "id";
    const MISSING: &'static str = "no push config with this id";

    fn key(&self) -> &str {
        &self.id
    }
    fn items(cfg: &Config) -> &[Self] {
        &cfg.push_configs
    }
    fn items_mut(cfg: &mut Config) -> &mut Vec<Self> {
        &mut cfg.push_configs
    }
    fn secrets_mut(&mut self) -> Vec<&mut String> {
        vec![&mut self.server_key]
    }
    fn twins(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("server_key_env", &self.server_key_env),
            ("server_key_file", &self.server_key_file),
        ]
    }
    fn used_by(cfg: &Config, key: &str) -> Option<String> {
        cfg.applications.iter().find_map(|app| {
            let v = app.versions.iter().find(|v| v.push_config == key)?;
            Some(format!(
                "application `{}` version {} {} pushes through it",
                app.id,
                v.platform.as_str(),
                v.version
            ))
        })
    }
}

impl Resource for CallbackConfig {
    const PATH: &'static str = "callback-configs";
    const SECTION: &'static str = "callback_configs";
    const KEY: &'static str = "url";
    const MISSING: &'static str = "no callback config with this url";

    fn key(&self) -> &str {
        &self.url
    }
    fn items(cfg: &Config) -> &[Self] {
        &cfg.callback_configs
    }
    fn items_mut(cfg: &mut Config) -> &mut Vec<Self> {
        &mut cfg.callback_configs
    }
    fn secrets_mut(&mut self) -> Vec<&mut String> {
        vec![&mut self.password, &mut self.signing_secret]
    }
    fn twins(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("password_env", &self.password_env),
            ("password_file", &self.password_file),
            ("signing_secret_env", &self.signing_secret_env),
            ("signing_secret_file", &self.signing_secret_file),
        ]
    }
    /// The URL without user info or query, which could carry credentials.
    fn shown(key: &str) -> String {
        let no_query = key.split(['?', '#']).next().unwrap_or_default();
        match no_query.split_once("://") {
            Some((scheme, rest)) => {
                let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
                let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
                format!("{scheme}://{host}/{path}")
            }
            None => no_query.to_owned(),
        }
    }
}

impl Resource for SmsGateway {
    const PATH: &'static str = "sms-gateways";
    const SECTION: &'static str = "sms_gateways";
    const KEY: &'static str = "name";
    const MISSING: &'static str = "no SMS gateway with this name";

    fn key(&self) -> &str {
        &self.name
    }
    fn items(cfg: &Config) -> &[Self] {
        &cfg.sms_gateways
    }
    fn items_mut(cfg: &mut Config) -> &mut Vec<Self> {
        &mut cfg.sms_gateways
    }
    fn secrets_mut(&mut self) -> Vec<&mut String> {
        vec![&mut self.auth_token, &mut self.password]
    }
    fn twins(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("auth_token_env", &self.auth_token_env),
            ("auth_token_file", &self.auth_token_file),
            ("password_env", &self.password_env),
            ("password_file", &self.password_file),
        ]
    }
    fn used_by(cfg: &Config, key: &str) -> Option<String> {
        cfg.sms
            .gateways
            .iter()
            .any(|g| g == key)
            .then(|| "sms.gateways lists it: PUT /admin/v1/sms without it first".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callback_url_in_an_event_shows_no_credentials() {
        assert_eq!(
            CallbackConfig::shown("https://u:p@portal.example/cb?token=x"),
            "https://portal.example/cb"
        );
        assert_eq!(
            CallbackConfig::shown("https://portal.example/a@b"),
            "https://portal.example/a@b"
        );
    }
}
