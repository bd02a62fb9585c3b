//! Push delivery behind one trait, one provider per `[[push_configs]]` entry:
//!
//! - [`ApnsProvider`] (`apns`): HTTP/2 to Apple with an ES256 provider token (`apns/`).
//! - [`FcmV1Provider`] (`fcm_v1`): FCM HTTP v1 with a cached OAuth2 bearer token from the service
//!   account (`fcm/`); [`FcmLegacyProvider`] (`fcm_legacy`) for old server-key configs.
//! - [`LogProvider`] (`log`, the embedded default): writes the exact payloads to stdout.
//!
//! Providers make one try and say what it came to ([`PushError`]); [`delivery`] turns a
//! transaction's push to one device into those tries, retrying with backoff inside the
//! transaction's time to live under the push config's [`retry::RetryPolicy`], so every provider
//! gets the same rules. Each provider owns one HTTP client with the `[proxy]`
//! settings, reused for every push (one pooled connection per host; HTTP/2 multiplexes APNs).
//! Tokens, keys, JWTs and bearer tokens never reach a log line or an error message.

mod apns;
pub(crate) mod delivery;
mod fcm;
mod log;
pub mod payload;
pub mod retry;
#[cfg(test)]
mod test_support;
mod transport;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tessera_config::{ApnsEnvironment, Config, Platform, PushKind};

pub use apns::ApnsProvider;
pub use fcm::{FcmLegacyProvider, FcmV1Provider};
pub use log::LogProvider;

use crate::clock::Clock;
use crate::error::StartupError;
use crate::telemetry::PushMetrics;
use retry::RetryPolicy;

use crate::model::TxnId;

/// What a push says. Payloads carry identifiers only; the content is fetched encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushNotice {
    pub transaction_id: TxnId,
    pub profile_id: String,
    /// The visible alert text.
    pub message: String,
    /// APNs badge: pending push transactions of the device, when the version asks for it.
    pub badge: Option<u32>,
    /// Time to live left, for provider-side expiry.
    pub ttl_ms: u64,
}

/// Where a push goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushTarget {
    pub device_id: String,
    pub token: String,
    pub platform: Platform,
    /// APNs topic (the app version's bundle id).
    pub bundle_id: String,
    pub apns_environment: ApnsEnvironment,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The provider says the token is dead: drop the device's push enrollment.
    #[error("push token no longer registered")]
    Unregistered,
    /// Worth another try later (429, 5xx, timeouts).
    #[error("push provider temporarily failed: {0}")]
    Retryable(String),
    /// Like `Retryable`, and the provider said how long to wait first (`Retry-After`).
    #[error("push provider temporarily failed: {reason} (retry after {after:?})")]
    RetryAfter { reason: String, after: Duration },
    #[error("push provider refused: {0}")]
    Failed(String),
}

impl PushError {
    /// Whether another try may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable(_) | Self::RetryAfter { .. })
    }

    /// The wait the provider asked for, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RetryAfter { after, .. } => Some(*after),
            _ => None,
        }
    }
}

#[async_trait]
pub trait PushProvider: Send + Sync {
    fn name(&self) -> &str;
    async fn send(&self, target: &PushTarget, notice: &PushNotice) -> Result<(), PushError>;
}

/// The providers by push config id, each with the retry policy of its push config.
#[derive(Default)]
pub struct PushRouter {
    providers: HashMap<String, Route>,
}

/// Where a push config's pushes go, how they are retried, and the provider's series.
#[derive(Clone)]
pub struct Route {
    pub provider: Arc<dyn PushProvider>,
    pub retry: RetryPolicy,
    pub metrics: Arc<PushMetrics>,
}

impl Route {
    fn new(provider: Arc<dyn PushProvider>, retry: RetryPolicy) -> Self {
        let metrics = Arc::new(PushMetrics::new(provider.name()));
        Self {
            provider,
            retry,
            metrics,
        }
    }
}

impl PushRouter {
    /// Builds a provider for every `[[push_configs]]` entry, reading their key files now: a
    /// missing or unreadable key is a configuration error at start, not a failure per push.
    /// Errors name the key at fault (`push_configs[1].key_file`).
    pub fn from_config(cfg: &Config) -> Result<Self, StartupError> {
        let clock = Clock::new();
        let mut providers = HashMap::new();
        for (i, pc) in cfg.push_configs.iter().enumerate() {
            let built: Result<Arc<dyn PushProvider>, StartupError> = match pc.kind {
                PushKind::Log => Ok(Arc::new(LogProvider::new(&pc.id))),
                PushKind::Apns => ApnsProvider::from_config(pc, &cfg.proxy, clock)
                    .map(|p| Arc::new(p) as Arc<dyn PushProvider>),
                PushKind::FcmV1 => FcmV1Provider::from_config(pc, &cfg.proxy, clock)
                    .map(|p| Arc::new(p) as Arc<dyn PushProvider>),
                PushKind::FcmLegacy => FcmLegacyProvider::from_config(pc, &cfg.proxy)
                    .map(|p| Arc::new(p) as Arc<dyn PushProvider>),
            };
            let provider = built.map_err(|e| e.under(&format!("push_configs[{i}]")))?;
            let retry = RetryPolicy::of(pc);
            providers.insert(pc.id.clone(), Route::new(provider, retry));
        }
        Ok(Self { providers })
    }

    /// Replaces the provider of `config_id`, keeping its retry policy (the default for a
    /// config the router did not have).
    pub fn with(mut self, config_id: &str, provider: Arc<dyn PushProvider>) -> Self {
        let retry = self
            .providers
            .get(config_id)
            .map_or_else(RetryPolicy::default, |r| r.retry);
        self.providers
            .insert(config_id.to_owned(), Route::new(provider, retry));
        self
    }

