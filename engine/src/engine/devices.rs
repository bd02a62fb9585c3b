//! The device API (API.md §4): enrollment, device credentials, push enrollment and the pending
//! list. Authenticator registration is in `registration.rs`; fetch, answer and OTP in
//! `answers.rs`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use subtle::ConstantTimeEq;
use tessera_config::{Platform, PushEnrollmentMode};

use super::Engine;
use crate::enroll::keys::{self, SHARED_KEY_ID};
use crate::enroll::{codes, modes, secret_hash};
use crate::error::DeviceError;
use crate::model::{Device, EnrollmentCode, EventName, TxnId};
use crate::telemetry::{self, Revoked};
use crate::txn::machine;

type Result<T> = std::result::Result<T, DeviceError>;

/// Longest push token accepted, in characters (FCM tokens are ~160 characters, APNs 64 hex).
const MAX_PUSH_TOKEN: usize = 4096;
/// Longest device name, model or OS version kept.
const MAX_LABEL: usize = 255;

/// `POST /device/v1/enrollments`.
#[derive(Debug, Clone)]
pub struct EnrollRequest {
    pub enrollment_code: String,
    pub app_id: String,
    pub app_version: String,
    pub platform: Platform,
    pub device_name: String,
    pub model: Option<String>,
    pub os_version: Option<String>,
    pub public_key: String,
}

#[derive(Debug, Clone)]
pub struct Enrolled {
    pub device_id: String,
    pub device_secret: String,
    pub profile_id: String,
    pub server_public_key: String,
}

/// One line of `GET /device/v1/transactions/pending`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingItem {
    pub transaction_id: TxnId,
    pub type_name: String,
    pub message: String,
    pub timestamp: u64,
    pub time_to_live: u64,
}

impl Engine {
    /// Redeems an enrollment code for a new device with the app's OpenPGP key.
    pub async fn enroll(&self, req: EnrollRequest) -> Result<Enrolled> {
        let enrolled = self.enroll_device(req).await;
        telemetry::enrollment(enrolled.is_ok());
        enrolled
    }

    async fn enroll_device(&self, req: EnrollRequest) -> Result<Enrolled> {
        let cfg = self.config();
        if !cfg.general.enrollment_enabled {
            return Err(DeviceError::EnrollmentDisabled);
        }
        let app = cfg
            .application(&req.app_id)
            .ok_or(DeviceError::InvalidRequest("app_id"))?;
        let version_ok = app
            .enabled_version(req.platform, &req.app_version)
            .is_some();
        if !version_ok {
            return Err(DeviceError::AppVersionDisabled);
        }
        for (field, value) in [
            ("device_name", Some(&req.device_name)),
            ("model", req.model.as_ref()),
            ("os_version", req.os_version.as_ref()),
        ] {
            if value
                .is_some_and(|v| v.chars().count() > MAX_LABEL || v.chars().any(char::is_control))
            {
                return Err(DeviceError::InvalidRequest(field));
            }
        }
        // The code first: without a live code, no one gets the server to parse their OpenPGP.
        // It is only looked at here and spent below, once the key is known to be good, so a
        // bad key does not cost the user their code.
        let code_hash = secret_hash(&codes::normalize(&req.enrollment_code));
        let now = self.clock().now();
        let live = |c: &EnrollmentCode| c.expires_at > now;
        let peeked = self.store().peek_enrollment_code(&code_hash).await?;
        if !peeked.as_ref().is_some_and(live) {
            return Err(DeviceError::InvalidEnrollmentCode);
        }
        let key = keys::parse_device_key(&req.public_key)?;
        // Taken in one step (GETDEL): of two enrollments racing with one code, one wins.
        let code = self
            .store()
            .take_enrollment_code(&code_hash)
            .await?
            .filter(live)
            .ok_or(DeviceError::InvalidEnrollmentCode)?;

        let (device_id, secret, profile_id) = {
            let mut rng = rand::rng();
            let id: [u8; 32] = rng.random();
            let secret: [u8; 32] = rng.random();
            let profile: [u8; 12] = rng.random();
            (
                hex::encode_upper(id),
                URL_SAFE_NO_PAD.encode(secret),
                hex::encode_upper(profile),
            )
        };
        let unique = cfg.general.unique_keys_per_enrollment;
        let server_key = if unique {
            self.keys().create_unique(&device_id).await?
        } else {
            self.keys().shared().await?
        };
        let device = Device {
            id: device_id.clone(),
            version: 1,
            profile_id: profile_id.clone(),
            user_id: code.user_id.clone(),
            app_id: req.app_id,
            app_version: req.app_version,
            platform: req.platform,
            name: req.device_name,
            model: req.model,
            os_version: req.os_version,
            created_at: now,
            last_login: None,
            secret_sha256: secret_hash(&secret),
            public_key: key.armored().to_owned(),
            server_key_id: if unique {
                device_id.clone()
            } else {
                SHARED_KEY_ID.to_owned()
            },
            push_token: None,
            push_enabled: false,
            mobile_auth_enabled: true,
            pin: None,
            fingerprint: None,
            custom: Default::default(),
            revoked: Default::default(),
        };
        self.store().save_device(&device).await?;
        self.device_event(EventName::MobileAuthEnrollmentSuccess, &device, None)
            .await;
        Ok(Enrolled {
            device_id,
            device_secret: secret,
            profile_id,
            server_public_key: server_key.public_armored().to_owned(),
        })
    }

