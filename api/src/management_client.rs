//! [`ManagementClient`]: a typed client of user & device management (API.md §3), v4, for a
//! portal or help desk holding an API client with scope `end_user`.

use reqwest::{Method, RequestBuilder, StatusCode};
use tessera_engine::Disable;

use crate::client::{
    ClientError, Endpoint, checked, empty_answer, encode, http_client, json_answer,
};
use crate::wire::{
    DeleteDevicesParams, DeleteFailure, DeviceInfo, DeviceList, EnrollmentCode,
    NotAllDevicesDeleted,
};

const USERS: &str = "/oauth/api/v4/users";

/// A help desk's view of users and their devices, authenticated with HTTP Basic.
#[derive(Debug, Clone)]
pub struct ManagementClient {
    ep: Endpoint,
}

impl ManagementClient {
    /// `base_url` like `http://127.0.0.1:8080` (no trailing path).
    pub fn new(
        base_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self::with_http(http_client(), base_url, client_id, client_secret)
    }

    /// With a preconfigured `reqwest` client.
    pub fn with_http(
        http: reqwest::Client,
        base_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            ep: Endpoint::new(http, base_url, client_id, client_secret),
        }
    }

    /// `POST /enrollment-codes`: a single-use code for the user's app to enroll with.
    pub async fn enrollment_code(&self, user_id: &str) -> Result<EnrollmentCode, ClientError> {
        json_answer(self.user(Method::POST, user_id, "/enrollment-codes")).await
    }

    /// `GET /devices`. A user without devices is `Ok(vec![])` here (the API answers `404
    /// not_found`).
    pub async fn devices(&self, user_id: &str) -> Result<Vec<DeviceInfo>, ClientError> {
        match json_answer::<DeviceList>(self.user(Method::GET, user_id, "/devices")).await {
            Ok(list) => Ok(list.devices),
            Err(e) if e.code() == Some("not_found") => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// `DELETE /devices/{device_id}`.
    pub async fn delete_device(&self, user_id: &str, device_id: &str) -> Result<(), ClientError> {
        let path = format!("/devices/{}", encode(device_id));
        empty_answer(self.user(Method::DELETE, user_id, &path)).await
    }

    /// `DELETE /devices`: all of the user's devices.
    pub async fn delete_all_devices(&self, user_id: &str) -> Result<(), ClientError> {
        empty_answer(self.user(Method::DELETE, user_id, "/devices")).await
    }

    /// `POST /devices` `{"delete": [ids]}`: the ids that could not be deleted, with why (empty
    /// when all were).
    pub async fn delete_devices(
        &self,
        user_id: &str,
        device_ids: &[String],
    ) -> Result<Vec<DeleteFailure>, ClientError> {
        let params = DeleteDevicesParams {
            delete: device_ids.to_vec(),
        };
        let req = self.user(Method::POST, user_id, "/devices").json(&params);
        let resp = req.send().await?;
        if resp.status() != StatusCode::INTERNAL_SERVER_ERROR {
            return checked(resp).await.map(|_| Vec::new());
        }
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        serde_json::from_slice::<NotAllDevicesDeleted>(&bytes)
            .map(|b| b.details)
            .map_err(|e| ClientError::Decode {
                status,
                message: e.to_string(),
            })
    }

    /// `POST /devices/{device_id}/disableFingerprint | disableMobileAuthentication |
    /// disablePushAuthentication`.
    pub async fn disable(
        &self,
        user_id: &str,
        device_id: &str,
        what: Disable,
    ) -> Result<(), ClientError> {
        let action = match what {
            Disable::Fingerprint => "disableFingerprint",
            Disable::MobileAuthentication => "disableMobileAuthentication",
            Disable::PushAuthentication => "disablePushAuthentication",
        };
        let path = format!("/devices/{}/{action}", encode(device_id));
        empty_answer(self.user(Method::POST, user_id, &path)).await
    }

    fn user(&self, method: Method, user_id: &str, path: &str) -> RequestBuilder {
        self.ep
            .authed(method, &format!("{USERS}/{}{path}", encode(user_id)))
    }
}
