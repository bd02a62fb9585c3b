//! User and device management (API.md §3): enrollment codes, listing, deleting and disabling
//! devices. Deleting a device fails the pending transactions addressed to it.

use crate::enroll::authenticators::TokenKind;
use crate::enroll::keys::KeyRing;
use crate::enroll::{codes, secret_hash};
use crate::error::DeviceError;
use crate::model::{Device, EnrollmentCode, Event, EventName, TxnId};
use crate::store::StoreError;
use crate::telemetry::{self, Revoked};
use crate::txn::actor;
use crate::txn::start;

use super::Engine;

type Result<T> = std::result::Result<T, DeviceError>;

/// Read-modify-write retries on a device touched concurrently (two answers at once).
const UPDATE_TRIES: usize = 8;

/// `POST /users/{user_id}/enrollment-codes`.
#[derive(Debug, Clone)]
pub struct IssuedCode {
    pub code: String,
    pub expires_in_ms: u64,
    pub qr_svg: String,
}

/// What `POST /devices/{id}/disable…` turns off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disable {
    Fingerprint,
    MobileAuthentication,
    PushAuthentication,
}

impl Engine {
    pub(crate) fn keys(&self) -> &KeyRing {
        &self.inner.svc.keys
    }

    /// A single-use code the app redeems to enroll for `user_id`.
    pub async fn issue_enrollment_code(&self, user_id: &str) -> Result<IssuedCode> {
        check_user(user_id)?;
        if !self.config().general.enrollment_enabled {
            return Err(DeviceError::EnrollmentDisabled);
        }
        let code = codes::generate(&mut rand::rng());
        let entry = EnrollmentCode {
            user_id: user_id.to_owned(),
            expires_at: self.clock().now() + codes::CODE_TTL_MS,
        };
        self.store()
            .put_enrollment_code(&secret_hash(&code), &entry)
            .await?;
        let qr_svg = codes::qr_svg(&code).ok_or(DeviceError::Internal)?;
        Ok(IssuedCode {
            code,
            expires_in_ms: codes::CODE_TTL_MS,
            qr_svg,
        })
    }

    pub async fn devices_of(&self, user_id: &str) -> Result<Vec<Device>> {
        check_user(user_id)?;
        let mut devices = self.store().user_devices(user_id).await?;
        devices.sort_by_key(|d| d.created_at);
        Ok(devices)
    }

    /// Deletes one of the user's devices: keys, push token and authenticators go with it.
    pub async fn delete_device(&self, user_id: &str, device_id: &str) -> Result<()> {
        let device = self.user_device(user_id, device_id).await?;
        self.remove_device_record(&device).await
    }

    pub async fn delete_all_devices(&self, user_id: &str) -> Result<()> {
        for device in self.devices_of(user_id).await? {
            self.remove_device_record(&device).await?;
        }
        Ok(())
    }

    /// Deletes several; returns the ids that could not be deleted, with why.
    pub async fn delete_devices(
        &self,
        user_id: &str,
        ids: &[String],
    ) -> Vec<(String, DeviceError)> {
        let mut failed = Vec::new();
        for id in ids {
            if let Err(e) = self.delete_device(user_id, id).await {
                failed.push((id.clone(), e));
            }
        }
        failed
    }

    pub async fn disable(&self, user_id: &str, device_id: &str, what: Disable) -> Result<()> {
        let device = self.user_device(user_id, device_id).await?;
        self.update_device(&device.id, |d| {
            match what {
                Disable::Fingerprint => {
                    d.fingerprint = None;
                    d.revoked.insert(TokenKind::Fingerprint.revocation_key());
                }
                Disable::MobileAuthentication => d.mobile_auth_enabled = false,
                Disable::PushAuthentication => {
                    d.push_enabled = false;
                    d.push_token = None;
                }
            }
            Ok(())
        })
        .await?;
        telemetry::revocation(match what {
            Disable::Fingerprint => Revoked::Authenticator,
            Disable::MobileAuthentication => Revoked::Device,
            Disable::PushAuthentication => Revoked::Push,
        });
        // Without mobile authentication or push the device can no longer answer.
        if what != Disable::Fingerprint {
            self.fail_device_transactions(&device.id).await;
        }
        Ok(())
    }

    // === shared with the device API ===

    async fn user_device(&self, user_id: &str, device_id: &str) -> Result<Device> {
        check_user(user_id)?;
        self.store()
            .get_device(&device_id.to_ascii_uppercase())
            .await?
            .filter(|d| d.user_id == user_id)
            .ok_or(DeviceError::NotFound)
    }

    /// Applies `change` to the stored device with a versioned write, retrying on a race.
    pub(super) async fn update_device<R>(
        &self,
        id: &str,
        change: impl FnMut(&mut Device) -> Result<R>,
    ) -> Result<R> {
        self.update_device_as(id, false, change).await
    }

    /// `update_device`; with `sole_push`, the write also fails (`UserAlreadyEnrolled`) when
    /// another device of the user holds the application's push enrollment, checked atomically
    /// with the write by the store (`single_device`).
    pub(super) async fn update_device_as<R>(
        &self,
        id: &str,
        sole_push: bool,
        mut change: impl FnMut(&mut Device) -> Result<R>,
    ) -> Result<R> {
        for _ in 0..UPDATE_TRIES {
            let mut device = self
                .store()
                .get_device(id)
                .await?
                .ok_or(DeviceError::NotFound)?;
            let before = device.clone();
            let out = change(&mut device)?;
            if device == before {
                // Nothing to write (a right PIN with no failures to reset): the decision stands
                // on the state just read, as it would after a write of the same state.
                return Ok(out);
            }
            device.version += 1;
            let saved = if sole_push {
                self.store().save_device_sole_push(&device).await
            } else {
                self.store().save_device(&device).await
            };
            match saved {
                Ok(()) => return Ok(out),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DeviceError::Overloaded)
    }

    /// Removes a device everywhere and fails what was waiting for it.
    pub(super) async fn remove_device_record(&self, device: &Device) -> Result<()> {
        self.fail_device_transactions(&device.id).await;
        if self.store().delete_device(&device.id).await?.is_some() {
            telemetry::revocation(Revoked::Device);
            self.keys().forget(device).await;
            self.device_event(EventName::DeviceDeleted, device, None)
                .await;
        }
        Ok(())
    }

    async fn fail_device_transactions(&self, device_id: &str) {
        let now = self.clock().now();
        let Ok(ids) = self.store().device_txns(device_id, now).await else {
            return;
        };
        for id in ids {
            let device_id = device_id.to_owned();
            // Waits for each, so the portal reads `device_removed` once the delete answered.
            // Finished ones answer nothing, and that is fine.
            let _ = self
                .ask(id, |reply| actor::DeviceRemoved { device_id, reply })
                .await;
        }
    }

    pub(super) async fn device_event(&self, name: EventName, device: &Device, txn: Option<TxnId>) {
        let mut e = Event::new(name, self.clock().now());
        e.user_id = Some(device.user_id.clone());
        e.app_name = Some(device.app_id.clone());
        e.transaction_id = txn;
        self.events().emit(e).await;
    }
}

fn check_user(user_id: &str) -> Result<()> {
    if start::valid_user_id(user_id) {
        Ok(())
    } else {
        Err(DeviceError::NotFound)
    }
}
