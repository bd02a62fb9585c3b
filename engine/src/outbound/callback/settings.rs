//! What the dispatcher reads from the configuration: delivery limits and, per exact callback
//! URL, the credentials to call it with.

use std::collections::HashMap;
use std::time::Duration;

/// One snapshot; replaced whole when the configuration changes.
pub(super) struct Settings {
    pub timeout: Duration,
    pub max_tries: u32,
    pub initial_backoff: Duration,
    /// `[[callback_configs]]` by exact `url`.
    pub targets: HashMap<String, Target>,
}

/// Credentials for one `[[callback_configs]]` entry; empty strings in the file mean "none".
pub(super) struct Target {
    pub basic: Option<(String, String)>,
    pub signing_secret: Option<String>,
}

impl Settings {
    pub fn from_config(cfg: &tessera_config::Config) -> Self {
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let targets = cfg
            .callback_configs
            .iter()
            .map(|c| {
                let basic = non_empty(&c.username).map(|u| (u, c.password.clone()));
                let target = Target {
                    basic,
                    signing_secret: non_empty(&c.signing_secret),
                };
                (c.url.clone(), target)
            })
            .collect();
        Self {
            timeout: cfg.callbacks.timeout,
            // Zero would mean "never call": at least one try.
            max_tries: cfg.callbacks.max_tries.max(1),
            initial_backoff: cfg.callbacks.initial_backoff,
            targets,
        }
    }
}
