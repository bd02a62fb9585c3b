//! Portal API handlers (API.md §2.1–2.4, with the v3/v2 aliases of §2.6): one async function per
//! endpoint. Each authenticates first, then validates, then asks the engine.

use std::time::Duration;

use tessera_engine::enroll::codes;
use tessera_engine::model::{Method, Reason, Status, Transaction, TxnId};
use tessera_engine::{Available, DeviceSummary, MAX_WAIT, StartRequest};

use crate::body::{decode_fields, segment};
use crate::context::{Cx, Version};
use crate::error::ApiError;
use crate::reply::{self, Reply};
use crate::wire::{
    Availability, AvailableType, DeviceRef, EnabledFlag, EnabledTypes, EnrolledForPush,
    NotAuthenticatedReason, PushApp, PushDevice, ResultQuery, SmsVerified, SmsVerifyParams,
    StartParams, StartResponse, TransactionRef, TransactionResult,
};

const SVG: &str = "image/svg+xml";

/// `GET /user/{user_id}/enabled` (§2.1). Push types name where a push would go: v4 the devices,
/// v3 the applications (§2.6); v2 has no selector, so neither.
pub(crate) async fn availability(cx: &Cx<'_>, v: Version, user: &str) -> Result<Reply, ApiError> {
    cx.portal(v).await?;
    let user = segment(user)?;
    let enabled = cx
        .engine()
        .availability(&user)
        .await?
        .into_iter()
        .map(|a| AvailableType {
            method: a.method.vendor_name().to_owned(),
            sms_fallback_allowed: a.sms_fallback_allowed,
            apps_enrolled_for_push: a
                .apps_enrolled_for_push
                .as_deref()
                .and_then(|reach| enrolled_for_push(v, reach)),
            type_name: a.type_name,
        })
        .collect();
    Ok(reply::ok(&Availability { enabled }))
}

fn enrolled_for_push(v: Version, reach: &[DeviceSummary]) -> Option<Vec<EnrolledForPush>> {
    match v {
        Version::V4 => Some(
            reach
                .iter()
                .map(|d| {
                    EnrolledForPush::Device(PushDevice {
                        app_id: d.app_id.clone(),
                        app_name: d.app_name.clone(),
                        device_id: d.device_id.clone(),
                        device_name: d.device_name.clone(),
                        platform: d.platform.as_str().to_owned(),
                    })
                })
                .collect(),
        ),
        Version::V3 => {
            let mut apps: Vec<EnrolledForPush> = Vec::new();
            for d in reach {
                let seen = apps
                    .iter()
                    .any(|a| matches!(a, EnrolledForPush::App(app) if app.id == d.app_id));
                if !seen {
                    apps.push(EnrolledForPush::App(PushApp {
                        id: d.app_id.clone(),
                        name: d.app_name.clone(),
                    }));
                }
            }
            Some(apps)
        }
        Version::V2 => None,
    }
}

/// v4 `GET /user/{user_id}/device/{device_id}/enabled`, v3 `.../application/{app_id}/enabled`:
/// the names of the types usable with that device (application): push types that would reach
/// it, and SMS types, which need no device at all.
pub(crate) async fn enabled_types(
    cx: &Cx<'_>,
    v: Version,
    user: &str,
    selector: &str,
) -> Result<Reply, ApiError> {
    cx.portal(v).await?;
    let user = segment(user)?;
    let selector = segment(selector)?;
    let reaches = |d: &DeviceSummary| match v {
        Version::V4 => d.device_id.eq_ignore_ascii_case(&selector),
        _ => d.app_id == selector,
    };
    let usable = |a: &Available| {
        a.method == Method::Sms
            || a.apps_enrolled_for_push
                .as_ref()
                .is_some_and(|reach| reach.iter().any(reaches))
    };
    let enabled = cx
        .engine()
        .availability(&user)
        .await?
        .into_iter()
        .filter(usable)
        .map(|a| a.type_name)
        .collect();
    Ok(reply::ok(&EnabledTypes { enabled }))
}

