//! The configuration document: the sections the admin API manages, as JSON with their secret
//! values sealed ([`super::seal`]). The rest of the configuration (server, store, callbacks
//! delivery, geolocation, proxy) belongs to each node's file and is never shared.

use serde::{Deserialize, Serialize};
use tessera_config::{
    ApiClient, Application, CallbackConfig, Config, General, MobileAuthType, PushConfig, Sms,
    SmsGateway,
};

use super::seal;
use crate::txn::code_key::CodeKey;

/// Bumped when the document's shape changes incompatibly; a node refuses a format it does not
/// know rather than misreading it.
const FORMAT: u32 = 1;

/// The managed sections of a [`Config`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Managed {
    format: u32,
    general: General,
    sms: Sms,
    api_clients: Vec<ApiClient>,
    mobile_auth_types: Vec<MobileAuthType>,
    callback_configs: Vec<CallbackConfig>,
    sms_gateways: Vec<SmsGateway>,
    applications: Vec<Application>,
    push_configs: Vec<PushConfig>,
}

/// Why a stored document cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DocError {
    #[error("unreadable configuration document: {0}")]
    Unreadable(String),
    #[error("configuration document format {0} is not known to this node")]
    Format(u32),
    /// Sealed under another `store.hash_key`, or altered.
    #[error(
        "a secret of the configuration document does not unseal: is store.hash_key the same on every node?"
    )]
    Unseal,
}

impl Managed {
    /// The managed sections of `config`.
    pub(crate) fn of(config: &Config) -> Self {
        Self {
            format: FORMAT,
            general: config.general.clone(),
            sms: config.sms.clone(),
            api_clients: config.api_clients.clone(),
            mobile_auth_types: config.mobile_auth_types.clone(),
            callback_configs: config.callback_configs.clone(),
            sms_gateways: config.sms_gateways.clone(),
            applications: config.applications.clone(),
            push_configs: config.push_configs.clone(),
        }
    }

    /// `base` with its managed sections replaced by these.
    pub(crate) fn apply_to(self, base: &Config) -> Config {
        Config {
            general: self.general,
            sms: self.sms,
            api_clients: self.api_clients,
            mobile_auth_types: self.mobile_auth_types,
            callback_configs: self.callback_configs,
            sms_gateways: self.sms_gateways,
            applications: self.applications,
            push_configs: self.push_configs,
            ..base.clone()
        }
    }

    /// The document's bytes, every secret value sealed under `key`.
    pub(crate) fn encode(mut self, key: &CodeKey) -> Vec<u8> {
        for value in self.secrets_mut() {
            *value = seal::seal(key, value);
        }
        // Config types serialize infallibly (string keys only).
        serde_json::to_vec(&self).unwrap_or_default()
    }

    pub(crate) fn decode(bytes: &[u8], key: &CodeKey) -> Result<Self, DocError> {
        let mut doc: Self =
            serde_json::from_slice(bytes).map_err(|e| DocError::Unreadable(e.to_string()))?;
        if doc.format != FORMAT {
            return Err(DocError::Format(doc.format));
        }
        for value in doc.secrets_mut() {
            *value = seal::unseal(key, value).ok_or(DocError::Unseal)?;
        }
        Ok(doc)
    }

    /// Every secret value (API clients keep only a hash of theirs, which is not one).
    fn secrets_mut(&mut self) -> Vec<&mut String> {
        let mut out = Vec::new();
        for c in &mut self.callback_configs {
            out.push(&mut c.password);
            out.push(&mut c.signing_secret);
        }
        for g in &mut self.sms_gateways {
            out.push(&mut g.auth_token);
            out.push(&mut g.password);
        }
        for p in &mut self.push_configs {
            out.push(&mut p.server_key);
        }
        for a in &mut self.applications {
            out.push(&mut a.custom_verifier_signing_secret);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use tessera_config::{CallbackConfig, SmsGateway};

    use super::*;

    #[test]
    fn secrets_are_sealed_in_the_bytes_and_come_back() {
        let key = CodeKey::from_config("0123456789abcdef0123456789abcdef");
        let mut config = Config::default();
        config.callback_configs.push(CallbackConfig {
            url: "https://portal.example/cb".into(),
            username: "portal".into(),
            password: "cb-password-1".into(),
            signing_secret: "cb-signing-2".into(),
            ..Default::default()
        });
        config.sms_gateways.push(SmsGateway {
            name: "twilio".into(),
            auth_token: "twilio-token-3".into(),
            ..Default::default()
        });
        config.general.max_message_length = 99;
        let bytes = Managed::of(&config).encode(&key);
        let text = String::from_utf8(bytes.clone()).unwrap();
        for secret in ["cb-password-1", "cb-signing-2", "twilio-token-3"] {
            assert!(!text.contains(secret), "{secret} in clear");
        }
        assert!(text.contains("https://portal.example/cb"));
        let back = Managed::decode(&bytes, &key)
            .unwrap()
            .apply_to(&Config::default());
        assert_eq!(back.callback_configs, config.callback_configs);
        assert_eq!(back.sms_gateways, config.sms_gateways);
        assert_eq!(back.general.max_message_length, 99);
        let other = CodeKey::from_config("another-key-0123456789abcdef0123");
        assert!(matches!(
            Managed::decode(&bytes, &other),
            Err(DocError::Unseal)
        ));
        assert!(matches!(
            Managed::decode(b"{}", &key),
            Err(DocError::Unreadable(_))
        ));
    }
}
