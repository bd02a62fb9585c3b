//! `GET/PUT/DELETE /applications/{id}/versions/{platform}/{version}`: one version of an
//! application (`AppVersion`). `platform` and `version` come from the path (in the body they
//! may be left out, or must be equal); `PUT` creates (`201`) or replaces (`200`).

use http::StatusCode;
use serde_json::Value;
use tessera_config::{Application, Config, Platform};
use tessera_engine::model::EventName;

use super::problems::{MAX_ITEMS, Refusal, change_error, decode, key_from_path, not_found};
use super::resources::path_key;
use crate::context::Cx;
use crate::error::ApiError;
use crate::reply::{self, Reply};

const NO_APP: &str = "no application with this id";
const NO_VERSION: &str = "no such version of this application";

/// The path's application id, platform and version.
struct At {
    app: String,
    platform: Platform,
    version: String,
}

impl At {
    fn parse(app: &str, platform: &str, version: &str) -> Result<Self, ApiError> {
        let platform = match platform {
            "android" => Platform::Android,
            "ios" => Platform::Ios,
            _ => return Err(not_found("no such platform: android or ios")),
        };
        Ok(Self {
            app: path_key(app)?,
            platform,
            version: path_key(version)?,
        })
    }

    fn find(&self, app: &Application) -> Option<usize> {
        app.versions
            .iter()
            .position(|v| v.platform == self.platform && v.version == self.version)
    }

    fn detail(&self, what: &str) -> String {
        format!(
            "applications/{}/versions/{}/{} {what}",
            self.app,
            self.platform.as_str(),
            self.version
        )
    }
}

pub(crate) async fn get(
    cx: &Cx<'_>,
    app: &str,
    platform: &str,
    version: &str,
) -> Result<Reply, ApiError> {
    cx.admin().await?;
    let at = At::parse(app, platform, version)?;
    let cfg = cx.engine().config();
    let app = cfg.application(&at.app).ok_or_else(|| not_found(NO_APP))?;
    let i = at.find(app).ok_or_else(|| not_found(NO_VERSION))?;
    Ok(reply::ok(&app.versions[i]))
}

pub(crate) async fn put(
    cx: &Cx<'_>,
    app: &str,
    platform: &str,
    version: &str,
) -> Result<Reply, ApiError> {
    let caller = cx.admin().await?;
    let at = At::parse(app, platform, version)?;
    let mut fields = cx.json_body()?;
    key_from_path(&mut fields, "platform", Value::from(at.platform.as_str()))?;
    key_from_path(&mut fields, "version", Value::from(at.version.clone()))?;
    let body: tessera_config::AppVersion = decode(fields)?;
    let mut prefix = String::new();
    let created = cx
        .engine()
        .change_config(|cfg: &mut Config| {
            let a = cfg.applications.iter().position(|a| a.id == at.app);
            let a = a.ok_or(Refusal::NotFound(NO_APP))?;
            let app = &mut cfg.applications[a];
            let found = at.find(app);
            if found.is_none() && app.versions.len() >= MAX_ITEMS {
                return Err(Refusal::Full("versions".to_owned()));
            }
            let v = found.unwrap_or(app.versions.len());
            prefix = format!("applications[{a}].versions[{v}]");
            match found {
                Some(v) => app.versions[v] = body.clone(),
                None => app.versions.push(body.clone()),
            }
            Ok(found.is_none())
        })
        .await
        .map_err(|e| change_error(e, &prefix))?;
    let detail = at.detail(if created { "created" } else { "updated" });
    cx.engine()
        .admin_event(
            EventName::AdminConfigurationChanged,
            &caller.client_id,
            detail,
        )
        .await;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(reply::json(status, &body))
}

pub(crate) async fn delete(
    cx: &Cx<'_>,
    app: &str,
    platform: &str,
    version: &str,
) -> Result<Reply, ApiError> {
    let caller = cx.admin().await?;
    let at = At::parse(app, platform, version)?;
    cx.engine()
        .change_config(|cfg: &mut Config| {
            let a = cfg.applications.iter_mut().find(|a| a.id == at.app);
            let app = a.ok_or(Refusal::NotFound(NO_APP))?;
            let v = at.find(app).ok_or(Refusal::NotFound(NO_VERSION))?;
            app.versions.remove(v);
            Ok(())
        })
        .await
        .map_err(|e| change_error(e, ""))?;
    cx.engine()
        .admin_event(
            EventName::AdminConfigurationChanged,
            &caller.client_id,
            at.detail("deleted"),
        )
        .await;
    Ok(reply::no_content())
}
