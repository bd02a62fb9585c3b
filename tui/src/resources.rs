//! The admin API's configuration resources (API.md §5): collections read as `{"items": [...]}`
//! and objects read and written whole with the config file's key names. The TUI edits them as
//! JSON values, so a field the server adds later is shown and written back untouched.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tessera_config::admin::{ApiClientCreated, ApiClientView, ApiClientWrite, List};

use crate::client::AdminClient;
use crate::error::{Error, Result};

/// A configuration collection, with the key naming its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Collection {
    MobileAuthTypes,
    Applications,
    PushConfigs,
    CallbackConfigs,
    SmsGateways,
    ApiClients,
}

impl Collection {
    /// The ones the Config tab browses, in its order.
    pub const BROWSED: [Collection; 5] = [
        Collection::MobileAuthTypes,
        Collection::Applications,
        Collection::PushConfigs,
        Collection::SmsGateways,
        Collection::ApiClients,
    ];

    /// The path segment under `/admin/v1`.
    pub fn path(self) -> &'static str {
        match self {
            Collection::MobileAuthTypes => "mobile-auth-types",
            Collection::Applications => "applications",
            Collection::PushConfigs => "push-configs",
            Collection::CallbackConfigs => "callback-configs",
            Collection::SmsGateways => "sms-gateways",
            Collection::ApiClients => "api-clients",
        }
    }

    /// What the dashboard calls it.
    pub fn title(self) -> &'static str {
        match self {
            Collection::MobileAuthTypes => "Auth types",
            Collection::Applications => "Applications",
            Collection::PushConfigs => "Push configs",
            Collection::CallbackConfigs => "Callbacks",
            Collection::SmsGateways => "SMS gateways",
            Collection::ApiClients => "API clients",
        }
    }

    /// The field holding an item's name (its last path segment).
    pub fn key(self) -> &'static str {
        match self {
            Collection::MobileAuthTypes | Collection::SmsGateways => "name",
            Collection::Applications | Collection::PushConfigs | Collection::ApiClients => "id",
            Collection::CallbackConfigs => "url",
        }
    }

    /// An item's name, if it has one.
    pub fn name_of(self, item: &Value) -> Option<&str> {
        item.get(self.key()).and_then(Value::as_str)
    }
}

/// Answer to `PUT /api-clients/{id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiClientPut {
    /// `201`: a new client; its secret is shown this once.
    Created(ApiClientCreated),
    /// `200`: an existing client changed (its secret kept unless one was given).
    Updated(ApiClientView),
}

impl AdminClient {
    /// `GET /{collection}`: every item, ordered by name.
    pub async fn list(&self, c: Collection) -> Result<Vec<Value>> {
        let list: List<Value> = self
            .json(self.request(Method::GET, self.url(&[c.path()])))
            .await?;
        Ok(list.items)
    }

    /// `GET /{collection}/{name}`: secrets read back masked.
    pub async fn resource(&self, c: Collection, name: &str) -> Result<Value> {
        let url = self.url(&[c.path(), name]);
        self.json(self.request(Method::GET, url)).await
    }

    /// `PUT /{collection}/{name}` with the whole object; the stored object when the server
    /// answers with one. `422 invalid_config` carries per-field messages
    /// ([`Error::fields`]). API clients take [`ApiClientWrite`]; see [`Self::put_api_client`]
    /// (a view passed here is converted).
    pub async fn put(&self, c: Collection, name: &str, body: &Value) -> Result<Option<Value>> {
        let body = if c == Collection::ApiClients {
            api_client_write(body)?
        } else {
            body.clone()
        };
        let url = self.url(&[c.path(), name]);
        let (_, answer) = self
            .exchange(self.request(Method::PUT, url).json(&body))
            .await?;
        optional_json(&answer)
    }

    /// `DELETE /{collection}/{name}`: `409 in_use` when others refer to it.
    pub async fn delete(&self, c: Collection, name: &str) -> Result<()> {
        let url = self.url(&[c.path(), name]);
        self.exchange(self.request(Method::DELETE, url))
            .await
            .map(drop)
    }

    /// `GET /general`.
    pub async fn general(&self) -> Result<Value> {
        self.json(self.request(Method::GET, self.url(&["general"])))
            .await
    }

    /// `PUT /general` with the whole object.
    pub async fn put_general(&self, body: &Value) -> Result<Option<Value>> {
        let url = self.url(&["general"]);
        let (_, answer) = self
            .exchange(self.request(Method::PUT, url).json(body))
            .await?;
        optional_json(&answer)
    }

    /// `GET /applications/{app}/versions/{platform}/{version}`.
    pub async fn app_version(&self, app: &str, platform: &str, version: &str) -> Result<Value> {
        let url = self.url(&["applications", app, "versions", platform, version]);
        self.json(self.request(Method::GET, url)).await
    }

    /// `PUT /applications/{app}/versions/{platform}/{version}`.
    pub async fn put_app_version(
        &self,
        app: &str,
        platform: &str,
        version: &str,
        body: &Value,
    ) -> Result<Option<Value>> {
        let url = self.url(&["applications", app, "versions", platform, version]);
        let (_, answer) = self
            .exchange(self.request(Method::PUT, url).json(body))
            .await?;
        optional_json(&answer)
    }

    /// `DELETE /applications/{app}/versions/{platform}/{version}`.
    pub async fn delete_app_version(&self, app: &str, platform: &str, version: &str) -> Result<()> {
        let url = self.url(&["applications", app, "versions", platform, version]);
        self.exchange(self.request(Method::DELETE, url))
            .await
            .map(drop)
    }

    /// `PUT /api-clients/{id}`: creates (secret shown once) or updates.
    pub async fn put_api_client(&self, id: &str, body: &ApiClientWrite) -> Result<ApiClientPut> {
        let url = self.url(&["api-clients", id]);
        let (status, answer) = self
            .exchange(self.request(Method::PUT, url).json(body))
            .await?;
        let decode = |e: serde_json::Error| Error::Decode(e.to_string());
        if status == StatusCode::CREATED {
            serde_json::from_slice(&answer)
                .map(ApiClientPut::Created)
                .map_err(decode)
        } else {
            serde_json::from_slice(&answer)
                .map(ApiClientPut::Updated)
                .map_err(decode)
        }
    }

    /// `POST /api-clients/{id}/rotate-secret`: the new secret, shown this once.
    pub async fn rotate_secret(&self, id: &str) -> Result<ApiClientCreated> {
        let url = self.url(&["api-clients", id, "rotate-secret"]);
        self.json(self.request(Method::POST, url)).await
    }
}

/// An API client's view (`id`, `scopes`, `allowed_ips`) as the write body the server takes
/// (`deny_unknown_fields`: no `id`).
fn api_client_write(view: &Value) -> Result<Value> {
    let mut write = serde_json::Map::new();
    for key in ["scopes", "allowed_ips", "secret"] {
        if let Some(v) = view.get(key) {
            write.insert(key.to_owned(), v.clone());
        }
    }
    let write = Value::Object(write);
    // Checked here so a typo is reported before it travels.
    serde_json::from_value::<ApiClientWrite>(write.clone())
        .map_err(|e| Error::Decode(format!("API client: {e}")))?;
    Ok(write)
}

fn optional_json(body: &[u8]) -> Result<Option<Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|e| Error::Decode(e.to_string()))
}
