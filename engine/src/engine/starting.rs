//! Starting transactions and telling portals what a user can do (API.md §2.1, §2.2): which of
//! the user's devices a push method can reach, and the start itself.

use std::sync::Arc;

use tessera_config::{Config, Method, MobileAuthType, Platform};
use tokio::sync::oneshot;

use super::Engine;
use crate::enroll::authenticators;
use crate::error::{Error, Result};
use crate::limits::Limit;
use crate::model::{Device, Transaction, TxnId};
use crate::txn::machine::Reply;
use crate::txn::shard::{self, Start};
use crate::txn::start::{self, Draw, Settings, StartRequest};

/// What a start hands back to the portal.
#[derive(Debug, Clone)]
pub struct Started {
    pub txn: Arc<Transaction>,
    pub otp: Option<String>,
    /// The devices a push went to.
    pub devices: Vec<DeviceSummary>,
}

/// A device as the portal sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSummary {
    pub device_id: String,
    pub device_name: String,
    pub platform: Platform,
    pub app_id: String,
    pub app_name: String,
}

/// One line of the availability answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Available {
    pub type_name: String,
    pub method: Method,
    /// Push types: whether their SMS fallback may be used.
    pub sms_fallback_allowed: Option<bool>,
    /// Push types: the devices a push would reach.
    pub apps_enrolled_for_push: Option<Vec<DeviceSummary>>,
}

impl Engine {
    /// The OTP of a pending, unredeemed OTP transaction `txn` (as read from the store), for
    /// its QR code: unsealed with the store's `hash_key`, so every node sharing the store can
    /// draw it. `None` for anything else.
    pub fn otp_of(&self, txn: &Transaction) -> Option<String> {
        start::unseal_otp(txn, &self.inner.svc.code_key)
    }

    /// Starts a transaction (API.md §2.2).
    pub async fn start(&self, req: StartRequest) -> Result<Started> {
        let cfg = self.config();
        let ty = cfg
            .mobile_auth_type(&req.type_name)
            .ok_or(Error::UnknownType)?;
        let fallback = cfg.mobile_auth_type(&ty.fallback);
        let devices = match (&req.user_id, ty.method.is_push()) {
            (Some(user), true) if start::valid_user_id(user) => {
                self.reachable(user, ty.method, &cfg).await?
            }
            _ => Vec::new(),
        };
        let ids: Vec<String> = devices.iter().map(|d| d.id.clone()).collect();
        let settings = Settings {
            general: &cfg.general,
            ty,
            fallback,
            callbacks: &cfg.callback_configs,
            code_key: &self.inner.svc.code_key,
            sms_policy: &cfg.sms_policy,
        };
        let draw = Draw::random_for(self.new_txn_id(), &mut rand::rng());
        let mut prepared = start::prepare(&req, settings, &ids, &draw, self.clock().now())?;
        // The abuse limits, once the request is known to be valid and before anything exists:
        // a refused start leaves no transaction, event or send behind.
        if let (true, Some(user)) = (ty.method.is_push(), &req.user_id) {
            self.admit_push_start(user).await?;
        }
        if let Some(code) = prepared
            .txn
            .code
            .as_ref()
            .filter(|_| prepared.txn.method == Method::Sms)
        {
            // The start's own SMS (an SMS type, or a push type that fell back at start): cleared
            // here, so the actor sends it without asking again (`actor::sms`).
            self.inner.svc.clear_sms(&code.phone_number).await?;
        }
        // This node runs its timers (until it dies and another takes them over).
        prepared.txn.node = Some(self.inner.svc.node.clone());
        let (id, deadline) = (prepared.txn.id, prepared.txn.deadline);
        let targets: Vec<DeviceSummary> = prepared
            .txn
            .push
            .iter()
            .flat_map(|p| p.targets.iter())
            .filter_map(|t| devices.iter().find(|d| d.id == t.device_id))
            .map(|d| summary(d, &cfg))
            .collect();
        // Indexed before the push leaves, so the app finds it in its pending list at once.
        for t in &targets {
            self.store()
                .add_device_txn(&t.device_id, id, deadline)
                .await?;
        }
        let (tx, rx) = oneshot::channel();
        self.shard(id)
            .try_send(Start {
                txn: prepared.txn,
                sms_code: prepared.sms_code,
                fell_back: prepared.fell_back,
                reply: tx,
            })
            .map_err(super::refused)?;
        match rx.await {
            Ok(Reply::Done) => {}
            Ok(Reply::Refused(refusal)) => return Err(refusal.into()),
            Ok(_) => return Err(Error::InitFailed),
            Err(_) => return Err(Error::Overloaded),
        }
        let txn = self.current(id).await?;
        self.prefetch_context(&txn);
        Ok(Started {
            txn,
            otp: prepared.otp,
            devices: targets,
        })
    }

    /// A fresh transaction id, of the shard on this thread when the request is served on one
    /// of the engine's arbiters (the usual case): the start then crosses no thread.
    fn new_txn_id(&self) -> TxnId {
        let shards = self.inner.shards.len();
        match shard::here() {
            Some(index) if index < shards && shards > 1 => TxnId::random_in_shard(index, shards),
            _ => TxnId::random(),
        }
    }

