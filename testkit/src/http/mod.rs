//! The loopback HTTP server under every fake, and what it records and answers.
//!
//! [`LoopbackServer`] speaks HTTP/1.1 and h2c (prior knowledge) on `127.0.0.1:0` — or, with the
//! `tls` feature, HTTP/1.1 and h2 over TLS — records every request as a [`Recorded`], and answers
//! with the [`Reply`] its responder decides from the request and its 0-based index (so "fail
//! twice, then succeed" is `|_, n| if n < 2 { 500 } else { 200 }`).
//!
//! Use real (not paused) time with it: paused time auto-advances while a test waits on a
//! socket, which turns every timeout into an instant one.

mod server;
#[cfg(test)]
mod tests;

pub use server::{LoopbackServer, Responder};

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use hyper::{HeaderMap, Version};
use serde_json::Value;

/// One request as the server saw it, and the status it was answered with.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// As received: `/path?q` (origin form), or `http://host:port/path` (absolute form: through
    /// a proxy, and always for HTTP/2, whose `:scheme` and `:authority` make it absolute); the
    /// target `host:port` for a `CONNECT`.
    pub uri: String,
    pub path: String,
    pub query: Option<String>,
    /// `HTTP/1.1` or `HTTP/2.0`.
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Which accepted TCP connection (0-based) it came on.
    pub connection: usize,
    /// When it arrived (its body read).
    pub at: tokio::time::Instant,
    /// The status it was answered with (0 while unanswered).
    pub status: u16,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON; panics (failing the test) when it is not JSON.
    pub fn json(&self) -> Value {
        self.try_json().unwrap_or_else(|| {
            panic!(
                "request body is not JSON: {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as JSON; `None` when it is not JSON (for fakes checking a contract).
    pub fn try_json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The `application/x-www-form-urlencoded` fields, in order (none when it is not a form).
    pub fn form(&self) -> Vec<(String, String)> {
        serde_urlencoded::from_bytes(&self.body).unwrap_or_default()
    }

    pub fn form_field(&self, name: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// `(user, password)` from `Authorization: Basic ...`.
    pub fn basic_auth(&self) -> Option<(String, String)> {
        let encoded = self.header("authorization")?.strip_prefix("Basic ")?;
        let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
        let (user, password) = decoded.split_once(':')?;
        Some((user.to_owned(), password.to_owned()))
    }
}

/// `Basic base64(user:password)`, as in `Authorization` and `Proxy-Authorization`.
pub fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// What to answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// Wait this long before answering (to provoke client timeouts).
    pub delay: Option<Duration>,
}

impl Reply {
    /// No body.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
            delay: None,
        }
    }

    pub fn text(status: u16, body: &str) -> Self {
        Self {
            body: Bytes::copy_from_slice(body.as_bytes()),
            ..Self::status(status)
        }
        .header("content-type", "text/plain")
    }

    pub fn json(status: u16, body: Value) -> Self {
        Self {
            body: Bytes::from(body.to_string()),
            ..Self::status(status)
        }
        .header("content-type", "application/json")
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
}
