//! The harness's own failures: it could not set up or finish a run. Failures of the engine under
//! test are not errors here; they are counted in the report ([`crate::flows::FlowError`]).

use tessera_api::ClientError;

/// Why a run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Arguments that contradict each other or name nothing.
    #[error("invalid arguments: {0}")]
    Args(String),
    /// The embedded engine would not start (its generated config, launch or listeners): the
    /// reason the binary's [`crate::StartEngine`] gave.
    #[error("embedded engine: {0}")]
    Engine(String),
    /// Preparing the simulated world (enrolling devices, binding the sinks).
    #[error("setup: {0}")]
    Setup(String),
    /// A setup call to the engine failed.
    #[error("setup call failed: {0}")]
    Client(#[from] ClientError),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A report file that could not be written or read back.
    #[error("report {path}: {message}")]
    Report { path: String, message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
