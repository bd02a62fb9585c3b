//! User & device management (API.md §3): the vendor's v4 (camelCase) and v3 (snake_case) device
//! listings, the bulk delete and its partial failure, and Tessera's enrollment codes.

use serde::{Deserialize, Deserializer, Serialize};

/// `200` of v4 `GET /users/{user_id}/devices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceList {
    pub devices: Vec<DeviceInfo>,
}

/// One device, v4 field names. Absent values are `null`, never left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceInfo {
    pub id: String,
    pub name: String,
    /// The application's id.
    pub application: String,
    pub model: Option<String>,
    /// `android` or `ios`.
    pub platform: String,
    pub os_version: Option<String>,
    /// Epoch milliseconds.
    pub created_at: u64,
    /// Epoch milliseconds.
    pub last_login: Option<u64>,
    /// `PIN`, `FINGERPRINT`, `CUSTOM:{id}`.
    pub token_types: Vec<String>,
    pub mobile_authentication_enabled: bool,
    pub push_authentication_enabled: bool,
}

/// `200` of v3 `GET /users/{user_id}/devices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceListV3 {
    pub devices: Vec<DeviceInfoV3>,
}

/// One device, the vendor's v3 snake_case names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfoV3 {
    pub id: String,
    pub name: String,
    pub application: String,
    pub platform: String,
    pub created_at: u64,
    pub token_types: Vec<String>,
    pub last_login: Option<u64>,
    pub mobile_authentication_enabled: bool,
    pub push_authentication_enabled: bool,
}

/// `POST /users/{user_id}/devices`: the devices to delete. JSON gives an array; a form may give
/// the ids comma-separated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeleteDevicesParams {
    #[serde(deserialize_with = "id_list")]
    pub delete: Vec<String>,
}

/// `500` of a bulk delete that deleted only some (vendor shape, not the usual error body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotAllDevicesDeleted {
    /// `not_all_devices_deleted`.
    pub code: String,
    pub message: String,
    pub details: Vec<DeleteFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteFailure {
    pub device_id: String,
    /// Why this one failed (`not_found`, ...).
    pub error_code: String,
}

/// `201` of `POST /users/{user_id}/enrollment-codes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentCode {
    /// Single use; typed or scanned by the app.
    pub enrollment_code: String,
    pub expires_in_ms: u64,
    /// The code as an SVG QR code.
    pub qr_svg: String,
}

fn id_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Ids {
        List(Vec<String>),
        Joined(String),
    }
    Ok(match Option::<Ids>::deserialize(d)? {
        None => Vec::new(),
        Some(Ids::List(ids)) => ids,
        Some(Ids::Joined(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}