    /// Checks HTTP Basic `device_id:device_secret`. Unknown, revoked or wrong → `invalid_device`.
    pub async fn authenticate_device(&self, device_id: &str, secret: &str) -> Result<Device> {
        let well_formed = device_id.len() == 64 && device_id.bytes().all(|b| b.is_ascii_hexdigit());
        if !well_formed {
            return Err(DeviceError::InvalidDevice);
        }
        let device = self
            .store()
            .get_device(&device_id.to_ascii_uppercase())
            .await?
            .ok_or(DeviceError::InvalidDevice)?;
        let given = secret_hash(secret);
        if !bool::from(given.as_bytes().ct_eq(device.secret_sha256.as_bytes())) {
            return Err(DeviceError::InvalidDevice);
        }
        Ok(device)
    }

    /// `PUT /push-enrollment`, under the configured push enrollment mode.
    pub async fn push_enroll(&self, device: &Device, push_token: &str) -> Result<()> {
        let enrolled = self.push_enroll_device(device, push_token).await;
        telemetry::push_enrollment(enrolled.is_ok());
        enrolled
    }

    async fn push_enroll_device(&self, device: &Device, push_token: &str) -> Result<()> {
        let cfg = self.config();
        if !cfg.general.enrollment_enabled || !cfg.general.push_enrollment_enabled {
            return Err(DeviceError::PushEnrollmentDisabled);
        }
        if push_token.is_empty()
            || push_token.chars().count() > MAX_PUSH_TOKEN
            || push_token.chars().any(char::is_control)
        {
            return Err(DeviceError::InvalidRequest("push_token"));
        }
        let mode = cfg.general.push_enrollment_mode;
        let others = self.store().user_devices(&device.user_id).await?;
        let drop = modes::push_enrollment(mode, device, &others)
            .map_err(|_| DeviceError::UserAlreadyEnrolled)?;
        for id in drop {
            if let Some(old) = self.store().get_device(&id).await? {
                self.remove_device_record(&old).await?;
                self.device_event(EventName::PushEnrollmentRemoved, &old, None)
                    .await;
            }
        }
        // The check above only answers early; under `single_device` the store repeats it
        // atomically with the write, so of two devices enrolling at once only one wins.
        let sole = mode == PushEnrollmentMode::SingleDevice;
        let token = push_token.to_owned();
        self.update_device_as(&device.id, sole, move |d| {
            d.push_token = Some(token.clone());
            d.push_enabled = true;
            Ok(())
        })
        .await?;
        self.device_event(EventName::PushEnrollmentSuccess, device, None)
            .await;
        Ok(())
    }

    /// `DELETE /push-enrollment`.
    pub async fn push_unenroll(&self, device: &Device) -> Result<()> {
        self.update_device(&device.id, |d| {
            d.push_token = None;
            d.push_enabled = false;
            Ok(())
        })
        .await?;
        telemetry::revocation(Revoked::Push);
        Ok(())
    }

    /// Push transactions addressed to this device that it has not fetched yet.
    pub async fn pending_for_device(&self, device: &Device) -> Result<Vec<PendingItem>> {
        let now = self.clock().now();
        let ids = self.store().device_txns(&device.id, now).await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(txn) = self.store().get(id).await? else {
                continue;
            };
            if machine::awaits_fetch(&txn, &device.id) {
                out.push(PendingItem {
                    transaction_id: txn.id,
                    type_name: txn.type_name.clone(),
                    message: txn.message.clone(),
                    timestamp: txn.created_at,
                    time_to_live: txn.remaining_ms(now),
                });
            }
        }
        Ok(out)
    }
}
