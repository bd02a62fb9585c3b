//! `tessera tui`: the operator dashboard, a ratatui client of the admin API (API.md §5). It
//! depends on the admin wire shapes in `tessera-config` only, never on the engine or server.
//!
//! Layout (Elm architecture, after ratatui's demo2 and gitui):
//! - [`app`]: the model (tabs and modes are enums), no I/O and no clock of its own;
//! - [`action`]: messages in ([`action::Action`]) and effects out ([`action::Command`]);
//! - [`update`]: the pure `update(model, action) -> commands`;
//! - [`views`]: one file per panel, `impl Widget for &App`; colours in [`theme`];
//! - [`tui`]: the only module touching the terminal, the event stream and the frame tick;
//! - [`worker`]: background I/O (commands, the `/stats` poll, the `/stream` follower);
//! - [`client`], [`resources`], [`sse`]: the typed admin API client.

#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

pub mod action;
pub mod app;
pub mod backoff;
pub mod client;
pub mod error;
pub mod resources;
pub mod sse;
pub mod theme;
pub mod tui;
pub mod update;
pub mod views;
pub mod worker;

#[cfg(test)]
mod fixtures;

pub use client::AdminClient;
pub use error::{Error, Result};

/// `tessera tui` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The server's base URL.
    #[arg(long, env = "TESSERA_TUI_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// An API client with the `admin` scope.
    #[arg(long, env = "TESSERA_TUI_CLIENT_ID")]
    pub client_id: String,
    /// Its secret (prefer the environment variable: arguments show in `ps`).
    #[arg(long, env = "TESSERA_TUI_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: String,
}

/// Why `tessera tui` stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Client(#[from] Error),
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

/// Runs the dashboard in the current terminal until `q`.
pub fn run(args: &Args) -> std::result::Result<(), RunError> {
    let client = AdminClient::new(&args.url, &args.client_id, &args.client_secret)?;
    // Two threads: the screen stays responsive while a read parses a large answer.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(tui::run(client, &args.url))?;
    Ok(())
}
