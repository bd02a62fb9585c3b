//! Tessera's HTTP surface: a lean hyper server in front of the engine, the wire types it speaks,
//! and typed clients that tests, the load harness and integrators share: [`PortalClient`],
//! [`ManagementClient`], and [`DeviceClient`], which plays the phone app; [`probe`] is the
//! container health check behind `tessera health`.
//!
//! The portal API and user & device management are wire-compatible with the OneWelcome
//! (Onegini) Token Server mobile authentication API v4 (API.md §2, §3), with their v3 and v2
//! aliases; the device API (§4, OpenPGP) is Tessera's own; plus the vendor events endpoint and the
//! ops routes (`/health/*`, `/metrics`, `/openapi.yaml`). Requests are routed by one `match` on
//! method and path segments (`routes.rs`); each endpoint is one async function (`portal.rs`,
//! `management.rs`, `device.rs`); engine errors become HTTP answers in exactly one place
//! (`error.rs`).
//!
//! [`service`] builds the whole API as an in-memory handler (tests call it without sockets);
//! [`start`] serves it with one accept loop per engine arbiter over `SO_REUSEPORT` sockets,
//! speaking HTTP/1.1 and h2c.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

mod admin;
mod api_body;
pub mod auth;
mod body;
pub mod client;
mod context;
mod device;
pub mod device_client;
mod error;
mod events;
#[doc(hidden)]
pub mod fuzzing;
mod gate;
mod management;
pub mod management_client;
pub mod metrics;
mod ops;
mod portal;
pub mod probe;
mod rate_limits;
mod reply;
mod routes;
pub mod server;
pub mod wire;

#[cfg(test)]
mod test_util;
#[cfg(test)]
mod tests;

pub use api_body::ApiBody;
pub use client::{ClientError, PortalClient};
pub use device_client::{DeviceClient, EnrollParams};
pub use error::ApiError;
pub use management_client::ManagementClient;
pub use routes::{Api, service};
pub use server::{Running, Server, ServerInfo, start};
/// What a device's answer says before it is sealed ([`DeviceClient::seal_answer`]): clients that
/// play the phone (the load harness) build it without reaching into the engine.
pub use tessera_engine::AnswerBody;

/// Largest request body accepted (API.md §1); larger ones get `413`.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The machine-readable contract, served at `/openapi.yaml`.
pub const OPENAPI_YAML: &str = include_str!("../openapi.yaml");
