//! One CRUD for the collections that are plain config types (API.md §5): mobile auth types,
//! applications, push configs, callback configs, SMS gateways. Bodies are the config file's
//! tables as JSON, with its key names and defaults (durations as `"90s"`, `"5m"`).
//!
//! - `GET /{collection}`: `{"items": [...]}` ordered by key.
//! - `GET /{collection}/{key}`: the item, or `404 not_found`.
//! - `PUT /{collection}/{key}`: creates (`201`) or replaces (`200`) the whole item and answers
//!   it as stored. The key comes from the path; a key in the body must equal it.
//! - `DELETE /{collection}/{key}`: `204`; `404` when absent; `409 in_use` when something refers
//!   to it.
//!
//! Secret fields read back as `********`; writing `********` keeps the stored value. Their
//! `*_env` / `*_file` twins are refused: the server does not read its environment or files on
//! an API caller's behalf; the value itself is given and sealed in the store.

use http::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tessera_config::Config;
use tessera_config::admin::{List, MASKED};
use tessera_engine::model::EventName;

use super::problems::{MAX_ITEMS, Refusal, change_error, decode, field, key_from_path, not_found};
use crate::body::segment_in;
use crate::context::Cx;
use crate::error::{ApiError, Codes};
use crate::reply::{self, Reply};

/// A collection of the configuration the admin API manages.
pub(crate) trait Resource: Serialize + DeserializeOwned + Clone + Send + 'static {
    /// The path segment (`mobile-auth-types`): events say `"<PATH>/<key> updated"`.
    const PATH: &'static str;
    /// The config section (`mobile_auth_types`): validation paths start with it.
    const SECTION: &'static str;
    /// The key field (`name`, `id`, `url`).
    const KEY: &'static str;
    /// What a missing one is called in a `404`.
    const MISSING: &'static str;

    fn key(&self) -> &str;
    fn items(cfg: &Config) -> &[Self];
    fn items_mut(cfg: &mut Config) -> &mut Vec<Self>;

    /// The secret fields, in a fixed order.
    fn secrets_mut(&mut self) -> Vec<&mut String> {
        Vec::new()
    }

    /// The `*_env` / `*_file` twins of the secrets, by field name.
    fn twins(&self) -> Vec<(&'static str, &str)> {
        Vec::new()
    }

    /// What in `cfg` refers to the item `key`, if anything: deleting it is `409 in_use`.
    fn used_by(_cfg: &Config, _key: &str) -> Option<String> {
        None
    }

    /// How the key reads in an event's detail (never a secret).
    fn shown(key: &str) -> String {
        key.to_owned()
    }
}

/// `item` with every non-empty secret replaced by [`MASKED`].
pub(crate) fn masked<R: Resource>(mut item: R) -> R {
    for secret in item.secrets_mut() {
        if !secret.is_empty() {
            *secret = MASKED.to_owned();
        }
    }
    item
}

/// Secrets written as [`MASKED`] take the stored item's value (none stored: empty).
fn keep_secrets<R: Resource>(item: &mut R, stored: Option<&R>) {
    let mut stored = stored.cloned();
    let mut old = stored.as_mut().map(R::secrets_mut).unwrap_or_default();
    for (i, secret) in item.secrets_mut().into_iter().enumerate() {
        if secret == MASKED {
            *secret = old
                .get_mut(i)
                .map(|s| std::mem::take(&mut **s))
                .unwrap_or_default();
        }
    }
}

/// The key in the path, percent-decoded.
pub(crate) fn path_key(raw: &str) -> Result<String, ApiError> {
    segment_in(raw, Codes::Named)
}

pub(crate) async fn list<R: Resource>(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    cx.admin().await?;
    let cfg = cx.engine().config();
    let mut items: Vec<R> = R::items(&cfg).iter().cloned().map(masked).collect();
    items.sort_by(|a, b| a.key().cmp(b.key()));
    Ok(reply::ok(&List { items }))
}

pub(crate) async fn get<R: Resource>(cx: &Cx<'_>, raw: &str) -> Result<Reply, ApiError> {
    cx.admin().await?;
    let key = path_key(raw)?;
    let cfg = cx.engine().config();
    let item = R::items(&cfg).iter().find(|i| i.key() == key);
    let item = item.cloned().ok_or_else(|| not_found(R::MISSING))?;
    Ok(reply::ok(&masked(item)))
}

pub(crate) async fn put<R: Resource>(cx: &Cx<'_>, raw: &str) -> Result<Reply, ApiError> {
    let caller = cx.admin().await?;
    let key = path_key(raw)?;
    let mut fields = cx.json_body()?;
    key_from_path(&mut fields, R::KEY, Value::String(key.clone()))?;
    let item: R = decode(fields)?;
    if let Some((twin, _)) = item.twins().into_iter().find(|(_, v)| !v.is_empty()) {
        return Err(field(twin, TWIN_REFUSED));
    }
    let mut prefix = String::new();
    let created = cx
        .engine()
        .change_config(|cfg: &mut Config| {
            let list = R::items_mut(cfg);
            let mut item = item.clone();
            let at = list.iter().position(|i| i.key() == key);
            if at.is_none() && list.len() >= MAX_ITEMS {
                return Err(Refusal::Full(R::SECTION.to_owned()));
            }
            keep_secrets(&mut item, at.map(|i| &list[i]));
            let index = at.unwrap_or(list.len());
            prefix = format!("{}[{index}]", R::SECTION);
            match at {
                Some(i) => list[i] = item,
                None => list.push(item),
            }
            Ok(at.is_none())
        })
        .await
        .map_err(|e| change_error(e, &prefix))?;
    let what = if created { "created" } else { "updated" };
    let detail = format!("{}/{} {what}", R::PATH, R::shown(&key));
    cx.engine()
        .admin_event(
            EventName::AdminConfigurationChanged,
            &caller.client_id,
            detail,
        )
        .await;
    let cfg = cx.engine().config();
    let stored = R::items(&cfg).iter().find(|i| i.key() == key).cloned();
    let stored = stored.ok_or_else(|| not_found(R::MISSING))?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(reply::json(status, &masked(stored)))
}

pub(crate) async fn delete<R: Resource>(cx: &Cx<'_>, raw: &str) -> Result<Reply, ApiError> {
    let caller = cx.admin().await?;
    let key = path_key(raw)?;
    cx.engine()
        .change_config(|cfg: &mut Config| {
            let at = R::items(cfg).iter().position(|i| i.key() == key);
            let at = at.ok_or(Refusal::NotFound(R::MISSING))?;
            if let Some(user) = R::used_by(cfg, &key) {
                return Err(Refusal::InUse(user));
            }
            R::items_mut(cfg).remove(at);
            Ok(())
        })
        .await
        .map_err(|e| change_error(e, ""))?;
    let detail = format!("{}/{} deleted", R::PATH, R::shown(&key));
    cx.engine()
        .admin_event(
            EventName::AdminConfigurationChanged,
            &caller.client_id,
            detail,
        )
        .await;
    Ok(reply::no_content())
}

/// Why an `*_env` / `*_file` twin is refused.
pub(crate) const TWIN_REFUSED: &str =
    "not accepted through the admin API: give the value itself (it is sealed in the store)";
