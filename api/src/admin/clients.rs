//! `/api-clients`: who may call Tessera. A client's secret is never stored, only its SHA-256
//! (API.md §1), so it is shown exactly once: when the client is created without one (the
//! server draws 256 random bits) and on `POST /api-clients/{id}/rotate-secret`.
//!
//! - `GET /api-clients`, `GET /api-clients/{id}`: `ApiClientView` (id, scopes, allowed IPs).
//! - `PUT /api-clients/{id}` with `ApiClientWrite`: creates (`201 ApiClientCreated`) or updates
//!   (`200 ApiClientView`, the secret kept unless `secret` is given).
//! - `DELETE /api-clients/{id}`: `204`.
//!
//! The API cannot lock every operator out: a change leaving no client with the `admin` scope
//! (deleting or descoping the last one) is `409 in_use`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use rand::Rng as _;
use sha2::{Digest, Sha256};
use tessera_config::admin::{ApiClientCreated, ApiClientView, ApiClientWrite, List};
use tessera_config::{ApiClient, Config, Scope};
use tessera_engine::model::EventName;

use super::problems::{MAX_ITEMS, Refusal, change_error, decode, field, not_found};
use super::resources::path_key;
use crate::context::Cx;
use crate::error::ApiError;
use crate::reply::{self, Reply};

/// Shortest secret a caller may choose (`ApiClientWrite::secret`).
const MIN_SECRET_CHARS: usize = 32;
const MISSING: &str = "no API client with this id";

fn view(c: &ApiClient) -> ApiClientView {
    ApiClientView {
        id: c.id.clone(),
        scopes: c.scopes.clone(),
        allowed_ips: c.allowed_ips.clone(),
    }
}

/// 256 bits from the OS's CSPRNG, base64url.
fn new_secret() -> String {
    let mut raw = [0u8; 32];
    rand::rng().fill(&mut raw);
    URL_SAFE_NO_PAD.encode(raw)
}

fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Refuses a configuration no client could administer any more.
fn keeps_an_admin(cfg: &Config) -> Result<(), Refusal> {
    if cfg
        .api_clients
        .iter()
        .any(|c| c.scopes.contains(&Scope::Admin))
    {
        Ok(())
    } else {
        Err(Refusal::InUse(
            "it is the last API client with the admin scope".to_owned(),
        ))
    }
}

pub(crate) async fn list(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    cx.admin().await?;
    let cfg = cx.engine().config();
    let mut items: Vec<ApiClientView> = cfg.api_clients.iter().map(view).collect();
    items.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(reply::ok(&List { items }))
}

pub(crate) async fn get(cx: &Cx<'_>, raw: &str) -> Result<Reply, ApiError> {
    cx.admin().await?;
    let id = path_key(raw)?;
    let cfg = cx.engine().config();
    let client = cfg.api_clients.iter().find(|c| c.id == id);
    Ok(reply::ok(&view(client.ok_or_else(|| not_found(MISSING))?)))
}

pub(crate) async fn put(cx: &Cx<'_>, raw: &str) -> Result<Reply, ApiError> {
    let caller = cx.admin().await?;
    let id = path_key(raw)?;
    let write: ApiClientWrite = decode(cx.json_body()?)?;
    if let Some(secret) = &write.secret
        && secret.chars().count() < MIN_SECRET_CHARS
    {
        return Err(field("secret", "too short: at least 32 characters"));
    }
    // Drawn once: the change may be applied again after another node's write.
    let secret = write.secret.clone().unwrap_or_else(new_secret);
    let mut prefix = String::new();
    let created = cx
        .engine()
        .change_config(|cfg: &mut Config| {
            let at = cfg.api_clients.iter().position(|c| c.id == id);
            if at.is_none() && cfg.api_clients.len() >= MAX_ITEMS {
                return Err(Refusal::Full("api_clients".to_owned()));
            }
            let index = at.unwrap_or(cfg.api_clients.len());
            prefix = format!("api_clients[{index}]");
            match at {
                Some(i) => {
                    let client = &mut cfg.api_clients[i];
                    client.scopes = write.scopes.clone();
                    client.allowed_ips = write.allowed_ips.clone();
                    if write.secret.is_some() {
                        client.secret_sha256 = sha256_hex(&secret);
                    }
                }
                None => cfg.api_clients.push(ApiClient {
                    id: id.clone(),
                    secret_sha256: sha256_hex(&secret),
                    scopes: write.scopes.clone(),
                    allowed_ips: write.allowed_ips.clone(),
                    ..ApiClient::default()
                }),
            }
            keeps_an_admin(cfg)?;
            Ok(at.is_none())
        })
        .await
        .map_err(|e| change_error(e, &prefix))?;
    let client = ApiClientView {
        id: id.clone(),
        scopes: write.scopes,
        allowed_ips: write.allowed_ips,
    };
    let engine = cx.engine();
    if created {
        let detail = format!("api-clients/{id} created");
        engine
            .admin_event(EventName::AdminApiClientCreated, &caller.client_id, detail)
            .await;
        let shown = ApiClientCreated {
            client,
            client_secret: secret,
        };
        return Ok(reply::json(StatusCode::CREATED, &shown));
    }
    let replaced = if write.secret.is_some() {
        " (secret replaced)"
    } else {
        ""
    };
    let detail = format!("api-clients/{id} updated{replaced}");
    engine
        .admin_event(
            EventName::AdminConfigurationChanged,
            &caller.client_id,
            detail,
        )
        .await;
    Ok(reply::ok(&client))
}

pub(crate) async fn rotate(cx: &Cx<'_>, raw: &str) -> Result<Reply, ApiError> {
    let caller = cx.admin().await?;
    let id = path_key(raw)?;
    let secret = new_secret();
    let client = cx
        .engine()
        .change_config(|cfg: &mut Config| {
            let client = cfg.api_clients.iter_mut().find(|c| c.id == id);
            let client = client.ok_or(Refusal::NotFound(MISSING))?;
            client.secret_sha256 = sha256_hex(&secret);
            Ok(view(client))
        })
        .await
        .map_err(|e| change_error(e, ""))?;
    cx.engine()
        .admin_event(
            EventName::AdminApiClientSecretRotated,
            &caller.client_id,
            format!("api-clients/{id} secret rotated"),
        )
        .await;
    Ok(reply::ok(&ApiClientCreated {
        client,
        client_secret: secret,
    }))
}

pub(crate) async fn delete(cx: &Cx<'_>, raw: &str) -> Result<Reply, ApiError> {
    let caller = cx.admin().await?;
    let id = path_key(raw)?;
    cx.engine()
        .change_config(|cfg: &mut Config| {
            let at = cfg.api_clients.iter().position(|c| c.id == id);
            cfg.api_clients
                .remove(at.ok_or(Refusal::NotFound(MISSING))?);
            keeps_an_admin(cfg)
        })
        .await
        .map_err(|e| change_error(e, ""))?;
    cx.engine()
        .admin_event(
            EventName::AdminApiClientDeleted,
            &caller.client_id,
            format!("api-clients/{id} deleted"),
        )
        .await;
    Ok(reply::no_content())
}
