//! What can go wrong loading a configuration, and the list of problems found in it.

use std::fmt;
use std::path::PathBuf;

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A configuration that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not TOML. The message names the line and column.
    #[error("{message}")]
    Syntax { message: String },
    /// The file is TOML but wrong: every problem found, in the order the loading stages found them.
    #[error("{}", Problems::display(.0))]
    Invalid(Vec<Problem>),
}

impl Error {
    /// Every field-level problem (empty for read and syntax errors, whose `Display` says it all).
    pub fn problems(&self) -> &[Problem] {
        match self {
            Error::Invalid(problems) => problems,
            Error::Read { .. } | Error::Syntax { .. } => &[],
        }
    }
}

/// One thing wrong with the configuration, at a path such as `mobile_auth_types[2].fallback`
/// (or, for environment overrides, the variable's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Collects problems while the loading stages run, so all of them are reported at once.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<Problem>);

impl Problems {
    pub(crate) fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem::new(path, message));
    }

    pub(crate) fn extend(&mut self, other: Problems) {
        self.0.extend(other.0);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn into_vec(self) -> Vec<Problem> {
        self.0
    }

    /// `Ok(value)` when nothing was found, otherwise every problem.
    pub(crate) fn into_result<T>(self, value: T) -> Result<T> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(Error::Invalid(self.0))
        }
    }

    fn display(problems: &[Problem]) -> String {
        problems
            .iter()
            .map(Problem::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }
}
