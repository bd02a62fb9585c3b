//! The secure message's context (API.md §6): where and from what a login comes, rendered into
//! the device document's `secure_message` so a user whose credentials were phished sees
//! "Location: RU" and refuses.
//!
//! A start only begins the address lookup ([`SecureContext::prefetch`]): the push never waits
//! for it. The device's fetch of the document renders the text ([`SecureContext::render`]),
//! joining the lookup still in flight, so a fetch right after the push sees the same answer
//! and waits at most [`LOOKUP_TIMEOUT`] from the lookup's start. Rendering at the fetch also
//! serves a node that shares the store and never saw the start: it looks the address up
//! itself (its own cache).
//!
//! Failures: the lookup a start began reports its failure as a `GEOLOCATION FAILURE` event on
//! that transaction, and the fetch that follows takes that outcome as it is (no second request,
//! no second wait, no second event; see `prefetches.rs`); a fetch reports only a lookup it did
//! itself for a transaction no start here looked up (`Located::fresh`), so one failure is one
//! event.

mod prefetches;
pub mod render;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use tessera_config::{Config, LocationPrecision};

use self::prefetches::{Prefetched, Prefetches};
pub use self::render::{Values, render, template_for};
use crate::error::StartupError;
use crate::model::Transaction;
pub use crate::outbound::geolocation::LOOKUP_TIMEOUT;
use crate::outbound::geolocation::{self, GeoError, Geolocator, Located, Location};
use crate::outbound::user_agent::UserAgents;
use crate::telemetry;

/// User agents remembered (a portal sends the same few hundred strings over and over).
const USER_AGENT_CACHE: usize = 4096;

/// `[geolocation]` put to work. Built once per node from its file (never shared through the
/// admin API).
pub struct SecureContext {
    geo: Arc<Geolocator>,
    agents: UserAgents,
    templates: BTreeMap<String, String>,
    precision: LocationPrecision,
    /// The lookups this node's starts began, for their fetch.
    prefetches: Arc<Prefetches>,
}

/// What [`SecureContext::render`] made of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendered {
    /// The start carried no context (no `ip_address`, no `user_agent`): the portal's
    /// `secure_message` goes out as it sent it.
    Plain,
    /// The template, filled in.
    Text(String),
    /// The lookup failed: the portal's `secure_message` goes out alone. `report` is set when
    /// this call's own lookup failed (nobody else reports it).
    Failed { cause: GeoError, report: bool },
}

impl SecureContext {
    /// `None` when `[geolocation]` is off.
    pub fn from_config(cfg: &Config) -> Result<Option<Self>, StartupError> {
        let g = &cfg.geolocation;
        let Some(geo) = Geolocator::from_config(g, &cfg.proxy)? else {
            return Ok(None);
        };
        telemetry::geolocation_zero(geo.provider_name());
        Ok(Some(Self {
            geo,
            agents: UserAgents::new(USER_AGENT_CACHE),
            templates: g.templates.clone(),
            precision: g.location_precision,
            prefetches: Arc::default(),
        }))
    }

    /// The address of `txn` a provider may be asked about: given, an IP address, public, and
    /// wanted (`location_precision` is not `none`).
    fn address(&self, txn: &Transaction) -> Option<IpAddr> {
        if self.precision == LocationPrecision::None {
            return None;
        }
        let ip: IpAddr = txn.ip_address()?.trim().parse().ok()?;
        geolocation::is_public(ip).then_some(ip)
    }

    /// Begins the lookup of `txn`'s address, if it has one to look up; the returned future
    /// ends with the lookup and yields its failure, if any, for the start to report.
    pub fn prefetch(
        &self,
        txn: &Transaction,
    ) -> Option<impl Future<Output = Option<GeoError>> + Send + 'static> {
        let ip = self.address(txn)?;
        let (geo, prefetches, id) = (self.geo.clone(), self.prefetches.clone(), txn.id);
        prefetches.begin(id);
        Some(async move {
            let located = geo.locate(ip).await;
            count(&geo, &located);
            let cause = located.result.err();
            prefetches.end(id, cause.as_ref());
            cause
        })
    }

    /// The `secure_message` of `txn`'s document.
    pub async fn render(&self, txn: &Transaction) -> Rendered {
        let ua = txn.user_agent().filter(|u| !u.trim().is_empty());
        if txn.ip_address().is_none() && ua.is_none() {
            return Rendered::Plain;
        }
        let location = match self.address(txn) {
            Some(ip) => {
                // The start's lookup reports its own failure (see `prefetches.rs`).
                let own = match self.prefetches.take(txn.id) {
                    Prefetched::Failed(cause) => {
                        return Rendered::Failed {
                            cause,
                            report: false,
                        };
                    }
                    Prefetched::Running => false,
                    Prefetched::Unknown => true,
                };
                let located = self.geo.locate(ip).await;
                count(&self.geo, &located);
                match located.result {
                    Ok(l) => l,
                    Err(cause) => {
                        return Rendered::Failed {
                            cause,
                            report: own && located.fresh,
                        };
                    }
                }
            }
            // Not looked up (not public, precision `none`): nothing known about the place.
            None => Arc::new(Location::default()),
        };
        let client = ua.map(|u| self.agents.parse(u));
        let message = txn.secure_message().unwrap_or(&txn.message);
        let values = Values {
            message,
            operating_system: client.as_ref().and_then(|c| c.operating_system.as_deref()),
            browser: client.as_ref().and_then(|c| c.browser.as_deref()),
            ..Values::default()
        }
        .with_location(&location, self.precision);
        Rendered::Text(render(
            template_for(&self.templates, &txn.language),
            &values,
        ))
    }
}

/// Counts a lookup the provider did (`fresh`): cache hits and joined lookups are not lookups.
fn count(geo: &Geolocator, located: &Located) {
    if located.fresh {
        let result = match &located.result {
            Ok(_) => "found",
            Err(e) => failure_label(e),
        };
        telemetry::geolocation_lookup(geo.provider_name(), result);
    }
}

/// The `result` label of a failed lookup (one of `telemetry::GEOLOCATION_FAILURES`).
pub fn failure_label(e: &GeoError) -> &'static str {
    match e {
        GeoError::Timeout(_) => "timeout",
        GeoError::Unreachable(_) => "unreachable",
        GeoError::Status(_) => "status",
        GeoError::NotJson => "not_json",
        GeoError::Unsuccessful(_) => "unsuccessful",
        GeoError::NoLocation => "no_location",
        GeoError::NotFound => "not_found",
        GeoError::Database(_) => "database",
        GeoError::Busy => "busy",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_has_its_own_label_from_the_catalogue() {
        let all = [
            GeoError::Timeout(1000),
            GeoError::Unreachable("refused".into()),
            GeoError::Status(500),
            GeoError::NotJson,
            GeoError::Unsuccessful("Invalid key".into()),
            GeoError::NoLocation,
            GeoError::NotFound,
            GeoError::Database("bad".into()),
            GeoError::Busy,
        ];
        let labels: Vec<&str> = all.iter().map(failure_label).collect();
        assert_eq!(labels, telemetry::GEOLOCATION_FAILURES);
    }
}
