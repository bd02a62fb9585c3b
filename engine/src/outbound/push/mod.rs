//! Push delivery behind one trait. The `log` provider (embedded default) writes the exact
//! payloads FCM and APNs would carry; real providers plug in beside it.

mod log;
pub mod payload;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use tessera_config::{ApnsEnvironment, Config, Platform, PushKind};

pub use log::LogProvider;

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
    #[error("push provider refused: {0}")]
    Failed(String),
}

#[async_trait]
pub trait PushProvider: Send + Sync {
    fn name(&self) -> &str;
    async fn send(&self, target: &PushTarget, notice: &PushNotice) -> Result<(), PushError>;
}

/// The providers by push config id.
#[derive(Default)]
pub struct PushRouter {
    providers: HashMap<String, Arc<dyn PushProvider>>,
}

impl PushRouter {
    /// Builds a provider for every `[[push_configs]]` entry.
    pub fn from_config(cfg: &Config) -> Result<Self, String> {
        let mut providers: HashMap<String, Arc<dyn PushProvider>> = HashMap::new();
        for pc in &cfg.push_configs {
            let provider: Arc<dyn PushProvider> = match pc.kind {
                PushKind::Log => Arc::new(LogProvider::new(&pc.id)),
                // Real APNs and FCM clients arrive with their own issue; until then such a
                // config logs what it would send, loudly.
                PushKind::Apns | PushKind::FcmV1 | PushKind::FcmLegacy => {
                    tracing::warn!(push_config = %pc.id, kind = ?pc.kind, "push provider not available in this version; pushes are logged");
                    Arc::new(LogProvider::new(&pc.id))
                }
            };
            providers.insert(pc.id.clone(), provider);
        }
        Ok(Self { providers })
    }

    pub fn with(mut self, config_id: &str, provider: Arc<dyn PushProvider>) -> Self {
        self.providers.insert(config_id.to_owned(), provider);
        self
    }

    pub fn provider(&self, config_id: &str) -> Option<Arc<dyn PushProvider>> {
        self.providers.get(config_id).cloned()
    }
}
