//! What can go wrong talking to the admin API, told apart the way the dashboard draws it: the
//! server cannot be reached (reconnect with backoff) versus it answered with an error body
//! (show the `error_code` and `description`, and for `422` the per-field messages).

use tessera_config::admin::ErrorBody;

/// A result of an admin API call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Cloneable, so a failed request can travel back to the model inside an action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No answer: connection refused, DNS, TLS, a reset or a timeout.
    #[error("cannot reach the server: {0}")]
    Connect(String),
    /// The server answered with a non-success status and (normally) an error body.
    #[error("{status} {}: {}", body.error_code, body.description)]
    Http { status: u16, body: ErrorBody },
    /// A success status whose body is not what the contract says.
    #[error("unexpected answer: {0}")]
    Decode(String),
    /// An answer or a stream line over the client's bounds; the connection is given up.
    #[error("answer too large: {0}")]
    TooLarge(String),
    /// The `--url` given cannot be used.
    #[error("invalid URL: {0}")]
    Url(String),
}

impl Error {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The admin error code (`already_final`, `invalid_config`, ...), when the server sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Http { body, .. } => Some(&body.error_code),
            _ => None,
        }
    }

    /// Per-field messages of a `422 invalid_config`; empty otherwise.
    pub fn fields(&self) -> Option<&std::collections::BTreeMap<String, String>> {
        match self {
            Error::Http { body, .. } if !body.fields.is_empty() => Some(&body.fields),
            _ => None,
        }
    }

    /// Builds the error for a non-success answer. Admin errors carry [`ErrorBody`]; API-client
    /// authentication failures keep the vendor's `{"error", "error_description"}` (API.md §1);
    /// anything else (a proxy's HTML page) is summarised, never echoed whole.
    pub(crate) fn from_answer(status: u16, body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct OAuthError {
            error: String,
            #[serde(default)]
            error_description: String,
        }
        let body = if let Ok(b) = serde_json::from_slice::<ErrorBody>(body) {
            b
        } else if let Ok(o) = serde_json::from_slice::<OAuthError>(body) {
            ErrorBody {
                error_code: o.error,
                description: o.error_description,
                ..ErrorBody::default()
            }
        } else {
            let text = String::from_utf8_lossy(body);
            ErrorBody {
                error_code: format!("http_{status}"),
                description: text.chars().take(120).collect(),
                ..ErrorBody::default()
            }
        };
        Error::Http { status, body }
    }
}

impl From<reqwest::Error> for Error {
    fn from(e: reqwest::Error) -> Self {
        if e.is_decode() {
            return Error::Decode(e.to_string());
        }
        // reqwest's Display hides the cause ("error sending request"); the chain says
        // "connection refused", which is what an operator needs to see.
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text = s.to_string();
            source = s.source();
        }
        Error::Connect(text)
    }
}
