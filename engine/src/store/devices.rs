//! The memory store's device tables: devices with their user and push-token indexes, enrollment
//! codes, server keys, and each device's pending-transaction index.

use std::collections::{BTreeSet, HashMap};

use crate::model::{Device, EnrollmentCode, Millis, TxnId};

use super::{StoreError, StoreResult};

/// Most transactions one device's pending index holds; older entries give way.
const MAX_DEVICE_TXNS: usize = 1024;

#[derive(Default)]
pub(super) struct DeviceTables {
    devices: HashMap<String, Device>,
    by_user: HashMap<String, BTreeSet<String>>,
    by_token: HashMap<String, String>,
    codes: HashMap<String, EnrollmentCode>,
    server_keys: HashMap<String, String>,
    txns: HashMap<String, Vec<(TxnId, Millis)>>,
}

impl DeviceTables {
    pub(super) fn save(&mut self, device: &Device) -> StoreResult<()> {
        let found = self.devices.get(&device.id).map(|d| d.version);
        let expected = device.version.saturating_sub(1);
        if found.unwrap_or(0) != expected {
            return Err(StoreError::Conflict {
                key: device.id.clone(),
                expected,
                found,
            });
        }
        if let Some(token) = &device.push_token
            && self
                .by_token
                .get(token)
                .is_some_and(|holder| *holder != device.id)
        {
            return Err(StoreError::PushTokenTaken);
        }
        if let Some(old) = self.devices.get(&device.id)
            && let Some(old_token) = &old.push_token
            && device.push_token.as_ref() != Some(old_token)
        {
            self.by_token.remove(old_token);
        }
        if let Some(token) = &device.push_token {
            self.by_token.insert(token.clone(), device.id.clone());
        }
        self.by_user
            .entry(device.user_id.clone())
            .or_default()
            .insert(device.id.clone());
        self.devices.insert(device.id.clone(), device.clone());
        Ok(())
    }

    pub(super) fn get(&self, id: &str) -> Option<Device> {
        self.devices.get(id).cloned()
    }

    pub(super) fn delete(&mut self, id: &str) -> Option<Device> {
        let device = self.devices.remove(id)?;
        if let Some(token) = &device.push_token {
            self.by_token.remove(token);
        }
        if let Some(set) = self.by_user.get_mut(&device.user_id) {
            set.remove(id);
            if set.is_empty() {
                self.by_user.remove(&device.user_id);
            }
        }
        self.txns.remove(id);
        Some(device)
    }

    pub(super) fn of_user(&self, user_id: &str) -> Vec<Device> {
        self.by_user
            .get(user_id)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| self.devices.get(id).cloned())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(super) fn put_code(&mut self, hash: &str, code: &EnrollmentCode) {
        self.codes.insert(hash.to_owned(), code.clone());
    }

    pub(super) fn peek_code(&self, hash: &str) -> Option<EnrollmentCode> {
        self.codes.get(hash).cloned()
    }

    pub(super) fn take_code(&mut self, hash: &str) -> Option<EnrollmentCode> {
        self.codes.remove(hash)
    }

    pub(super) fn put_key_if_absent(&mut self, id: &str, armored: &str) -> String {
        self.server_keys
            .entry(id.to_owned())
            .or_insert_with(|| armored.to_owned())
            .clone()
    }

    pub(super) fn get_key(&self, id: &str) -> Option<String> {
        self.server_keys.get(id).cloned()
    }

    pub(super) fn delete_key(&mut self, id: &str) {
        self.server_keys.remove(id);
    }

    pub(super) fn add_txn(&mut self, device_id: &str, id: TxnId, until: Millis) {
        let list = self.txns.entry(device_id.to_owned()).or_default();
        if list.len() >= MAX_DEVICE_TXNS {
            list.remove(0);
        }
        list.push((id, until));
    }

    pub(super) fn remove_txn(&mut self, device_id: &str, id: TxnId) {
        if let Some(list) = self.txns.get_mut(device_id) {
            list.retain(|(t, _)| *t != id);
        }
    }

    pub(super) fn txns(&mut self, device_id: &str, now: Millis) -> Vec<TxnId> {
        let Some(list) = self.txns.get_mut(device_id) else {
            return Vec::new();
        };
        list.retain(|(_, until)| *until > now);
        list.iter().map(|(t, _)| *t).collect()
    }

    /// Drops expired enrollment codes and index entries.
    pub(super) fn purge(&mut self, now: Millis) -> usize {
        let before = self.codes.len();
        self.codes.retain(|_, c| c.expires_at > now);
        let mut purged = before - self.codes.len();
        for list in self.txns.values_mut() {
            let n = list.len();
            list.retain(|(_, until)| *until > now);
            purged += n - list.len();
        }
        self.txns.retain(|_, l| !l.is_empty());
        purged
    }
}