/// v2 `GET /user/{user_id}/enabled/{type}` → `{"enabled": bool}`.
pub(crate) async fn type_enabled(
    cx: &Cx<'_>,
    v: Version,
    user: &str,
    type_name: &str,
) -> Result<Reply, ApiError> {
    cx.portal(v).await?;
    let user = segment(user)?;
    let type_name = segment(type_name)?;
    let enabled = cx
        .engine()
        .availability(&user)
        .await?
        .iter()
        .any(|a| a.type_name == type_name);
    Ok(reply::ok(&EnabledFlag { enabled }))
}

/// `POST /user` (§2.2). v4 targets a `device_id`; v3's `app_id` and v2 have no device selector,
/// and only v4 carries the requester context (`ip_address`, `user_agent`).
pub(crate) async fn start(cx: &Cx<'_>, v: Version) -> Result<Reply, ApiError> {
    let caller = cx.portal(v).await?;
    let p: StartParams = decode_fields(caller.fields()?)?;
    let type_name = p
        .type_name
        .ok_or_else(|| ApiError::bad_request("missing parameter: type"))?;
    let v4 = v == Version::V4;
    let req = StartRequest {
        type_name,
        user_id: p.user_id,
        device_id: p.device_id.filter(|_| v4),
        callback_uri: p.callback_uri,
        message: p.message,
        secure_message: p.secure_message,
        signing_data: p.signing_data,
        phone_number: p.phone_number,
        language_code: p.language_code,
        ip_address: p.ip_address.filter(|_| v4),
        user_agent: p.user_agent.filter(|_| v4),
        client_id: caller.client_id,
    };
    let started = cx.engine().start(req).await?;
    let txn = &started.txn;
    let mut targets: Vec<DeviceRef> = started
        .devices
        .iter()
        .map(|d| DeviceRef {
            name: d.device_name.clone(),
            platform: d.platform.as_str().to_owned(),
        })
        .collect();
    let (device, devices) = match targets.len() {
        0 => (None, None),
        1 => (targets.pop(), None),
        _ => (None, Some(targets)),
    };
    Ok(reply::ok(&StartResponse {
        transaction_id: txn.id.to_string(),
        auth_method: txn.method.as_str().to_owned(),
        time_to_live: txn.deadline.saturating_sub(txn.created_at),
        otp: started.otp,
        device,
        devices,
        number_challenge: txn.push.as_ref().and_then(|p| p.number_challenge),
    }))
}

/// `GET /transaction/{id}/otp.svg`: the OTP of a pending, unredeemed OTP transaction as an SVG
/// QR code, unsealed from the stored record (any node answers). Anything else is `404 3004`.
pub(crate) async fn otp_svg(cx: &Cx<'_>, v: Version, id: &str) -> Result<Reply, ApiError> {
    let caller = cx.portal(v).await?;
    let id = txn_id(id)?;
    let txn = cx.engine().owned(id, &caller.client_id).await?;
    // Redeemed (the record no longer holds it), finished, or not an OTP transaction: the code
    // can no longer be used, so it is not shown.
    let otp = cx
        .engine()
        .otp_of(&txn)
        .ok_or_else(ApiError::unknown_transaction)?;
    let svg = codes::qr_svg(&otp).ok_or_else(ApiError::internal)?;
    Ok(reply::text(SVG, svg))
}

/// `GET /transaction/{id}[?wait=ms]` (§2.3). `wait` above 60 s is clamped, not refused.
pub(crate) async fn result(cx: &Cx<'_>, v: Version, id: &str) -> Result<Reply, ApiError> {
    let caller = cx.portal(v).await?;
    let id = txn_id(id)?;
    let q: ResultQuery = decode_fields(&cx.query()?)?;
    let wait = q.wait.map(|ms| Duration::from_millis(ms).min(MAX_WAIT));
    let mut txn = cx.engine().owned(id, &caller.client_id).await?;
    if !txn.is_final() && wait.is_some_and(|w| !w.is_zero()) {
        txn = cx.engine().wait_final(txn, wait).await?;
    }
    Ok(reply::ok(&transaction_result(&txn)))
}

