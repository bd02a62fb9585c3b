//! Authentication before the body: a request that carries an `Authorization` header is checked
//! on its head alone, and when the check fails the body is never read. Unauthenticated callers
//! then cannot make the server buffer (or wait for) up to 64 KiB per request.
//!
//! The gate only decides whether to read; the handler authenticates again in its usual order
//! and produces the usual answer (API-client credentials cost one SHA-256; the device found here
//! is handed over so its lookup is not repeated). Requests without the header (form credentials,
//! API.md §1) and enrollment (no device yet) have their body read as before, bounded by the
//! size limit and the read timeout.

use std::net::SocketAddr;

use http::header::AUTHORIZATION;
use http::request::Parts;
use tessera_config::Scope;
use tessera_engine::DeviceError;
use tessera_engine::model::Device;

use crate::auth;
use crate::routes::{Area, Shared};

/// What the head alone says about a request's body.
pub(crate) enum Gate {
    /// No header credentials to check here: read the body.
    Open,
    /// The header's credentials fail: do not read the body, the handler refuses the request.
    Refused,
    /// The device the header proves; read the body.
    Device(Box<Device>),
}

/// Checks the `Authorization` header of a request to `area` (`rest`: the path after its prefix).
pub(crate) async fn check(
    shared: &Shared,
    parts: &Parts,
    peer: SocketAddr,
    area: Area,
    rest: &[&str],
) -> Gate {
    // Enrollment is the one device call without device credentials; every other device call
    // takes them from the header only, so without one there is nothing to read a body for.
    if area == Area::Device {
        return if rest == ["enrollments"] {
            Gate::Open
        } else {
            device(shared, parts).await
        };
    }
    // Portal and management clients may send their credentials in the body (vendor style).
    if !parts.headers.contains_key(AUTHORIZATION) {
        return Gate::Open;
    }
    let scope = match area {
        Area::Portal(_) => Scope::MobileAuthentication,
        Area::Users(_) => Scope::EndUser,
        // The admin API takes its credentials from the header only (JSON bodies).
        Area::Root if matches!(rest, ["admin", "v1", ..]) => Scope::Admin,
        Area::Device | Area::Root => return Gate::Open,
    };
    // With the header present, credentials never come from the body.
    let creds = auth::credentials(&parts.headers, None);
    let clients = &shared.engine.config().api_clients;
    match auth::authenticate(clients, creds.as_ref(), peer.ip(), scope) {
        Ok(_) => Gate::Open,
        Err(_) => Gate::Refused,
    }
}

async fn device(shared: &Shared, parts: &Parts) -> Gate {
    let Some(creds) = auth::credentials(&parts.headers, None) else {
        return Gate::Refused;
    };
    match shared
        .engine
        .authenticate_device(&creds.id, &creds.secret)
        .await
    {
        Ok(device) => Gate::Device(Box::new(device)),
        Err(DeviceError::InvalidDevice) => Gate::Refused,
        // The store did not answer: let the handler try again and report it.
        Err(_) => Gate::Open,
    }
}
