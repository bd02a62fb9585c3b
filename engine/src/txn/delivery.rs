//! Delivering one push: from a device id to the provider its app version is configured with.
//! A provider saying the token is dead drops the device's push enrollment.

use tessera_config::VersionStatus;

use super::services::Services;
use crate::events::TxnRef;
use crate::model::{Event, EventName, Transaction};
use crate::outbound::{PushError, PushNotice, PushTarget};

/// Sends `txn`'s push to one device.
pub async fn push_to(svc: &Services, txn: &Transaction, device_id: &str) -> Result<(), PushError> {
    let device = match svc.store.get_device(device_id).await {
        Ok(Some(d)) => d,
        Ok(None) => return Err(PushError::Failed("device removed".into())),
        Err(e) => return Err(PushError::Retryable(e.to_string())),
    };
    let Some(token) = device.push_token.clone().filter(|_| device.push_ready()) else {
        return Err(PushError::Failed("device not enrolled for push".into()));
    };
    let cfg = svc.config();
    let version = cfg
        .applications
        .iter()
        .find(|a| a.id == device.app_id)
        .and_then(|a| {
            a.versions
                .iter()
                .find(|v| v.platform == device.platform && v.version == device.app_version)
        })
        .filter(|v| v.status == VersionStatus::Enabled)
        .ok_or_else(|| PushError::Failed("application version not configured".into()))?;
    let provider = svc
        .push
        .provider(&version.push_config)
        .ok_or_else(|| PushError::Failed("push config not found".into()))?;
    let now = svc.clock.now();
    let badge = if version.send_badge_number {
        let pending = svc
            .store
            .device_txns(device_id, now)
            .await
            .unwrap_or_default();
        Some(u32::try_from(pending.len()).unwrap_or(u32::MAX))
    } else {
        None
    };
    let notice = PushNotice {
        transaction_id: txn.id,
        profile_id: device.profile_id.clone(),
        message: txn.message.clone(),
        badge,
        ttl_ms: txn.remaining_ms(now),
    };
    let target = PushTarget {
        device_id: device.id.clone(),
        token,
        platform: device.platform,
        bundle_id: version.bundle_id.clone(),
        apns_environment: version.apns_environment,
    };
    let result = provider.send(&target, &notice).await;
    let outcome = match &result {
        Ok(()) => "accepted",
        Err(PushError::Unregistered) => "unregistered",
        Err(PushError::Retryable(_)) => "retryable",
        Err(PushError::Failed(_)) => "failed",
    };
    metrics::counter!("tessera_push_sent_total", "provider" => provider.name().to_owned(), "result" => outcome)
        .increment(1);
    if result == Err(PushError::Unregistered) {
        drop_push_enrollment(svc, device_id, txn).await;
    }
    result
}

/// The provider no longer knows the token: forget it so no further push goes there.
async fn drop_push_enrollment(svc: &Services, device_id: &str, txn: &Transaction) {
    for _ in 0..5 {
        let Ok(Some(mut device)) = svc.store.get_device(device_id).await else {
            return;
        };
        device.push_token = None;
        device.push_enabled = false;
        device.version += 1;
        match svc.store.save_device(&device).await {
            Ok(()) => {
                let mut e = Event::new(EventName::PushEnrollmentRemoved, svc.clock.now());
                let r = TxnRef::of(txn);
                e.transaction_id = Some(r.id);
                e.user_id = Some(device.user_id.clone());
                svc.events.emit(e).await;
                return;
            }
            Err(crate::store::StoreError::Conflict { .. }) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "could not drop a dead push enrollment");
                return;
            }
        }
    }
}
