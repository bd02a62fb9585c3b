//! The single objects: `GET/PUT /general` (the seed's general mobile config, API.md §5) and
//! `GET/PUT /sms` (Tessera addition: the `[sms]` section — the gateways in failover order and
//! the cool-down — so a gateway created through `/sms-gateways` can be put in the route). A
//! `PUT` replaces the whole object (`200`) and answers it as stored.

use serde::Serialize;
use serde::de::DeserializeOwned;
use tessera_config::{Config, Sms};
use tessera_engine::model::EventName;

use super::problems::{Refusal, change_error, decode};
use crate::context::Cx;
use crate::error::ApiError;
use crate::reply::{self, Reply};

pub(crate) async fn get_general(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    cx.admin().await?;
    Ok(reply::ok(&cx.engine().config().general))
}

pub(crate) async fn put_general(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    put(cx, "general", |cfg| &mut cfg.general).await?;
    Ok(reply::ok(&cx.engine().config().general))
}

pub(crate) async fn get_sms(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    cx.admin().await?;
    Ok(reply::ok(&cx.engine().config().sms))
}

pub(crate) async fn put_sms(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    put::<Sms>(cx, "sms", |cfg| &mut cfg.sms).await?;
    Ok(reply::ok(&cx.engine().config().sms))
}

/// Replaces the section `name` with the body.
async fn put<T>(
    cx: &Cx<'_>,
    name: &'static str,
    slot: fn(&mut Config) -> &mut T,
) -> Result<(), ApiError>
where
    T: Serialize + DeserializeOwned + Clone,
{
    let caller = cx.admin().await?;
    let value: T = decode(cx.json_body()?)?;
    cx.engine()
        .change_config(|cfg: &mut Config| {
            *slot(cfg) = value.clone();
            Ok::<_, Refusal>(())
        })
        .await
        .map_err(|e| change_error(e, name))?;
    cx.engine()
        .admin_event(
            EventName::AdminConfigurationChanged,
            &caller.client_id,
            format!("{name} updated"),
        )
        .await;
    Ok(())
}