/// `POST /transaction/{id}/cancel` → `204`; already final → `409 4002`.
pub(crate) async fn cancel(cx: &Cx<'_>, v: Version, id: &str) -> Result<Reply, ApiError> {
    let caller = cx.portal(v).await?;
    // No fields are read, but a body that is sent must still be well-formed.
    caller.fields()?;
    let id = txn_id(id)?;
    cx.engine().check_owner(id, &caller.client_id).await?;
    cx.engine().cancel(id).await?;
    Ok(reply::no_content())
}

/// `POST /transaction/{id}/resend` → `204`: the push again, to the same devices.
pub(crate) async fn resend(cx: &Cx<'_>, v: Version, id: &str) -> Result<Reply, ApiError> {
    let caller = cx.portal(v).await?;
    // No fields are read, but a body that is sent must still be well-formed.
    caller.fields()?;
    let id = txn_id(id)?;
    cx.engine().check_owner(id, &caller.client_id).await?;
    cx.engine().resend(id).await?;
    Ok(reply::no_content())
}

/// `POST /user/{user_id}/sms` with `transaction_id`, `sms_code` (§2.4).
pub(crate) async fn verify_sms(cx: &Cx<'_>, v: Version, user: &str) -> Result<Reply, ApiError> {
    let caller = cx.portal(v).await?;
    let user = segment(user)?;
    let p: SmsVerifyParams = decode_fields(caller.fields()?)?;
    let id = txn_id(
        &p.transaction_id
            .ok_or_else(|| ApiError::bad_request("missing parameter: transaction_id"))?,
    )?;
    let code = p
        .sms_code
        .ok_or_else(|| ApiError::bad_request("missing parameter: sms_code"))?;
    cx.engine().check_owner(id, &caller.client_id).await?;
    cx.engine().verify_sms(&user, id, &code).await?;
    Ok(reply::ok(&SmsVerified {
        transaction_id: id.to_string(),
    }))
}

/// `POST /user/{user_id}/sms/resend` with `transaction_id` → `204`: the same code again.
pub(crate) async fn resend_sms(cx: &Cx<'_>, v: Version, user: &str) -> Result<Reply, ApiError> {
    let caller = cx.portal(v).await?;
    let user = segment(user)?;
    let p: TransactionRef = decode_fields(caller.fields()?)?;
    let id = txn_id(
        &p.transaction_id
            .ok_or_else(|| ApiError::bad_request("missing parameter: transaction_id"))?,
    )?;
    cx.engine().check_owner(id, &caller.client_id).await?;
    cx.engine().resend_sms(&user, id).await?;
    Ok(reply::no_content())
}

/// A malformed id is answered like an unknown one: `404 3004`.
fn txn_id(raw: &str) -> Result<TxnId, ApiError> {
    raw.parse().map_err(|_| ApiError::unknown_transaction())
}

/// The vendor's result fields plus `status`; a reason only once final and not accepted.
pub(crate) fn transaction_result(txn: &Transaction) -> TransactionResult {
    let unsuccessful = txn.is_final() && txn.status != Status::Accepted;
    let reason = unsuccessful.then(|| txn.reason.unwrap_or_else(|| reason_of(txn.status)));
    let answer = txn.answer.as_ref().filter(|a| a.signature.is_some());
    TransactionResult {
        callback_uri: txn.callback_uri.clone(),
        transaction_id: txn.id.to_string(),
        timestamp: txn.finished_at.unwrap_or(txn.created_at),
        user_id: txn.user_id.clone(),
        is_authenticated: txn.status == Status::Accepted,
        authentication_method: txn.method.as_str().to_owned(),
        used_authentication_attempts: txn.used_authentication_attempts,
        status: txn.status.as_str().to_owned(),
        not_authenticated_reason: reason.map(|r| NotAuthenticatedReason {
            reason: r.as_str().to_owned(),
            description: r.description().to_owned(),
        }),
        signature: answer.and_then(|a| a.signature.clone()),
        user_public_key: answer.and_then(|a| a.user_public_key.clone()),
        signature_verified: answer.and_then(|a| a.signature_verified),
    }
}

/// The reason a final status implies when the record carries none (it always should).
fn reason_of(status: Status) -> Reason {
    match status {
        Status::Rejected => Reason::NotAccepted,
        Status::Expired => Reason::Expired,
        Status::Cancelled => Reason::Cancelled,
        _ => Reason::InvalidRequest,
    }
}