    pub fn route(&self, config_id: &str) -> Option<Route> {
        self.providers.get(config_id).cloned()
    }

    #[cfg(test)]
    pub fn provider(&self, config_id: &str) -> Option<Arc<dyn PushProvider>> {
        self.route(config_id).map(|r| r.provider)
    }
}

#[cfg(test)]
mod tests {
    use tessera_config::PushConfig;

    use super::test_support::{service_account_file, testdata};
    use super::*;

    fn config(push_configs: Vec<PushConfig>) -> Config {
        Config {
            push_configs,
            ..Config::default()
        }
    }

    #[test]
    fn builds_a_provider_for_every_kind() {
        let account = service_account_file("https://oauth2.googleapis.com/token");
        let cfg = config(vec![
            PushConfig {
                id: "apns".into(),
                platform: Platform::Ios,
                kind: PushKind::Apns,
                team_id: "T".into(),
                key_id: "K".into(),
                key_file: testdata("apns_key.p8"),
                ..Default::default()
            },
            PushConfig {
                id: "fcm".into(),
                kind: PushKind::FcmV1,
                service_account_file: account.display().to_string(),
                ..Default::default()
            },
            PushConfig {
                id: "legacy".into(),
                kind: PushKind::FcmLegacy,
                server_key: "AAAA".into(),
                ..Default::default()
            },
            PushConfig {
                id: "log".into(),
                kind: PushKind::Log,
                ..Default::default()
            },
        ]);
        let router = PushRouter::from_config(&cfg).unwrap();
        for id in ["apns", "fcm", "legacy", "log"] {
            assert_eq!(router.provider(id).unwrap().name(), id);
        }
        let _ = std::fs::remove_file(account);
    }

    #[test]
    fn every_push_config_routes_with_its_retry_policy() {
        let cfg = config(vec![PushConfig {
            id: "log".into(),
            kind: PushKind::Log,
            ..Default::default()
        }]);
        let mut tuned = cfg.clone();
        tuned.push_configs.push(PushConfig {
            id: "tuned".into(),
            kind: PushKind::Log,
            max_attempts: Some(2),
            retry_delay: Some(Duration::from_millis(50)),
            ..Default::default()
        });
        let router = PushRouter::from_config(&tuned).unwrap();
        let route = router.route("log").unwrap();
        assert_eq!(route.retry, RetryPolicy::default());
        let tuned = router.route("tuned").unwrap().retry;
        assert_eq!(
            (tuned.max_attempts, tuned.backoff.first, tuned.backoff.max),
            (
                2,
                Duration::from_millis(50),
                RetryPolicy::default().backoff.max
            )
        );
        assert_eq!(tuned.delay(1, None, 0.5), Some(Duration::from_millis(50)));
        assert_eq!(tuned.delay(2, None, 0.5), None, "two tries in all");
        assert!(router.route("other").is_none());
        // A replaced provider (tests) keeps its config's policy.
        let replaced = router.with("log", Arc::new(LogProvider::new("swapped")));
        let route = replaced.route("log").unwrap();
        assert_eq!(
            (route.provider.name(), route.retry),
            ("swapped", RetryPolicy::default())
        );
    }

    #[test]
    fn an_unreadable_key_is_an_error_naming_the_config() {
        let cfg = config(vec![PushConfig {
            id: "apns-main".into(),
            platform: Platform::Ios,
            kind: PushKind::Apns,
            key_file: "/nonexistent/AuthKey.p8".into(),
            ..Default::default()
        }]);
        let e = PushRouter::from_config(&cfg).err().unwrap();
        assert_eq!(e.key(), "push_configs[0].key_file");
        assert!(
            e.to_string()
                .starts_with("push_configs[0].key_file: cannot read /nonexistent/AuthKey.p8"),
            "{e}"
        );
    }

    #[test]
    fn a_file_that_holds_no_usable_key_names_its_key() {
        let log = PushConfig {
            id: "log".into(),
            kind: PushKind::Log,
            ..Default::default()
        };
        let apns = PushConfig {
            id: "apns".into(),
            platform: Platform::Ios,
            kind: PushKind::Apns,
            team_id: "T".into(),
            key_id: "K".into(),
            // A public key: readable, but nothing to sign with.
            key_file: testdata("apns_key.pub.pem"),
            ..Default::default()
        };
        let e = PushRouter::from_config(&config(vec![log.clone(), apns]))
            .err()
            .unwrap();
        assert!(matches!(e, StartupError::Invalid { .. }), "{e}");
        assert_eq!(e.key(), "push_configs[1].key_file");

        let fcm = PushConfig {
            id: "fcm".into(),
            platform: Platform::Android,
            kind: PushKind::FcmV1,
            // PEM, not a service-account JSON file.
            service_account_file: testdata("fcm_key.pem"),
            ..Default::default()
        };
        let e = PushRouter::from_config(&config(vec![log, fcm]))
            .err()
            .unwrap();
        assert!(matches!(e, StartupError::Invalid { .. }), "{e}");
        assert_eq!(e.key(), "push_configs[1].service_account_file");
    }

    #[test]
    fn a_bad_ca_file_is_an_error() {
        let cfg = config(vec![PushConfig {
            id: "legacy".into(),
            kind: PushKind::FcmLegacy,
            server_key: "AAAA".into(),
            ca_file: testdata("apns_key.pub.pem"),
            ..Default::default()
        }]);
        let e = PushRouter::from_config(&cfg).err().unwrap();
        assert_eq!(e.key(), "push_configs[0].ca_file", "{e}");
    }
}
