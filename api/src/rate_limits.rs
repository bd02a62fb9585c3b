//! Where the HTTP API counts `[rate_limits]` (API.md §1, CONFIG.md), and the `429` a refusal
//! gets: `Retry-After` in whole seconds and, in the surface's dialect, `1007` (portal API and the
//! vendor's events API) or `rate_limited` (management, device and admin APIs), the description
//! naming the limit.
//!
//! - On arrival, before credentials are looked at or a body is read: a source IP that used up
//!   `credential_failures_per_ip` is refused on every surface that authenticates, even with
//!   correct credentials; a device API call takes one from `device_per_ip` (enrollment and
//!   unknown paths included). Ops routes count nothing.
//! - A failed login (`401 invalid_client` / `invalid_device`) takes one from
//!   `credential_failures_per_ip`; correct logins count nothing there.
//! - An authenticated API client takes one from `per_client` per request.
//!
//! The push, SMS and fraud limits are the engine's (`Engine::start`, the SMS sends).

use std::net::IpAddr;

use tessera_engine::limits::{Limit, Refused};
use tessera_engine::{Engine, StoreError};

use crate::error::{ApiError, Codes};
use crate::routes::Area;

/// The dialect of the surface a request to `area` (`rest`: the path after its prefix) belongs
/// to, if that surface authenticates its callers; `None` for the ops routes.
pub(crate) fn authenticated(area: Area, rest: &[&str]) -> Option<Codes> {
    match area {
        Area::Portal(_) => Some(Codes::Numeric),
        Area::Users(_) | Area::Device => Some(Codes::Named),
        // The vendor's events API speaks the portal's dialect, the admin API its own.
        Area::Root if rest == ["oauth", "api", "v1", "events"] => Some(Codes::Numeric),
        Area::Root if matches!(rest, ["admin", "v1", ..]) => Some(Codes::Named),
        Area::Root => None,
    }
}

/// The limits a request meets on arrival, before its credentials are checked or its body is
/// read (see the module docs). `Some`: the answer it gets instead.
pub(crate) async fn on_arrival(
    engine: &Engine,
    area: Area,
    rest: &[&str],
    peer: IpAddr,
) -> Option<ApiError> {
    let codes = authenticated(area, rest)?;
    let ip = subject(peer);
    let limits = engine.limits();
    let checked = limits.check(Limit::CredentialFailuresPerIp, &ip).await;
    if let Err(answer) = answer(checked, codes) {
        return Some(answer);
    }
    if area == Area::Device {
        let taken = limits.take(Limit::DevicePerIp, &ip).await;
        if let Err(answer) = answer(taken, codes) {
            return Some(answer);
        }
    }
    None
}

/// A login from `peer` failed: one less left in `credential_failures_per_ip`. A store that
/// does not answer is logged; the caller's `401` stands.
pub(crate) async fn login_failed(engine: &Engine, peer: IpAddr) {
    let taken = engine
        .limits()
        .take(Limit::CredentialFailuresPerIp, &subject(peer))
        .await;
    if let Err(e) = taken {
        tracing::warn!(error = %e, "could not count a failed login");
    }
}

/// One request of the authenticated API client `client_id` (`per_client`).
pub(crate) async fn client_request(
    engine: &Engine,
    client_id: &str,
    codes: Codes,
) -> Result<(), ApiError> {
    let taken = engine.limits().take(Limit::PerClient, client_id).await;
    answer(taken, codes)
}

/// The 429 of a refusal on a surface speaking `codes`.
pub(crate) fn limited(refused: Refused, codes: Codes) -> ApiError {
    match codes {
        Codes::Numeric => tessera_engine::Error::Limited(refused).into(),
        Codes::Named => tessera_engine::DeviceError::Limited(refused).into(),
    }
}

/// A limit's verdict as the request's answer; a store that does not answer is `503`, as
/// everywhere else.
fn answer(verdict: Result<Result<(), Refused>, StoreError>, codes: Codes) -> Result<(), ApiError> {
    match verdict {
        Ok(Ok(())) => Ok(()),
        Ok(Err(refused)) => Err(limited(refused, codes)),
        Err(e) => {
            tracing::warn!(error = %e, "could not check a rate limit");
            Err(ApiError::store_unavailable(codes))
        }
    }
}

/// The bucket subject of a source address. IPv4-mapped IPv6 addresses count as the IPv4
/// address they carry, so one client is one subject whichever way its socket was accepted; other
/// IPv6 addresses count by their /64, the block one subscriber is handed (a client choosing a
/// new address in its /64 for each request must not get a fresh budget each time).
fn subject(peer: IpAddr) -> String {
    match peer.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_count_as_their_client() {
        let ip = |s: &str| subject(s.parse().unwrap());
        assert_eq!(ip("192.0.2.7"), "192.0.2.7");
        assert_eq!(ip("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(
            ip("2001:db8:1:2::1"),
            ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")
        );
        assert_eq!(ip("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_ne!(ip("2001:db8:1:2::1"), ip("2001:db8:1:3::1"));
    }

    #[test]
    fn only_authenticating_surfaces_count() {
        use crate::context::Version;
        assert_eq!(
            authenticated(Area::Portal(Version::V2), &["user"]),
            Some(Codes::Numeric)
        );
        assert_eq!(
            authenticated(Area::Root, &["oauth", "api", "v1", "events"]),
            Some(Codes::Numeric)
        );
        assert_eq!(
            authenticated(Area::Users(Version::V4), &["u", "devices"]),
            Some(Codes::Named)
        );
        assert_eq!(
            authenticated(Area::Device, &["enrollments"]),
            Some(Codes::Named)
        );
        assert_eq!(
            authenticated(Area::Root, &["admin", "v1", "stats"]),
            Some(Codes::Named)
        );
        for ops in [
            &["health", "live"][..],
            &["metrics"],
            &["openapi.yaml"],
            &["nothing"],
        ] {
            assert_eq!(authenticated(Area::Root, ops), None, "{ops:?}");
        }
    }
}
