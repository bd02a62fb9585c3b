//! Tessera's configuration: the typed form of `tessera.toml` ([`Config`] and the types it holds),
//! and the loader that builds it from embedded defaults, the file (or the embedded default
//! config, [`DEFAULT_CONFIG`]), environment overrides (`TESSERA_<SECTION>_<KEY>` and the seed's
//! `TOKEN_SERVER_*` names) and secret references (`*_env`, `*_file`), then validates it.
//!
//! Loading reports every problem at once, each with the path of the offending field
//! (``mobile_auth_types[2].fallback: no mobile auth type named `pushh` ``), so that `tessera serve`
//! and `tessera config check` can refuse a bad file before any port is bound.
//!
//! ```
//! let config = tessera_config::load_str(tessera_config::DEFAULT_CONFIG, &|_| None).unwrap();
//! assert!(config.mobile_auth_type("sms").is_some());
//! assert!(tessera_config::needs_demo_client(&config));
//! ```

#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

pub mod admin;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod keys;
mod load;
mod overrides;
pub mod schema;
mod secrets;
mod validate;
mod warnings;

#[cfg(test)]
mod tests;

pub use error::{Error, Problem, Result};
pub use load::{apply_defaults, check, load, load_str};
pub use overrides::{ENV_ALIASES, ENV_SECTIONS, SMS_GATEWAY_ALIAS};
pub use schema::*;
pub use validate::validate;
pub use warnings::{Warning, warnings};

/// The configuration `tessera serve` runs with when given no file: memory store, console SMS
/// gateway, log push providers, demo types (`sms`, `push`, `push_with_pin`, `otp`) and a demo
/// application. It declares no API client; see [`needs_demo_client`].
pub const DEFAULT_CONFIG: &str = include_str!("../defaults.toml");

/// True when the config declares no API client, so nothing could call the engine: the binary then
/// creates a demo client with a random secret at start and prints it.
pub fn needs_demo_client(config: &Config) -> bool {
    config.api_clients.is_empty()
}
