//! Tessera's HTTP surface: a lean hyper server in front of the engine, the wire types it speaks,
//! and a typed client for the portal API that tests, the load harness and integrators share.
//!
//! The portal API is wire-compatible with the OneWelcome (Onegini) Token Server mobile
//! authentication API v4 (API.md §2), with its v3 and v2 path aliases, plus the vendor events
//! endpoint and the ops routes (`/health/*`, `/metrics`, `/openapi.yaml`). Requests are routed by
//! one `match` on method and path segments (`routes.rs`); each endpoint is one async function;
//! engine errors become HTTP answers in exactly one place (`error.rs`).
//!
//! [`service`] builds the whole API as an in-memory handler (tests call it without sockets);
//! [`start`] serves it with one accept loop per engine arbiter over `SO_REUSEPORT` sockets,
//! speaking HTTP/1.1 and h2c.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

pub mod auth;
mod body;
pub mod client;
mod context;
mod error;
mod events;
pub mod metrics;
mod ops;
mod portal;
mod reply;
mod routes;
pub mod server;
pub mod wire;

#[cfg(test)]
mod test_util;
#[cfg(test)]
mod tests;

pub use client::{ClientError, PortalClient};
pub use error::ApiError;
pub use routes::{Api, service};
pub use server::{Server, ServerInfo, start};

/// Largest request body accepted (API.md §1); larger ones get `413`.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The machine-readable contract, served at `/openapi.yaml`.
pub const OPENAPI_YAML: &str = include_str!("../openapi.yaml");