    /// Begins looking up where the requester is, for the document the app fetches next (push
    /// and OTP types); the push does not wait for it. A failed lookup is reported on the
    /// transaction as `GEOLOCATION FAILURE`, once, when it fails.
    fn prefetch_context(&self, txn: &Arc<Transaction>) {
        let Some(context) = &self.inner.svc.context else {
            return;
        };
        if txn.method == Method::Sms {
            return;
        }
        let Some(lookup) = context.prefetch(txn) else {
            return;
        };
        let (engine, txn) = (self.clone(), txn.clone());
        // A task of its own (not the request's): the lookup outlives the start's answer.
        tokio::spawn(async move {
            if let Some(cause) = lookup.await {
                engine.geolocation_failure(&txn, &cause, None).await;
            }
        });
    }

    /// A push-family start for `user_id` (also one about to fall back to SMS): refused while a
    /// fraud report mutes the user, else counted against `rate_limits.push_starts_per_user`,
    /// the push-bombing cap.
    async fn admit_push_start(&self, user_id: &str) -> Result<()> {
        let limits = self.limits();
        // `muted` counts `tessera_rate_limited_total{limit="fraud_mute"}` when it refuses.
        if let Err(muted) = limits.muted(user_id).await? {
            return Err(Error::Limited(muted));
        }
        limits
            .take(Limit::PushStartsPerUser, user_id)
            .await?
            .map_err(Error::Limited)
    }

    /// Types usable for this user (API.md §2.1): a push type when one of the user's devices can
    /// answer it or its SMS fallback can be used; OTP when the user has an enrolled device; SMS
    /// always while enabled — it needs no enrollment, only the phone number the portal sends.
    pub async fn availability(&self, user_id: &str) -> Result<Vec<Available>> {
        if !start::valid_user_id(user_id) {
            return Err(Error::UnknownType);
        }
        let cfg = self.config();
        let g = &cfg.general;
        if !g.mobile_authentication_enabled {
            return Ok(Vec::new());
        }
        let devices = self.store().user_devices(user_id).await?;
        let sms_ok = |t: &MobileAuthType| t.method == Method::Sms && g.sms_authentication_enabled;
        let mut out = Vec::new();
        for t in &cfg.mobile_auth_types {
            let entry = match t.method {
                Method::Sms => sms_ok(t).then(|| Available {
                    type_name: t.name.clone(),
                    method: t.method,
                    sms_fallback_allowed: None,
                    apps_enrolled_for_push: None,
                }),
                Method::Otp => devices
                    .iter()
                    .any(|d| d.mobile_auth_enabled)
                    .then(|| Available {
                        type_name: t.name.clone(),
                        method: t.method,
                        sms_fallback_allowed: None,
                        apps_enrolled_for_push: None,
                    }),
                m => {
                    let reach: Vec<DeviceSummary> = devices
                        .iter()
                        .filter(|d| g.push_authorization_enabled && can_answer(d, m, &cfg))
                        .map(|d| summary(d, &cfg))
                        .collect();
                    let fallback_sms = cfg.mobile_auth_type(&t.fallback).is_some_and(sms_ok);
                    (!reach.is_empty() || fallback_sms).then(|| Available {
                        type_name: t.name.clone(),
                        method: m,
                        sms_fallback_allowed: Some(fallback_sms),
                        apps_enrolled_for_push: Some(reach),
                    })
                }
            };
            out.extend(entry);
        }
        Ok(out)
    }

    /// The user's devices that can answer `method` by push now.
    async fn reachable(&self, user_id: &str, method: Method, cfg: &Config) -> Result<Vec<Device>> {
        let mut devices = self.store().user_devices(user_id).await?;
        devices.retain(|d| can_answer(d, method, cfg));
        devices.sort_by_key(|d| d.created_at);
        Ok(devices)
    }
}

/// A device answers a push method when it is push-enrolled on an enabled app version and holds
/// an authenticator the method takes (the PIN always counts where the app allows it).
fn can_answer(d: &Device, method: Method, cfg: &Config) -> bool {
    let Some(app) = cfg.application(&d.app_id) else {
        return false;
    };
    let version_ok = app.enabled_version(d.platform, &d.app_version).is_some();
    // Plain push needs no authenticator; the others one the method takes (the PIN always counts
    // where the app allows it).
    let factors = authenticators::accepted(method);
    let by_method = method.is_push()
        && (factors.is_empty() || factors.iter().any(|f| authenticators::holds(d, app, *f)));
    d.push_ready() && version_ok && by_method
}

fn summary(d: &Device, cfg: &Config) -> DeviceSummary {
    let app_name = cfg
        .application(&d.app_id)
        .map(|a| {
            if a.name.is_empty() {
                a.id.clone()
            } else {
                a.name.clone()
            }
        })
        .unwrap_or_default();
    DeviceSummary {
        device_id: d.id.clone(),
        device_name: d.name.clone(),
        platform: d.platform,
        app_id: d.app_id.clone(),
        app_name,
    }
}
