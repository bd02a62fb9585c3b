//! The server's OpenPGP keys and the parsed device keys, cached: parsing a key costs about as
//! much as sealing a message, so each is parsed once.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::OnceCell;

use crate::crypto::{PublicKey, ServerKey};
use crate::error::DeviceError;
use crate::model::Device;
use crate::store::Store;

/// The key shared by every enrollment unless `unique_keys_per_enrollment` is on.
pub const SHARED_KEY_ID: &str = "shared";
/// Cached parsed keys; past this the cache starts over rather than growing without bound.
const MAX_CACHED: usize = 100_000;

/// A device's `public_key` as enrollment takes it: parsed and validated
/// ([`PublicKey::parse`]), or `invalid_public_key` (the fuzz targets in `fuzz/` drive this).
pub(crate) fn parse_device_key(armored: &str) -> Result<PublicKey, DeviceError> {
    PublicKey::parse(armored).map_err(|_| DeviceError::InvalidPublicKey)
}

pub struct KeyRing {
    store: Arc<dyn Store>,
    shared: OnceCell<Arc<ServerKey>>,
    unique: Mutex<HashMap<String, Arc<ServerKey>>>,
    devices: Mutex<HashMap<String, Arc<PublicKey>>>,
}

impl KeyRing {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            shared: OnceCell::new(),
            unique: Mutex::new(HashMap::new()),
            devices: Mutex::new(HashMap::new()),
        }
    }

    /// The key a device talks to.
    pub async fn server_key(&self, id: &str) -> Result<Arc<ServerKey>, DeviceError> {
        if id == SHARED_KEY_ID {
            return self.shared().await;
        }
        if let Some(k) = self.unique.lock().get(id) {
            return Ok(k.clone());
        }
        let armored = self
            .store
            .get_server_key(id)
            .await?
            .ok_or(DeviceError::InvalidDevice)?;
        let key =
            Arc::new(ServerKey::from_armored_secret(&armored).map_err(|_| DeviceError::Internal)?);
        remember(&self.unique, id, key.clone());
        Ok(key)
    }

    /// The shared key: loaded from the store, or made and stored by the first node to need it.
    pub async fn shared(&self) -> Result<Arc<ServerKey>, DeviceError> {
        self.shared
            .get_or_try_init(|| async {
                let armored = match self.store.get_server_key(SHARED_KEY_ID).await? {
                    Some(a) => a,
                    None => {
                        let fresh = ServerKey::generate().map_err(|_| DeviceError::Internal)?;
                        let secret = fresh
                            .to_armored_secret()
                            .map_err(|_| DeviceError::Internal)?;
                        self.store
                            .put_server_key_if_absent(SHARED_KEY_ID, &secret)
                            .await?
                    }
                };
                let key =
                    ServerKey::from_armored_secret(&armored).map_err(|_| DeviceError::Internal)?;
                Ok(Arc::new(key))
            })
            .await
            .cloned()
    }

    /// A fresh key for one enrollment (`unique_keys_per_enrollment`), stored under the device id.
    pub async fn create_unique(&self, device_id: &str) -> Result<Arc<ServerKey>, DeviceError> {
        let key = ServerKey::generate().map_err(|_| DeviceError::Internal)?;
        let secret = key.to_armored_secret().map_err(|_| DeviceError::Internal)?;
        self.store
            .put_server_key_if_absent(device_id, &secret)
            .await?;
        let key = Arc::new(key);
        remember(&self.unique, device_id, key.clone());
        Ok(key)
    }

    /// The device's parsed public key.
    pub fn device_key(&self, device: &Device) -> Result<Arc<PublicKey>, DeviceError> {
        if let Some(k) = self.devices.lock().get(&device.id) {
            return Ok(k.clone());
        }
        let key =
            Arc::new(PublicKey::parse(&device.public_key).map_err(|_| DeviceError::Internal)?);
        remember(&self.devices, &device.id, key.clone());
        Ok(key)
    }

    /// Drops what is cached for a removed device (and its own server key).
    pub async fn forget(&self, device: &Device) {
        self.devices.lock().remove(&device.id);
        if device.server_key_id != SHARED_KEY_ID {
            self.unique.lock().remove(&device.server_key_id);
            if let Err(e) = self.store.delete_server_key(&device.server_key_id).await {
                tracing::warn!(error = %e, "could not delete a device's server key");
            }
        }
    }
}

fn remember<V>(cache: &Mutex<HashMap<String, V>>, key: &str, value: V) {
    let mut map = cache.lock();
    if map.len() >= MAX_CACHED {
        map.clear();
    }
    map.insert(key.to_owned(), value);
}
