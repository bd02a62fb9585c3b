//! User & device management handlers (API.md §3), scope `end_user`, under
//! `/oauth/api/v4/users/{user_id}` and, with the vendor's v3 field names,
//! `/oauth/api/v3/users/{user_id}`. Refusals use the device API's snake_case codes
//! (`not_found`, `invalid_request`); v3 in `multiple_devices` mode answers `404 4001`.

use http::StatusCode;
use tessera_engine::Disable;
use tessera_engine::model::Device;

use crate::body::{decode_in, segment_in};
use crate::context::{Cx, Version};
use crate::error::{ApiError, Codes};
use crate::reply::{self, Reply};
use crate::wire::{
    DeleteDevicesParams, DeleteFailure, DeviceInfo, DeviceInfoV3, DeviceList, DeviceListV3,
    EnrollmentCode,
};

/// Most ids one bulk delete takes: each is a store round trip and the answer lists failures.
const MAX_BULK_DELETE: usize = 100;

/// `GET /devices`: the user's devices, oldest first; none → `404 not_found`.
pub(crate) async fn list(cx: &Cx<'_>, v: Version, user: &str) -> Result<Reply, ApiError> {
    cx.management(v).await?;
    let user = user_id(user)?;
    let devices = cx.engine().devices_of(&user).await?;
    if devices.is_empty() {
        return Err(ApiError::no_devices());
    }
    Ok(match v {
        Version::V4 => reply::ok(&DeviceList {
            devices: devices.iter().map(info).collect(),
        }),
        _ => reply::ok(&DeviceListV3 {
            devices: devices.iter().map(info_v3).collect(),
        }),
    })
}

/// `DELETE /devices/{device_id}` → `204`; not one of the user's devices → `404 not_found`.
pub(crate) async fn delete(
    cx: &Cx<'_>,
    v: Version,
    user: &str,
    device: &str,
) -> Result<Reply, ApiError> {
    cx.management(v).await?.fields()?;
    let (user, device) = (user_id(user)?, segment_in(device, Codes::Named)?);
    cx.engine().delete_device(&user, &device).await?;
    Ok(reply::no_content())
}

/// `DELETE /devices` → `204`: every device of the user (none is fine).
pub(crate) async fn delete_all(cx: &Cx<'_>, v: Version, user: &str) -> Result<Reply, ApiError> {
    cx.management(v).await?.fields()?;
    let user = user_id(user)?;
    cx.engine().delete_all_devices(&user).await?;
    Ok(reply::no_content())
}

/// `POST /devices` with `{"delete": [ids]}` → `204`, or the vendor's `500
/// not_all_devices_deleted` naming each id that failed and why.
pub(crate) async fn delete_many(cx: &Cx<'_>, v: Version, user: &str) -> Result<Reply, ApiError> {
    let caller = cx.management(v).await?;
    let user = user_id(user)?;
    let p: DeleteDevicesParams = decode_in(caller.fields()?, Codes::Named)?;
    if p.delete.is_empty() {
        return Err(ApiError::invalid(Codes::Named, "missing parameter: delete"));
    }
    if p.delete.len() > MAX_BULK_DELETE {
        return Err(ApiError::invalid(
            Codes::Named,
            "invalid parameter: delete (at most 100 ids)",
        ));
    }
    let failed = cx.engine().delete_devices(&user, &p.delete).await;
    if failed.is_empty() {
        return Ok(reply::no_content());
    }
    let details = failed
        .into_iter()
        .map(|(device_id, e)| DeleteFailure {
            device_id,
            error_code: e.code().to_owned(),
        })
        .collect();
    Err(ApiError::not_all_deleted(details))
}

/// `POST /devices/{device_id}/disableFingerprint | disableMobileAuthentication |
/// disablePushAuthentication` → `204`.
pub(crate) async fn disable(
    cx: &Cx<'_>,
    v: Version,
    user: &str,
    device: &str,
    action: &str,
) -> Result<Reply, ApiError> {
    cx.management(v).await?.fields()?;
    let what = match action {
        "disableFingerprint" => Disable::Fingerprint,
        "disableMobileAuthentication" => Disable::MobileAuthentication,
        "disablePushAuthentication" => Disable::PushAuthentication,
        _ => return Err(ApiError::not_found()),
    };
    let (user, device) = (user_id(user)?, segment_in(device, Codes::Named)?);
    cx.engine().disable(&user, &device, what).await?;
    Ok(reply::no_content())
}

/// v4 `POST /enrollment-codes` → `201`: a single-use code for the user's app to enroll with.
pub(crate) async fn enrollment_code(cx: &Cx<'_>, user: &str) -> Result<Reply, ApiError> {
    cx.management(Version::V4).await?.fields()?;
    let user = user_id(user)?;
    let issued = cx.engine().issue_enrollment_code(&user).await?;
    Ok(reply::json(
        StatusCode::CREATED,
        &EnrollmentCode {
            enrollment_code: issued.code,
            expires_in_ms: issued.expires_in_ms,
            qr_svg: issued.qr_svg,
        },
    ))
}

fn user_id(raw: &str) -> Result<String, ApiError> {
    segment_in(raw, Codes::Named)
}

fn info(d: &Device) -> DeviceInfo {
    DeviceInfo {
        id: d.id.clone(),
        name: d.name.clone(),
        application: d.app_id.clone(),
        model: d.model.clone(),
        platform: d.platform.as_str().to_owned(),
        os_version: d.os_version.clone(),
        created_at: d.created_at,
        last_login: d.last_login,
        token_types: d.token_types(),
        mobile_authentication_enabled: d.mobile_auth_enabled,
        push_authentication_enabled: push_enabled(d),
    }
}

fn info_v3(d: &Device) -> DeviceInfoV3 {
    DeviceInfoV3 {
        id: d.id.clone(),
        name: d.name.clone(),
        application: d.app_id.clone(),
        platform: d.platform.as_str().to_owned(),
        created_at: d.created_at,
        token_types: d.token_types(),
        last_login: d.last_login,
        mobile_authentication_enabled: d.mobile_auth_enabled,
        push_authentication_enabled: push_enabled(d),
    }
}

/// Enrolled for push and not disabled: `disablePushAuthentication` clears both.
fn push_enabled(d: &Device) -> bool {
    d.push_enabled && d.push_token.is_some()
}
